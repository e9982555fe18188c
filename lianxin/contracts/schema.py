"""Base schema for everything the API and the bus carry: Chinese field messages, strict keys."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate

from lianxin.errors import validation_error

# What residents and staff read is Chinese: marshmallow's stock messages, translated once.
fields.Field.default_error_messages.update(
    {
        "required": "必填项",
        "null": "不能为空",
        "validator_failed": "取值无效",
    }
)
fields.String.default_error_messages["invalid"] = "应为文本"
fields.Integer.default_error_messages["invalid"] = "应为整数"
fields.Number.default_error_messages["invalid"] = "应为数字"
fields.Float.default_error_messages.update({"invalid": "应为数字", "special": "应为有限数字"})
fields.Boolean.default_error_messages["invalid"] = "应为 true 或 false"
fields.DateTime.default_error_messages["invalid"] = "时间格式无效（应为 ISO 8601）"
fields.AwareDateTime.default_error_messages["invalid_awareness"] = "时间须带时区"
fields.Date.default_error_messages["invalid"] = "日期格式无效（应为 YYYY-MM-DD）"
fields.UUID.default_error_messages["invalid_uuid"] = "编号格式无效"
fields.List.default_error_messages["invalid"] = "应为列表"
fields.Dict.default_error_messages["invalid"] = "应为对象"
fields.Email.default_error_messages["invalid"] = "邮箱地址无效"
fields.Url.default_error_messages["invalid"] = "网址无效"
Schema._default_error_messages = {
    **Schema._default_error_messages,
    "unknown": "未知字段",
    "type": "应为 JSON 对象",
}
validate.Length.message_min = "长度不能少于 {min}"
validate.Length.message_max = "长度不能超过 {max}"
validate.Length.message_all = "长度应在 {min} 到 {max} 之间"
validate.Range.message_min = "应{min_op} {{min}}"
validate.Range.message_max = "应{max_op} {{max}}"
validate.Range.message_all = "应{min_op} {{min}} 且{max_op} {{max}}"
validate.Range.message_gte = "不小于"
validate.Range.message_gt = "大于"
validate.Range.message_lte = "不大于"
validate.Range.message_lt = "小于"
validate.OneOf.default_message = "应为以下之一：{choices}"
validate.Regexp.default_message = "格式无效"

# No text anywhere holds a character no database can store: NUL (PostgreSQL takes none in
# any text column) or half of a UTF-16 surrogate pair (``\ud83d`` alone in the JSON, what a
# client that cuts a string in the middle of an emoji sends: neither PostgreSQL nor
# SQLite's UTF-8 can hold it). A report carrying one failed at the INSERT — a 502, and with
# it every report gathered into the same call. Refused here, in every string field the API
# and the bus take, it is the caller's 422 like any other bad field.
fields.String.default_error_messages["unsavable"] = (
    "文本中含有无法保存的字符（空字符或残缺的表情符号），请删除后重新提交"
)
_load_text = fields.String._deserialize
_UNSAVABLE = re.compile("[\x00\ud800-\udfff]")


def _savable_text(self: fields.String, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
    text = _load_text(self, value, attr, data, **kwargs)
    if _UNSAVABLE.search(text):
        raise self.make_error("unsavable")
    return text


fields.String._deserialize = _savable_text  # type: ignore[method-assign]

CENTER_ID_RE = r"^[a-z][a-z0-9-]{1,39}$"
CODE_RE = r"^[a-z][a-z0-9_]{0,39}$"


class BaseSchema(Schema):
    """Unknown keys are an error, not silently dropped.

    A payload schema that names a ``model`` (a dataclass) loads into it, so the domain
    function it feeds takes a typed input::

        @dataclass(frozen=True)
        class NewRoom:
            code: str
            name: str

        class RoomCreate(BaseSchema):
            model = NewRoom
            code = fields.Str(required=True)
            name = fields.Str(required=True)

        load(RoomCreate, {"code": "sports", "name": "文体活动室"})  # → NewRoom(...)
    """

    #: The type ``load`` builds from the loaded fields (unless loading ``partial``).
    model: ClassVar[type | None] = None

    class Meta:
        unknown = RAISE
        ordered = True

    @post_load
    def _as_model(self, data: dict[str, Any], **kwargs: Any) -> Any:
        model = type(self).model
        if model is None or kwargs.get("partial"):
            return data
        return model(**data)


class Count(fields.Field):
    """How many items its attribute holds (``None``: 0), dump only — for a list kept on a
    row, e.g. ``supporters = Count(attribute="supporter_ids")``. (A ``fields.Function``
    would do, but inspects its function's signature on every value it dumps: a board of 50
    tickets spent 8 % of its time there.)"""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(dump_only=True, dump_default=None, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> int:
        return len(value or ())


class Present(fields.Field):
    """Whether its attribute holds a value (not ``None``), dump only."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(dump_only=True, dump_default=None, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> bool:
        return value is not None


_INSTANCES: dict[type[Schema], Schema] = {}


def instance(schema: type[Schema] | Schema) -> Schema:
    """One reusable instance per schema class (building a schema costs more than using it)."""
    if isinstance(schema, Schema):
        return schema
    found = _INSTANCES.get(schema)
    if found is None:
        found = _INSTANCES[schema] = schema()
    return found


def load(schema: type[Schema] | Schema, data: object) -> Any:
    """Load ``data`` with a schema (pass the class: its instance is reused) or raise
    :class:`lianxin.errors.InvalidInput` with field messages. The one way to load."""
    try:
        return instance(schema).load(data)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise validation_error(exc.messages) from None


def dump(schema: type[Schema] | Schema, obj: object, *, many: bool = False) -> Any:
    """Dump ``obj`` (a list of them with ``many``) with a schema's reusable instance."""
    return instance(schema).dump(obj, many=many)


def dump_page(schema: type[Schema] | Schema, items: Any, total: int, query: Any) -> Any:
    """One page of a list (``items``, ``total``, ``limit``, ``offset``) dumped with
    ``schema`` (a :func:`page_of` schema); ``query`` is the loaded :class:`Page` (a mapping
    or an object with ``limit`` and ``offset``)."""
    if isinstance(query, dict):
        limit, offset = query["limit"], query["offset"]
    else:
        limit, offset = query.limit, query.offset
    return dump(schema, {"items": items, "total": total, "limit": limit, "offset": offset})


class Page(BaseSchema):
    """Pagination every list takes."""

    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Int(load_default=0, validate=validate.Range(min=0, max=1_000_000))


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The schema of one page of a list: ``items``, ``total``, ``limit``, ``offset``."""
    return type(
        name,
        (BaseSchema,),
        {
            "__doc__": f"A page of {item.__name__}.",
            "items": fields.List(fields.Nested(item)),
            "total": fields.Int(),
            "limit": fields.Int(),
            "offset": fields.Int(),
        },
    )
