"""The events service's operations (programmes, activities, rooms): payload and answer
schemas, then the operation table (what callers may do). Its events are in ``events.py``.

"events" is the service; its entity is the *activity* (活动). "event" alone means
a message on the bus.

Who may do what (checked by the service, again after the gateway):

* residents see published activities, register themselves (with family members),
  cancel their own registrations and request room bookings (always approved by staff);
* staff publish, change and cancel activities, register residents on their behalf,
  approve registrations and room bookings, and read attendance (as do departments and ops);
* staff, admins and volunteers at the door check registrants in;
* admins configure rooms and programmes, and approve bookings of rooms that need it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypedDict

from marshmallow import ValidationError, fields, validate, validates_schema

from lianxin.contracts.schema import CODE_RE, BaseSchema, Page, page_of
from lianxin.operations import Operations, Rule
from lianxin.roles import ADMIN, CENTER_STAFF, MEMBERS, READERS, Principal

AUDIENCES = {"children": "儿童", "elderly": "老年人", "families": "家庭", "all": "全体居民"}
ACTIVITY_STATES = ("draft", "published", "cancelled", "completed")
REGISTRATION_STATES = ("pending", "confirmed", "waitlisted", "cancelled", "rejected")
BOOKING_STATES = ("pending", "confirmed", "rejected", "cancelled")
STATS_GROUPS = ("programme", "audience", "month", "activity")
#: The code a registrant shows at the door (no 0/O, 1/I, 2/Z, 5/S, 8/B: read aloud easily).
CHECKIN_CODE_RE = r"^[A-Z3-9]{6}$"
ISO_WEEK_RE = r"^(?P<year>\d{4})-W(?P<week>\d{2})$"
MAX_ACTIVITY_SECONDS = 7 * 24 * 3600
MAX_BOOKING_SECONDS = 24 * 3600


def parse_week(value: str) -> tuple[int, int]:
    """``2026-W49`` → (2026, 49); ``ValueError`` for a week that does not exist."""
    match = re.match(ISO_WEEK_RE, value)
    if not match:
        raise ValueError(value)
    year, week = int(match["year"]), int(match["week"])
    date.fromisocalendar(year, week, 1)  # raises for W00, W54, W53 of a 52-week year
    return year, week


# -- rooms and programmes --------------------------------------------------------------------


@dataclass(frozen=True)
class NewRoom:
    code: str
    name: str
    capacity: int
    equipment: list[str] = field(default_factory=list)
    needs_approval: bool = False


class RoomChanges(TypedDict, total=False):
    name: str
    capacity: int
    equipment: list[str]
    needs_approval: bool


class RoomCreate(BaseSchema):
    model = NewRoom

    code = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    capacity = fields.Int(required=True, validate=validate.Range(min=1, max=2000))
    equipment = fields.List(fields.Str(validate=validate.Length(max=40)), load_default=list)
    needs_approval = fields.Bool(load_default=False)


class RoomUpdate(BaseSchema):
    name = fields.Str(validate=validate.Length(min=1, max=40))
    capacity = fields.Int(validate=validate.Range(min=1, max=2000))
    equipment = fields.List(fields.Str(validate=validate.Length(max=40)))
    needs_approval = fields.Bool()

    @validates_schema
    def _something(self, data, **_kwargs):
        if not data:
            raise ValidationError("没有要修改的内容", "_schema")


class RoomRead(BaseSchema):
    code = fields.Str()
    name = fields.Str()
    capacity = fields.Int()
    equipment = fields.List(fields.Str())
    needs_approval = fields.Bool()


@dataclass(frozen=True)
class NewProgramme:
    code: str
    name: str
    description: str = ""
    audience: str = "all"


class ProgrammeCreate(BaseSchema):
    model = NewProgramme

    code = fields.Str(required=True, validate=validate.Regexp(CODE_RE))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    description = fields.Str(load_default="", validate=validate.Length(max=2000))
    audience = fields.Str(load_default="all", validate=validate.OneOf(list(AUDIENCES)))


class ProgrammeRead(BaseSchema):
    code = fields.Str()
    name = fields.Str()
    description = fields.Str()
    audience = fields.Str()


# -- activities ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewActivity:
    """A new activity, as :class:`ActivityCreate` loads it."""

    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    description: str = ""
    programme: str | None = None
    audience: str = "all"
    room: str | None = None
    place: str = ""
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    needs_approval: bool = False
    max_party_size: int = 5
    publish: bool = True


class ActivityChanges(TypedDict, total=False):
    """A change to an activity, as :class:`ActivityUpdate` loads it (only the keys given)."""

    title: str
    description: str
    programme: str | None
    audience: str
    starts_at: datetime
    ends_at: datetime
    room: str | None
    place: str
    capacity: int
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    needs_approval: bool
    max_party_size: int


class ActivityCreate(BaseSchema):
    """A new activity: in one of the center's rooms (the room is booked) or at a place.

    Registration is open from ``registration_opens_at`` (default: at once) until
    ``registration_closes_at`` (default: the start). ``max_party_size`` counts the
    registrant and the family members they bring. ``publish: false`` keeps it a
    draft only staff see (its room is held all the same).
    """

    model = NewActivity

    title = fields.Str(required=True, validate=validate.Length(min=2, max=100))
    description = fields.Str(load_default="", validate=validate.Length(max=4000))
    programme = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(CODE_RE))
    audience = fields.Str(load_default="all", validate=validate.OneOf(list(AUDIENCES)))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    room = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(CODE_RE))
    place = fields.Str(load_default="", validate=validate.Length(max=200))
    capacity = fields.Int(required=True, validate=validate.Range(min=1, max=5000))
    registration_opens_at = fields.AwareDateTime(load_default=None, allow_none=True)
    registration_closes_at = fields.AwareDateTime(load_default=None, allow_none=True)
    needs_approval = fields.Bool(load_default=False)
    max_party_size = fields.Int(load_default=5, validate=validate.Range(min=1, max=20))
    publish = fields.Bool(load_default=True)

    @validates_schema
    def _times(self, data, **_kwargs):
        check_activity(data)


def check_activity(data: dict[str, Any]) -> None:
    """The rules every activity's times and place obey (at creation and after a change)."""
    if data["ends_at"] <= data["starts_at"]:
        raise ValidationError("结束时间须晚于开始时间", "ends_at")
    if (data["ends_at"] - data["starts_at"]).total_seconds() > MAX_ACTIVITY_SECONDS:
        raise ValidationError("活动时长不能超过 7 天", "ends_at")
    if not data.get("room") and not data.get("place"):
        raise ValidationError("须指定功能室或活动地点", "place")
    opens, closes = data.get("registration_opens_at"), data.get("registration_closes_at")
    if closes is not None and closes > data["starts_at"]:
        raise ValidationError("报名截止时间不能晚于活动开始时间", "registration_closes_at")
    if opens is not None and opens >= (closes or data["starts_at"]):
        raise ValidationError("报名开始时间须早于报名截止时间", "registration_opens_at")


class ActivityUpdate(BaseSchema):
    """A change to an activity: only the keys given change. Registrants are told of changes
    to the title, time, place or capacity (``activity.changed``)."""

    title = fields.Str(validate=validate.Length(min=2, max=100))
    description = fields.Str(validate=validate.Length(max=4000))
    programme = fields.Str(allow_none=True, validate=validate.Regexp(CODE_RE))
    audience = fields.Str(validate=validate.OneOf(list(AUDIENCES)))
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    room = fields.Str(allow_none=True, validate=validate.Regexp(CODE_RE))
    place = fields.Str(validate=validate.Length(max=200))
    capacity = fields.Int(validate=validate.Range(min=1, max=5000))
    registration_opens_at = fields.AwareDateTime(allow_none=True)
    registration_closes_at = fields.AwareDateTime(allow_none=True)
    needs_approval = fields.Bool()
    max_party_size = fields.Int(validate=validate.Range(min=1, max=20))

    @validates_schema
    def _something(self, data, **_kwargs):
        if not data:
            raise ValidationError("没有要修改的内容", "_schema")


class ActivityCancel(BaseSchema):
    reason = fields.Str(required=True, validate=validate.Length(min=2, max=200))


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
    #: The room's name, if the activity is in a room.
    room_name = fields.Str(allow_none=True)
    place = fields.Str()
    capacity = fields.Int()
    state = fields.Str()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime(allow_none=True)
    registration_opens_at = fields.AwareDateTime(allow_none=True)
    #: When registration closes (the start unless set earlier).
    registration_closes_at = fields.AwareDateTime()
    needs_approval = fields.Bool()
    max_party_size = fields.Int()
    #: People holding places (registrants and their family members).
    places_taken = fields.Int()
    places_left = fields.Int()
    #: People on the waitlist / awaiting approval.
    waitlisted = fields.Int()
    pending = fields.Int()
    #: Attendance so far: people checked in plus walk-ins (人次).
    person_times = fields.Int()
    walk_ins = fields.Int()
    booking_id = fields.Str(allow_none=True)
    #: The room booking's state: ``pending`` while a room that needs approval awaits it.
    booking_state = fields.Str(allow_none=True)
    #: Incremented with every change registrants are told of (the iCalendar SEQUENCE).
    sequence = fields.Int()
    cancel_reason = fields.Str(allow_none=True)


class ActivityFilter(TypedDict, total=False):
    """:class:`ActivityQuery` as loaded."""

    limit: int
    offset: int
    when: str
    programme: str | None
    audience: str | None
    state: str | None
    room: str | None
    start: datetime | None
    end: datetime | None


class ActivityQuery(Page):
    """``when``: ``upcoming`` (not yet over, soonest first; the default), ``past`` (most
    recent first) or ``all`` (by start)."""

    when = fields.Str(load_default="upcoming", validate=validate.OneOf(["upcoming", "past", "all"]))
    programme = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    audience = fields.Str(load_default=None, validate=validate.OneOf(list(AUDIENCES)))
    state = fields.Str(load_default=None, validate=validate.OneOf(ACTIVITY_STATES))
    room = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    start = fields.AwareDateTime(load_default=None)
    end = fields.AwareDateTime(load_default=None)


ActivityList = page_of(ActivityRead, "ActivityList")


class PublicActivityQuery(BaseSchema):
    """What a center's public page asks for: published activities not yet over that start
    within ``days`` from now (a week by default), soonest first."""

    days = fields.Int(load_default=7, validate=validate.Range(min=1, max=31))
    limit = fields.Int(load_default=30, validate=validate.Range(min=1, max=100))


class PublicActivityRead(BaseSchema):
    """An activity as anyone may see it (the center's home page, a poster's QR code): no
    booking or attendance details."""

    id = fields.Str()
    title = fields.Str()
    description = fields.Str()
    programme = fields.Str(allow_none=True)
    #: The programme's name (益路成长, 悦动耄耋 …), if the activity belongs to one.
    programme_name = fields.Str(allow_none=True)
    audience = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    room_name = fields.Str(allow_none=True)
    place = fields.Str()
    capacity = fields.Int()
    places_left = fields.Int()
    waitlisted = fields.Int()
    registration_closes_at = fields.AwareDateTime()
    needs_approval = fields.Bool()
    max_party_size = fields.Int()


@dataclass(frozen=True)
class PastActivity:
    """An activity already held, as :class:`ActivityRecordItem` loads it."""

    title: str
    starts_at: datetime
    ends_at: datetime
    attendance: int
    description: str = ""
    programme: str | None = None
    audience: str = "all"
    room: str | None = None
    place: str = ""


class ActivityRecordItem(BaseSchema):
    """An activity already held, with its attendance from the paper sign-in sheet (补录)."""

    model = PastActivity

    title = fields.Str(required=True, validate=validate.Length(min=2, max=100))
    description = fields.Str(load_default="", validate=validate.Length(max=4000))
    programme = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(CODE_RE))
    audience = fields.Str(load_default="all", validate=validate.OneOf(list(AUDIENCES)))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    room = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(CODE_RE))
    place = fields.Str(load_default="", validate=validate.Length(max=200))
    attendance = fields.Int(required=True, validate=validate.Range(min=1, max=5000))

    @validates_schema
    def _times(self, data, **_kwargs):
        check_activity(data)


class ActivityRecords(BaseSchema):
    items = fields.List(
        fields.Nested(ActivityRecordItem), required=True, validate=validate.Length(min=1, max=500)
    )


class ActivityRecordsRead(BaseSchema):
    created = fields.Int()
    person_times = fields.Int()
    ids = fields.List(fields.Str())


class WalkIns(BaseSchema):
    """People who came without registering, counted at the door."""

    count = fields.Int(required=True, validate=validate.Range(min=1, max=2000))


# -- registrations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRegistration:
    """A registration, as :class:`RegistrationCreate` loads it."""

    members: list[str] = field(default_factory=list)
    note: str = ""
    person_id: str | None = None


class RegistrationCreate(BaseSchema):
    """A registration: the registrant and the family ``members`` they bring (names), each
    counted against capacity. Staff registering a resident (phone, walk-in) name their
    ``person_id``; a resident always registers as themselves."""

    model = NewRegistration

    members = fields.List(
        fields.Str(validate=validate.Length(min=1, max=40)),
        load_default=list,
        validate=validate.Length(max=19),
    )
    note = fields.Str(load_default="", validate=validate.Length(max=200))
    person_id = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=64)
    )


class RegistrationRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    activity_id = fields.Str()
    person_id = fields.Str()
    members = fields.List(fields.Str())
    party_size = fields.Int()
    state = fields.Str()
    #: 1 for the first on the waitlist; None unless waitlisted.
    position = fields.Int(allow_none=True)
    #: What the registrant shows at the door.
    code = fields.Str()
    note = fields.Str()
    created_at = fields.AwareDateTime()
    confirmed_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    reason = fields.Str(allow_none=True)
    checked_in_at = fields.AwareDateTime(allow_none=True)
    attended = fields.Int()


class RegistrationFilter(TypedDict, total=False):
    """:class:`RegistrationQuery` as loaded."""

    limit: int
    offset: int
    state: str | None
    person_id: str | None
    activity_id: str | None


class RegistrationQuery(Page):
    state = fields.Str(load_default=None, validate=validate.OneOf(REGISTRATION_STATES))
    #: Staff only: one resident's registrations.
    person_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))
    activity_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=36))


RegistrationList = page_of(RegistrationRead, "RegistrationList")


class RegistrationCancel(BaseSchema):
    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))


class Rejection(BaseSchema):
    reason = fields.Str(required=True, validate=validate.Length(min=2, max=200))


@dataclass(frozen=True)
class DoorCheckIn:
    """A check-in, as :class:`CheckIn` loads it."""

    registration_id: str | None = None
    code: str | None = None
    attended: int | None = None


class CheckIn(BaseSchema):
    """Check a registration in at the door: by its id (staff's list) or the registrant's code.
    ``attended`` is how many of the party came (default: all)."""

    model = DoorCheckIn

    registration_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=36))
    code = fields.Str(load_default=None, validate=validate.Regexp(CHECKIN_CODE_RE))
    attended = fields.Int(load_default=None, validate=validate.Range(min=1, max=20))

    @validates_schema
    def _one_key(self, data, **_kwargs):
        if bool(data.get("registration_id")) == bool(data.get("code")):
            raise ValidationError("须提供报名编号或签到码之一", "code")


# -- attendance and the calendar --------------------------------------------------------------


class AttendanceFilter(TypedDict, total=False):
    """:class:`AttendanceQuery` as loaded."""

    from_: date | None
    to: date | None
    group_by: str
    programme: str | None
    audience: str | None


class AttendanceQuery(BaseSchema):
    """Dates are days in Asia/Shanghai, both included; default: the last 365 days."""

    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)
    group_by = fields.Str(load_default="programme", validate=validate.OneOf(STATS_GROUPS))
    programme = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    audience = fields.Str(load_default=None, validate=validate.OneOf(list(AUDIENCES)))

    @validates_schema
    def _range(self, data, **_kwargs):
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError("结束日期不能早于开始日期", "to")
        if data.get("from_") and data.get("to") and (data["to"] - data["from_"]).days > 3 * 366:
            raise ValidationError("统计区间不能超过 3 年", "to")


class AttendanceGroup(BaseSchema):
    key = fields.Str()
    label = fields.Str()
    activities = fields.Int()
    person_times = fields.Int()


class AttendanceStats(BaseSchema):
    group_by = fields.Str()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    activities = fields.Int()
    person_times = fields.Int()
    groups = fields.List(fields.Nested(AttendanceGroup))


def _valid_week(value: str) -> None:
    try:
        parse_week(value)
    except ValueError:
        raise ValidationError("周应为 ISO 周，如 2026-W49") from None


class CalendarQuery(BaseSchema):
    week = fields.Str(load_default=None, validate=_valid_week)
    room = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))


class CalendarEntry(BaseSchema):
    #: ``activity`` or ``booking`` (a room booked for another use).
    kind = fields.Str()
    id = fields.Str()
    title = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    room = fields.Str(allow_none=True)
    room_name = fields.Str(allow_none=True)
    place = fields.Str()
    state = fields.Str()
    audience = fields.Str(allow_none=True)
    programme = fields.Str(allow_none=True)


class CalendarRead(BaseSchema):
    week = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    items = fields.List(fields.Nested(CalendarEntry))


# -- room bookings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewBooking:
    """A room booking, as :class:`BookingCreate` loads it."""

    starts_at: datetime
    ends_at: datetime
    purpose: str
    attendees: int | None = None
    repeat_weeks: int = 1


class BookingCreate(BaseSchema):
    """A room booked for a use other than an activity; ``repeat_weeks`` > 1 books the same
    slot every week (all or nothing)."""

    model = NewBooking

    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    purpose = fields.Str(required=True, validate=validate.Length(min=2, max=200))
    attendees = fields.Int(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=2000)
    )
    repeat_weeks = fields.Int(load_default=1, validate=validate.Range(min=1, max=52))

    @validates_schema
    def _times(self, data, **_kwargs):
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError("结束时间须晚于开始时间", "ends_at")
        if (data["ends_at"] - data["starts_at"]).total_seconds() > MAX_BOOKING_SECONDS:
            raise ValidationError("一次预约不能超过 24 小时", "ends_at")


class BookingRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    room = fields.Str()
    room_name = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    purpose = fields.Str()
    attendees = fields.Int(allow_none=True)
    activity_id = fields.Str(allow_none=True)
    #: Shared by the bookings of one weekly series.
    series_id = fields.Str(allow_none=True)
    state = fields.Str()
    #: Who asked (a person id); shown to staff and the booker only.
    booked_by = fields.Str(allow_none=True)
    created_at = fields.AwareDateTime()
    decided_by = fields.Str(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    reason = fields.Str(allow_none=True)


class BookingFilter(TypedDict, total=False):
    """:class:`BookingQuery` as loaded."""

    limit: int
    offset: int
    state: str | None
    room: str | None
    start: datetime | None
    end: datetime | None


class BookingQuery(Page):
    state = fields.Str(load_default=None, validate=validate.OneOf(BOOKING_STATES))
    room = fields.Str(load_default=None, validate=validate.Regexp(CODE_RE))
    start = fields.AwareDateTime(load_default=None)
    end = fields.AwareDateTime(load_default=None)


BookingList = page_of(BookingRead, "BookingList")


class BookingCancel(BaseSchema):
    #: Also cancel the later bookings of the same weekly series.
    series = fields.Bool(load_default=False)
    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))


# -- rules -----------------------------------------------------------------------------------


def is_center_staff(principal: Principal) -> bool:
    """The center's own staff (cadres, social workers, the admin): they see who booked a room
    and decide bookings; a party's handler books and sees as a resident does."""
    return principal.admitted_by(CENTER_STAFF)


def _registers_self(principal: Principal, data: NewRegistration) -> bool:
    return principal.is_staff or data.person_id in (None, principal.id)


def _decides_room(principal: Principal, room: Any) -> bool:
    return principal.role == "admin" or (principal.role == "staff" and not room.needs_approval)


#: A resident registers themselves (and family members); only staff name another person.
REGISTERS_SELF = Rule(
    "registers_self",
    _registers_self,
    "居民只能为本人及家人报名",
    code="ROLE_FORBIDDEN",
    on_target=True,
)
#: Bookings of a room that needs approval are decided by an admin; other rooms' by staff too.
DECIDES_ROOM = Rule(
    "decides_room",
    _decides_room,
    "该功能室的预约须由中心管理员审批",
    code="ROLE_FORBIDDEN",
    on_target=True,
)


# -- operations ------------------------------------------------------------------------------

OPERATIONS = Operations("events")

public_activities_ics = OPERATIONS.add(
    "public_activities_ics",
    roles=None,
    summary="服务中心活动日历订阅（iCalendar，免登录）",
    description="The center's activities — published, cancelled and completed, from 30 days "
    "back — for a phone's calendar app to subscribe to (it cannot log in). Drafts "
    "never show.",
)

list_public_activities = OPERATIONS.add(
    "list_public_activities",
    roles=None,
    summary="服务中心近期活动（免登录）",
    query=PublicActivityQuery,
    response=PublicActivityRead,
    many=True,
    description="Published activities not yet over that start within ``days`` (7 by default), "
    "soonest first, with the places left: what the center's home page shows anyone.",
)

list_programmes = OPERATIONS.add(
    "list_programmes", roles=MEMBERS, summary="服务项目", response=ProgrammeRead, many=True
)
add_programme = OPERATIONS.add(
    "add_programme",
    roles=ADMIN,
    summary="新增服务项目",
    body=ProgrammeCreate,
    response=ProgrammeRead,
)

create_activity = OPERATIONS.add(
    "create_activity",
    roles=CENTER_STAFF,
    summary="发布活动",
    body=ActivityCreate,
    response=ActivityRead,
    description="In a room (booked for the activity's time; 409 if taken) or at a place.\n"
    "``publish: false`` keeps a draft only staff see.",
)
list_activities = OPERATIONS.add(
    "list_activities",
    roles=MEMBERS,
    summary="活动列表",
    query=ActivityQuery,
    response=ActivityList,
    description="Upcoming activities by default (``when=past`` or ``all`` for the record).",
)
record_activities = OPERATIONS.add(
    "record_activities",
    roles=CENTER_STAFF,
    summary="补录已举办的活动及参与人次",
    body=ActivityRecords,
    response=ActivityRecordsRead,
    timeout=30,
    description="Activities already held, with the attendance of their sign-in sheets (up to 500).",
)
get_activity = OPERATIONS.add(
    "get_activity", roles=MEMBERS, summary="活动详情", response=ActivityRead
)
update_activity = OPERATIONS.add(
    "update_activity",
    roles=CENTER_STAFF,
    summary="修改活动",
    body=ActivityUpdate,
    response=ActivityRead,
    description="Registrants and the waitlist are told of a new title, time, place or capacity.",
    if_match=True,
)
publish_activity = OPERATIONS.add(
    "publish_activity", roles=CENTER_STAFF, summary="发布活动草稿", response=ActivityRead
)
cancel_activity = OPERATIONS.add(
    "cancel_activity",
    roles=CENTER_STAFF,
    summary="取消活动",
    body=ActivityCancel,
    response=ActivityRead,
    description="Everyone registered or waitlisted is told; the room is released.",
)
activity_ics = OPERATIONS.add(
    "activity_ics",
    roles=MEMBERS,
    summary="活动日历文件（iCalendar）",
    description="``text/calendar`` (RFC 5545): one VEVENT; a changed activity has a higher "
    "SEQUENCE, a cancelled one STATUS:CANCELLED.",
)

register_for_activity = OPERATIONS.add(
    "register_for_activity",
    roles=("resident", *CENTER_STAFF),
    summary="报名活动",
    body=RegistrationCreate,
    response=RegistrationRead,
    rules=(REGISTERS_SELF,),
    description="A resident registers with the family ``members`` they bring (each takes a "
    "place); past capacity the registration is waitlisted. Staff register a "
    "resident by ``person_id``.",
)
list_registrations = OPERATIONS.add(
    "list_registrations",
    roles=("resident", *CENTER_STAFF),
    summary="报名记录",
    query=RegistrationQuery,
    response=RegistrationList,
    description="A resident's own registrations; staff filter by person or activity.",
)
list_activity_registrations = OPERATIONS.add(
    "list_activity_registrations",
    roles=("resident", *CENTER_STAFF),
    summary="活动报名名单",
    query=RegistrationQuery,
    response=RegistrationList,
    description="Staff see everyone; a resident sees their own registration.",
)
get_registration = OPERATIONS.add(
    "get_registration",
    roles=("resident", *CENTER_STAFF),
    summary="报名详情",
    response=RegistrationRead,
)
cancel_registration = OPERATIONS.add(
    "cancel_registration",
    roles=("resident", *CENTER_STAFF),
    summary="取消报名",
    query=RegistrationCancel,
    response=RegistrationRead,
    description="The places go to the waitlist, first come first served.",
)
approve_registration = OPERATIONS.add(
    "approve_registration", roles=CENTER_STAFF, summary="通过报名审核", response=RegistrationRead
)
reject_registration = OPERATIONS.add(
    "reject_registration",
    roles=CENTER_STAFF,
    summary="驳回报名",
    body=Rejection,
    response=RegistrationRead,
)
check_in_registration = OPERATIONS.add(
    "check_in_registration",
    roles=("volunteer", *CENTER_STAFF),
    summary="活动签到",
    body=CheckIn,
    response=RegistrationRead,
    description="By registration id or the registrant's code, from an hour before the start "
    "to an hour after the end.",
)
record_walk_ins = OPERATIONS.add(
    "record_walk_ins",
    roles=("volunteer", *CENTER_STAFF),
    summary="登记现场参与人数",
    body=WalkIns,
    response=ActivityRead,
)

attendance_stats = OPERATIONS.add(
    "attendance_stats",
    roles=READERS,
    summary="活动参与人次统计",
    query=AttendanceQuery,
    response=AttendanceStats,
    description="Activities held and person-times, by programme, audience, month or activity.",
)


class CountyAttendance(BaseSchema):
    """One center's activities and person-times in the county view (the totals of
    :data:`attendance_stats`)."""

    center_id = fields.Str()
    activities = fields.Int()
    person_times = fields.Int()


county_attendance_stats = OPERATIONS.add(
    "county_attendance_stats",
    roles=("department", "ops"),
    internal=True,
    summary="多中心活动参与人次统计（县级汇总，报表服务调用）",
    query=AttendanceQuery,
    response=CountyAttendance,
    many=True,
    description="``county_attendance_stats(center_ids, query)``: each center's activities "
    "held and person-times, counted at once; only centers the caller's token grants.",
)
week_calendar = OPERATIONS.add(
    "week_calendar",
    roles=MEMBERS,
    summary="一周活动与功能室安排",
    query=CalendarQuery,
    response=CalendarRead,
    description="``?week=2026-W49`` (ISO week, Asia/Shanghai; default this week), ``&room=``.",
)

list_rooms = OPERATIONS.add(
    "list_rooms", roles=MEMBERS, summary="功能室", response=RoomRead, many=True
)
get_room = OPERATIONS.add(
    "get_room",
    roles=MEMBERS,
    summary="功能室详情",
    response=RoomRead,
    description="One room, with its ETag (for a PATCH's If-Match).",
)
add_room = OPERATIONS.add(
    "add_room", roles=ADMIN, summary="新增功能室", body=RoomCreate, response=RoomRead
)
update_room = OPERATIONS.add(
    "update_room",
    roles=ADMIN,
    summary="修改功能室",
    body=RoomUpdate,
    response=RoomRead,
    if_match=True,
    description=("须带 If-Match：GET /api/v1/rooms/{code} 或上一次修改的应答所给的 ETag。"),
)
book_room = OPERATIONS.add(
    "book_room",
    roles=MEMBERS,
    summary="预约功能室",
    body=BookingCreate,
    response=BookingList,
    description="Never overlapping another booking (409 naming the clash). ``repeat_weeks`` "
    "books the same slot weekly, all or nothing. Residents' requests, and staff's "
    "in rooms that need approval, wait as ``pending``.",
)
list_bookings = OPERATIONS.add(
    "list_bookings",
    roles=MEMBERS,
    summary="预约记录",
    query=BookingQuery,
    response=BookingList,
    description="Staff: every booking (``?state=pending`` for approvals); others: their own "
    "requests.",
)
list_room_bookings = OPERATIONS.add(
    "list_room_bookings",
    roles=MEMBERS,
    summary="功能室预约情况",
    query=BookingQuery,
    response=BookingList,
)
approve_booking = OPERATIONS.add(
    "approve_booking",
    roles=CENTER_STAFF,
    summary="批准功能室预约",
    response=BookingRead,
    rules=(DECIDES_ROOM,),
)
reject_booking = OPERATIONS.add(
    "reject_booking",
    roles=CENTER_STAFF,
    summary="驳回功能室预约",
    body=Rejection,
    response=BookingRead,
    rules=(DECIDES_ROOM,),
)
cancel_booking = OPERATIONS.add(
    "cancel_booking",
    roles=MEMBERS,
    summary="取消功能室预约",
    query=BookingCancel,
    response=BookingList,
    description="``?series=true`` also cancels the later weeks of a weekly booking.",
)
room_ics = OPERATIONS.add(
    "room_ics",
    roles=MEMBERS,
    summary="功能室预约日历（iCalendar）",
    description="``text/calendar`` (RFC 5545): the room's bookings from 30 days ago on; those "
    "awaiting approval are TENTATIVE.",
)
