"""The center's function rooms and their bookings: two bookings of a room never overlap.

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

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.contracts.events.events import (
    ROOM_BOOKED,
    ROOM_REJECTED,
    ROOM_RELEASED,
    ROOM_REQUESTED,
)
from lianxin.errors import Forbidden, InvalidInput
from lianxin.outbox import OutboxWriter
from services.events.common import Actor, as_dict, local, now_utc
from services.events.exceptions import (
    BookingNotFound,
    BookingStateConflict,
    CapacityConflict,
    RoomConflict,
    RoomNotFound,
    RoomUnavailable,
)
from services.events.models import ACTIVE_BOOKING, Activity, Room, RoomBooking

# -- rooms -----------------------------------------------------------------------------------

def add_room(*, db_session: Session, center_id: str, data: dict[str, Any]) -> Room:
    """Add a function room to the center."""
    if db_session.get(Room, (center_id, data["code"])) is not None:
        raise RoomConflict(fields={"code": ["该功能室编码已存在"]})
    room = Room(center_id=center_id, lock_version=0, **data)
    db_session.add(room)
    try:
        db_session.flush()
    except IntegrityError:  # the caller's transaction rolls back with the error
        raise RoomConflict(fields={"code": ["该功能室编码已存在"]}) from None
    return room


def list_rooms(*, db_session: Session, center_id: str) -> list[Room]:
    """A center's rooms, by code."""
    return list(db_session.scalars(
        select(Room).where(Room.center_id == center_id).order_by(Room.code)))


def get_room(*, db_session: Session, center_id: str, code: str) -> Room:
    """A center's room, or :class:`RoomNotFound` (also for another center's room)."""
    room = db_session.get(Room, (center_id, code))
    if room is None:
        raise RoomNotFound(fields={"room": ["该服务中心没有此功能室"]})
    return room


def lock_room(*, db_session: Session, center_id: str, code: str) -> Room | None:
    """The room, locked against other bookings until the transaction ends; None if unknown."""
    return db_session.scalars(
        update(Room).where(Room.center_id == center_id, Room.code == code)
        .values(lock_version=Room.lock_version + 1).returning(Room)
        .execution_options(populate_existing=True)).one_or_none()


def update_room(*, db_session: Session, center_id: str, code: str, changes: dict[str, Any],
                now: datetime | None = None) -> Room:
    """Change a room's name, capacity, equipment or approval rule."""
    room = lock_room(db_session=db_session, center_id=center_id, code=code)
    if room is None:
        raise RoomNotFound()
    if "capacity" in changes:
        now = now or now_utc()
        largest = db_session.scalar(select(func.max(Activity.capacity)).where(
            Activity.center_id == center_id, Activity.room == code,
            Activity.state.in_(("draft", "published")), Activity.ends_at > now))
        if largest is not None and largest > changes["capacity"]:
            raise CapacityConflict(f"该功能室已安排容纳 {largest} 人的活动，容量不能少于 {largest}",
                                   fields={"capacity": [f"不能少于 {largest}"]})
    for key, value in changes.items():
        setattr(room, key, value)
    return room


# -- bookings --------------------------------------------------------------------------------

def initial_state(room: Room, actor: Actor) -> str:
    """Admins' bookings stand; staff's need approval only where the room says so;
    residents' and volunteers' requests always wait for staff."""
    if actor.role == "admin":
        return "confirmed"
    if actor.role == "staff":
        return "pending" if room.needs_approval else "confirmed"
    return "pending"


def may_decide(room: Room, actor: Actor) -> bool:
    """Who approves: an admin for rooms that need approval, staff or an admin otherwise."""
    return actor.role == "admin" or (actor.role == "staff" and not room.needs_approval)


def overlapping(*, db_session: Session, center_id: str, room: str, starts_at: datetime,
                ends_at: datetime) -> list[RoomBooking]:
    """The room's bookings holding any part of [starts_at, ends_at)."""
    return list(db_session.scalars(select(RoomBooking).where(
        RoomBooking.center_id == center_id, RoomBooking.room == room,
        RoomBooking.state.in_(ACTIVE_BOOKING),
        RoomBooking.starts_at < ends_at, RoomBooking.ends_at > starts_at,
    ).order_by(RoomBooking.starts_at)))


def _unavailable(clashes: list[RoomBooking]) -> RoomUnavailable:
    slots = "；".join(f"{local(b.starts_at):%Y-%m-%d %H:%M}–{local(b.ends_at):%H:%M}（{b.purpose}）"
                     for b in clashes[:5])
    more = f" 等 {len(clashes)} 个时段" if len(clashes) > 5 else ""
    return RoomUnavailable(f"该功能室在以下时段已被占用：{slots}{more}",
                           fields={"starts_at": ["与已有预约时间重叠"]},
                           extra={"booking_ids": [b.id for b in clashes]})


def booking_data(booking: RoomBooking, room: Room) -> dict[str, Any]:
    """What room.* events say about a booking."""
    return {"booking_id": booking.id, "room": booking.room, "starts_at": booking.starts_at,
            "ends_at": booking.ends_at, "activity_id": booking.activity_id,
            "purpose": booking.purpose, "room_name": room.name, "booked_by": booking.booked_by,
            "series_id": booking.series_id, "reason": booking.reason}


def _announce(outbox: OutboxWriter, booking: RoomBooking, room: Room) -> None:
    etype = ROOM_BOOKED if booking.state == "confirmed" else ROOM_REQUESTED
    outbox.add(etype, center_id=booking.center_id, subject=booking.id,
               data=booking_data(booking, room))


def hold(*, db_session: Session, outbox: OutboxWriter, room: Room,
         slots: list[tuple[datetime, datetime]], purpose: str, actor: Actor, now: datetime,
         activity_id: str | None = None, attendees: int | None = None) -> list[RoomBooking]:
    """Book ``slots`` of a room locked with :func:`lock_room` — all of them, or none."""
    clashes = [b for start, end in slots
               for b in overlapping(db_session=db_session, center_id=room.center_id,
                                    room=room.code, starts_at=start, ends_at=end)]
    if clashes:
        raise _unavailable(sorted({b.id: b for b in clashes}.values(), key=lambda b: b.starts_at))
    state = initial_state(room, actor)
    series_id = str(uuid.uuid4()) if len(slots) > 1 else None
    bookings = [RoomBooking(id=str(uuid.uuid4()), center_id=room.center_id, room=room.code,
                            starts_at=start, ends_at=end, purpose=purpose, attendees=attendees,
                            activity_id=activity_id, series_id=series_id, state=state,
                            booked_by=actor.id, created_at=now,
                            decided_by=actor.id if state == "confirmed" else None,
                            decided_at=now if state == "confirmed" else None)
                for start, end in slots]
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
    return [((start + timedelta(weeks=k)).astimezone(starts_at.tzinfo),
             (end + timedelta(weeks=k)).astimezone(ends_at.tzinfo)) for k in range(weeks)]


def book_room(*, db_session: Session, outbox: OutboxWriter, center_id: str, code: str,
              data: dict[str, Any], actor: Actor, now: datetime | None = None) -> list[RoomBooking]:
    """Book a room for a use other than an activity, once or weekly (all or nothing)."""
    now = now or now_utc()
    if data["starts_at"] <= now:
        raise InvalidInput(fields={"starts_at": ["开始时间须晚于现在"]})
    room = lock_room(db_session=db_session, center_id=center_id, code=code)
    if room is None:
        raise RoomNotFound(fields={"room": ["该服务中心没有此功能室"]})
    if data.get("attendees") and data["attendees"] > room.capacity:
        raise InvalidInput(fields={"attendees": [f"超过功能室容量（{room.capacity} 人）"]})
    return hold(db_session=db_session, outbox=outbox, room=room,
                slots=weekly(data["starts_at"], data["ends_at"], data["repeat_weeks"]),
                purpose=data["purpose"], actor=actor, now=now, attendees=data.get("attendees"))


def get_booking(*, db_session: Session, center_id: str, booking_id: str) -> RoomBooking:
    """A center's booking, or :class:`BookingNotFound`."""
    booking = db_session.get(RoomBooking, booking_id)
    if booking is None or booking.center_id != center_id:
        raise BookingNotFound()
    return booking


def _locked_booking(db_session: Session, center_id: str,
                    booking_id: str) -> tuple[RoomBooking, Room]:
    booking = get_booking(db_session=db_session, center_id=center_id, booking_id=booking_id)
    room = lock_room(db_session=db_session, center_id=center_id, code=booking.room)
    assert room is not None  # a foreign key keeps the room
    db_session.refresh(booking)
    return booking, room


def decide_booking(*, db_session: Session, outbox: OutboxWriter, center_id: str, booking_id: str,
                   actor: Actor, approve: bool, reason: str | None = None,
                   now: datetime | None = None) -> RoomBooking:
    """Approve (room.booked) or decline (room.rejected) a pending booking."""
    now = now or now_utc()
    booking, room = _locked_booking(db_session, center_id, booking_id)
    if not may_decide(room, actor):
        raise Forbidden("该功能室的预约须由中心管理员审批", code="ROLE_FORBIDDEN")
    if booking.state != "pending":
        raise BookingStateConflict(f"该预约{STATE_NAMES[booking.state]}，无需审批")
    if approve and booking.ends_at <= now:
        raise BookingStateConflict("预约时段已过，不能再批准")
    booking.state = "confirmed" if approve else "rejected"
    booking.decided_by, booking.decided_at = actor.id, now
    booking.reason = None if approve else reason
    outbox.add(ROOM_BOOKED if approve else ROOM_REJECTED, center_id=center_id,
               subject=booking.id, data=booking_data(booking, room))
    return booking


def release(*, db_session: Session, outbox: OutboxWriter, booking: RoomBooking, room: Room,
            reason: str | None, now: datetime) -> None:
    """Free a booking's slot (room.released)."""
    if booking.state not in ACTIVE_BOOKING:
        return
    booking.state, booking.reason = "cancelled", reason
    booking.decided_at = booking.decided_at or now
    outbox.add(ROOM_RELEASED, center_id=booking.center_id, subject=booking.id,
               data=booking_data(booking, room))


def cancel_booking(*, db_session: Session, outbox: OutboxWriter, center_id: str, booking_id: str,
                   actor: Actor, series: bool = False, reason: str | None = None,
                   now: datetime | None = None) -> list[RoomBooking]:
    """Cancel a booking (and, with ``series``, its later weeks); by its booker or staff."""
    now = now or now_utc()
    booking, room = _locked_booking(db_session, center_id, booking_id)
    if not actor.is_staff and booking.booked_by != actor.id:
        raise BookingNotFound()
    if booking.activity_id is not None:
        raise BookingStateConflict("这是活动的场地预约，请修改或取消活动")
    if booking.state not in ACTIVE_BOOKING:
        raise BookingStateConflict(f"该预约{STATE_NAMES[booking.state]}")
    if booking.ends_at <= now:
        raise BookingStateConflict("预约时段已过，不能取消")
    chosen = [booking]
    if series and booking.series_id:
        chosen = list(db_session.scalars(select(RoomBooking).where(
            RoomBooking.series_id == booking.series_id, RoomBooking.center_id == center_id,
            RoomBooking.starts_at >= booking.starts_at, RoomBooking.state.in_(ACTIVE_BOOKING),
        ).order_by(RoomBooking.starts_at)))
    for item in chosen:
        release(db_session=db_session, outbox=outbox, booking=item, room=room, reason=reason,
                now=now)
    return chosen


STATE_NAMES = {"pending": "待审批", "confirmed": "已确认", "rejected": "已被拒绝",
               "cancelled": "已取消"}


def list_bookings(*, db_session: Session, center_id: str, query: dict[str, Any], actor: Actor,
                  room: str | None = None, mine: bool = False) -> tuple[list[RoomBooking], int]:
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
    items = db_session.scalars(select(RoomBooking).where(*where)
                               .order_by(RoomBooking.starts_at, RoomBooking.id)
                               .limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total


def booking_views(*, db_session: Session, center_id: str, bookings: list[RoomBooking],
                  actor: Actor) -> list[dict[str, Any]]:
    """Bookings as BookingRead dicts (with the room's name). Who booked and who decided
    are for staff and the booker; others see only that the slot is taken."""
    names = room_names(db_session=db_session, center_id=center_id)
    views = []
    for booking in bookings:
        view = as_dict(booking, room_name=names.get(booking.room, booking.room))
        if not actor.is_staff and booking.booked_by != actor.id:
            view.update(booked_by=None, decided_by=None, reason=None)
        views.append(view)
    return views


def room_names(*, db_session: Session, center_id: str) -> dict[str, str]:
    return dict(db_session.execute(
        select(Room.code, Room.name).where(Room.center_id == center_id)).all())
