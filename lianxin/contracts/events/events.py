"""The events the events service publishes: the catalogue a department reads.

Each type says what it carries, when it is sent and when it is *not*.
"""

from __future__ import annotations

from marshmallow import fields, validate

from lianxin.contracts import event_type
from lianxin.contracts.events.operations import AUDIENCES
from lianxin.contracts.schema import BaseSchema

# -- events ----------------------------------------------------------------------------------
# Fields added after a type was first published are optional (never required, no default),
# so events and golden samples of the first shape stay valid.


class ActivityPublishedData(BaseSchema):
    activity_id = fields.Str(required=True)
    programme = fields.Str(required=True, allow_none=True)
    audience = fields.Str(required=True, validate=validate.OneOf(list(AUDIENCES)))
    title = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    room = fields.Str(required=True, allow_none=True)
    capacity = fields.Int(required=True)
    #: Where it happens, as people read it (the room's name or the outside place).
    place = fields.Str()
    needs_approval = fields.Bool()
    registration_closes_at = fields.AwareDateTime()


ACTIVITY_PUBLISHED = event_type(
    "cn.lianxin.events.activity.published.v1",
    ActivityPublishedData,
    """An activity was published and residents may now see it (and, later, register).

    Sent once per activity, when it is created in the published state or a draft is
    published. Not sent for drafts, nor for past activities recorded afterwards
    (those send ``attendance.recorded``); a later change or cancellation has its own
    event type.
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
    ends_at = fields.AwareDateTime()
    #: The room's code when the activity is in one of the center's rooms.
    room = fields.Str(allow_none=True)


class RegistrationCancelledData(_RegistrationFact):
    reason = fields.Str(allow_none=True)
    #: ``resident`` (self-cancelled), ``staff``, or ``activity`` (the whole activity was
    #: cancelled: activity.cancelled already tells the person; only withdraw the reminder).
    by = fields.Str(validate=validate.OneOf(["resident", "staff", "activity"]))


class RegistrationRejectedData(_RegistrationFact):
    reason = fields.Str(required=True)


class CheckedInData(_RegistrationFact):
    #: How many of the party came (at most ``party_size``).
    person_times = fields.Int(validate=validate.Range(min=1))


class ActivityChangedData(BaseSchema):
    activity_id = fields.Str(required=True)
    title = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    place = fields.Str(required=True)
    changes = fields.List(fields.Str(), required=True)
    #: Everyone holding or waiting for a place (person ids), to be told.
    person_ids = fields.List(fields.Str(), required=True)
    room = fields.Str(allow_none=True)
    capacity = fields.Int()


class ActivityCancelledData(BaseSchema):
    activity_id = fields.Str(required=True)
    title = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    reason = fields.Str(required=True, allow_none=True)
    person_ids = fields.List(fields.Str(), required=True)
    place = fields.Str()


class RoomBookingData(BaseSchema):
    booking_id = fields.Str(required=True)
    room = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    activity_id = fields.Str(required=True, allow_none=True)
    purpose = fields.Str(required=True)
    room_name = fields.Str()
    #: Who asked for the room (a person id).
    booked_by = fields.Str()
    series_id = fields.Str(allow_none=True)
    reason = fields.Str(allow_none=True)


class AttendanceRecordedData(BaseSchema):
    activity_id = fields.Str(required=True)
    programme = fields.Str(required=True, allow_none=True)
    audience = fields.Str(required=True, validate=validate.OneOf(list(AUDIENCES)))
    title = fields.Str(required=True)
    starts_at = fields.AwareDateTime(required=True)
    #: Person-times added by this record.
    person_times = fields.Int(required=True, validate=validate.Range(min=1))
    source = fields.Str(required=True, validate=validate.OneOf(["walk_in", "record"]))


ACTIVITY_CHANGED = event_type(
    "cn.lianxin.events.activity.changed.v1",
    ActivityChangedData,
    """A published activity's title, time, place or capacity changed; registrants are told.
    ``changes`` names the fields (title, starts_at, ends_at, room, place, capacity) and the
    data carries the new values: a reminder scheduled for the old time must move to the new
    ``starts_at``. Not sent for drafts, nor when only other fields change (description,
    programme, audience, the registration window, approval, party size).""",
)
ACTIVITY_CANCELLED = event_type(
    "cn.lianxin.events.activity.cancelled.v1",
    ActivityCancelledData,
    """An activity was cancelled; everyone registered or waitlisted is told. Each of their
    registrations also gets registration.cancelled with ``by: activity`` (to withdraw
    reminders, not to send a second message). Not sent when a draft is discarded.""",
)
REGISTRATION_CONFIRMED = event_type(
    "cn.lianxin.events.registration.confirmed.v1",
    _RegistrationFact,
    """A resident (with ``party_size`` people in all) holds places for an activity. Notify
    confirms it and schedules the reminder one hour before. Sent on registration within
    capacity and on staff approval. Not sent while approval is pending, nor for a promotion
    from the waitlist (registration.promoted).""",
)
REGISTRATION_WAITLISTED = event_type(
    "cn.lianxin.events.registration.waitlisted.v1",
    _RegistrationFact,
    """A registration arrived with the activity full (or was approved with it full): it is on
    the waitlist, promoted automatically when places free up. Not sent for a registration
    awaiting approval (registration.pending comes first).""",
)
REGISTRATION_PROMOTED = event_type(
    "cn.lianxin.events.registration.promoted.v1",
    _RegistrationFact,
    """Places freed up (a cancellation or more capacity) and a waitlisted registration now
    holds them. Sent instead of registration.confirmed; notify schedules the reminder. Not
    sent once the activity has started or is no longer published: freed places then stay
    free.""",
)
REGISTRATION_CANCELLED = event_type(
    "cn.lianxin.events.registration.cancelled.v1",
    RegistrationCancelledData,
    """A registration was cancelled (by the resident, by staff, or with its activity); its
    reminder is withdrawn. Sent for confirmed, waitlisted and pending registrations alike.
    Not sent for a registration already cancelled or rejected (a declined one sends
    registration.rejected).""",
)
REGISTRATION_PENDING = event_type(
    "cn.lianxin.events.registration.pending.v1",
    _RegistrationFact,
    """A registration for an activity that needs approval awaits staff's decision; it holds
    no places yet. Followed by registration.confirmed / waitlisted, or rejected. Not sent
    when staff register a resident (no approval needed), nor for activities without
    approval.""",
)
REGISTRATION_REJECTED = event_type(
    "cn.lianxin.events.registration.rejected.v1",
    RegistrationRejectedData,
    """Staff declined a pending registration, with a reason the resident is told. Not sent
    when a pending registration is cancelled instead (by its registrant or with its
    activity: registration.cancelled).""",
)
CHECKED_IN = event_type(
    "cn.lianxin.events.registration.checked_in.v1",
    CheckedInData,
    """Attendance at the door: counted as ``person_times`` person-times (``party_size`` when
    absent). Sent once per registration. Not sent for a second check-in (refused), nor for
    walk-ins (attendance.recorded).""",
)
ATTENDANCE_RECORDED = event_type(
    "cn.lianxin.events.attendance.recorded.v1",
    AttendanceRecordedData,
    """Person-times counted without a registration: walk-ins at the door (``walk_in``) or
    an activity held before and recorded afterwards from its sign-in sheet (``record``).
    Not sent for check-ins of registrations (registration.checked_in counts those).""",
)
ROOM_BOOKED = event_type(
    "cn.lianxin.events.room.booked.v1",
    RoomBookingData,
    """A function room was booked (for an activity or another use) and, if the room needs it,
    approved. One event per booking, so a weekly series sends one per week. Not sent while a
    booking awaits approval (room.requested).""",
)
ROOM_REQUESTED = event_type(
    "cn.lianxin.events.room.requested.v1",
    RoomBookingData,
    """A room booking awaits approval (a resident's request, or a room that needs an admin's
    approval); the slot is held meanwhile. Followed by room.booked or room.rejected. Not
    sent for a booking that stands at once (an admin's, or staff's in a room without
    approval: room.booked).""",
)
ROOM_REJECTED = event_type(
    "cn.lianxin.events.room.rejected.v1",
    RoomBookingData,
    """A pending room booking was declined (``reason``); the slot is free again. Not sent
    when a booking is cancelled (room.released).""",
)
ROOM_RELEASED = event_type(
    "cn.lianxin.events.room.released.v1",
    RoomBookingData,
    """A room booking was cancelled, or its activity cancelled or moved: the slot is free
    again. Sent for every booking that held the slot (booked or requested). Not sent for a
    declined request (room.rejected), nor for a booking already over or cancelled.""",
)
