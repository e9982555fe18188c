"""EventsService: entrypoints only — check the caller, validate, call the domain, dump.

Programmes, activities, registrations, check-in and attendance; the function rooms
and their bookings; the week's calendar and iCalendar exports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lianxin.auth import Caller
from lianxin.contracts.events.operations import (
    ActivityCancel,
    ActivityCreate,
    ActivityList,
    ActivityQuery,
    ActivityRead,
    ActivityRecords,
    ActivityRecordsRead,
    ActivityUpdate,
    AttendanceQuery,
    AttendanceStats,
    BookingCancel,
    BookingCreate,
    BookingList,
    BookingQuery,
    BookingRead,
    CalendarQuery,
    CalendarRead,
    CheckIn,
    ProgrammeCreate,
    ProgrammeRead,
    RegistrationCancel,
    RegistrationCreate,
    RegistrationList,
    RegistrationQuery,
    RegistrationRead,
    Rejection,
    RoomCreate,
    RoomRead,
    RoomUpdate,
    WalkIns,
)
from lianxin.contracts.schema import load
from lianxin.db import Database
from lianxin.errors import EXPECTED
from lianxin.health import HealthCheck
from lianxin.metrics import Metrics
from lianxin.outbox import Outbox
from lianxin.rpc import rpc
from services.events import attendance, domain, rooms, schedule
from services.events.common import Actor
from services.events.models import Activity, Base, outbox_table

ADMIN = ("admin", "ops")
STAFF = ("staff", "admin")
#: Who checks people in at the door: staff, and volunteers helping out (活动协助).
DOOR = ("staff", "admin", "volunteer")
EVERYONE = ("resident", "volunteer", "staff", "admin")
READERS = ("staff", "admin", "department", "ops")

_activity_read, _activity_list = ActivityRead(), ActivityList()
_registration_read, _registration_list = RegistrationRead(), RegistrationList()
_booking_list = BookingList()


class EventsService(HealthCheck):
    name = "events"

    db = Database(Base.metadata)
    outbox = Outbox(outbox_table)
    caller = Caller()
    metrics = Metrics()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Commit what the block did, or roll it back the moment it raises: the reply to a
        refused request is sent before nameko tears the worker down, and the transaction
        must not hold its locks (SQLite's write lock above all) while that reply waits."""
        try:
            yield
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise

    def _actor(self, center_id: str, roles: tuple[str, ...]) -> Actor:
        principal = self.caller.require(center_id, roles=roles)
        return Actor(principal.sub, principal.role)

    def _activity(self, activity: Activity) -> dict[str, Any]:
        return _activity_read.dump(domain.describe(db_session=self.db, activities=[activity])[0])

    def _registrations(self, registrations: list) -> list[dict[str, Any]]:
        return domain.registration_views(db_session=self.db, registrations=registrations)

    def _registered(self, center_id: str, outcome: str, amount: int = 1) -> None:
        self.metrics.counter("lianxin_events_registrations_total", "Registrations by outcome",
                             ["center", "outcome"]).labels(center_id, outcome).inc(amount)

    def _attended(self, center_id: str, audience: str, person_times: int) -> None:
        self.metrics.counter("lianxin_events_person_times_total",
                             "Attendance in person-times (人次) by audience",
                             ["center", "audience"]).labels(center_id, audience).inc(person_times)

    def _booked(self, center_id: str, outcome: str, amount: int = 1) -> None:
        self.metrics.counter("lianxin_events_room_bookings_total", "Room bookings by outcome",
                             ["center", "outcome"]).labels(center_id, outcome).inc(amount)

    # -- rooms and programmes --------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def add_room(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=ADMIN)
        with self._transaction():
            room = rooms.add_room(db_session=self.db, center_id=center_id,
                                  data=load(RoomCreate(), payload))
        return RoomRead().dump(room)

    @rpc(expected_exceptions=EXPECTED)
    def update_room(self, center_id: str, code: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=ADMIN)
        with self._transaction():
            room = rooms.update_room(db_session=self.db, center_id=center_id, code=code,
                                     changes=load(RoomUpdate(), payload))
        return RoomRead().dump(room)

    @rpc(expected_exceptions=EXPECTED)
    def list_rooms(self, center_id: str) -> list[dict[str, Any]]:
        self.caller.require(center_id, roles=EVERYONE)
        return RoomRead(many=True).dump(rooms.list_rooms(db_session=self.db, center_id=center_id))

    @rpc(expected_exceptions=EXPECTED)
    def add_programme(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=ADMIN)
        with self._transaction():
            programme = domain.add_programme(db_session=self.db, center_id=center_id,
                                             data=load(ProgrammeCreate(), payload))
        return ProgrammeRead().dump(programme)

    @rpc(expected_exceptions=EXPECTED)
    def list_programmes(self, center_id: str) -> list[dict[str, Any]]:
        self.caller.require(center_id, roles=EVERYONE)
        return ProgrammeRead(many=True).dump(
            domain.list_programmes(db_session=self.db, center_id=center_id))

    # -- activities ------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def create_activity(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        actor = self._actor(center_id, STAFF)
        with self._transaction():
            activity = domain.create_activity(db_session=self.db, outbox=self.outbox,
                                              center_id=center_id, data=load(ActivityCreate(), payload),
                                              actor=actor)
        return self._activity(activity)

    @rpc(expected_exceptions=EXPECTED)
    def list_activities(self, center_id: str,
                        query: dict[str, Any] | None = None) -> dict[str, Any]:
        actor = self._actor(center_id, EVERYONE)
        q = load(ActivityQuery(), query or {})
        items, total = domain.list_activities(db_session=self.db, center_id=center_id, query=q,
                                              actor=actor)
        return _activity_list.dump({"items": domain.describe(db_session=self.db, activities=items),
                                    "total": total, "limit": q["limit"], "offset": q["offset"]})

    @rpc(expected_exceptions=EXPECTED)
    def get_activity(self, center_id: str, activity_id: str) -> dict[str, Any]:
        actor = self._actor(center_id, EVERYONE)
        return self._activity(domain.get_activity(db_session=self.db, center_id=center_id,
                                                  activity_id=activity_id, actor=actor))

    @rpc(expected_exceptions=EXPECTED)
    def update_activity(self, center_id: str, activity_id: str,
                        payload: dict[str, Any]) -> dict[str, Any]:
        actor = self._actor(center_id, STAFF)
        with self._transaction():
            activity = domain.update_activity(db_session=self.db, outbox=self.outbox,
                                              center_id=center_id, activity_id=activity_id,
                                              changes=load(ActivityUpdate(), payload), actor=actor)
        return self._activity(activity)

    @rpc(expected_exceptions=EXPECTED)
    def publish_activity(self, center_id: str, activity_id: str) -> dict[str, Any]:
        actor = self._actor(center_id, STAFF)
        with self._transaction():
            activity = domain.publish_activity(db_session=self.db, outbox=self.outbox,
                                               center_id=center_id, activity_id=activity_id,
                                               actor=actor)
        return self._activity(activity)

    @rpc(expected_exceptions=EXPECTED)
    def cancel_activity(self, center_id: str, activity_id: str,
                        payload: dict[str, Any]) -> dict[str, Any]:
        actor = self._actor(center_id, STAFF)
        with self._transaction():
            activity = domain.cancel_activity(db_session=self.db, outbox=self.outbox,
                                              center_id=center_id, activity_id=activity_id,
                                              reason=load(ActivityCancel(), payload)["reason"],
                                              actor=actor)
        return self._activity(activity)

    @rpc(expected_exceptions=EXPECTED)
    def record_activities(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Activities already held, with the attendance of their sign-in sheets (补录)."""
        actor = self._actor(center_id, STAFF)
        items = load(ActivityRecords(), payload)["items"]
        with self._transaction():
            recorded = domain.record_activities(db_session=self.db, outbox=self.outbox,
                                                center_id=center_id, items=items, actor=actor)
        for activity in recorded:
            self._attended(center_id, activity.audience, activity.walk_ins)
        return ActivityRecordsRead().dump({
            "created": len(recorded), "person_times": sum(a.walk_ins for a in recorded),
            "ids": [a.id for a in recorded]})

    @rpc(expected_exceptions=EXPECTED)
    def record_walk_ins(self, center_id: str, activity_id: str,
                        payload: dict[str, Any]) -> dict[str, Any]:
        actor = self._actor(center_id, DOOR)
        count = load(WalkIns(), payload)["count"]
        with self._transaction():
            activity = domain.record_walk_ins(db_session=self.db, outbox=self.outbox,
                                              center_id=center_id, activity_id=activity_id,
                                              count=count, actor=actor)
        self._attended(center_id, activity.audience, count)
        return self._activity(activity)

    @rpc(expected_exceptions=EXPECTED)
    def public_activities_ics(self, center_id: str, name: str) -> str:
        """Public: the center's activity calendar feed (what residents see), named ``name``."""
        return schedule.center_activities_ics(db_session=self.db, center_id=center_id,
                                              name=str(name)[:80])

    @rpc(expected_exceptions=EXPECTED)
    def activity_ics(self, center_id: str, activity_id: str) -> str:
        actor = self._actor(center_id, EVERYONE)
        return schedule.activity_ics(db_session=self.db, center_id=center_id,
                                     activity_id=activity_id, actor=actor)

    # -- registrations ---------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def register(self, center_id: str, activity_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A resident registers (with family members); staff register a resident by person_id."""
        actor = self._actor(center_id, ("resident", *STAFF))
        with self._transaction():
            registration = domain.register(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                           activity_id=activity_id,
                                           data=load(RegistrationCreate(), payload), actor=actor)
        self._registered(center_id, registration.state)
        return _registration_read.dump(self._registrations([registration])[0])

    @rpc(expected_exceptions=EXPECTED)
    def list_registrations(self, center_id: str,
                           query: dict[str, Any] | None = None) -> dict[str, Any]:
        actor = self._actor(center_id, ("resident", *STAFF))
        q = load(RegistrationQuery(), query or {})
        items, total = domain.list_registrations(db_session=self.db, center_id=center_id,
                                                 query=q, actor=actor)
        return _registration_list.dump({"items": self._registrations(items), "total": total,
                                         "limit": q["limit"], "offset": q["offset"]})

    @rpc(expected_exceptions=EXPECTED)
    def get_registration(self, center_id: str, registration_id: str) -> dict[str, Any]:
        actor = self._actor(center_id, ("resident", *STAFF))
        registration = domain.get_registration(db_session=self.db, center_id=center_id,
                                               registration_id=registration_id, actor=actor)
        return _registration_read.dump(self._registrations([registration])[0])

    @rpc(expected_exceptions=EXPECTED)
    def cancel_registration(self, center_id: str, registration_id: str,
                            query: dict[str, Any] | None = None) -> dict[str, Any]:
        actor = self._actor(center_id, ("resident", *STAFF))
        reason = load(RegistrationCancel(), query or {})["reason"]
        with self._transaction():
            registration = domain.cancel_registration(
                db_session=self.db, outbox=self.outbox, center_id=center_id,
                registration_id=registration_id, actor=actor, reason=reason)
        self._registered(center_id, "cancelled")
        return _registration_read.dump(self._registrations([registration])[0])

    @rpc(expected_exceptions=EXPECTED)
    def approve_registration(self, center_id: str, registration_id: str) -> dict[str, Any]:
        actor = self._actor(center_id, STAFF)
        with self._transaction():
            registration = domain.decide_registration(
                db_session=self.db, outbox=self.outbox, center_id=center_id,
                registration_id=registration_id, actor=actor, approve=True)
        self._registered(center_id, registration.state)
        return _registration_read.dump(self._registrations([registration])[0])

    @rpc(expected_exceptions=EXPECTED)
    def reject_registration(self, center_id: str, registration_id: str,
                            payload: dict[str, Any]) -> dict[str, Any]:
        actor = self._actor(center_id, STAFF)
        with self._transaction():
            registration = domain.decide_registration(
                db_session=self.db, outbox=self.outbox, center_id=center_id,
                registration_id=registration_id, actor=actor, approve=False,
                reason=load(Rejection(), payload)["reason"])
        self._registered(center_id, "rejected")
        return _registration_read.dump(self._registrations([registration])[0])

    @rpc(expected_exceptions=EXPECTED)
    def check_in(self, center_id: str, activity_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        actor = self._actor(center_id, DOOR)
        with self._transaction():
            registration = domain.check_in(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                           activity_id=activity_id, data=load(CheckIn(), payload),
                                           actor=actor)
        audience = self.db.get(Activity, activity_id).audience
        self._attended(center_id, audience, registration.attended)
        return _registration_read.dump(self._registrations([registration])[0])

    # -- attendance and the calendar --------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def attendance_stats(self, center_id: str,
                         query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.caller.require(center_id, roles=READERS)
        stats = attendance.attendance_stats(db_session=self.db, center_id=center_id,
                                            query=load(AttendanceQuery(), query or {}))
        return AttendanceStats().dump(stats)

    @rpc(expected_exceptions=EXPECTED)
    def week_calendar(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        actor = self._actor(center_id, EVERYONE)
        q = load(CalendarQuery(), query or {})
        return CalendarRead().dump(schedule.week_calendar(
            db_session=self.db, center_id=center_id, week=q["week"], room=q["room"], actor=actor))

    # -- room bookings ---------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def book_room(self, center_id: str, code: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Staff book rooms (approval where the room needs it); residents and volunteers
        request them (staff approve)."""
        actor = self._actor(center_id, EVERYONE)
        with self._transaction():
            bookings = rooms.book_room(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                       code=code, data=load(BookingCreate(), payload), actor=actor)
        self._booked(center_id, bookings[0].state, len(bookings))
        views = rooms.booking_views(db_session=self.db, center_id=center_id, bookings=bookings,
                                    actor=actor)
        return _booking_list.dump({"items": views, "total": len(views), "limit": len(views),
                                   "offset": 0})

    @rpc(expected_exceptions=EXPECTED)
    def list_bookings(self, center_id: str, query: dict[str, Any] | None = None,
                      room: str | None = None) -> dict[str, Any]:
        """A room's bookings (everyone), all bookings (staff) or one's own requests."""
        actor = self._actor(center_id, EVERYONE)
        q = load(BookingQuery(), query or {})
        items, total = rooms.list_bookings(db_session=self.db, center_id=center_id, query=q,
                                           actor=actor, room=room,
                                           mine=room is None and not actor.is_staff)
        return _booking_list.dump({
            "items": rooms.booking_views(db_session=self.db, center_id=center_id, bookings=items,
                                         actor=actor),
            "total": total, "limit": q["limit"], "offset": q["offset"]})

    @rpc(expected_exceptions=EXPECTED)
    def approve_booking(self, center_id: str, booking_id: str) -> dict[str, Any]:
        actor = self._actor(center_id, STAFF)
        with self._transaction():
            booking = rooms.decide_booking(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                           booking_id=booking_id, actor=actor, approve=True)
        self._booked(center_id, "approved")
        return BookingRead().dump(rooms.booking_views(db_session=self.db, center_id=center_id,
                                                      bookings=[booking], actor=actor)[0])

    @rpc(expected_exceptions=EXPECTED)
    def reject_booking(self, center_id: str, booking_id: str,
                       payload: dict[str, Any]) -> dict[str, Any]:
        actor = self._actor(center_id, STAFF)
        with self._transaction():
            booking = rooms.decide_booking(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                           booking_id=booking_id, actor=actor, approve=False,
                                           reason=load(Rejection(), payload)["reason"])
        self._booked(center_id, "rejected")
        return BookingRead().dump(rooms.booking_views(db_session=self.db, center_id=center_id,
                                                      bookings=[booking], actor=actor)[0])

    @rpc(expected_exceptions=EXPECTED)
    def cancel_booking(self, center_id: str, booking_id: str,
                       query: dict[str, Any] | None = None) -> dict[str, Any]:
        actor = self._actor(center_id, EVERYONE)
        q = load(BookingCancel(), query or {})
        with self._transaction():
            cancelled = rooms.cancel_booking(db_session=self.db, outbox=self.outbox,
                                             center_id=center_id, booking_id=booking_id, actor=actor,
                                             series=q["series"], reason=q["reason"])
        self._booked(center_id, "cancelled", len(cancelled))
        views = rooms.booking_views(db_session=self.db, center_id=center_id, bookings=cancelled,
                                    actor=actor)
        return _booking_list.dump({"items": views, "total": len(views), "limit": len(views),
                                   "offset": 0})

    @rpc(expected_exceptions=EXPECTED)
    def room_ics(self, center_id: str, code: str) -> str:
        self.caller.require(center_id, roles=EVERYONE)
        return schedule.room_ics(db_session=self.db, center_id=center_id, code=code)
