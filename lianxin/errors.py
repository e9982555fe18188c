"""Errors that cross service boundaries with their meaning intact.

A service raises a subclass of :class:`LianxinError`. Over nameko RPC the
exception travels as a ``RemoteError`` whose value is this error's JSON
(``str(exc)``); :func:`from_remote` turns it back into the right kit class on
the caller's side, so the gateway maps it to HTTP in one table without
importing any service code.
"""

from __future__ import annotations

import json
from typing import Any

from nameko.exceptions import RemoteError


class LianxinError(Exception):
    """Base of every error a client may see. ``kind`` selects the HTTP status."""

    kind = "error"
    code = "ERROR"
    #: Chinese message shown to people when none is given.
    default_detail = "请求无法处理"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        self.detail = detail or self.default_detail
        self.code = code or type(self).code
        self.fields = fields or {}
        self.extra = extra or {}
        super().__init__(self.detail)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "code": self.code, "detail": self.detail}
        if self.fields:
            out["fields"] = self.fields
        if self.extra:
            out["extra"] = self.extra
        return out

    def __str__(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


class InvalidInput(LianxinError):
    kind = "invalid"
    code = "INVALID_INPUT"
    default_detail = "输入有误"


class NotFound(LianxinError):
    kind = "not_found"
    code = "NOT_FOUND"
    default_detail = "找不到该记录"


class Conflict(LianxinError):
    kind = "conflict"
    code = "CONFLICT"
    default_detail = "与现有数据冲突"


class Forbidden(LianxinError):
    kind = "forbidden"
    code = "FORBIDDEN"
    default_detail = "无权执行此操作"


class Unauthenticated(LianxinError):
    kind = "unauthenticated"
    code = "UNAUTHENTICATED"
    default_detail = "需要登录"


class RateLimited(LianxinError):
    kind = "rate_limited"
    code = "RATE_LIMITED"
    default_detail = "请求过于频繁，请稍后再试"


class PreconditionFailed(LianxinError):
    """A write whose ``If-Match`` names a state the record is no longer in (HTTP 412)."""

    kind = "precondition_failed"
    code = "STALE_WRITE"
    default_detail = "该记录已被他人修改，请刷新后再保存"


class PreconditionRequired(LianxinError):
    """A write of a shared record sent without ``If-Match`` (HTTP 428)."""

    kind = "precondition_required"
    code = "IF_MATCH_REQUIRED"
    default_detail = "修改前须先读取该记录（请求缺少 If-Match）"


class Unavailable(LianxinError):
    """What the answer depends on can't be had now (another service down): try again (HTTP 503)."""

    kind = "unavailable"
    code = "SERVICE_UNAVAILABLE"
    default_detail = "服务暂时不可用，请稍后再试"


KINDS: dict[str, type[LianxinError]] = {
    cls.kind: cls
    for cls in (
        LianxinError,
        InvalidInput,
        NotFound,
        Conflict,
        Forbidden,
        Unauthenticated,
        RateLimited,
        PreconditionFailed,
        PreconditionRequired,
        Unavailable,
    )
}

#: Every error class a service entrypoint may raise on purpose (nameko ``expected_exceptions``).
EXPECTED = (LianxinError,)


def from_remote(exc: RemoteError) -> LianxinError | None:
    """Rebuild a kit error from a nameko ``RemoteError``; None if it was not one of ours."""
    try:
        data = json.loads(exc.value)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("kind") not in KINDS:
        return None
    return from_dict(data)


def from_dict(data: dict[str, Any]) -> LianxinError:
    """Rebuild a kit error from its :meth:`LianxinError.to_dict` form."""
    cls = KINDS.get(data.get("kind", ""), LianxinError)
    return cls(
        data.get("detail"),
        code=data.get("code"),
        fields=data.get("fields"),
        extra=data.get("extra"),
    )


def validation_error(
    messages: dict[str, Any] | list[Any], detail: str = "输入有误"
) -> InvalidInput:
    """An :class:`InvalidInput` carrying marshmallow's field-level messages."""
    fields = messages if isinstance(messages, dict) else {"_schema": messages}
    return InvalidInput(detail, fields=fields)
