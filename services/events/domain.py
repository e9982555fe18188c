"""The rules of programmes, activities and rooms, free of nameko."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.contracts.events import ACTIVITY_PUBLISHED
from lianxin.errors import InvalidInput
from lianxin.outbox import OutboxWriter
from services.events.exceptions import (
    InvalidProgramme,
    InvalidRoom,
    ProgrammeConflict,
    RoomConflict,
)
from services.events.models import Activity, Programme, Room


def add_room(*, db_session: Session, center_id: str, data: dict[str, Any]) -> Room:
    """Add a function room to the center."""
    if db_session.get(Room, (center_id, data["code"])) is not None:
        raise RoomConflict(fields={"code": ["该功能室编码已存在"]})
    room = Room(center_id=center_id, **data)
    db_session.add(room)
    return room


def list_rooms(*, db_session: Session, center_id: str) -> list[Room]:
    return list(db_session.scalars(select(Room).where(Room.center_id == center_id).order_by(Room.code)))


def add_programme(*, db_session: Session, center_id: str, data: dict[str, Any]) -> Programme:
    """Add a standing programme to the center."""
    if db_session.get(Programme, (center_id, data["code"])) is not None:
        raise ProgrammeConflict(fields={"code": ["该项目编码已存在"]})
    programme = Programme(center_id=center_id, **data)
    db_session.add(programme)
    return programme


def list_programmes(*, db_session: Session, center_id: str) -> list[Programme]:
    return list(db_session.scalars(
        select(Programme).where(Programme.center_id == center_id).order_by(Programme.code)))


def create_activity(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                    data: dict[str, Any], now: datetime | None = None) -> Activity:
    """Publish an activity: in one of the center's rooms (within its capacity) or at a place."""
    now = now or datetime.now(UTC)
    if data["starts_at"] <= now:
        raise InvalidInput(fields={"starts_at": ["开始时间须晚于现在"]})
    if data.get("programme") and db_session.get(Programme, (center_id, data["programme"])) is None:
        raise InvalidProgramme(fields={"programme": ["该服务中心没有此项目"]})
    if data.get("room"):
        room = db_session.get(Room, (center_id, data["room"]))
        if room is None:
            raise InvalidRoom(fields={"room": ["该服务中心没有此功能室"]})
        if data["capacity"] > room.capacity:
            raise InvalidInput(fields={"capacity": [f"超过功能室容量（{room.capacity} 人）"]})
    activity = Activity(id=str(uuid.uuid4()), center_id=center_id, state="published",
                        created_at=now, **data)
    db_session.add(activity)
    outbox.add(ACTIVITY_PUBLISHED, center_id=center_id, subject=activity.id, data={
        "activity_id": activity.id, "programme": activity.programme,
        "audience": activity.audience, "title": activity.title,
        "starts_at": activity.starts_at, "ends_at": activity.ends_at, "room": activity.room,
        "capacity": activity.capacity,
    })
    return activity


def list_activities(*, db_session: Session, center_id: str,
                    query: dict[str, Any]) -> tuple[list[Activity], int]:
    """A center's activities by start time, optionally in a programme or a time range."""
    where = [Activity.center_id == center_id]
    if query.get("programme"):
        where.append(Activity.programme == query["programme"])
    if query.get("start"):
        where.append(Activity.starts_at >= query["start"])
    if query.get("end"):
        where.append(Activity.starts_at < query["end"])
    total = db_session.scalar(select(func.count()).select_from(Activity).where(*where)) or 0
    items = db_session.scalars(select(Activity).where(*where)
                               .order_by(Activity.starts_at, Activity.id)
                               .limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total
