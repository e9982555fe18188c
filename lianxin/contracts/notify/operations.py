"""The notify service's contract: directory (and who can be reached), a center's alerting
chain, inbox, templates, preferences, deliveries, scheduled messages and department
subscriptions (RPC payloads).

Notify publishes no events; it consumes every other service's events, tells people
(templates per message type and channel) and forwards the events to departments'
webhooks. Contact data (phone, e-mail, WeChat openid, webhook address) lives only here.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from marshmallow import ValidationError, fields, validate, validates, validates_schema

from lianxin.contracts.schema import CENTER_ID_RE, BaseSchema, Page, page_of
from lianxin.operations import Operations, Rule
from lianxin.roles import ADMIN, CENTER_STAFF, MEMBERS, OPS, PARTIES, ROLES, STAFF, Principal

PHONE_RE = r"^1[3-9]\d{9}$"
HHMM_RE = r"^([01]\d|2[0-3]):[0-5]\d$"

#: Every channel a message can take. ``in_app`` is the inbox and always on.
CHANNELS = ("in_app", "sms", "wechat", "email", "webhook")
#: Channels that reach a person outside the app (preferences and quiet hours apply to them).
PUSH_CHANNELS = ("sms", "wechat", "email", "webhook")
MESSAGE_TYPE_RE = r"^[a-z_]+(\.[a-z_]+){1,3}$"

_http_url = validate.URL(
    schemes={"http", "https"}, require_tld=False, error="网址无效（应为 http 或 https 地址）"
)


# -- directory -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewContact:
    """A person's entry in the directory, as :class:`ContactCreate` loads it."""

    person_id: str
    name: str
    role: str
    party: str | None = None
    phone: str | None = None
    email: str | None = None
    wechat_openid: str | None = None
    webhook_url: str | None = None


class ContactChanges(TypedDict, total=False):
    """What :class:`ContactUpdate` loads: only the fields given (None clears one)."""

    name: str
    role: str
    party: str | None
    phone: str | None
    email: str | None
    wechat_openid: str | None
    webhook_url: str | None


class ContactCreate(BaseSchema):
    """A person's entry in the directory (created, or replaced when it exists)."""

    model = NewContact

    person_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    role = fields.Str(required=True, validate=validate.OneOf(ROLES))
    #: For party handlers: the party they work for (物业/社工/业委会/村支两委).
    party = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(PARTIES))
    phone = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(PHONE_RE, error="手机号码格式无效"),
    )
    email = fields.Email(load_default=None, allow_none=True)
    wechat_openid = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(min=4, max=64)
    )
    #: An organisation's system that takes messages by HTTP POST (e.g. a property company's).
    webhook_url = fields.Str(
        load_default=None, allow_none=True, validate=[validate.Length(max=500), _http_url]
    )


class ContactUpdate(BaseSchema):
    """Change some of a person's contact data; a field set to null is cleared."""

    name = fields.Str(validate=validate.Length(min=1, max=40))
    role = fields.Str(validate=validate.OneOf(ROLES))
    party = fields.Str(allow_none=True, validate=validate.OneOf(PARTIES))
    phone = fields.Str(
        allow_none=True, validate=validate.Regexp(PHONE_RE, error="手机号码格式无效")
    )
    email = fields.Email(allow_none=True)
    wechat_openid = fields.Str(allow_none=True, validate=validate.Length(min=4, max=64))
    webhook_url = fields.Str(allow_none=True, validate=[validate.Length(max=500), _http_url])


class ContactRead(BaseSchema):
    person_id = fields.Str()
    name = fields.Str()
    role = fields.Str()
    party = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    wechat_openid = fields.Str(allow_none=True)
    webhook_url = fields.Str(allow_none=True)
    updated_at = fields.AwareDateTime()


class ContactFilter(TypedDict):
    """What :class:`ContactQuery` loads."""

    limit: int
    offset: int
    role: str | None
    party: str | None


class ContactQuery(Page):
    role = fields.Str(load_default=None, validate=validate.OneOf(ROLES))
    party = fields.Str(load_default=None, validate=validate.OneOf(PARTIES))


ContactList = page_of(ContactRead, "ContactList")


# -- reachability and a center's alerting chain ------------------------------------------------

#: The channels that reach a person themselves (an organisation's webhook reaches a system).
REACHING_CHANNELS = ("sms", "wechat", "email")
#: The most people a center names in one list of its alerting settings.
MAX_ALERTED = 20


class ReachabilityRead(BaseSchema):
    """Whether notify can reach a person beyond the in-app inbox (who may be put on duty)."""

    person_id = fields.Str()
    #: The directory knows the person.
    known = fields.Bool()
    #: At least one of :data:`REACHING_CHANNELS` has an address (phone, WeChat, e-mail).
    reachable = fields.Bool()
    #: Those channels, e.g. ``["sms", "email"]`` (in-app, always there, is not listed).
    channels = fields.List(fields.Str())


@dataclass(frozen=True)
class AlertingChoice:
    """What :class:`AlertingSave` loads."""

    fallback_person_ids: list[str]
    leadership_person_ids: list[str]


def _person_ids(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.Str(validate=validate.Length(min=1, max=64)),
        validate=validate.Length(max=MAX_ALERTED),
        **kwargs,
    )


class AlertingSave(BaseSchema):
    """Who a center alerts beyond those on duty (person ids of the directory, in order)."""

    model = AlertingChoice

    #: Told when none of those on duty can be reached (after the center's admins), one by
    #: one in this order until one of them can be.
    fallback_person_ids = _person_ids(required=True)
    #: Told at the escalation ladder's third level (e.g. the town's leadership).
    leadership_person_ids = _person_ids(required=True)


class AlertingRead(BaseSchema):
    fallback_person_ids = fields.List(fields.Str())
    leadership_person_ids = fields.List(fields.Str())
    updated_by = fields.Str(allow_none=True)
    #: None while the center has not saved its own (both lists empty).
    updated_at = fields.AwareDateTime(allow_none=True)


# -- inbox -----------------------------------------------------------------------------------


class NotificationRead(BaseSchema):
    """One message in a person's in-app inbox, with that person's own read state."""

    id = fields.Str()
    center_id = fields.Str()
    #: ``person`` for a message to this person; a role (``staff``) for the role's shared inbox.
    audience = fields.Str()
    person_id = fields.Str(allow_none=True)
    #: The event type that caused it (or ``scheduled`` for a scheduled message).
    kind = fields.Str()
    message_type = fields.Str()
    critical = fields.Bool()
    title = fields.Str()
    body = fields.Str()
    ref_type = fields.Str(allow_none=True)
    ref_id = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    read_at = fields.AwareDateTime(allow_none=True)


class InboxFilter(TypedDict, total=False):
    """What :class:`NotificationQuery` loads."""

    limit: int
    offset: int
    unread: bool


class NotificationQuery(Page):
    unread = fields.Bool(load_default=False)


class NotificationList(BaseSchema):
    items = fields.List(fields.Nested(NotificationRead))
    total = fields.Int()
    unread = fields.Int()
    limit = fields.Int()
    offset = fields.Int()


class UnreadCount(BaseSchema):
    unread = fields.Int()


class MarkedRead(BaseSchema):
    marked = fields.Int()


# -- message types and templates -------------------------------------------------------------


class MessageTypeRead(BaseSchema):
    type = fields.Str()
    name = fields.Str()
    critical = fields.Bool()
    default_channels = fields.List(fields.Str())
    variables = fields.List(fields.Str())


@dataclass(frozen=True)
class TemplateText:
    """A center's own wording, as :class:`TemplateSave` loads it."""

    title: str
    body: str


class TemplateSave(BaseSchema):
    """A center's own wording of a message type on a channel (Jinja2 syntax: ``{{ place }}``)."""

    model = TemplateText

    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    body = fields.Str(required=True, validate=validate.Length(min=1, max=4000))


class TemplateRead(BaseSchema):
    message_type = fields.Str()
    channel = fields.Str()
    title = fields.Str()
    body = fields.Str()
    #: True when the center has its own wording; False for the built-in default.
    overridden = fields.Bool()
    updated_at = fields.AwareDateTime(allow_none=True)


@dataclass(frozen=True)
class PreviewRequest:
    """What :class:`TemplatePreview` loads."""

    message_type: str
    channel: str = "in_app"
    title: str | None = None
    body: str | None = None
    data: dict[str, Any] | None = None


class TemplatePreview(BaseSchema):
    """Render a template (the saved one, or ``title``/``body`` given) against sample data."""

    model = PreviewRequest

    message_type = fields.Str(required=True, validate=validate.Regexp(MESSAGE_TYPE_RE))
    channel = fields.Str(load_default="in_app", validate=validate.OneOf(CHANNELS))
    title = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))
    body = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    data = fields.Dict(keys=fields.Str(), values=fields.Raw(), load_default=None, allow_none=True)


class RenderedRead(BaseSchema):
    title = fields.Str()
    body = fields.Str()


# -- preferences -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PreferenceChoice:
    """What :class:`PreferenceSet` loads: channels (None: the type's defaults), or muted."""

    channels: list[str] | None = None
    muted: bool = False


class PreferenceSet(BaseSchema):
    """How a person wants one message type (or ``*``, every type): channels, or muted."""

    model = PreferenceChoice

    channels = fields.List(
        fields.Str(validate=validate.OneOf(PUSH_CHANNELS)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=len(PUSH_CHANNELS)),
    )
    muted = fields.Bool(load_default=False)


class PreferenceRead(BaseSchema):
    message_type = fields.Str()
    channels = fields.List(fields.Str(), allow_none=True)
    muted = fields.Bool()
    #: Critical types (an SLA breach) are never muted nor deferred, whatever is set.
    critical = fields.Bool()


@dataclass(frozen=True)
class QuietWindow:
    """What :class:`QuietHoursSet` loads."""

    start: str
    end: str
    enabled: bool = True


class QuietHoursSet(BaseSchema):
    """Hours (Asia/Shanghai) when push messages wait; e.g. 22:00–07:00. Critical ones don't."""

    model = QuietWindow

    start = fields.Str(required=True, validate=validate.Regexp(HHMM_RE, error="时间格式应为 HH:MM"))
    end = fields.Str(required=True, validate=validate.Regexp(HHMM_RE, error="时间格式应为 HH:MM"))
    enabled = fields.Bool(load_default=True)

    @validates_schema
    def _not_empty(self, data, **_kwargs):
        if data.get("start") == data.get("end"):
            raise ValidationError("开始与结束时间不能相同", "end")


class QuietHoursRead(BaseSchema):
    start = fields.Str()
    end = fields.Str()
    enabled = fields.Bool()
    timezone = fields.Str()


class PreferencesRead(BaseSchema):
    person_id = fields.Str()
    quiet_hours = fields.Nested(QuietHoursRead)
    items = fields.List(fields.Nested(PreferenceRead))


# -- deliveries ------------------------------------------------------------------------------

DELIVERY_STATES = ("pending", "sending", "sent", "failed")


class DeliveryRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    #: The event id that caused it, or ``sched:<id>:<time>`` for a scheduled message.
    source_id = fields.Str()
    event_type = fields.Str(allow_none=True)
    message_type = fields.Str()
    person_id = fields.Str(allow_none=True)
    audience = fields.Str(allow_none=True)
    channel = fields.Str()
    critical = fields.Bool()
    state = fields.Str()
    attempts = fields.Int()
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    deferred_until = fields.AwareDateTime(allow_none=True)
    last_error = fields.Str(allow_none=True)
    title = fields.Str()
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)


class DeliveryFilter(TypedDict, total=False):
    """What :class:`DeliveryQuery` loads."""

    limit: int
    offset: int
    person_id: str | None
    event_id: str | None
    channel: str | None
    state: str | None


class DeliveryQuery(Page):
    person_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))
    event_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=80))
    channel = fields.Str(load_default=None, validate=validate.OneOf(CHANNELS))
    state = fields.Str(load_default=None, validate=validate.OneOf(DELIVERY_STATES))


DeliveryList = page_of(DeliveryRead, "DeliveryList")


# -- scheduled messages ----------------------------------------------------------------------

#: Kinds of scheduled message other services may ask for, with the data each template uses.
SCHEDULED_KINDS = {
    "reminder.shift_day_before": ("shift_title", "starts_at", "place"),
    "reminder.shift_today": ("shift_title", "starts_at", "place"),
    "reminder.activity_hour_before": ("activity_title", "starts_at", "place"),
}
SCHEDULED_STATES = ("scheduled", "sent", "cancelled", "failed")


@dataclass(frozen=True)
class NewScheduledMessage:
    """What :class:`ScheduledMessageCreate` loads (and what a plan's reminders become)."""

    key: str
    person_id: str
    kind: str
    send_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


class ScheduledMessageCreate(BaseSchema):
    """A message another service wants sent at ``send_at`` (e.g. a shift reminder).

    ``key`` makes the request idempotent and is what ``cancel_scheduled`` names,
    e.g. ``shift:<shift id>:<person id>:day_before``. ``data`` holds template
    variables (titles, times, places), never contact data. Asking again with the
    same key moves the message (new time, new data) unless it was already sent then.
    """

    model = NewScheduledMessage

    key = fields.Str(
        required=True,
        validate=[
            validate.Length(min=3, max=200),
            validate.Regexp(r"^[\w.:@-]+$", error="只能包含字母、数字和 . : @ - _"),
        ],
    )
    person_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.Str(required=True, validate=validate.OneOf(list(SCHEDULED_KINDS)))
    send_at = fields.AwareDateTime(required=True)
    data = fields.Dict(keys=fields.Str(), values=fields.Raw(), load_default=dict)

    @validates_schema
    def _data_for_kind(self, data, **_kwargs):
        needed = SCHEDULED_KINDS.get(data.get("kind"), ())
        missing = [k for k in needed if k not in (data.get("data") or {})]
        if missing:
            raise ValidationError(f"缺少模板数据：{', '.join(missing)}", "data")


class ScheduledMessageRead(BaseSchema):
    id = fields.Str()
    key = fields.Str()
    person_id = fields.Str()
    kind = fields.Str()
    send_at = fields.AwareDateTime()
    state = fields.Str()  # scheduled | sent | cancelled | failed
    sent_at = fields.AwareDateTime(allow_none=True)


class ScheduledFilter(TypedDict, total=False):
    """What :class:`ScheduledQuery` loads."""

    limit: int
    offset: int
    person_id: str | None
    state: str | None


class ScheduledQuery(Page):
    person_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))
    state = fields.Str(load_default=None, validate=validate.OneOf(SCHEDULED_STATES))


ScheduledList = page_of(ScheduledMessageRead, "ScheduledList")


# -- department subscriptions ----------------------------------------------------------------

TYPE_PATTERN_RE = re.compile(r"^cn\.lianxin(\.[a-z_]+){0,3}(\.v\d+|\.\*)$|^cn\.lianxin\.\*$")


def matching_types(pattern: str) -> list[str]:
    """The declared event types a subscription pattern (``cn.lianxin.tickets.*``) selects."""
    from lianxin.contracts import load_catalogue

    return sorted(t for t in load_catalogue() if fnmatch.fnmatchcase(t, pattern))


def _check_types(patterns: list[str]) -> None:
    for pattern in patterns:
        if not TYPE_PATTERN_RE.match(pattern):
            raise ValidationError(
                f"事件类型模式无效：{pattern}（应为完整类型，或以 .* 结尾，如 cn.lianxin.tickets.*）"
            )
        if not matching_types(pattern):
            raise ValidationError(f"没有与 {pattern} 匹配的事件类型")


@dataclass(frozen=True)
class NewSubscription:
    """What :class:`SubscriptionCreate` loads."""

    url: str
    types: list[str]
    centers: list[str]
    description: str = ""


class SubscriptionChanges(TypedDict, total=False):
    """What :class:`SubscriptionUpdate` loads: only the fields given."""

    url: str
    types: list[str]
    centers: list[str]
    description: str
    active: bool


class SubscriptionCreate(BaseSchema):
    """A department's webhook: which event types, of which centers, to which URL."""

    model = NewSubscription

    url = fields.Str(required=True, validate=[validate.Length(max=500), _http_url])
    types = fields.List(
        fields.Str(validate=validate.Length(min=3, max=120)),
        required=True,
        validate=validate.Length(min=1, max=50),
    )
    centers = fields.List(
        fields.Str(validate=validate.Regexp(CENTER_ID_RE)),
        required=True,
        validate=validate.Length(min=1, max=200),
    )
    description = fields.Str(load_default="", validate=validate.Length(max=200))

    @validates("types")
    def _types(self, value, **_kwargs):
        _check_types(value)


class SubscriptionUpdate(BaseSchema):
    url = fields.Str(validate=[validate.Length(max=500), _http_url])
    types = fields.List(
        fields.Str(validate=validate.Length(min=3, max=120)),
        validate=validate.Length(min=1, max=50),
    )
    centers = fields.List(
        fields.Str(validate=validate.Regexp(CENTER_ID_RE)), validate=validate.Length(min=1, max=200)
    )
    description = fields.Str(validate=validate.Length(max=200))
    #: true re-enables a disabled subscription (after a 410 or by hand); false disables it.
    active = fields.Bool()

    @validates("types")
    def _types(self, value, **_kwargs):
        _check_types(value)


class SubscriptionRead(BaseSchema):
    id = fields.Str()
    owner = fields.Str()
    url = fields.Str()
    types = fields.List(fields.Str())
    centers = fields.List(fields.Str())
    description = fields.Str()
    state = fields.Str()  # active | disabled
    disabled_reason = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class SubscriptionCreated(SubscriptionRead):
    #: ``whsec_`` + base64: the key of the Standard Webhooks signature. Shown only here.
    secret = fields.Str()


class SecretRotated(BaseSchema):
    id = fields.Str()
    secret = fields.Str()
    #: Until then deliveries are signed with the old secret too (two signatures).
    previous_valid_until = fields.AwareDateTime()


class SubscriptionList(BaseSchema):
    items = fields.List(fields.Nested(SubscriptionRead))
    total = fields.Int()


@dataclass(frozen=True)
class ReplayWindow:
    """What :class:`ReplayRequest` loads."""

    start: datetime
    end: datetime


class ReplayRequest(BaseSchema):
    """Send again every event of the subscription's types and centers in [start, end)."""

    model = ReplayWindow

    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)

    @validates_schema
    def _range(self, data, **_kwargs):
        if "start" in data and "end" in data:
            if data["end"] <= data["start"]:
                raise ValidationError("结束时间须晚于开始时间", "end")
            if (data["end"] - data["start"]).days > 31:
                raise ValidationError("一次最多重放 31 天", "end")


class ReplayRead(BaseSchema):
    replay_id = fields.Str()
    events = fields.Int()


WEBHOOK_STATES = ("pending", "sending", "delivered", "failed", "cancelled")


class WebhookDeliveryRead(BaseSchema):
    #: Also the ``webhook-id`` header: the same on every retry of this delivery.
    id = fields.Str()
    subscription_id = fields.Str()
    center_id = fields.Str()
    event_id = fields.Str()
    event_type = fields.Str()
    replay_id = fields.Str(allow_none=True)
    state = fields.Str()
    attempts = fields.Int()
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    last_status = fields.Int(allow_none=True)
    last_error = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    delivered_at = fields.AwareDateTime(allow_none=True)


class WebhookDeliveryFilter(TypedDict, total=False):
    """What :class:`WebhookDeliveryQuery` loads."""

    limit: int
    offset: int
    state: str | None
    event_id: str | None


class WebhookDeliveryQuery(Page):
    state = fields.Str(load_default=None, validate=validate.OneOf(WEBHOOK_STATES))
    event_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=80))


WebhookDeliveryList = page_of(WebhookDeliveryRead, "WebhookDeliveryList")


# -- the operation table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Concerning:
    """What a person-scoped rule is judged on: whose data (None: the caller's own) and, for an
    edit, which fields change."""

    person_id: str | None
    fields: frozenset[str] = frozenset()


def sees_anyone(principal: Principal) -> bool:
    """The center's own staff (cadres, social workers, the admin) see and keep anyone's
    contact, preferences and deliveries; a party's handler, a resident or a volunteer only
    their own (a handler reaches the people of its tickets through the ticket, not the
    directory)."""
    return principal.admitted_by(CENTER_STAFF)


def inbox_role(principal: Principal) -> str:
    """Whose shared inbox (``@staff``, ``@admin``) a person reads besides their own messages:
    their role's — but a party's staff (a handler, a social worker) read none: the shared
    staff inbox is where the tickets of every party fall back to the cadres, and a party
    hears of its own tickets by name."""
    if principal.role == "staff" and principal.party is not None:
        return f"staff:{principal.party}"
    return principal.role


def _own_or_staff(principal: Principal, target: Any) -> bool:
    return sees_anyone(principal) or getattr(target, "person_id", None) in (None, principal.id)


def _keeps_role(principal: Principal, target: Any) -> bool:
    return sees_anyone(principal) or not {"role", "party"} & getattr(target, "fields", frozenset())


#: Residents, volunteers and a party's handlers see and change only their own data; the
#: center's staff anyone's.
OWN_PERSON = Rule(
    "own_person", _own_or_staff, "只能查看或修改本人的信息", code="PERSON_FORBIDDEN", on_target=True
)
#: A person's role and party in the directory are the staff's to keep.
STAFF_SETS_ROLE = Rule(
    "staff_sets_role",
    _keeps_role,
    "角色和所属单位由工作人员维护",
    code="ROLE_FORBIDDEN",
    on_target=True,
)

#: Who manages department subscriptions: departments (over the centers their token grants),
#: ops, and a center's admin.
SUBSCRIBERS = ("department", *OPS, *ADMIN)

OPERATIONS = Operations("notify")

# inbox
list_notifications = OPERATIONS.add(
    "list_notifications",
    roles=MEMBERS,
    query=NotificationQuery,
    response=NotificationList,
    summary="站内通知",
    description="The caller's own inbox (and their role's shared inbox), each with their own "
    "read state.",
)
unread_count = OPERATIONS.add(
    "unread_count", roles=MEMBERS, response=UnreadCount, summary="未读通知数"
)
mark_notification_read = OPERATIONS.add(
    "mark_notification_read", roles=MEMBERS, response=NotificationRead, summary="标记通知已读"
)
mark_all_notifications_read = OPERATIONS.add(
    "mark_all_notifications_read", roles=MEMBERS, response=MarkedRead, summary="全部标记已读"
)

# directory
upsert_contact = OPERATIONS.add(
    "upsert_contact",
    roles=CENTER_STAFF,
    body=ContactCreate,
    response=ContactRead,
    summary="登记联系方式（通讯录）",
)
list_contacts = OPERATIONS.add(
    "list_contacts", roles=CENTER_STAFF, query=ContactQuery, response=ContactList, summary="通讯录"
)
get_contact = OPERATIONS.add(
    "get_contact",
    roles=MEMBERS,
    response=ContactRead,
    summary="查看联系方式",
    rules=(OWN_PERSON,),
    description="The center's staff see anyone's; a resident, volunteer or party's handler "
    "only their own.",
)
update_contact = OPERATIONS.add(
    "update_contact",
    roles=MEMBERS,
    body=ContactUpdate,
    response=ContactRead,
    summary="修改联系方式",
    rules=(OWN_PERSON, STAFF_SETS_ROLE),
    if_match=True,
)
delete_contact = OPERATIONS.add(
    "delete_contact", roles=ADMIN, response=ContactRead, summary="删除联系人"
)
check_reachable = OPERATIONS.add(
    "check_reachable",
    roles=CENTER_STAFF,
    response=ReachabilityRead,
    summary="能否联系到某人",
    description="Whether the directory knows a person and can reach them beyond the in-app "
    "inbox (SMS, WeChat or e-mail): who the duty roster may name.",
)

# the center's alerting chain
get_alerting = OPERATIONS.add(
    "get_alerting", roles=ADMIN, response=AlertingRead, summary="告警兜底设置"
)
update_alerting = OPERATIONS.add(
    "update_alerting",
    roles=ADMIN,
    body=AlertingSave,
    response=AlertingRead,
    summary="修改告警兜底设置",
    description="Who is alerted when nobody on duty can be reached (after the center's "
    "admins, in order) and at the escalation ladder's third level. Every id must be in "
    "the directory.",
)

# message types and templates
list_message_types = OPERATIONS.add(
    "list_message_types", roles=MEMBERS, response=MessageTypeRead, many=True, summary="消息类型"
)
list_templates = OPERATIONS.add(
    "list_templates",
    roles=STAFF,
    response=TemplateRead,
    many=True,
    summary="消息模板（含本中心自定义）",
)
save_template = OPERATIONS.add(
    "save_template",
    roles=ADMIN,
    body=TemplateSave,
    response=TemplateRead,
    summary="自定义消息模板",
    description="Jinja2 syntax; rendered against sample data before it is saved (422 with the "
    "reason).",
)
delete_template = OPERATIONS.add(
    "delete_template", roles=ADMIN, response=TemplateRead, summary="恢复默认模板"
)
preview_template = OPERATIONS.add(
    "preview_template",
    roles=STAFF,
    body=TemplatePreview,
    response=RenderedRead,
    summary="预览消息模板",
)

# preferences
get_preferences = OPERATIONS.add(
    "get_preferences",
    roles=MEMBERS,
    response=PreferencesRead,
    summary="我的通知设置",
    rules=(OWN_PERSON,),
)
set_quiet_hours = OPERATIONS.add(
    "set_quiet_hours",
    roles=MEMBERS,
    body=QuietHoursSet,
    response=QuietHoursRead,
    summary="设置免打扰时段",
)
set_preference = OPERATIONS.add(
    "set_preference",
    roles=MEMBERS,
    body=PreferenceSet,
    response=PreferenceRead,
    summary="设置某类消息的渠道或屏蔽",
    description="``*`` sets every type at once; critical types can't be muted.",
)

# delivery log and scheduled messages
list_deliveries = OPERATIONS.add(
    "list_deliveries",
    roles=MEMBERS,
    query=DeliveryQuery,
    response=DeliveryList,
    summary="消息投递记录",
    rules=(OWN_PERSON,),
    description="Per person (``person_id``) and per event (``event_id``); residents see their own.",
)
schedule_message = OPERATIONS.add(
    "schedule_message",
    roles=MEMBERS,
    body=ScheduledMessageCreate,
    response=ScheduledMessageRead,
    summary="预约发送消息",
    rules=(OWN_PERSON,),
)
list_scheduled = OPERATIONS.add(
    "list_scheduled",
    roles=MEMBERS,
    query=ScheduledQuery,
    response=ScheduledList,
    summary="预约消息列表",
    rules=(OWN_PERSON,),
)
cancel_scheduled = OPERATIONS.add(
    "cancel_scheduled",
    roles=MEMBERS,
    response=ScheduledMessageRead,
    summary="取消预约消息",
    rules=(OWN_PERSON,),
)

# department subscriptions (across the centers the token grants)
create_subscription = OPERATIONS.add(
    "create_subscription",
    roles=SUBSCRIBERS,
    body=SubscriptionCreate,
    response=SubscriptionCreated,
    summary="订阅事件（Webhook）",
    description="CloudEvents 1.0 (structured, ``application/cloudevents+json``) signed with "
    "Standard Webhooks headers. ``centers`` must be granted by the token. The "
    "``secret`` is shown once.",
)
list_subscriptions = OPERATIONS.add(
    "list_subscriptions", roles=SUBSCRIBERS, response=SubscriptionList, summary="我的事件订阅"
)
get_subscription = OPERATIONS.add(
    "get_subscription", roles=SUBSCRIBERS, response=SubscriptionRead, summary="查看事件订阅"
)
update_subscription = OPERATIONS.add(
    "update_subscription",
    roles=SUBSCRIBERS,
    body=SubscriptionUpdate,
    response=SubscriptionRead,
    summary="修改事件订阅",
    description="``active: true`` re-enables a subscription disabled by a 410 answer.",
)
delete_subscription = OPERATIONS.add(
    "delete_subscription", roles=SUBSCRIBERS, response=SubscriptionRead, summary="删除事件订阅"
)
rotate_subscription_secret = OPERATIONS.add(
    "rotate_subscription_secret",
    roles=SUBSCRIBERS,
    response=SecretRotated,
    summary="轮换签名密钥",
    description="A new secret; for 24 hours deliveries carry a signature with each "
    "(space-separated).",
)
replay_subscription = OPERATIONS.add(
    "replay_subscription",
    roles=SUBSCRIBERS,
    body=ReplayRequest,
    response=ReplayRead,
    summary="重放事件",
)
list_subscription_deliveries = OPERATIONS.add(
    "list_subscription_deliveries",
    roles=SUBSCRIBERS,
    query=WebhookDeliveryQuery,
    response=WebhookDeliveryList,
    summary="Webhook 投递记录",
)


# between services (not routed by the gateway)


class SignInCode(BaseSchema):
    phone = fields.Str(required=True, validate=validate.Regexp(PHONE_RE, error="手机号码格式无效"))
    code = fields.Str(required=True, validate=validate.Regexp(r"^\d{6}$"))
    minutes = fields.Int(load_default=5, validate=validate.Range(min=1, max=30))


class ReporterIn(BaseSchema):
    """A reporter's contact, handed over by the gateway at intake (a resident known by
    their phone, or one who left only an e-mail)."""

    model = NewContact
    person_id = fields.Str(
        required=True, validate=validate.Regexp(r"^(resident|reporter)-[0-9a-f]{16,20}$")
    )
    name = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    role = fields.Str(load_default="resident", validate=validate.OneOf(["resident"]))
    phone = fields.Str(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(PHONE_RE, error="手机号码格式无效"),
    )
    email = fields.Email(load_default=None, allow_none=True)


class PersonFound(BaseSchema):
    person_id = fields.Str()
    role = fields.Str()


person_by_phone = OPERATIONS.add(
    "person_by_phone",
    roles=None,
    internal=True,
    response=PersonFound,
    summary="按手机号找到目录中的人（账号服务核对志愿者）",
)
send_sign_in_code = OPERATIONS.add(
    "send_sign_in_code",
    roles=None,
    internal=True,
    body=SignInCode,
    summary="发送登录验证码短信（账号服务）",
)
remember_reporter = OPERATIONS.add(
    "remember_reporter",
    roles=None,
    internal=True,
    body=ReporterIn,
    summary="记下反映人的联系方式（网关受理时）",
    description="Creates or updates only residents' entries (``resident-…``, ``reporter-…``); "
    "never a staff member's or a volunteer's.",
)
