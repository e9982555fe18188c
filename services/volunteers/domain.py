"""The rules of the volunteer register, free of nameko."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.contracts.volunteers import VOLUNTEER_REGISTERED
from lianxin.outbox import OutboxWriter
from services.volunteers.exceptions import VolunteerConflict
from services.volunteers.models import Volunteer


def register_volunteer(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                       data: dict[str, Any]) -> Volunteer:
    """Put a person on the center's register and announce it."""
    person_id = data.get("person_id")
    if person_id and db_session.scalar(select(Volunteer.id).where(
            Volunteer.center_id == center_id, Volunteer.person_id == person_id)):
        raise VolunteerConflict(fields={"person_id": ["该人员已登记"]})
    volunteer = Volunteer(
        id=str(uuid.uuid4()), center_id=center_id, person_id=person_id, name=data["name"],
        skills=sorted(set(data["skills"])), party_member=data["party_member"], status="active",
        registered_at=datetime.now(UTC),
    )
    db_session.add(volunteer)
    outbox.add(VOLUNTEER_REGISTERED, center_id=center_id, subject=volunteer.id,
               data={"volunteer_id": volunteer.id, "skills": volunteer.skills})
    return volunteer


def list_volunteers(*, db_session: Session, center_id: str,
                    query: dict[str, Any]) -> tuple[list[Volunteer], int]:
    """A center's volunteers, earliest registered first; optionally those with one skill."""
    where = [Volunteer.center_id == center_id]
    rows = select(Volunteer).where(*where).order_by(Volunteer.registered_at, Volunteer.id)
    if query.get("skill"):
        # Skills are a short JSON list; filter in Python to stay portable across SQLite/PostgreSQL.
        matching = [v for v in db_session.scalars(rows) if query["skill"] in (v.skills or [])]
        return matching[query["offset"]:query["offset"] + query["limit"]], len(matching)
    total = db_session.scalar(select(func.count()).select_from(Volunteer).where(*where)) or 0
    items = db_session.scalars(rows.limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total
