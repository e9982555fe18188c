"""EventsService: entrypoints only — require the operation, load, call the domain, commit, dump.

Programmes, activities, registrations, check-in and attendance; the function rooms
and their bookings; the week's calendar and iCalendar exports.
"""

from __future__ import annotations

from typing import Any

from lianxin.auth import Caller
from lianxin.centers import CenterScoped, KnownCenters
from lianxin.concurrency import if_match_guard
from lianxin.consumer import event_handler
from lianxin.contracts.events import operations as ops
from lianxin.contracts.schema import dump, load
from lianxin.contracts.tickets import events as centers_events
from lianxin.db import Database
from lianxin.health import HealthCheck
from lianxin.housekeeping import Housekeeping
from lianxin.metrics import Metrics
from lianxin.outbox import Outbox
from lianxin.roles import Principal
from lianxin.rpc import rpc
from lianxin.tracing import Tracing
from services.events import (
    activities,
    attendance,
    bookings,
    copying,
    programmes,
    registrations,
    rooms,
    schedule,
    views,
)
from services.events.metrics import PERSON_TIMES, REGISTRATIONS, ROOM_BOOKINGS
from services.events.models import Activity, Base, Registration, RoomBooking, outbox_table


class EventsService(CenterScoped, HealthCheck):
    name = "events"

    db = Database(Base.metadata)
    outbox = Outbox(outbox_table)
    housekeeping = Housekeeping()
    caller = Caller()
    centers = KnownCenters()
    metrics = Metrics()
    tracing = Tracing()

    def _activity(self, activity: Activity) -> dict[str, Any]:
        return dump(ops.ActivityRead, views.describe(db_session=self.db, activities=[activity])[0])

    def _registration(self, registration: Registration) -> dict[str, Any]:
        [view] = views.registration_views(db_session=self.db, registrations=[registration])
        return dump(ops.RegistrationRead, view)

    def _bookings(
        self,
        center_id: str,
        found: list[RoomBooking],
        principal: Principal,
        query: Any = None,
        total: int = 0,
    ) -> dict[str, Any]:
        items = views.booking_views(
            db_session=self.db, center_id=center_id, bookings=found, actor=principal
        )
        return dump(ops.BookingList, views.page(items, total, query))

    def _booking(
        self, center_id: str, booking: RoomBooking, principal: Principal
    ) -> dict[str, Any]:
        [view] = views.booking_views(
            db_session=self.db, center_id=center_id, bookings=[booking], actor=principal
        )
        return dump(ops.BookingRead, view)

    # -- onboarding a center (tickets orchestrates it) ---------------------------------------

    @rpc
    def copy_center(self, template_id: str, center_id: str) -> dict[str, int]:
        """A new center's rooms and programmes, copied from the template (part of the
        tickets operation ``onboard_center``, before the center exists)."""
        self.onboarding(template_id, center_id)
        copied = copying.copy_center(
            db_session=self.db, template_id=template_id, center_id=center_id
        )
        self.db.commit()
        return copied

    @rpc
    def drop_center_copy(self, center_id: str) -> dict[str, int]:
        """Undo :meth:`copy_center` of an onboarding that failed later on."""
        self.undoing(center_id)
        dropped = copying.drop_copy(db_session=self.db, center_id=center_id)
        self.db.commit()
        return dropped

    @event_handler("tickets", centers_events.CENTER_CREATED)
    def handle_center_created(self, event: dict[str, Any]) -> None:
        self.learn_center(event)

    @event_handler("tickets", centers_events.CENTER_UPDATED)
    def handle_center_updated(self, event: dict[str, Any]) -> None:
        self.learn_center(event)

    # -- rooms and programmes --------------------------------------------------------------

    @rpc
    def add_room(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.require(center_id, ops.add_room)
        room = rooms.add_room(
            db_session=self.db, center_id=center_id, data=load(ops.RoomCreate, payload)
        )
        self.db.commit()
        return dump(ops.RoomRead, room)

    @rpc
    def update_room(
        self, center_id: str, code: str, payload: dict[str, Any], if_match: str | None = None
    ) -> dict[str, Any]:
        self.require(center_id, ops.update_room)
        room = rooms.update_room(
            db_session=self.db,
            center_id=center_id,
            code=code,
            changes=load(ops.RoomUpdate, payload),
            guard=if_match_guard(if_match, lambda row: dump(ops.RoomRead, row)),
        )
        self.db.commit()
        return dump(ops.RoomRead, room)

    @rpc
    def get_room(self, center_id: str, code: str) -> dict[str, Any]:
        self.require(center_id, ops.get_room)
        return dump(
            ops.RoomRead, rooms.get_room(db_session=self.db, center_id=center_id, code=code)
        )

    @rpc
    def list_rooms(self, center_id: str) -> list[dict[str, Any]]:
        self.require(center_id, ops.list_rooms)
        return dump(
            ops.RoomRead, rooms.list_rooms(db_session=self.db, center_id=center_id), many=True
        )

    @rpc
    def add_programme(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.require(center_id, ops.add_programme)
        programme = programmes.add_programme(
            db_session=self.db, center_id=center_id, data=load(ops.ProgrammeCreate, payload)
        )
        self.db.commit()
        return dump(ops.ProgrammeRead, programme)

    @rpc
    def list_programmes(self, center_id: str) -> list[dict[str, Any]]:
        self.require(center_id, ops.list_programmes)
        return dump(
            ops.ProgrammeRead,
            programmes.list_programmes(db_session=self.db, center_id=center_id),
            many=True,
        )

    # -- activities ------------------------------------------------------------------------

    @rpc
    def create_activity(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.require(center_id, ops.create_activity)
        activity = activities.create_activity(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            data=load(ops.ActivityCreate, payload),
            actor=principal,
        )
        self.db.commit()
        return self._activity(activity)

    @rpc
    def list_activities(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.list_activities)
        q = load(ops.ActivityQuery, query or {})
        items, total = activities.list_activities(
            db_session=self.db, center_id=center_id, query=q, actor=principal
        )
        return dump(
            ops.ActivityList,
            views.page(views.describe(db_session=self.db, activities=items), total, q),
        )

    @rpc
    def get_activity(self, center_id: str, activity_id: str) -> dict[str, Any]:
        principal = self.require(center_id, ops.get_activity)
        return self._activity(
            activities.get_activity(
                db_session=self.db, center_id=center_id, activity_id=activity_id, actor=principal
            )
        )

    @rpc
    def update_activity(
        self,
        center_id: str,
        activity_id: str,
        payload: dict[str, Any],
        if_match: str | None = None,
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.update_activity)
        activity = activities.update_activity(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            activity_id=activity_id,
            changes=load(ops.ActivityUpdate, payload),
            actor=principal,
            guard=if_match_guard(if_match, self._activity),
        )
        self.db.commit()
        return self._activity(activity)

    @rpc
    def publish_activity(self, center_id: str, activity_id: str) -> dict[str, Any]:
        principal = self.require(center_id, ops.publish_activity)
        activity = activities.publish_activity(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            activity_id=activity_id,
            actor=principal,
        )
        self.db.commit()
        return self._activity(activity)

    @rpc
    def cancel_activity(
        self, center_id: str, activity_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.cancel_activity)
        activity = activities.cancel_activity(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            activity_id=activity_id,
            reason=load(ops.ActivityCancel, payload)["reason"],
            actor=principal,
        )
        self.db.commit()
        return self._activity(activity)

    @rpc
    def record_activities(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Activities already held, with the attendance of their sign-in sheets (补录)."""
        principal = self.require(center_id, ops.record_activities)
        recorded = attendance.record_activities(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            items=load(ops.ActivityRecords, payload)["items"],
            actor=principal,
        )
        self.db.commit()
        for activity in recorded:
            self.metrics.get(PERSON_TIMES).labels(center_id, activity.audience).inc(
                activity.walk_ins
            )
        return dump(
            ops.ActivityRecordsRead,
            {
                "created": len(recorded),
                "person_times": sum(a.walk_ins for a in recorded),
                "ids": [a.id for a in recorded],
            },
        )

    @rpc
    def record_walk_ins(
        self, center_id: str, activity_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.record_walk_ins)
        count = load(ops.WalkIns, payload)["count"]
        activity = attendance.record_walk_ins(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            activity_id=activity_id,
            count=count,
            actor=principal,
        )
        self.db.commit()
        self.metrics.get(PERSON_TIMES).labels(center_id, activity.audience).inc(count)
        return self._activity(activity)

    @rpc
    def list_public_activities(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Public: the center's published activities of the coming days (its home page)."""
        self.centers.require(center_id)
        q = load(ops.PublicActivityQuery, query or {})
        items = activities.list_public_activities(
            db_session=self.db, center_id=center_id, days=q["days"], limit=q["limit"]
        )
        names = {
            p.code: p.name
            for p in programmes.list_programmes(db_session=self.db, center_id=center_id)
        }
        described = views.describe(db_session=self.db, activities=items)
        for item in described:
            item["programme_name"] = names.get(item.get("programme") or "")
        return dump(ops.PublicActivityRead, described, many=True)

    @rpc
    def public_activities_ics(self, center_id: str, name: str) -> str:
        """Public: the center's activity calendar feed (what residents see), named ``name``."""
        self.centers.require(center_id)
        return schedule.center_activities_ics(
            db_session=self.db, center_id=center_id, name=str(name)[:80]
        )

    @rpc
    def activity_ics(self, center_id: str, activity_id: str) -> str:
        principal = self.require(center_id, ops.activity_ics)
        return schedule.activity_ics(
            db_session=self.db, center_id=center_id, activity_id=activity_id, actor=principal
        )

    # -- registrations ---------------------------------------------------------------------

    @rpc
    def register_for_activity(
        self, center_id: str, activity_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """A resident registers (with family members); staff register a resident by person_id."""
        principal = self.require(center_id, ops.register_for_activity)
        registration = registrations.register(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            activity_id=activity_id,
            data=load(ops.RegistrationCreate, payload),
            actor=principal,
        )
        self.db.commit()
        self.metrics.get(REGISTRATIONS).labels(center_id, registration.state).inc()
        return self._registration(registration)

    @rpc
    def list_registrations(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.list_registrations)
        q = load(ops.RegistrationQuery, query or {})
        items, total = registrations.list_registrations(
            db_session=self.db, center_id=center_id, query=q, actor=principal
        )
        return dump(
            ops.RegistrationList,
            views.page(views.registration_views(db_session=self.db, registrations=items), total, q),
        )

    @rpc
    def list_activity_registrations(
        self, center_id: str, activity_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.list_activity_registrations)
        q = load(ops.RegistrationQuery, {**(query or {}), "activity_id": activity_id})
        items, total = registrations.list_registrations(
            db_session=self.db, center_id=center_id, query=q, actor=principal
        )
        return dump(
            ops.RegistrationList,
            views.page(views.registration_views(db_session=self.db, registrations=items), total, q),
        )

    @rpc
    def get_registration(self, center_id: str, registration_id: str) -> dict[str, Any]:
        principal = self.require(center_id, ops.get_registration)
        return self._registration(
            registrations.get_registration(
                db_session=self.db,
                center_id=center_id,
                registration_id=registration_id,
                actor=principal,
            )
        )

    @rpc
    def cancel_registration(
        self, center_id: str, registration_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.cancel_registration)
        registration = registrations.cancel_registration(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            registration_id=registration_id,
            actor=principal,
            reason=load(ops.RegistrationCancel, query or {})["reason"],
        )
        self.db.commit()
        self.metrics.get(REGISTRATIONS).labels(center_id, "cancelled").inc()
        return self._registration(registration)

    @rpc
    def approve_registration(self, center_id: str, registration_id: str) -> dict[str, Any]:
        principal = self.require(center_id, ops.approve_registration)
        registration = registrations.decide_registration(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            registration_id=registration_id,
            actor=principal,
            approve=True,
        )
        self.db.commit()
        self.metrics.get(REGISTRATIONS).labels(center_id, registration.state).inc()
        return self._registration(registration)

    @rpc
    def reject_registration(
        self, center_id: str, registration_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.reject_registration)
        registration = registrations.decide_registration(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            registration_id=registration_id,
            actor=principal,
            approve=False,
            reason=load(ops.Rejection, payload)["reason"],
        )
        self.db.commit()
        self.metrics.get(REGISTRATIONS).labels(center_id, "rejected").inc()
        return self._registration(registration)

    @rpc
    def check_in_registration(
        self, center_id: str, activity_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.check_in_registration)
        registration = attendance.check_in(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            activity_id=activity_id,
            data=load(ops.CheckIn, payload),
            actor=principal,
        )
        self.db.commit()
        audience = activities.find_activity(
            db_session=self.db, center_id=center_id, activity_id=activity_id, drafts=True
        ).audience
        self.metrics.get(PERSON_TIMES).labels(center_id, audience).inc(registration.attended)
        return self._registration(registration)

    # -- attendance and the calendar --------------------------------------------------------

    @rpc
    def attendance_stats(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.require(center_id, ops.attendance_stats)
        stats = attendance.attendance_stats(
            db_session=self.db, center_id=center_id, query=load(ops.AttendanceQuery, query or {})
        )
        return dump(ops.AttendanceStats, stats)

    @rpc
    def county_attendance_stats(
        self, center_ids: list[str] | None, query: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """For the reports service's county view (internal): each center's activities held
        and person-times, counted at once; ``center_ids`` all granted by the caller's token
        (else ``CENTER_FORBIDDEN``, as ``attendance_stats``), or ``None``: every center the
        token grants that held activities in the period."""
        ids = self.caller.require_centers(ops.county_attendance_stats, center_ids)
        stats = attendance.county_attendance_stats(
            db_session=self.db, center_ids=ids, query=load(ops.AttendanceQuery, query or {})
        )
        return dump(ops.CountyAttendance, stats, many=True)

    @rpc
    def week_calendar(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        principal = self.require(center_id, ops.week_calendar)
        q = load(ops.CalendarQuery, query or {})
        return dump(
            ops.CalendarRead,
            schedule.week_calendar(
                db_session=self.db,
                center_id=center_id,
                week=q["week"],
                room=q["room"],
                actor=principal,
            ),
        )

    # -- room bookings ---------------------------------------------------------------------

    @rpc
    def book_room(self, center_id: str, code: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Staff book rooms (approval where the room needs it); residents and volunteers
        request them (staff approve)."""
        principal = self.require(center_id, ops.book_room)
        booked = bookings.book_room(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            code=code,
            data=load(ops.BookingCreate, payload),
            actor=principal,
        )
        self.db.commit()
        self.metrics.get(ROOM_BOOKINGS).labels(center_id, booked[0].state).inc(len(booked))
        return self._bookings(center_id, booked, principal)

    @rpc
    def list_bookings(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """All bookings (staff) or one's own requests."""
        principal = self.require(center_id, ops.list_bookings)
        q = load(ops.BookingQuery, query or {})
        items, total = bookings.list_bookings(
            db_session=self.db,
            center_id=center_id,
            query=q,
            actor=principal,
            mine=not ops.is_center_staff(principal),
        )
        return self._bookings(center_id, items, principal, q, total)

    @rpc
    def list_room_bookings(
        self, center_id: str, code: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A room's bookings (everyone sees the slots taken; who booked, staff and the booker)."""
        principal = self.require(center_id, ops.list_room_bookings)
        q = load(ops.BookingQuery, query or {})
        items, total = bookings.list_bookings(
            db_session=self.db, center_id=center_id, query=q, actor=principal, room=code
        )
        return self._bookings(center_id, items, principal, q, total)

    @rpc
    def approve_booking(self, center_id: str, booking_id: str) -> dict[str, Any]:
        principal = self.require(center_id, ops.approve_booking)
        booking = bookings.decide_booking(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            booking_id=booking_id,
            actor=principal,
            approve=True,
        )
        self.db.commit()
        self.metrics.get(ROOM_BOOKINGS).labels(center_id, "approved").inc()
        return self._booking(center_id, booking, principal)

    @rpc
    def reject_booking(
        self, center_id: str, booking_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.reject_booking)
        booking = bookings.decide_booking(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            booking_id=booking_id,
            actor=principal,
            approve=False,
            reason=load(ops.Rejection, payload)["reason"],
        )
        self.db.commit()
        self.metrics.get(ROOM_BOOKINGS).labels(center_id, "rejected").inc()
        return self._booking(center_id, booking, principal)

    @rpc
    def cancel_booking(
        self, center_id: str, booking_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.require(center_id, ops.cancel_booking)
        q = load(ops.BookingCancel, query or {})
        cancelled = bookings.cancel_booking(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            booking_id=booking_id,
            actor=principal,
            series=q["series"],
            reason=q["reason"],
        )
        self.db.commit()
        self.metrics.get(ROOM_BOOKINGS).labels(center_id, "cancelled").inc(len(cancelled))
        return self._bookings(center_id, cancelled, principal)

    @rpc
    def room_ics(self, center_id: str, code: str) -> str:
        self.require(center_id, ops.room_ics)
        return schedule.room_ics(db_session=self.db, center_id=center_id, code=code)
