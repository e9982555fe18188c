"""The tickets service's contract: its RPC payloads and every event it publishes.

RPC schemas are shared by the service (which validates every call) and the
gateway (which validates before spending an RPC, and documents them in OpenAPI).
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from lianxin.contracts.schema import CENTER_ID_RE, CODE_RE, BaseSchema, Page, page_of
from lianxin.roles import PARTIES

CHANNELS = ("web", "hotline", "walk_in", "open311")
STATES = ("reported", "acknowledged", "assigned", "in_progress", "returned", "escalated",
          "resolved", "closed", "merged")
OPEN_STATES = STATES[:6]
DESCRIPTION_MAX = 4000
RATINGS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}


# -- centers and categories ------------------------------------------------------------------

class CenterCreate(BaseSchema):
    id = fields.Str(required=True, validate=validate.Regexp(CENTER_ID_RE))
    name = fields.Str(required=True, validate=validate.Length(min=2, max=100))
    address = fields.Str(load_default="", validate=validate.Length(max=200))
    timezone = fields.Str(load_default="Asia/Shanghai", validate=validate.OneOf(["Asia/Shanghai"]))


class CenterSettings(BaseSchema):
    """What a center's admin may change about how issues are handled."""

    fallback_party = fields.Str(validate=validate.OneOf(PARTIES))
    auto_assign = fields.Bool()
    meeting_day = fields.Int(validate=validate.Range(min=1, max=28))


class CenterRead(BaseSchema):
    id = fields.Str()
    name = fields.Str()
    address = fields.Str()
    timezone = fields.Str()
    fallback_party = fields.Str()
    auto_assign = fields.Bool()
    meeting_day = fields.Int()


ATTRIBUTE_TYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


class AttributeValue(BaseSchema):
    key = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=60))


class AttributeDefinition(BaseSchema):
    """An Open311 attribute: an extra question asked when reporting this category."""

    code = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    description = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    datatype = fields.Str(load_default="string", validate=validate.OneOf(ATTRIBUTE_TYPES))
    required = fields.Bool(load_default=False)
    order = fields.Int(load_default=1, validate=validate.Range(min=1, max=100))
    values = fields.List(fields.Nested(AttributeValue), load_default=list)


class CategoryCreate(BaseSchema):
    code = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    #: The routing rule; None sends it to the center's fallback party.
    party = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(PARTIES))
    ack_minutes = fields.Int(load_default=10, validate=validate.Range(min=1, max=24 * 60))
    resolve_hours = fields.Int(load_default=72, validate=validate.Range(min=1, max=24 * 90))
    service_code = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    description = fields.Str(load_default="", validate=validate.Length(max=500))
    keywords = fields.List(fields.Str(validate=validate.Length(max=20)), load_default=list)
    attributes = fields.List(fields.Nested(AttributeDefinition), load_default=list,
                             validate=validate.Length(max=20))


class CategoryUpdate(BaseSchema):
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

class DutyShiftCreate(BaseSchema):
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


class DutyQuery(BaseSchema):
    start = fields.AwareDateTime(load_default=None)
    end = fields.AwareDateTime(load_default=None)


# -- tickets ---------------------------------------------------------------------------------

#: Most issues one gathered intake call may carry.
INTAKE_BATCH_MAX = 200


class TicketCreate(BaseSchema):
    """A resident's issue, from any channel."""

    category = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    description = fields.Str(required=True, validate=validate.Length(min=2, max=DESCRIPTION_MAX))
    address = fields.Str(load_default="", validate=validate.Length(max=200))
    lat = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-90, max=90))
    long = fields.Float(load_default=None, allow_none=True,
                        validate=validate.Range(min=-180, max=180))
    channel = fields.Str(load_default="web", validate=validate.OneOf(CHANNELS))
    attributes = fields.Dict(keys=fields.Str(validate=validate.Length(max=40)),
                             values=fields.Raw(), load_default=dict)
    media_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    #: A reporter registered by the hotline clerk (a person id of notify's directory).
    reporter_id = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))


class PublicTicketCreate(TicketCreate):
    """Public web intake: no login, so the center is named in the body."""

    center_id = fields.Str(required=True, validate=validate.Regexp(CENTER_ID_RE))


class IntakeItem(BaseSchema):
    """One issue of a gathered intake call, with the token of the person who reported it."""

    center_id = fields.Str(required=True, validate=validate.Regexp(CENTER_ID_RE))
    payload = fields.Dict(required=True)
    authorization = fields.Str(load_default=None, allow_none=True)
    #: What makes it the same submission as an earlier one (the gateway's hash), if anything.
    intake_key = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))


class IntakeBatch(BaseSchema):
    """``create_tickets``: concurrent intake requests the gateway sends as one call."""

    items = fields.List(fields.Nested(IntakeItem), required=True,
                        validate=validate.Length(min=1, max=INTAKE_BATCH_MAX))


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


class TicketReceipt(TicketRead):
    """What the reporter gets back at intake: the ticket and the code to follow and rate it."""

    follow_code = fields.Str()


class TicketQuery(Page):
    state = fields.Str(load_default=None, validate=validate.OneOf(STATES))
    category = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    party = fields.Str(load_default=None, validate=validate.OneOf(PARTIES))


class TicketSearch(BaseSchema):
    """The Open311 GET requests.json filters."""

    ids = fields.List(fields.Str(validate=validate.Length(max=36)), load_default=None,
                      validate=validate.Length(max=100))
    category = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(CODE_RE))
    status = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(["open", "closed"]))
    start = fields.AwareDateTime(load_default=None, allow_none=True)
    end = fields.AwareDateTime(load_default=None, allow_none=True)
    limit = fields.Int(load_default=1000, validate=validate.Range(min=1, max=1000))


TicketList = page_of(TicketRead, "TicketList")


class BoardQuery(Page):
    state = fields.Str(load_default=None, validate=validate.OneOf(OPEN_STATES))
    category = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    party = fields.Str(load_default=None, validate=validate.OneOf(PARTIES))


class Board(BaseSchema):
    """The staff board: open tickets by deadline, and how many are in each state."""

    items = fields.List(fields.Nested(TicketRead))
    total = fields.Int()
    counts = fields.Dict(keys=fields.Str(), values=fields.Int())
    limit = fields.Int()
    offset = fields.Int()


# -- workflow actions ------------------------------------------------------------------------

class Note(BaseSchema):
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500))


class AssignIn(BaseSchema):
    party = fields.Str(required=True, validate=validate.OneOf(PARTIES))
    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ReasonIn(BaseSchema):
    reason = fields.Str(required=True, validate=validate.Length(min=2, max=500))


class ResolveIn(BaseSchema):
    answer = fields.Str(required=True, validate=validate.Length(min=2, max=2000))


class MergeIn(BaseSchema):
    primary_id = fields.Str(required=True, validate=validate.Length(min=1, max=36))


class RatingIn(BaseSchema):
    rating = fields.Str(required=True, validate=validate.OneOf(list(RATINGS)))
    comment = fields.Str(load_default="", validate=validate.Length(max=500))
    #: How the return visit reached the resident.
    via = fields.Str(load_default="web", validate=validate.OneOf(["web", "phone", "sms", "visit"]))


class PublicRatingIn(RatingIn):
    follow_code = fields.Str(required=True, validate=validate.Length(min=6, max=32))


class TimelineEntry(BaseSchema):
    action = fields.Str()
    from_state = fields.Str(allow_none=True)
    to_state = fields.Str()
    actor_id = fields.Str(allow_none=True)
    actor_role = fields.Str(allow_none=True)
    reason = fields.Str(allow_none=True)
    party = fields.Str(allow_none=True)
    at = fields.AwareDateTime()


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


class MeetingRead(BaseSchema):
    id = fields.Str()
    month = fields.Str()
    meeting_date = fields.Date()
    items = fields.List(fields.Nested(AgendaItemRead))


class DecisionIn(BaseSchema):
    decision = fields.Str(required=True, validate=validate.OneOf(DECISIONS))
    answer = fields.Str(load_default=None, allow_none=True, validate=validate.Length(min=2, max=2000))
    party = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(PARTIES))
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=1000))

    @validates_schema
    def _needs(self, data, **_kwargs):
        if data["decision"] == "resolved" and not data.get("answer"):
            raise ValidationError("办结须填写答复内容", "answer")
        if data["decision"] == "assigned" and not data.get("party"):
            raise ValidationError("派单须指定责任方", "party")


# -- satisfaction ----------------------------------------------------------------------------

class SatisfactionQuery(BaseSchema):
    group_by = fields.Str(load_default="center",
                          validate=validate.OneOf(["center", "party", "category", "month"]))
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

class ApiKeyCreate(BaseSchema):
    name = fields.Str(required=True, validate=validate.Length(min=2, max=80))
