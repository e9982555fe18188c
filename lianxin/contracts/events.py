"""The events service's contract (programmes, activities, rooms): RPC payloads and events.

"events" is the service; its entity is the *activity* (活动). "event" alone means
a message on the bus.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from lianxin.contracts import event_type
from lianxin.contracts.schema import CODE_RE, BaseSchema, Page

AUDIENCES = {"children": "儿童", "elderly": "老年人", "families": "家庭", "all": "全体居民"}


class RoomCreate(BaseSchema):
    code = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    capacity = fields.Int(required=True, validate=validate.Range(min=1, max=2000))
    equipment = fields.List(fields.Str(validate=validate.Length(max=40)), load_default=list)
    needs_approval = fields.Bool(load_default=False)


class RoomRead(BaseSchema):
    code = fields.Str()
    name = fields.Str()
    capacity = fields.Int()
    equipment = fields.List(fields.Str())
    needs_approval = fields.Bool()


class ProgrammeCreate(BaseSchema):
    code = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    description = fields.Str(load_default="", validate=validate.Length(max=2000))
    audience = fields.Str(load_default="all", validate=validate.OneOf(list(AUDIENCES)))


class ProgrammeRead(BaseSchema):
    code = fields.Str()
    name = fields.Str()
    description = fields.Str()
    audience = fields.Str()


class ActivityCreate(BaseSchema):
    title = fields.Str(required=True, validate=validate.Length(min=2, max=100))
    description = fields.Str(load_default="", validate=validate.Length(max=4000))
    programme = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(CODE_RE))
    audience = fields.Str(load_default="all", validate=validate.OneOf(list(AUDIENCES)))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    room = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(CODE_RE))
    place = fields.Str(load_default="", validate=validate.Length(max=200))
    capacity = fields.Int(required=True, validate=validate.Range(min=1, max=5000))

    @validates_schema
    def _times(self, data, **_kwargs):  # noqa: ANN001, ANN202
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError("结束时间须晚于开始时间", "ends_at")
        if (data["ends_at"] - data["starts_at"]).total_seconds() > 7 * 24 * 3600:
            raise ValidationError("活动时长不能超过 7 天", "ends_at")
        if not data.get("room") and not data.get("place"):
            raise ValidationError("须指定功能室或活动地点", "place")


class ActivityRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    title = fields.Str()
    description = fields.Str()
    programme = fields.Str(allow_none=True)
    audience = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    room = fields.Str(allow_none=True)
    place = fields.Str()
    capacity = fields.Int()
    state = fields.Str()
    created_at = fields.AwareDateTime()


class ActivityQuery(Page):
    programme = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    start = fields.AwareDateTime(load_default=None)
    end = fields.AwareDateTime(load_default=None)


class ActivityList(BaseSchema):
    items = fields.List(fields.Nested(ActivityRead))
    total = fields.Int()
    limit = fields.Int()
    offset = fields.Int()


class ActivityPublishedData(BaseSchema):
    activity_id = fields.Str(required=True)
    programme = fields.Str(required=True, allow_none=True)
    audience = fields.Str(required=True, validate=validate.OneOf(list(AUDIENCES)))
    title = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    room = fields.Str(required=True, allow_none=True)
    capacity = fields.Int(required=True)


ACTIVITY_PUBLISHED = event_type(
    "cn.lianxin.events.activity.published.v1", ActivityPublishedData,
    """An activity was published and residents may now see it (and, later, register).

    Sent once per activity, when it is created in the published state. Not sent
    for drafts; a later change or cancellation has its own event type.
    """,
)


# -- registrations, changes, rooms: the events notify and departments rely on ----------------

class _RegistrationFact(BaseSchema):
    """Who registered for which activity, and what a message about it needs to say."""

    registration_id = fields.Str(required=True)
    activity_id = fields.Str(required=True)
    #: The registering resident's person id (notify's directory key).
    person_id = fields.Str(required=True)
    party_size = fields.Int(required=True, validate=validate.Range(min=1))
    activity_title = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    place = fields.Str(required=True)


class ActivityChangedData(BaseSchema):
    activity_id = fields.Str(required=True)
    title = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    place = fields.Str(required=True)
    changes = fields.List(fields.Str(), required=True)
    #: Everyone holding or waiting for a place (person ids), to be told.
    person_ids = fields.List(fields.Str(), required=True)


class ActivityCancelledData(BaseSchema):
    activity_id = fields.Str(required=True)
    title = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    reason = fields.Str(required=True, allow_none=True)
    person_ids = fields.List(fields.Str(), required=True)


class RoomBookingData(BaseSchema):
    booking_id = fields.Str(required=True)
    room = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    activity_id = fields.Str(required=True, allow_none=True)
    purpose = fields.Str(required=True)


ACTIVITY_CHANGED = event_type(
    "cn.lianxin.events.activity.changed.v1", ActivityChangedData,
    """A published activity's time, place or capacity changed; registrants are told.""")
ACTIVITY_CANCELLED = event_type(
    "cn.lianxin.events.activity.cancelled.v1", ActivityCancelledData,
    """An activity was cancelled; everyone registered or waitlisted is told.""")
REGISTRATION_CONFIRMED = event_type(
    "cn.lianxin.events.registration.confirmed.v1", _RegistrationFact,
    """A resident (with ``party_size`` people in all) holds places for an activity. Notify
    confirms it and schedules the reminder one hour before. Not sent while approval is pending.""")
REGISTRATION_WAITLISTED = event_type(
    "cn.lianxin.events.registration.waitlisted.v1", _RegistrationFact,
    """A registration arrived with the activity full: it is on the waitlist.""")
REGISTRATION_PROMOTED = event_type(
    "cn.lianxin.events.registration.promoted.v1", _RegistrationFact,
    """Places freed up and a waitlisted registration now holds them.""")
REGISTRATION_CANCELLED = event_type(
    "cn.lianxin.events.registration.cancelled.v1", _RegistrationFact,
    """A registration was cancelled (by the resident or staff); its reminder is withdrawn.""")
CHECKED_IN = event_type(
    "cn.lianxin.events.registration.checked_in.v1", _RegistrationFact,
    """Attendance at the door: counted as ``party_size`` person-times.""")
ROOM_BOOKED = event_type(
    "cn.lianxin.events.room.booked.v1", RoomBookingData,
    """A function room was booked (for an activity or another use) and, if the room needs it,
    approved.""")
ROOM_RELEASED = event_type(
    "cn.lianxin.events.room.released.v1", RoomBookingData,
    """A room booking was cancelled or its activity cancelled; the slot is free again.""")
