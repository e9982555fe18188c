"""The center's function rooms (功能室): their configuration, names and locks.

Every booking of a room first bumps the room's ``lock_version`` (:func:`lock_room`): see
:mod:`services.events.bookings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.events.operations import NewRoom, RoomChanges
from services.events.exceptions import CapacityConflict, RoomConflict, RoomNotFound
from services.events.models import Activity, Room

# -- rooms -----------------------------------------------------------------------------------


def add_room(*, db_session: Session, center_id: str, data: NewRoom) -> Room:
    """Add a function room to the center."""
    if db_session.get(Room, (center_id, data.code)) is not None:
        raise RoomConflict(fields={"code": ["该功能室编码已存在"]})
    room = Room(center_id=center_id, lock_version=0, **asdict(data))
    db_session.add(room)
    try:
        db_session.flush()
    except IntegrityError:  # the caller's transaction rolls back with the error
        raise RoomConflict(fields={"code": ["该功能室编码已存在"]}) from None
    return room


def list_rooms(*, db_session: Session, center_id: str) -> list[Room]:
    """A center's rooms, by code."""
    return list(
        db_session.scalars(select(Room).where(Room.center_id == center_id).order_by(Room.code))
    )


def get_room(*, db_session: Session, center_id: str, code: str) -> Room:
    """A center's room, or :class:`RoomNotFound` (also for another center's room)."""
    room = db_session.get(Room, (center_id, code))
    if room is None:
        raise RoomNotFound(fields={"room": ["该服务中心没有此功能室"]})
    return room


def lock_room(*, db_session: Session, center_id: str, code: str) -> Room | None:
    """The room, locked against other bookings until the transaction ends; None if unknown."""
    return db_session.scalars(
        update(Room)
        .where(Room.center_id == center_id, Room.code == code)
        .values(lock_version=Room.lock_version + 1)
        .returning(Room)
        .execution_options(populate_existing=True)
    ).one_or_none()


def update_room(
    *,
    db_session: Session,
    center_id: str,
    code: str,
    changes: RoomChanges,
    now: datetime | None = None,
    guard: Callable[[Room], None] | None = None,
) -> Room:
    """Change a room's name, capacity, equipment or approval rule; ``guard`` is called with
    the locked row before the change (the ``If-Match`` check)."""
    room = lock_room(db_session=db_session, center_id=center_id, code=code)
    if room is None:
        raise RoomNotFound()
    if guard is not None:
        guard(room)
    if "capacity" in changes:
        now = now or now_utc()
        largest = db_session.scalar(
            select(func.max(Activity.capacity)).where(
                Activity.center_id == center_id,
                Activity.room == code,
                Activity.state.in_(("draft", "published")),
                Activity.ends_at > now,
            )
        )
        if largest is not None and largest > changes["capacity"]:
            raise CapacityConflict(
                f"该功能室已安排容纳 {largest} 人的活动，容量不能少于 {largest}",
                fields={"capacity": [f"不能少于 {largest}"]},
            )
    for key, value in changes.items():
        setattr(room, key, value)
    return room


def room_names(*, db_session: Session, center_id: str) -> dict[str, str]:
    """A center's room names by code."""
    return dict(
        db_session.execute(select(Room.code, Room.name).where(Room.center_id == center_id)).all()
    )


def place_of(db_session: Session, activity: Activity) -> str:
    """Where an activity happens, as people read it: the room's name, or the place."""
    if activity.room:
        room = db_session.get(Room, (activity.center_id, activity.room))
        name = room.name if room is not None else activity.room
        return f"{name}（{activity.place}）" if activity.place else name
    return activity.place
