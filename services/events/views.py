"""What callers read of activities, registrations and bookings: rows with what they imply
(places taken and left, waitlist positions, room names), as the Read schemas dump them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.contracts.events.operations import is_center_staff
from lianxin.roles import Principal
from services.events import rooms
from services.events.models import Activity, Registration, RoomBooking


def as_dict(row: Any, **extra: Any) -> dict[str, Any]:
    """A mapped row's columns as a dict (what the Read schemas dump), plus ``extra``."""
    return {c.key: getattr(row, c.key) for c in row.__table__.columns} | extra


def counts(db_session: Session, activity_ids: list[str]) -> dict[str, dict[str, int]]:
    """Per activity: people confirmed, waitlisted, pending, and checked in."""
    found = {
        a: {"confirmed": 0, "waitlisted": 0, "pending": 0, "attended": 0} for a in activity_ids
    }
    if not activity_ids:
        return found
    rows = db_session.execute(
        select(
            Registration.activity_id,
            Registration.state,
            func.sum(Registration.party_size),
            func.sum(Registration.attended),
        )
        .where(Registration.activity_id.in_(activity_ids))
        .group_by(Registration.activity_id, Registration.state)
    )
    for activity_id, state, people, attended in rows:
        if state in found[activity_id]:
            found[activity_id][state] = int(people or 0)
        found[activity_id]["attended"] += int(attended or 0)
    return found


def describe(*, db_session: Session, activities: list[Activity]) -> list[dict[str, Any]]:
    """Activities as ActivityRead dicts: with places taken and left, waitlist, attendance."""
    if not activities:
        return []
    by_activity = counts(db_session, [a.id for a in activities])
    names = rooms.room_names(db_session=db_session, center_id=activities[0].center_id)
    booking_ids = [a.booking_id for a in activities if a.booking_id]
    booking_states: dict[str, str] = (
        dict(
            db_session.execute(
                select(RoomBooking.id, RoomBooking.state).where(RoomBooking.id.in_(booking_ids))
            ).all()
        )
        if booking_ids
        else {}
    )
    views = []
    for a in activities:
        c = by_activity[a.id]
        views.append(
            as_dict(
                a,
                room_name=names.get(a.room) if a.room else None,
                registration_closes_at=a.closes_at,
                places_taken=c["confirmed"],
                places_left=max(a.capacity - c["confirmed"], 0),
                waitlisted=c["waitlisted"],
                pending=c["pending"],
                person_times=c["attended"] + a.walk_ins,
                booking_state=booking_states.get(a.booking_id) if a.booking_id else None,
            )
        )
    return views


def registration_views(
    *, db_session: Session, registrations: list[Registration]
) -> list[dict[str, Any]]:
    """Registrations as RegistrationRead dicts, with waitlist positions."""
    waiting = {r.activity_id for r in registrations if r.state == "waitlisted"}
    positions: dict[str, int] = {}
    for activity_id in waiting:
        queue = db_session.scalars(
            select(Registration.id)
            .where(
                Registration.activity_id == activity_id,
                Registration.state == "waitlisted",
            )
            .order_by(Registration.seq)
        )
        positions.update({rid: n for n, rid in enumerate(queue, start=1)})
    return [as_dict(r, position=positions.get(r.id)) for r in registrations]


def booking_views(
    *, db_session: Session, center_id: str, bookings: list[RoomBooking], actor: Principal
) -> list[dict[str, Any]]:
    """Bookings as BookingRead dicts (with the room's name). Who booked and who decided
    are for staff and the booker; others see only that the slot is taken."""
    names = rooms.room_names(db_session=db_session, center_id=center_id)
    views = []
    for booking in bookings:
        view = as_dict(booking, room_name=names.get(booking.room, booking.room))
        if not is_center_staff(actor) and booking.booked_by != actor.id:
            view.update(booked_by=None, decided_by=None, reason=None)
        views.append(view)
    return views


def page(items: list[Any], total: int, query: Any) -> dict[str, Any]:
    """One page of a list (the ``page_of`` schemas); a whole answer when ``query`` is None."""
    if query is None:
        return {"items": items, "total": len(items), "limit": len(items), "offset": 0}
    return {"items": items, "total": total, "limit": query["limit"], "offset": query["offset"]}
