"""A new center's rooms and programmes, copied from its template center when it is
onboarded — and taken away again if the onboarding fails elsewhere.

The tickets service orchestrates onboarding (``services/tickets/onboarding.py``): it asks for
the copy before the center exists, and undoes it (:func:`drop_copy`) when a later step fails.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from lianxin.errors import Conflict
from services.events.models import Activity, Programme, Room, RoomBooking


def copy_center(*, db_session: Session, template_id: str, center_id: str) -> dict[str, int]:
    """The template's function rooms and programmes, copied to ``center_id`` — in place of
    what an earlier failed attempt left there, if anything. What was copied, by kind."""
    drop_copy(db_session=db_session, center_id=center_id)
    rooms = db_session.scalars(select(Room).where(Room.center_id == template_id)).all()
    for room in rooms:
        db_session.add(
            Room(
                center_id=center_id,
                code=room.code,
                name=room.name,
                capacity=room.capacity,
                equipment=list(room.equipment or []),
                needs_approval=room.needs_approval,
            )
        )
    found = db_session.scalars(select(Programme).where(Programme.center_id == template_id)).all()
    for programme in found:
        db_session.add(
            Programme(
                center_id=center_id,
                code=programme.code,
                name=programme.name,
                description=programme.description,
                audience=programme.audience,
            )
        )
    db_session.flush()
    return {"rooms": len(rooms), "programmes": len(found)}


def drop_copy(*, db_session: Session, center_id: str) -> dict[str, int]:
    """Take a failed onboarding's copy away: the center's rooms and programmes — refused
    (:class:`Conflict`) once anything else was made there (an activity, a booking)."""
    used = db_session.scalar(
        select(
            exists().where(Activity.center_id == center_id)
            | exists().where(RoomBooking.center_id == center_id)
        )
    )
    if used:
        raise Conflict("该服务中心已有活动或预约，不能撤销", code="CENTER_IN_USE")
    rooms = _deleted(db_session, delete(Room).where(Room.center_id == center_id))
    found = _deleted(db_session, delete(Programme).where(Programme.center_id == center_id))
    return {"rooms": rooms, "programmes": found}


def _deleted(db_session: Session, statement: Any) -> int:
    """How many rows a DELETE took away."""
    result: Any = db_session.execute(statement)
    return int(result.rowcount or 0)
