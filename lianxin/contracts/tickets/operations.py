"""What the tickets service offers over RPC: payload and answer schemas, then the operation
table (who may call what, under which rules).

The service validates every call with these schemas and checks the caller against the
operation; the gateway validates before spending an RPC and documents them in OpenAPI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, TypedDict

from marshmallow import ValidationError, fields, validate, validates_schema

from lianxin.contracts.accounts.operations import LOGIN_RE
from lianxin.contracts.notify.operations import PHONE_RE
from lianxin.contracts.schema import (
    CENTER_ID_RE,
    CODE_RE,
    BaseSchema,
    Count,
    Page,
    Present,
    page_of,
)
from lianxin.operations import Operations, Rule
from lianxin.roles import (
    ADMIN,
    CADRES,
    CENTER_STAFF,
    MEMBERS,
    OPS,
    PARTIES,
    READERS,
    RECORD_READERS,
    STAFF,
    Principal,
)

CHANNELS = ("web", "hotline", "walk_in", "open311")
STATES = (
    "reported",
    "acknowledged",
    "assigned",
    "in_progress",
    "returned",
    "escalated",
    "resolved",
    "closed",
    "merged",
)
OPEN_STATES = STATES[:6]

#: What people read instead of a state code.
STATE_NAMES = {
    "reported": "待签收",
    "acknowledged": "已签收",
    "assigned": "已派单",
    "in_progress": "处理中",
    "returned": "已退单",
    "escalated": "提交联席会",
    "resolved": "已办结",
    "closed": "已回访关闭",
    "merged": "已并单",
}

#: action → states it may start from (the state it leads to is decided by the action).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "acknowledge": ("reported",),
    "assign": ("acknowledged", "assigned", "returned"),
    "start": ("assigned",),
    "return": ("assigned", "in_progress"),
    "resolve": ("assigned", "in_progress"),
    "escalate": ("acknowledged", "assigned", "in_progress", "returned"),
    "merge": ("reported", "acknowledged", "assigned", "returned"),
    "rate": ("resolved",),
    "close": ("resolved",),
    "reopen": ("resolved", "closed"),
    # 催办 and supporters ("我也遇到了"): any open ticket
    "urge": ("reported", "acknowledged", "assigned", "in_progress", "returned", "escalated"),
    "support": ("reported", "acknowledged", "assigned", "in_progress", "returned", "escalated"),
}
ACTION_NAMES = {
    "acknowledge": "签收",
    "assign": "派单",
    "start": "开始办理",
    "return": "退单",
    "resolve": "办结",
    "escalate": "提交联席会",
    "merge": "并单",
    "rate": "评价",
    "close": "回访关闭",
    "reopen": "重新办理",
    "urge": "催办",
    "support": "加入反映",
}


#: The channels a clerk may register and resolve at once (当场办结).
ON_THE_SPOT_CHANNELS = ("hotline", "walk_in")
#: Most photos one report carries; a photo's id in the photo store.
PHOTOS_MAX = 3
PHOTO_ID_RE = r"^[0-9a-f]{32}$"
DESCRIPTION_MAX = 4000
RATINGS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
CENTER_STATUSES = {"active": "启用", "disabled": "已停用"}
#: The center a new one is copied from unless another is named (the demo center).
TEMPLATE_CENTER = "yanminghu"


# -- centers and categories ------------------------------------------------------------------


#: A center's phone: digits, with an area code's dash (``0371-62161234``, ``12345``).
HOTLINE_RE = r"^(|[0-9][0-9-]{2,18}[0-9])$"
HOTLINE_ERROR = "电话号码格式无效（数字，可含区号横线）"


@dataclass(frozen=True)
class NewCenter:
    id: str
    name: str
    address: str
    timezone: str
    hotline: str = ""
    opening_hours: str = ""


class CenterCreate(BaseSchema):
    model = NewCenter
    id = fields.Str(required=True, validate=validate.Regexp(CENTER_ID_RE))
    name = fields.Str(required=True, validate=validate.Length(min=2, max=100))
    address = fields.Str(load_default="", validate=validate.Length(max=200))
    timezone = fields.Str(load_default="Asia/Shanghai", validate=validate.OneOf(["Asia/Shanghai"]))
    hotline = fields.Str(load_default="", validate=validate.Regexp(HOTLINE_RE, error=HOTLINE_ERROR))
    opening_hours = fields.Str(load_default="", validate=validate.Length(max=100))


class CenterChanges(TypedDict, total=False):
    fallback_party: str
    auto_assign: bool
    meeting_day: int
    escalation_level3_factor: float | None
    public_photos: bool
    hotline: str
    opening_hours: str


class CenterSettings(BaseSchema):
    """What a center's admin may change about how issues are handled (loads as
    :class:`CenterChanges`: only the keys given)."""

    fallback_party = fields.Str(validate=validate.OneOf(PARTIES))
    auto_assign = fields.Bool()
    meeting_day = fields.Int(validate=validate.Range(min=1, max=28))
    #: The escalation ladder's third step (e.g. the town's leadership) at this multiple of
    #: the acknowledge limit, after the second at twice it; null: two steps only.
    escalation_level3_factor = fields.Float(
        allow_none=True, validate=validate.Range(min=2, max=100, min_inclusive=False)
    )
    #: Show reports' photos on the public follow page and to Open311 clients.
    public_photos = fields.Bool()
    #: What the center's home page shows residents: its phone, its opening hours.
    hotline = fields.Str(validate=validate.Regexp(HOTLINE_RE, error=HOTLINE_ERROR))
    opening_hours = fields.Str(validate=validate.Length(max=100))


class CenterRead(BaseSchema):
    id = fields.Str()
    name = fields.Str()
    address = fields.Str()
    timezone = fields.Str()
    fallback_party = fields.Str()
    auto_assign = fields.Bool()
    meeting_day = fields.Int()
    escalation_level3_factor = fields.Float(allow_none=True)
    public_photos = fields.Bool()
    #: The center's phone for residents ("" : none kept; pages name 12345) and its opening
    #: hours as people read them (``周一至周五 8:30–17:30``).
    hotline = fields.Str()
    opening_hours = fields.Str()
    #: ``active``, or ``disabled`` (停用: every service refuses its writes; its data stays
    #: readable). Added compatibly: a record without it is active.
    status = fields.Str(validate=validate.OneOf(list(CENTER_STATUSES)))
    #: When the center was created (added compatibly): a month before it has no report.
    created_at = fields.AwareDateTime()


# -- onboarding a center from a template -------------------------------------------------------


@dataclass(frozen=True)
class NewAdmin:
    person_id: str
    name: str
    phone: str | None
    login: str | None


class FirstAdmin(BaseSchema):
    """The new center's first admin: an entry in notify's directory and an invitation."""

    model = NewAdmin
    person_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    phone = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(PHONE_RE, error="手机号码格式无效"),
    )
    login = fields.Str(
        load_default=None, allow_none=True, validate=validate.Regexp(LOGIN_RE, error="账号格式无效")
    )


@dataclass(frozen=True)
class NewOnboarding:
    id: str
    name: str
    address: str
    template: str
    admin: NewAdmin


class CenterOnboard(BaseSchema):
    """A new center made from a template center (``from``, default the demo center): its
    categories (routing, SLA, keywords, questions) and settings, function rooms,
    programmes and message templates are copied; ``admin`` is invited."""

    model = NewOnboarding
    id = fields.Str(
        required=True,
        validate=validate.Regexp(CENTER_ID_RE, error="编号须为小写字母开头的 2–40 位"),
    )
    name = fields.Str(required=True, validate=validate.Length(min=2, max=100))
    address = fields.Str(load_default="", validate=validate.Length(max=200))
    template = fields.Str(
        data_key="from", load_default=TEMPLATE_CENTER, validate=validate.Regexp(CENTER_ID_RE)
    )
    admin = fields.Nested(FirstAdmin, required=True)


class CenterEdit(TypedDict, total=False):
    name: str
    address: str


class CenterRename(BaseSchema):
    """What ops may change of a center's record (loads as :class:`CenterEdit`)."""

    name = fields.Str(validate=validate.Length(min=2, max=100))
    address = fields.Str(validate=validate.Length(max=200))


class CenterQuery(BaseSchema):
    status = fields.Str(load_default=None, validate=validate.OneOf(list(CENTER_STATUSES)))


class Onboarded(BaseSchema):
    center = fields.Nested(CenterRead)
    #: The first admin's account name and the link to set a password (72 hours, once).
    admin_login = fields.Str()
    invitation_url = fields.Str()
    #: RFC 3339, as the accounts service answered it.
    invitation_expires_at = fields.Str()
    #: What was copied from the template, by kind (categories, rooms, programmes, templates).
    copied = fields.Dict(keys=fields.Str(), values=fields.Int())


ATTRIBUTE_TYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


class AttributeValue(BaseSchema):
    key = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=60))


class AttributeDefinition(BaseSchema):
    """An Open311 attribute: an extra question asked when reporting this category (kept as
    JSON with the category, so it loads as a plain dict)."""

    code = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    description = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    datatype = fields.Str(load_default="string", validate=validate.OneOf(ATTRIBUTE_TYPES))
    required = fields.Bool(load_default=False)
    order = fields.Int(load_default=1, validate=validate.Range(min=1, max=100))
    values = fields.List(fields.Nested(AttributeValue), load_default=list)


@dataclass(frozen=True)
class NewCategory:
    code: str
    name: str
    #: The routing rule; None sends it to the center's fallback party.
    party: str | None
    ack_minutes: int
    resolve_hours: int
    #: None: the same as ``code``.
    service_code: str | None
    description: str
    keywords: list[str]
    attributes: list[dict[str, Any]]


class CategoryCreate(BaseSchema):
    model = NewCategory
    code = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    party = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(PARTIES))
    ack_minutes = fields.Int(load_default=10, validate=validate.Range(min=1, max=24 * 60))
    resolve_hours = fields.Int(load_default=72, validate=validate.Range(min=1, max=24 * 90))
    service_code = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    description = fields.Str(load_default="", validate=validate.Length(max=500))
    keywords = fields.List(fields.Str(validate=validate.Length(max=20)), load_default=list)
    attributes = fields.List(
        fields.Nested(AttributeDefinition), load_default=list, validate=validate.Length(max=20)
    )


class CategoryChanges(TypedDict, total=False):
    name: str
    party: str | None
    ack_minutes: int
    resolve_hours: int
    description: str
    keywords: list[str]
    attributes: list[dict[str, Any]]
    active: bool


class CategoryUpdate(BaseSchema):
    """Loads as :class:`CategoryChanges` (only the keys given)."""

    name = fields.Str(validate=validate.Length(min=1, max=60))
    party = fields.Str(allow_none=True, validate=validate.OneOf(PARTIES))
    ack_minutes = fields.Int(validate=validate.Range(min=1, max=24 * 60))
    resolve_hours = fields.Int(validate=validate.Range(min=1, max=24 * 90))
    description = fields.Str(validate=validate.Length(max=500))
    keywords = fields.List(fields.Str(validate=validate.Length(max=20)))
    attributes = fields.List(fields.Nested(AttributeDefinition), validate=validate.Length(max=20))
    active = fields.Bool()


class CategoryRead(BaseSchema):
    code = fields.Str()
    name = fields.Str()
    party = fields.Str(allow_none=True)
    ack_minutes = fields.Int()
    resolve_hours = fields.Int()
    service_code = fields.Str()
    description = fields.Str()
    keywords = fields.List(fields.Str())
    attributes = fields.List(fields.Nested(AttributeDefinition))
    active = fields.Bool()


# -- duty roster -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewDutyShift:
    person_id: str
    name: str
    starts_at: datetime
    ends_at: datetime


class DutyShiftCreate(BaseSchema):
    model = NewDutyShift
    person_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)

    @validates_schema
    def _window(self, data, **_kwargs):
        hours = (data["ends_at"] - data["starts_at"]).total_seconds() / 3600
        if hours <= 0:
            raise ValidationError("结束时间须晚于开始时间", "ends_at")
        if hours > 24:
            raise ValidationError("一个值班时段不能超过 24 小时", "ends_at")


class DutyShiftRead(BaseSchema):
    id = fields.Str()
    person_id = fields.Str()
    name = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()


@dataclass(frozen=True)
class TimeWindow:
    """[start, end); None leaves that side to the operation's default."""

    start: datetime | None
    end: datetime | None


class DutyQuery(BaseSchema):
    model = TimeWindow
    start = fields.AwareDateTime(load_default=None)
    end = fields.AwareDateTime(load_default=None)


# -- tickets ---------------------------------------------------------------------------------

#: Most issues one gathered intake call may carry.
INTAKE_BATCH_MAX = 200


@dataclass(frozen=True)
class NewTicket:
    category: str
    description: str
    address: str
    lat: float | None
    long: float | None
    channel: str
    attributes: dict[str, Any]
    media_url: str | None
    #: A reporter registered by the hotline clerk (a person id of notify's directory).
    reporter_id: str | None
    #: Photos already in the photo store (the gateway checked them).
    photo_ids: list[str]
    #: The clerk's answer, resolving it as it is registered (当场办结; hotline and walk-in).
    answer: str | None


class TicketCreate(BaseSchema):
    """A resident's issue, from any channel. ``answer`` resolves it on the spot (staff, by
    hotline or walk-in only)."""

    model: ClassVar[type | None] = NewTicket
    category = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    description = fields.Str(required=True, validate=validate.Length(min=2, max=DESCRIPTION_MAX))
    address = fields.Str(load_default="", validate=validate.Length(max=200))
    lat = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-90, max=90))
    long = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(min=-180, max=180)
    )
    channel = fields.Str(load_default="web", validate=validate.OneOf(CHANNELS))
    attributes = fields.Dict(
        keys=fields.Str(validate=validate.Length(max=40)), values=fields.Raw(), load_default=dict
    )
    media_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    reporter_id = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    photo_ids = fields.List(
        fields.Str(validate=validate.Regexp(PHOTO_ID_RE, error="照片编号无效")),
        load_default=list,
        validate=validate.Length(max=PHOTOS_MAX, error=f"每份诉求最多上传 {PHOTOS_MAX} 张照片"),
    )
    answer = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(min=2, max=2000)
    )


class ReporterContact(BaseSchema):
    """How to reach a reporter (or supporter) without an account: the gateway hands it to
    notify's directory, the only owner of contact data, under a new person id; tickets and
    their events carry only that id."""

    name = fields.Str(load_default="居民", validate=validate.Length(min=1, max=40))
    phone = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(PHONE_RE, error="手机号码格式无效"),
    )
    email = fields.Email(load_default=None, allow_none=True)


class TicketIntake(TicketCreate):
    """What the intake route takes: a :class:`TicketCreate` and, for a caller staff register
    by hotline or at the desk, their ``contact`` (the gateway hands it to notify and sends
    the new person id as ``reporter_id``; the service never sees the contact)."""

    model = None
    contact = fields.Nested(ReporterContact, load_default=None, allow_none=True)


class PublicTicketCreate(TicketCreate):
    """Public web intake: no login, so the center is named in the body. The gateway checks
    it and forwards the rest as a :class:`TicketCreate` (so it loads as a plain dict).

    A public client can't name the reporter: ``reporter_id`` is refused (the gateway sets
    it to the person id under which it handed the reporter's contact to notify)."""

    model = None
    center_id = fields.Str(required=True, validate=validate.Regexp(CENTER_ID_RE))

    class Meta(BaseSchema.Meta):
        exclude = ("reporter_id",)


@dataclass(frozen=True)
class IntakeRequest:
    center_id: str
    payload: dict[str, Any]
    authorization: str | None
    intake_key: str | None
    request_key: str | None = None
    #: The W3C trace context of the request that reported it: its events continue that
    #: trace, though the batch's call belongs to the first request's (lianxin.tracing).
    traceparent: str | None = None
    tracestate: str | None = None


class IntakeItem(BaseSchema):
    """One issue of a gathered intake call, with the token of the person who reported it."""

    model = IntakeRequest
    center_id = fields.Str(required=True, validate=validate.Regexp(CENTER_ID_RE))
    payload = fields.Dict(required=True)
    authorization = fields.Str(load_default=None, allow_none=True)
    #: What makes it the same submission as an earlier one (the gateway's hash), if anything.
    intake_key = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    #: The gateway's own key for this one request (random), by which it settles the request
    #: if its wait for the answer ends (``settle_intake``).
    request_key = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(min=16, max=64)
    )
    #: The reporting request's trace context (W3C); a malformed one is ignored, not refused.
    traceparent = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=128))
    tracestate = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=512))


class IntakeBatch(BaseSchema):
    """``create_tickets``: concurrent intake requests the gateway sends as one call."""

    items = fields.List(
        fields.Nested(IntakeItem),
        required=True,
        validate=validate.Length(min=1, max=INTAKE_BATCH_MAX),
    )


class RepeatCandidateRead(BaseSchema):
    """An open ticket a report likely repeats (nearby and alike)."""

    ticket_id = fields.Str()
    summary = fields.Str()
    state = fields.Str()
    #: None: one of the two has no coordinates (they name the same building or place).
    distance_m = fields.Float(allow_none=True)


class TicketRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    category = fields.Str()
    party = fields.Str()
    state = fields.Str()
    channel = fields.Str()
    description = fields.Str()
    address = fields.Str()
    lat = fields.Float(allow_none=True)
    long = fields.Float(allow_none=True)
    attributes = fields.Dict()
    media_url = fields.Str(allow_none=True)
    reporter_id = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    ack_due_at = fields.AwareDateTime()
    resolve_due_at = fields.AwareDateTime()
    due_at = fields.AwareDateTime(allow_none=True)
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    answer = fields.Str(allow_none=True)
    primary_id = fields.Str(allow_none=True)
    reopen_count = fields.Int()
    rating = fields.Str(allow_none=True)
    photo_ids = fields.List(fields.Str())
    #: How many residents joined it as supporters (the reporter not counted).
    supporters = Count(attribute="supporter_ids")
    #: The repeat reports merged into it.
    merged_ids = fields.List(fields.Str())
    #: Open tickets it likely repeats, found at intake: staff merge it in one step.
    repeat_candidates = fields.List(fields.Nested(RepeatCandidateRead))


class TicketReceipt(TicketRead):
    """What the reporter gets back at intake: the ticket and the code to follow and rate it."""

    follow_code = fields.Str()


@dataclass(frozen=True)
class TicketFilter:
    """One page of a center's tickets (the list, the board), narrowed by any of these."""

    limit: int
    offset: int
    state: str | None
    category: str | None
    party: str | None
    #: One person's tickets (staff: a caller's earlier issues; a resident always their own).
    reporter_id: str | None = None


class TicketQuery(Page):
    model = TicketFilter
    state = fields.Str(load_default=None, validate=validate.OneOf(STATES))
    category = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    party = fields.Str(load_default=None, validate=validate.OneOf(PARTIES))
    reporter_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))


@dataclass(frozen=True)
class TicketSearchFilter:
    ids: list[str] | None
    category: str | None
    status: str | None
    start: datetime | None
    end: datetime | None
    limit: int


class TicketSearch(BaseSchema):
    """The Open311 GET requests.json filters."""

    model = TicketSearchFilter
    ids = fields.List(
        fields.Str(validate=validate.Length(max=36)),
        load_default=None,
        validate=validate.Length(max=100),
    )
    category = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(CODE_RE))
    status = fields.Str(
        load_default=None, allow_none=True, validate=validate.OneOf(["open", "closed"])
    )
    start = fields.AwareDateTime(load_default=None, allow_none=True)
    end = fields.AwareDateTime(load_default=None, allow_none=True)
    limit = fields.Int(load_default=1000, validate=validate.Range(min=1, max=1000))


TicketList = page_of(TicketRead, "TicketList")


class BoardQuery(Page):
    model = TicketFilter
    state = fields.Str(load_default=None, validate=validate.OneOf(OPEN_STATES))
    category = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    party = fields.Str(load_default=None, validate=validate.OneOf(PARTIES))


class BoardItem(BaseSchema):
    """An open ticket as the staff board shows it: what it is, where, whose, its state and
    deadlines. The whole ticket (location, photos, repeats, answer) is ``GET
    /api/v1/tickets/<id>``: the board is read every few seconds by every cadre on duty, and
    a page of 50 whole tickets cost four times as much to answer."""

    id = fields.Str()
    category = fields.Str()
    party = fields.Str()
    state = fields.Str()
    channel = fields.Str()
    description = fields.Str()
    address = fields.Str()
    reporter_id = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    #: The deadline it is sorted by: to acknowledge (reported) or to resolve (afterwards).
    due_at = fields.AwareDateTime(allow_none=True)
    ack_due_at = fields.AwareDateTime()
    resolve_due_at = fields.AwareDateTime()
    reopen_count = fields.Int()
    #: How many residents joined it as supporters (the reporter not counted).
    supporters = Count(attribute="supporter_ids")


class Board(BaseSchema):
    """The staff board: open tickets by deadline, and how many are in each state."""

    items = fields.List(fields.Nested(BoardItem))
    total = fields.Int()
    counts = fields.Dict(keys=fields.Str(), values=fields.Int())
    limit = fields.Int()
    offset = fields.Int()


@dataclass(frozen=True)
class FollowCode:
    code: str


class PublicFollow(BaseSchema):
    """A reporter without an account follows their ticket with the code from the receipt."""

    model = FollowCode
    code = fields.Str(required=True, validate=validate.Length(min=6, max=32))


# -- workflow actions ------------------------------------------------------------------------


@dataclass(frozen=True)
class StepNote:
    note: str | None


class Note(BaseSchema):
    model = StepNote
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500))


@dataclass(frozen=True)
class Assignment:
    party: str
    reason: str | None


class AssignIn(BaseSchema):
    model = Assignment
    party = fields.Str(required=True, validate=validate.OneOf(PARTIES))
    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500))


@dataclass(frozen=True)
class Reason:
    reason: str


class ReasonIn(BaseSchema):
    model = Reason
    reason = fields.Str(required=True, validate=validate.Length(min=2, max=500))


@dataclass(frozen=True)
class Resolution:
    answer: str


class ResolveIn(BaseSchema):
    model = Resolution
    answer = fields.Str(required=True, validate=validate.Length(min=2, max=2000))


@dataclass(frozen=True)
class MergeInto:
    primary_id: str


class MergeIn(BaseSchema):
    model = MergeInto
    primary_id = fields.Str(required=True, validate=validate.Length(min=1, max=36))


@dataclass(frozen=True)
class RatingGiven:
    rating: str
    comment: str = ""
    #: How the return visit reached the resident.
    via: str = "web"


class RatingIn(BaseSchema):
    model = RatingGiven
    rating = fields.Str(required=True, validate=validate.OneOf(list(RATINGS)))
    comment = fields.Str(load_default="", validate=validate.Length(max=500))
    via = fields.Str(load_default="web", validate=validate.OneOf(["web", "phone", "sms", "visit"]))


@dataclass(frozen=True)
class PublicRating(RatingGiven):
    follow_code: str = ""


class PublicRatingIn(RatingIn):
    model = PublicRating
    follow_code = fields.Str(required=True, validate=validate.Length(min=6, max=32))


@dataclass(frozen=True)
class Urge:
    note: str


class UrgeIn(BaseSchema):
    model = Urge
    note = fields.Str(required=True, validate=validate.Length(min=2, max=500))


class TimelineEntry(BaseSchema):
    action = fields.Str()
    from_state = fields.Str(allow_none=True)
    to_state = fields.Str()
    actor_id = fields.Str(allow_none=True)
    actor_role = fields.Str(allow_none=True)
    reason = fields.Str(allow_none=True)
    party = fields.Str(allow_none=True)
    at = fields.AwareDateTime()


class TicketProgress(TicketRead):
    """What a reporter following their ticket sees: the ticket and its timeline. Its
    ``photo_ids`` only where the center shows photos to the public; ``contact_left``
    false: the reporter left no way to reach them (the page says so)."""

    timeline = fields.List(fields.Nested(TimelineEntry))
    contact_left = Present(attribute="reporter_id")


# -- before and beside a report: suggestions, supporters, photos -----------------------------


@dataclass(frozen=True)
class SuggestionAsk:
    description: str
    address: str
    lat: float | None
    long: float | None


class SuggestionIn(BaseSchema):
    """What a resident has typed so far (before sending the report)."""

    model = SuggestionAsk
    description = fields.Str(required=True, validate=validate.Length(min=2, max=DESCRIPTION_MAX))
    address = fields.Str(load_default="", validate=validate.Length(max=200))
    lat = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-90, max=90))
    long = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(min=-180, max=180)
    )


class CategoryScore(BaseSchema):
    code = fields.Str()
    name = fields.Str()
    #: 0..1: how likely the report is of this category.
    score = fields.Float()


class Suggestions(BaseSchema):
    """The likely categories (top three) and the open tickets it likely repeats (已有人反映:
    the resident may join one as a supporter instead)."""

    categories = fields.List(fields.Nested(CategoryScore))
    repeats = fields.List(fields.Nested(RepeatCandidateRead))


class PublicSupport(ReporterContact):
    """Joining a ticket on the web ("我也遇到了"): a signed-in resident as themselves, anyone
    else with a phone to be told of progress on (the gateway hands it to notify)."""

    center_id = fields.Str(required=True, validate=validate.Regexp(CENTER_ID_RE))

    class Meta(BaseSchema.Meta):
        exclude = ("email",)


@dataclass(frozen=True)
class NewSupporter:
    supporter_id: str
    phone_hash: str | None


class SupporterIn(BaseSchema):
    """``support_ticket``'s payload, from the gateway: the supporter's person id and, for one
    who left a phone, its keyed hash (salted with the ticket; never the number)."""

    model = NewSupporter
    supporter_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    phone_hash = fields.Str(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9a-f]{64}$")
    )


class SupportRead(BaseSchema):
    ticket_id = fields.Str()
    state = fields.Str()
    supporter_id = fields.Str()
    #: How many residents now support it.
    supporters = fields.Int()


class PublicPhoto(BaseSchema):
    """A photo the public may see, and the ticket that holds it."""

    photo_id = fields.Str()
    ticket_id = fields.Str()


# -- joint meeting ---------------------------------------------------------------------------

DECISIONS = ("resolved", "assigned", "carried_over")


class AgendaItemRead(BaseSchema):
    id = fields.Str()
    ticket_id = fields.Str()
    reason = fields.Str()
    added_at = fields.AwareDateTime()
    decision = fields.Str(allow_none=True)
    decision_note = fields.Str(allow_none=True)
    decided_by = fields.Str(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    ticket = fields.Nested(TicketRead)


class MeetingSummary(BaseSchema):
    id = fields.Str()
    month = fields.Str()
    meeting_date = fields.Date()


class MeetingRead(MeetingSummary):
    items = fields.List(fields.Nested(AgendaItemRead))


@dataclass(frozen=True)
class Decision:
    decision: str
    answer: str | None
    party: str | None
    note: str | None


class DecisionIn(BaseSchema):
    model = Decision
    decision = fields.Str(required=True, validate=validate.OneOf(DECISIONS))
    answer = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(min=2, max=2000)
    )
    party = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(PARTIES))
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=1000))

    @validates_schema
    def _needs(self, data, **_kwargs):
        if data["decision"] == "resolved" and not data.get("answer"):
            raise ValidationError("办结须填写答复内容", "answer")
        if data["decision"] == "assigned" and not data.get("party"):
            raise ValidationError("派单须指定责任方", "party")


# -- satisfaction ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SatisfactionFilter:
    group_by: str
    start: datetime | None
    end: datetime | None


class SatisfactionQuery(BaseSchema):
    model = SatisfactionFilter
    group_by = fields.Str(
        load_default="center", validate=validate.OneOf(["center", "party", "category", "month"])
    )
    start = fields.AwareDateTime(load_default=None)
    end = fields.AwareDateTime(load_default=None)


class SatisfactionRow(BaseSchema):
    key = fields.Str()
    ratings = fields.Int()
    satisfied = fields.Int()
    basically_satisfied = fields.Int()
    dissatisfied = fields.Int()
    #: (satisfied + basically satisfied) / ratings, in percent with one decimal.
    rate = fields.Float(allow_none=True)


class Satisfaction(BaseSchema):
    group_by = fields.Str()
    rows = fields.List(fields.Nested(SatisfactionRow))


# -- Open311 keys ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewApiKey:
    name: str


class ApiKeyCreate(BaseSchema):
    model = NewApiKey
    name = fields.Str(required=True, validate=validate.Length(min=2, max=80))


class ApiKeyIssued(BaseSchema):
    """A new key, shown this once (only its hash is kept)."""

    center_id = fields.Str()
    name = fields.Str()
    api_key = fields.Str()


# -- who may act, beyond their role ----------------------------------------------------------


def _own_party(principal: Principal, ticket: Any) -> bool:
    return principal.party is None or ticket.party == principal.party


def sees_ticket(principal: Principal, ticket: Any) -> bool:
    """Whether ``principal`` may see ``ticket`` at all: a resident only their own, a party's
    staff (handler or social worker) only its party's; the others every ticket of the
    center. A ticket it may not see is answered 404, as one that does not exist."""
    if principal.role == "resident":
        return bool(ticket.reporter_id == principal.id)
    return _own_party(principal, ticket)


#: A party's handler acts only on the tickets assigned to its party (the ticket is the target;
#: the service answers another party's ticket 404 before the rule is asked — see sees_ticket).
OWN_PARTY = Rule(
    "OWN_PARTY", _own_party, "该工单未派给本单位", code="PARTY_FORBIDDEN", on_target=True
)


def _staff_channel(principal: Principal, new: Any) -> bool:
    return new.channel == "web" or principal.is_staff


#: Residents report on the web for themselves; hotline and walk-in reports are registered by
#: staff (the new ticket is the target).
STAFF_CHANNELS = Rule(
    "STAFF_CHANNELS",
    _staff_channel,
    "热线和来访诉求由工作人员登记",
    code="ROLE_FORBIDDEN",
    on_target=True,
)


# -- the operation table ---------------------------------------------------------------------

OPERATIONS = Operations("tickets")

# centers and configuration
create_center = OPERATIONS.add(
    "create_center", roles=OPS, body=CenterCreate, response=CenterRead, summary="新建服务中心"
)
get_center = OPERATIONS.add("get_center", roles=None, response=CenterRead, summary="查询服务中心")
onboard_center = OPERATIONS.add(
    "onboard_center",
    roles=OPS,
    body=CenterOnboard,
    response=Onboarded,
    summary="开通服务中心（按模板中心复制类别、功能室、项目、消息模板，邀请首位管理员）",
    description=(
        "All or nothing: a refusal or failure of any service leaves no part of the center "
        "anywhere. 409 for an id in use, 422 for a malformed id or an unknown template."
    ),
    timeout=60.0,
)
list_centers = OPERATIONS.add(
    "list_centers",
    roles=(*OPS, "department"),
    query=CenterQuery,
    response=CenterRead,
    many=True,
    summary="服务中心列表（运维：全部；职能部门：已授权的）",
)
read_center = OPERATIONS.add(
    "read_center",
    roles=(*OPS, "department"),
    response=CenterRead,
    summary="服务中心详情（含启用状态）",
)
edit_center = OPERATIONS.add(
    "edit_center",
    roles=OPS,
    body=CenterRename,
    response=CenterRead,
    summary="修改服务中心名称、地址",
)
disable_center = OPERATIONS.add(
    "disable_center",
    roles=OPS,
    response=CenterRead,
    summary="停用服务中心（数据保留，各服务拒绝写入）",
)
enable_center = OPERATIONS.add(
    "enable_center", roles=OPS, response=CenterRead, summary="重新启用服务中心"
)
update_center = OPERATIONS.add(
    "update_center",
    roles=ADMIN,
    body=CenterSettings,
    response=CenterRead,
    summary="修改中心设置（兜底责任方、自动派单、联席会日期、第三级提醒、照片公开）",
    if_match=True,
    description=(
        "须带 If-Match：GET /api/v1/public/centers/{center_id} 或上一次修改的应答所给的 ETag。"
    ),
)
list_public_categories = OPERATIONS.add(
    "list_public_categories", roles=None, response=CategoryRead, many=True, summary="诉求类别"
)
list_categories = OPERATIONS.add(
    "list_categories",
    roles=MEMBERS,
    response=CategoryRead,
    many=True,
    summary="诉求类别",
    description="The center's categories; its admin sees the retired ones too.",
)
get_category = OPERATIONS.add(
    "get_category",
    roles=MEMBERS,
    response=CategoryRead,
    summary="诉求类别详情",
    description="One category, with its ETag (for a PATCH's If-Match); a retired one only for "
    "the admin.",
)
add_category = OPERATIONS.add(
    "add_category",
    roles=ADMIN,
    body=CategoryCreate,
    response=CategoryRead,
    summary="新增诉求类别（含分派规则与时限）",
)
update_category = OPERATIONS.add(
    "update_category",
    roles=ADMIN,
    body=CategoryUpdate,
    response=CategoryRead,
    summary="修改诉求类别（分派规则、时限、停用）",
    if_match=True,
    description=("须带 If-Match：GET /api/v1/categories/{code} 或上一次修改的应答所给的 ETag。"),
)
list_duty = OPERATIONS.add(
    "list_duty", roles=STAFF, query=DutyQuery, response=DutyShiftRead, many=True, summary="值班表"
)
add_duty_shift = OPERATIONS.add(
    "add_duty_shift",
    roles=ADMIN,
    body=DutyShiftCreate,
    response=DutyShiftRead,
    summary="排班",
    description="Refused for a person notify's directory doesn't know, or can reach only in the "
    "app (值班人员缺少联系方式): the roster decides who is alerted.",
)
create_api_key = OPERATIONS.add(
    "create_api_key",
    roles=ADMIN,
    body=ApiKeyCreate,
    response=ApiKeyIssued,
    summary="为 Open311 客户端生成 API 密钥",
)

# intake
create_ticket = OPERATIONS.add(
    "create_ticket",
    roles=("resident", *CENTER_STAFF),
    body=TicketIntake,
    response=TicketReceipt,
    summary="登记群众诉求",
    rules=(STAFF_CHANNELS,),
    description="Residents report for themselves on the web; staff also register hotline and "
    "walk-in reports (STAFF_CHANNELS), with the caller's contact, and may resolve them at once "
    "with an answer (当场办结). The service also takes web reports without a token: the "
    "gateway's public intake.",
)
create_tickets = OPERATIONS.add(
    "create_tickets",
    roles=None,
    body=IntakeBatch,
    response=TicketReceipt,
    many=True,
    summary="批量受理诉求（网关汇集的并发请求）",
    description="Each item is judged as create_ticket judges one, with its own caller's token.",
)
create_open311_ticket = OPERATIONS.add(
    "create_open311_ticket",
    roles=None,
    response=TicketReceipt,
    summary="Open311 提交诉求（需 api_key）",
)
get_open311_service = OPERATIONS.add(
    "get_open311_service", roles=None, response=CategoryRead, summary="Open311 服务的补充问题"
)
search_tickets = OPERATIONS.add(
    "search_tickets",
    roles=None,
    query=TicketSearch,
    response=TicketRead,
    many=True,
    summary="Open311 查询诉求",
)

# reading
list_tickets = OPERATIONS.add(
    "list_tickets",
    roles=("resident", *RECORD_READERS),
    query=TicketQuery,
    response=TicketList,
    summary="工单列表（居民只看到本人的，责任单位只看到本单位的）",
    description="A resident sees their own tickets, a party's handler (and the social "
    "workers, the social-work party's) only its party's — asking for another party's "
    "gives none.",
)
get_ticket = OPERATIONS.add(
    "get_ticket", roles=("resident", *RECORD_READERS), response=TicketRead, summary="工单详情"
)
get_ticket_timeline = OPERATIONS.add(
    "get_ticket_timeline",
    roles=("resident", *RECORD_READERS),
    response=TimelineEntry,
    many=True,
    summary="工单处理过程（审计记录）",
)
get_board = OPERATIONS.add(
    "get_board",
    roles=STAFF,
    query=BoardQuery,
    response=Board,
    summary="值班看板：未办结工单按时限排序",
    description="A party's handler (and the social workers) sees only its party's open "
    "tickets, and the counts by state of those.",
)
suggest = OPERATIONS.add(
    "suggest",
    roles=None,
    body=SuggestionIn,
    response=Suggestions,
    summary="反映前：推荐诉求类别，提示已有人反映的相似诉求",
)
support_ticket = OPERATIONS.add(
    "support_ticket",
    roles=None,
    body=SupporterIn,
    response=SupportRead,
    summary="我也遇到了：加入已有诉求，办理进展同样告知",
)
find_public_photo = OPERATIONS.add(
    "find_public_photo",
    roles=None,
    response=PublicPhoto,
    summary="公开照片所属的诉求（中心允许公开照片时）",
)
get_public_ticket = OPERATIONS.add(
    "get_public_ticket",
    roles=None,
    query=PublicFollow,
    response=TicketProgress,
    summary="查询诉求办理进度",
)
rate_public_ticket = OPERATIONS.add(
    "rate_public_ticket",
    roles=None,
    body=PublicRatingIn,
    response=TicketRead,
    summary="回访评价（免登录，凭查询码）",
)

# the workflow: one operation per action
acknowledge_ticket = OPERATIONS.add(
    "acknowledge_ticket",
    roles=CADRES,
    body=Note,
    response=TicketRead,
    summary="签收（值班干部）",
)
assign_ticket = OPERATIONS.add(
    "assign_ticket",
    roles=CADRES,
    body=AssignIn,
    response=TicketRead,
    summary="派单 / 改派",
)
start_ticket = OPERATIONS.add(
    "start_ticket",
    roles=STAFF,
    body=Note,
    response=TicketRead,
    summary="开始办理",
    rules=(OWN_PARTY,),
)
return_ticket = OPERATIONS.add(
    "return_ticket",
    roles=STAFF,
    body=ReasonIn,
    response=TicketRead,
    summary="退单（须说明理由）",
    rules=(OWN_PARTY,),
)
resolve_ticket = OPERATIONS.add(
    "resolve_ticket",
    roles=STAFF,
    body=ResolveIn,
    response=TicketRead,
    summary="办结（须填写答复）",
    rules=(OWN_PARTY,),
)
escalate_ticket = OPERATIONS.add(
    "escalate_ticket",
    roles=CADRES,
    body=ReasonIn,
    response=TicketRead,
    summary="提交党建联席会",
)
merge_ticket = OPERATIONS.add(
    "merge_ticket",
    roles=CADRES,
    body=MergeIn,
    response=TicketRead,
    summary="并单（重复诉求并入主工单）",
)
urge_ticket = OPERATIONS.add(
    "urge_ticket",
    roles=ADMIN,
    body=UrgeIn,
    response=TicketRead,
    summary="催办（提醒值班干部或责任方）",
)
close_ticket = OPERATIONS.add(
    "close_ticket",
    roles=CADRES,
    body=ReasonIn,
    response=TicketRead,
    summary="回访关闭（未能评价时）",
)
reopen_ticket = OPERATIONS.add(
    "reopen_ticket",
    roles=("resident", *CADRES),
    body=ReasonIn,
    response=TicketRead,
    summary="重新办理（办结后 15 天内）",
)
rate_ticket = OPERATIONS.add(
    "rate_ticket",
    roles=("resident", *CADRES),
    body=RatingIn,
    response=TicketRead,
    summary="回访评价",
    description="The resident rates; staff record a rating taken by phone or visit (``via``).",
)

# the joint meeting and satisfaction
list_meetings = OPERATIONS.add(
    "list_meetings",
    roles=("department", *CADRES),
    response=MeetingSummary,
    many=True,
    summary="党建联席会列表",
)
get_meeting = OPERATIONS.add(
    "get_meeting", roles=("department", *CADRES), response=MeetingRead, summary="某月联席会议程"
)
decide_agenda_item = OPERATIONS.add(
    "decide_agenda_item",
    roles=CADRES,
    body=DecisionIn,
    response=AgendaItemRead,
    summary="记录联席会决定",
)
get_satisfaction = OPERATIONS.add(
    "get_satisfaction",
    roles=READERS,
    query=SatisfactionQuery,
    response=Satisfaction,
    summary="群众满意度（按中心、责任方、类别或月份）",
)


# -- the month's ticket figures (the monthly report reads them; so may anyone who reads the
# center's figures, at GET /api/v1/tickets/stats) ---------------------------------------------


@dataclass(frozen=True)
class StatsPeriod:
    """Days in Asia/Shanghai, both included."""

    date_from: date
    date_to: date


class TicketStatsQuery(BaseSchema):
    """A period in the center's calendar (Asia/Shanghai), both days included (at most a year)."""

    model = StatsPeriod
    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")

    @validates_schema
    def _order(self, data, **_kwargs):
        if data["date_to"] < data["date_from"]:
            raise ValidationError("结束日期不能早于开始日期", "to")
        if (data["date_to"] - data["date_from"]).days > 366:
            raise ValidationError("统计区间不能超过一年", "to")


class TicketFigures(BaseSchema):
    """One row of the figures: the whole center, a party or a category."""

    key = fields.Str()
    label = fields.Str()
    #: Reports received in the period (repeats merged into another included).
    received = fields.Int()
    #: Resolved (办结) in the period, whenever received.
    resolved = fields.Int()
    #: Received in the period and past their resolve deadline (超期), resolved since or not.
    overdue = fields.Int()
    #: Returns (退单) in the period.
    returned = fields.Int()
    #: Escalations to the joint meeting (提交联席会) in the period.
    escalated = fields.Int()
    #: Received in the period and acknowledged within 10 minutes of receipt.
    acknowledged_in_10_minutes = fields.Int()
    #: acknowledged_in_10_minutes / received in percent, one decimal; null: none received.
    acknowledged_in_10_minutes_rate = fields.Float(allow_none=True)


class ResolveTimeBucket(BaseSchema):
    key = fields.Str()
    label = fields.Str()
    #: Tickets resolved in the period whose receipt-to-resolution time falls in the bucket.
    tickets = fields.Int()


class TicketStats(BaseSchema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    total = fields.Nested(TicketFigures)
    by_party = fields.List(fields.Nested(TicketFigures))
    by_category = fields.List(fields.Nested(TicketFigures))
    resolve_time = fields.List(fields.Nested(ResolveTimeBucket))
    #: Median receipt-to-resolution hours of the tickets resolved in the period.
    median_resolve_hours = fields.Float(allow_none=True)


ticket_stats = OPERATIONS.add(
    "ticket_stats",
    roles=READERS,
    query=TicketStatsQuery,
    response=TicketStats,
    summary="诉求办理统计（受理、办结、超期、退单、提交联席会；10 分钟签收率；办结用时分布）",
    description="By party and category for a period (``from`` / ``to``, days in Asia/Shanghai, "
    "both included). The monthly report's ticket figures are these.",
)


#: Who may ask the figures of many centers at once (the county view's readers).
COUNTY_READERS = ("department", "ops")


class CountyTicketFigures(BaseSchema):
    """One center's line of the county view, as :data:`ticket_stats` and the satisfaction by
    center answer it for the same period."""

    center_id = fields.Str()
    center_name = fields.Str()
    total = fields.Nested(TicketFigures)
    median_resolve_hours = fields.Float(allow_none=True)
    #: Ratings given in the period, and (满意 + 基本满意) / all in percent; null: none.
    ratings = fields.Int()
    satisfaction = fields.Float(allow_none=True)


county_ticket_stats = OPERATIONS.add(
    "county_ticket_stats",
    roles=COUNTY_READERS,
    internal=True,
    query=TicketStatsQuery,
    response=CountyTicketFigures,
    many=True,
    summary="多中心诉求办理统计（县级汇总，报表服务调用）",
    description="``county_ticket_stats(center_ids, query)``: each existing center's name and "
    "total figures for the period, counted at once; only centers the caller's token grants "
    "(``center_ids`` null: every one of them).",
)


class SettledIntake(BaseSchema):
    """What became of an intake request the gateway stopped waiting for: its ticket, or
    none (and then never: it is abandoned)."""

    ticket = fields.Nested(TicketReceipt, allow_none=True)


settle_intake = OPERATIONS.add(
    "settle_intake",
    roles=None,
    internal=True,
    response=SettledIntake,
    summary="网关等待超时后确认一次提交是否已受理（未受理则作废）",
    description="``settle_intake(center_id, request_key)``: the ticket stored for the "
    "gateway's key of one intake request, or null — and then the request is abandoned, so a "
    "late copy of it stores nothing.",
)


class MeetingDay(BaseSchema):
    """A center and the day of the month its joint meeting is held (党建联席会)."""

    id = fields.Str()
    name = fields.Str()
    meeting_day = fields.Int()
    status = fields.Str()


list_meeting_days = OPERATIONS.add(
    "list_meeting_days",
    roles=None,
    internal=True,
    response=MeetingDay,
    many=True,
    summary="各中心联席会日期（报表服务按此在会前一天发布月度报告）",
)
