"""The tickets service's contract: its RPC payloads and every event it publishes.

RPC schemas are shared by the service (which validates every call) and the
gateway (which validates before spending an RPC, and documents them in OpenAPI).
"""

from __future__ import annotations

from marshmallow import fields, validate

from lianxin.contracts import event_type
from lianxin.contracts.schema import CENTER_ID_RE, CODE_RE, BaseSchema, Page

PARTIES = ("property", "social_work", "owners_committee", "village_committee")
PARTY_NAMES = {
    "property": "物业公司",
    "social_work": "社工组织",
    "owners_committee": "业主委员会",
    "village_committee": "村支两委",
}
CHANNELS = ("web", "hotline", "walk_in", "open311")
STATES = ("reported", "acknowledged", "assigned", "in_progress", "resolved", "closed")
DESCRIPTION_MAX = 4000


# -- centers and categories ------------------------------------------------------------------

class CenterCreate(BaseSchema):
    id = fields.Str(required=True, validate=validate.Regexp(CENTER_ID_RE))
    name = fields.Str(required=True, validate=validate.Length(min=2, max=100))
    address = fields.Str(load_default="", validate=validate.Length(max=200))
    timezone = fields.Str(load_default="Asia/Shanghai", validate=validate.OneOf(["Asia/Shanghai"]))


class CenterRead(BaseSchema):
    id = fields.Str()
    name = fields.Str()
    address = fields.Str()
    timezone = fields.Str()


class CategoryCreate(BaseSchema):
    code = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    party = fields.Str(required=True, validate=validate.OneOf(PARTIES))
    ack_minutes = fields.Int(load_default=10, validate=validate.Range(min=1, max=24 * 60))
    resolve_hours = fields.Int(load_default=72, validate=validate.Range(min=1, max=24 * 90))


class CategoryRead(BaseSchema):
    code = fields.Str()
    name = fields.Str()
    party = fields.Str()
    ack_minutes = fields.Int()
    resolve_hours = fields.Int()


# -- tickets ---------------------------------------------------------------------------------

class TicketCreate(BaseSchema):
    """A resident's issue, from any channel."""

    category = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    description = fields.Str(required=True, validate=validate.Length(min=2, max=DESCRIPTION_MAX))
    address = fields.Str(load_default="", validate=validate.Length(max=200))
    lat = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-90, max=90))
    long = fields.Float(load_default=None, allow_none=True,
                        validate=validate.Range(min=-180, max=180))
    channel = fields.Str(load_default="web", validate=validate.OneOf(CHANNELS))


class PublicTicketCreate(TicketCreate):
    """Public web intake: no login, so the center is named in the body."""

    center_id = fields.Str(required=True, validate=validate.Regexp(CENTER_ID_RE))


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
    reporter_id = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    ack_due_at = fields.AwareDateTime()
    resolve_due_at = fields.AwareDateTime()


class TicketQuery(Page):
    state = fields.Str(load_default=None, validate=validate.OneOf(STATES))
    category = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    party = fields.Str(load_default=None, validate=validate.OneOf(PARTIES))


class TicketList(BaseSchema):
    items = fields.List(fields.Nested(TicketRead))
    total = fields.Int()
    limit = fields.Int()
    offset = fields.Int()


# -- events ----------------------------------------------------------------------------------

class TicketCreatedData(BaseSchema):
    ticket_id = fields.Str(required=True)
    category = fields.Str(required=True)
    category_name = fields.Str(required=True)
    party = fields.Str(required=True, validate=validate.OneOf(PARTIES))
    channel = fields.Str(required=True, validate=validate.OneOf(CHANNELS))
    summary = fields.Str(required=True, validate=validate.Length(max=80))
    ack_due_at = fields.AwareDateTime(required=True)
    resolve_due_at = fields.AwareDateTime(required=True)


TICKET_CREATED = event_type(
    "cn.lianxin.tickets.ticket.created.v1", TicketCreatedData,
    """A resident's issue was taken in, from any channel (web, hotline, walk-in, Open311).

    Sent once per ticket, when it is stored. ``party`` is the party the routing
    rules chose; ``ack_due_at`` is when the cadre on duty must have acknowledged
    it. ``summary`` is the start of the description; the reporter's contact data
    is never in the event. Not sent for a report merged into an existing ticket.
    """,
)
