"""The notify service's contract: directory and in-app notifications (RPC payloads).

Notify publishes no events yet; it consumes the other services' events.
"""

from __future__ import annotations

from marshmallow import fields, validate

from lianxin.auth import ROLES
from lianxin.contracts.schema import BaseSchema, Page

PHONE_RE = r"^1[3-9]\d{9}$"


class ContactCreate(BaseSchema):
    person_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    role = fields.Str(required=True, validate=validate.OneOf(ROLES))
    phone = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(PHONE_RE))
    email = fields.Email(load_default=None, allow_none=True)
    wechat_openid = fields.Str(load_default=None, allow_none=True,
                               validate=validate.Length(min=4, max=64))


class ContactRead(BaseSchema):
    person_id = fields.Str()
    name = fields.Str()
    role = fields.Str()
    phone = fields.Str(allow_none=True)
    email = fields.Str(allow_none=True)
    wechat_openid = fields.Str(allow_none=True)


class NotificationRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    audience = fields.Str()
    person_id = fields.Str(allow_none=True)
    kind = fields.Str()
    title = fields.Str()
    body = fields.Str()
    ref_type = fields.Str(allow_none=True)
    ref_id = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    read_at = fields.AwareDateTime(allow_none=True)


class NotificationQuery(Page):
    unread = fields.Bool(load_default=False)


class NotificationList(BaseSchema):
    items = fields.List(fields.Nested(NotificationRead))
    total = fields.Int()
    unread = fields.Int()
    limit = fields.Int()
    offset = fields.Int()


#: Kinds of scheduled message other services may ask for, with the data each template uses.
SCHEDULED_KINDS = {
    "reminder.shift_day_before": ("shift_title", "starts_at", "place"),
    "reminder.shift_today": ("shift_title", "starts_at", "place"),
    "reminder.activity_hour_before": ("activity_title", "starts_at", "place"),
}


class ScheduledMessageCreate(BaseSchema):
    """A message another service wants sent at ``send_at`` (e.g. a shift reminder).

    ``key`` makes the request idempotent and is what ``cancel_scheduled`` names,
    e.g. ``shift:<shift id>:<person id>:day_before``. ``data`` holds template
    variables (titles, times, places), never contact data.
    """

    key = fields.Str(required=True, validate=validate.Length(min=3, max=200))
    person_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.Str(required=True, validate=validate.OneOf(list(SCHEDULED_KINDS)))
    send_at = fields.AwareDateTime(required=True)
    data = fields.Dict(keys=fields.Str(), values=fields.Raw(), load_default=dict)


class ScheduledMessageRead(BaseSchema):
    id = fields.Str()
    key = fields.Str()
    person_id = fields.Str()
    kind = fields.Str()
    send_at = fields.AwareDateTime()
    state = fields.Str()  # scheduled | sent | cancelled | failed
