"""Bookings of the center's function rooms: two bookings of a room never overlap.

Every booking of a room first bumps the room's ``lock_version``. That UPDATE is the lock:
on PostgreSQL it holds the room's row until commit, on SQLite it takes the database's
write lock, so the overlap check and the insert that follows are never interleaved with
another booking of the same room. On PostgreSQL an exclusion constraint
(``room_bookings_no_overlap``) holds the rule even against a writer that skips the lock.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.clock import local, now_utc
from lianxin.contracts.events import operations as ops
from lianxin.contracts.events.events import (
    ROOM_BOOKED,
    ROOM_REJECTED,
    ROOM_RELEASED,
    ROOM_REQUESTED,
)
from lianxin.contracts.events.operations import BookingFilter, NewBooking, is_center_staff
from lianxin.errors import InvalidInput
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.events.exceptions import (
    BookingNotFound,
    BookingStateConflict,
    InvalidRoom,
    RoomNotFound,
    RoomUnavailable,
)
from services.events.models import ACTIVE_BOOKING, Activity, Room, RoomBooking
from services.events.rooms import get_room, lock_room

BOOKING_STATE_NAMES = {
    "pending": "待审批",
    "confirmed": "已确认",
    "rejected": "已被拒绝",
    "cancelled": "已取消",
}


def initial_state(room: Room, actor: Principal) -> str:
    """Admins' bookings stand; staff's need approval only where the room says so;
    residents' and volunteers' requests always wait for staff."""
    if actor.role == "admin":
        return "confirmed"
    if is_center_staff(actor):
        return "pending" if room.needs_approval else "confirmed"
    return "pending"


def overlapping(
    *, db_session: Session, center_id: str, room: str, starts_at: datetime, ends_at: datetime
) -> list[RoomBooking]:
    """The room's bookings holding any part of [starts_at, ends_at)."""
    return list(
        db_session.scalars(
            select(RoomBooking)
            .where(
                RoomBooking.center_id == center_id,
                RoomBooking.room == room,
                RoomBooking.state.in_(ACTIVE_BOOKING),
                RoomBooking.starts_at < ends_at,
                RoomBooking.ends_at > starts_at,
            )
            .order_by(RoomBooking.starts_at)
        )
    )


def _unavailable(clashes: list[RoomBooking]) -> RoomUnavailable:
    slots = "；".join(
        f"{local(b.starts_at):%Y-%m-%d %H:%M}–{local(b.ends_at):%H:%M}（{b.purpose}）"
        for b in clashes[:5]
    )
    more = f" 等 {len(clashes)} 个时段" if len(clashes) > 5 else ""
    return RoomUnavailable(
        f"该功能室在以下时段已被占用：{slots}{more}",
        fields={"starts_at": ["与已有预约时间重叠"]},
        extra={"booking_ids": [b.id for b in clashes]},
    )


def booking_data(booking: RoomBooking, room: Room) -> dict[str, Any]:
    """What room.* events say about a booking."""
    return {
        "booking_id": booking.id,
        "room": booking.room,
        "starts_at": booking.starts_at,
        "ends_at": booking.ends_at,
        "activity_id": booking.activity_id,
        "purpose": booking.purpose,
        "room_name": room.name,
        "booked_by": booking.booked_by,
        "series_id": booking.series_id,
        "reason": booking.reason,
    }


def _announce(outbox: OutboxWriter, booking: RoomBooking, room: Room) -> None:
    etype = ROOM_BOOKED if booking.state == "confirmed" else ROOM_REQUESTED
    outbox.add(
        etype, center_id=booking.center_id, subject=booking.id, data=booking_data(booking, room)
    )


def hold(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    room: Room,
    slots: list[tuple[datetime, datetime]],
    purpose: str,
    actor: Principal,
    now: datetime,
    activity_id: str | None = None,
    attendees: int | None = None,
) -> list[RoomBooking]:
    """Book ``slots`` of a room locked with :func:`lock_room` — all of them, or none."""
    clashes = [
        b
        for start, end in slots
        for b in overlapping(
            db_session=db_session,
            center_id=room.center_id,
            room=room.code,
            starts_at=start,
            ends_at=end,
        )
    ]
    if clashes:
        raise _unavailable(sorted({b.id: b for b in clashes}.values(), key=lambda b: b.starts_at))
    state = initial_state(room, actor)
    series_id = str(uuid.uuid4()) if len(slots) > 1 else None
    bookings = [
        RoomBooking(
            id=str(uuid.uuid4()),
            center_id=room.center_id,
            room=room.code,
            starts_at=start,
            ends_at=end,
            purpose=purpose,
            attendees=attendees,
            activity_id=activity_id,
            series_id=series_id,
            state=state,
            booked_by=actor.id,
            created_at=now,
            decided_by=actor.id if state == "confirmed" else None,
            decided_at=now if state == "confirmed" else None,
        )
        for start, end in slots
    ]
    db_session.add_all(bookings)
    try:
        db_session.flush()
    except IntegrityError:
        # Only a writer that skipped the room lock gets here: the exclusion constraint caught
        # it. The caller's transaction rolls back with the error.
        raise RoomUnavailable() from None
    for booking in bookings:
        _announce(outbox, booking, room)
    return bookings


def weekly(starts_at: datetime, ends_at: datetime, weeks: int) -> list[tuple[datetime, datetime]]:
    """The same local slot ``weeks`` weeks running (computed in Asia/Shanghai wall time)."""
    start, end = local(starts_at), local(ends_at)
    return [
        (
            (start + timedelta(weeks=k)).astimezone(starts_at.tzinfo),
            (end + timedelta(weeks=k)).astimezone(ends_at.tzinfo),
        )
        for k in range(weeks)
    ]


def book_room(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    code: str,
    data: NewBooking,
    actor: Principal,
    now: datetime | None = None,
) -> list[RoomBooking]:
    """Book a room for a use other than an activity, once or weekly (all or nothing)."""
    now = now or now_utc()
    if data.starts_at <= now:
        raise InvalidInput(fields={"starts_at": ["开始时间须晚于现在"]})
    room = lock_room(db_session=db_session, center_id=center_id, code=code)
    if room is None:
        raise RoomNotFound(fields={"room": ["该服务中心没有此功能室"]})
    if data.attendees and data.attendees > room.capacity:
        raise InvalidInput(fields={"attendees": [f"超过功能室容量（{room.capacity} 人）"]})
    return hold(
        db_session=db_session,
        outbox=outbox,
        room=room,
        slots=weekly(data.starts_at, data.ends_at, data.repeat_weeks),
        purpose=data.purpose,
        actor=actor,
        now=now,
        attendees=data.attendees,
    )


def get_booking(*, db_session: Session, center_id: str, booking_id: str) -> RoomBooking:
    """A center's booking, or :class:`BookingNotFound`."""
    booking = db_session.get(RoomBooking, booking_id)
    if booking is None or booking.center_id != center_id:
        raise BookingNotFound()
    return booking


def _locked_booking(
    db_session: Session, center_id: str, booking_id: str
) -> tuple[RoomBooking, Room]:
    booking = get_booking(db_session=db_session, center_id=center_id, booking_id=booking_id)
    room = lock_room(db_session=db_session, center_id=center_id, code=booking.room)
    assert room is not None  # a foreign key keeps the room
    db_session.refresh(booking)
    return booking, room


def decide_booking(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    booking_id: str,
    actor: Principal,
    approve: bool,
    reason: str | None = None,
    now: datetime | None = None,
) -> RoomBooking:
    """Approve (room.booked) or decline (room.rejected) a pending booking: an admin decides
    for a room that needs approval (:data:`~lianxin.contracts.events.operations.DECIDES_ROOM`)."""
    now = now or now_utc()
    booking, room = _locked_booking(db_session, center_id, booking_id)
    (ops.approve_booking if approve else ops.reject_booking).authorize(actor, room)
    if booking.state != "pending":
        raise BookingStateConflict(f"该预约{BOOKING_STATE_NAMES[booking.state]}，无需审批")
    if approve and booking.ends_at <= now:
        raise BookingStateConflict("预约时段已过，不能再批准")
    booking.state = "confirmed" if approve else "rejected"
    booking.decided_by, booking.decided_at = actor.id, now
    booking.reason = None if approve else reason
    outbox.add(
        ROOM_BOOKED if approve else ROOM_REJECTED,
        center_id=center_id,
        subject=booking.id,
        data=booking_data(booking, room),
    )
    return booking


def release(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    booking: RoomBooking,
    room: Room,
    reason: str | None,
    now: datetime,
) -> None:
    """Free a booking's slot (room.released)."""
    if booking.state not in ACTIVE_BOOKING:
        return
    booking.state, booking.reason = "cancelled", reason
    booking.decided_at = booking.decided_at or now
    outbox.add(
        ROOM_RELEASED,
        center_id=booking.center_id,
        subject=booking.id,
        data=booking_data(booking, room),
    )


def cancel_booking(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    booking_id: str,
    actor: Principal,
    series: bool = False,
    reason: str | None = None,
    now: datetime | None = None,
) -> list[RoomBooking]:
    """Cancel a booking (and, with ``series``, its later weeks); by its booker or staff
    (another's booking is not found for anyone else)."""
    now = now or now_utc()
    booking, room = _locked_booking(db_session, center_id, booking_id)
    if not is_center_staff(actor) and booking.booked_by != actor.id:
        raise BookingNotFound()
    if booking.activity_id is not None:
        raise BookingStateConflict("这是活动的场地预约，请修改或取消活动")
    if booking.state not in ACTIVE_BOOKING:
        raise BookingStateConflict(f"该预约{BOOKING_STATE_NAMES[booking.state]}")
    if booking.ends_at <= now:
        raise BookingStateConflict("预约时段已过，不能取消")
    chosen = [booking]
    if series and booking.series_id:
        chosen = list(
            db_session.scalars(
                select(RoomBooking)
                .where(
                    RoomBooking.series_id == booking.series_id,
                    RoomBooking.center_id == center_id,
                    RoomBooking.starts_at >= booking.starts_at,
                    RoomBooking.state.in_(ACTIVE_BOOKING),
                )
                .order_by(RoomBooking.starts_at)
            )
        )
    for item in chosen:
        release(
            db_session=db_session, outbox=outbox, booking=item, room=room, reason=reason, now=now
        )
    return chosen


def list_bookings(
    *,
    db_session: Session,
    center_id: str,
    query: BookingFilter,
    actor: Principal,
    room: str | None = None,
    mine: bool = False,
) -> tuple[list[RoomBooking], int]:
    """A center's bookings by start: one room's, or (``mine``) the caller's own requests."""
    where = [RoomBooking.center_id == center_id]
    room = room or query.get("room")
    if room:
        get_room(db_session=db_session, center_id=center_id, code=room)
        where.append(RoomBooking.room == room)
    if mine:
        where.append(RoomBooking.booked_by == actor.id)
    if query.get("state"):
        where.append(RoomBooking.state == query["state"])
    elif not mine:
        where.append(RoomBooking.state.in_(ACTIVE_BOOKING))
    if query.get("start"):
        where.append(RoomBooking.ends_at > query["start"])
    if query.get("end"):
        where.append(RoomBooking.starts_at < query["end"])
    total = db_session.scalar(select(func.count()).select_from(RoomBooking).where(*where)) or 0
    items = db_session.scalars(
        select(RoomBooking)
        .where(*where)
        .order_by(RoomBooking.starts_at, RoomBooking.id)
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return list(items), total


# -- an activity's booking -------------------------------------------------------------------


def book_activity(
    db_session: Session, outbox: OutboxWriter, activity: Activity, actor: Principal, now: datetime
) -> None:
    """Book the activity's room for its time (the room must fit its capacity)."""
    assert activity.room is not None
    room = lock_room(db_session=db_session, center_id=activity.center_id, code=activity.room)
    if room is None:
        raise InvalidRoom(fields={"room": ["该服务中心没有此功能室"]})
    if activity.capacity > room.capacity:
        raise InvalidInput(fields={"capacity": [f"超过功能室容量（{room.capacity} 人）"]})
    [booking] = hold(
        db_session=db_session,
        outbox=outbox,
        room=room,
        slots=[(activity.starts_at, activity.ends_at)],
        purpose=activity.title,
        actor=actor,
        now=now,
        activity_id=activity.id,
    )
    activity.booking_id = booking.id


def release_activity_booking(
    db_session: Session, outbox: OutboxWriter, activity: Activity, reason: str, now: datetime
) -> None:
    """Free the activity's room booking, if it has one (room.released)."""
    if not activity.booking_id:
        return
    booking = db_session.get(RoomBooking, activity.booking_id)
    if booking is not None:
        room = lock_room(db_session=db_session, center_id=activity.center_id, code=booking.room)
        assert room is not None
        db_session.refresh(booking)
        release(
            db_session=db_session, outbox=outbox, booking=booking, room=room, reason=reason, now=now
        )
        db_session.flush()
    activity.booking_id = None
