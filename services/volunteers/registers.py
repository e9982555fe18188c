"""The volunteer register and the volunteers' training records (courses, exchange visits).

Wherever a request names a volunteer it may use the record's id or its ``person_id`` (the
directory id a volunteer's token carries as ``sub``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.volunteers import events
from lianxin.contracts.volunteers.operations import (
    NewTraining,
    NewVolunteer,
    Paging,
    VolunteerChanges,
    VolunteerFilter,
)
from lianxin.errors import InvalidInput
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.volunteers.exceptions import (
    NotRegistered,
    TrainingConflict,
    UnknownVolunteers,
    VolunteerConflict,
    VolunteerNotFound,
)
from services.volunteers.models import Training, TrainingAttendee, Volunteer
from services.volunteers.records import by_id_or_key, flush_or_conflict, new_id

# -- volunteers ------------------------------------------------------------------------------


def register_volunteer(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    data: NewVolunteer,
    now: datetime | None = None,
) -> Volunteer:
    """Put a person on the center's register and announce it."""
    taken = VolunteerConflict(fields={"person_id": ["该人员已登记"]})
    if data.person_id and db_session.scalar(
        select(Volunteer.id).where(
            Volunteer.center_id == center_id, Volunteer.person_id == data.person_id
        )
    ):
        raise taken
    volunteer = Volunteer(
        id=new_id(),
        center_id=center_id,
        person_id=data.person_id,
        name=data.name,
        skills=sorted(set(data.skills)),
        party_member=data.party_member,
        status="active",
        availability=data.availability or [],
        note=data.note or "",
        verified_minutes=0,
        registered_at=now or now_utc(),
    )
    db_session.add(volunteer)
    flush_or_conflict(db_session, taken)
    outbox.add(
        events.VOLUNTEER_REGISTERED,
        center_id=center_id,
        subject=volunteer.id,
        data={
            "volunteer_id": volunteer.id,
            "skills": volunteer.skills,
            "person_id": volunteer.person_id,
        },
    )
    return volunteer


def get_volunteer(
    *, db_session: Session, center_id: str, ref: str, lock: bool = False
) -> Volunteer:
    """A center's volunteer by id or person id, or :class:`VolunteerNotFound`."""
    volunteer = by_id_or_key(db_session, Volunteer, center_id, ref, Volunteer.person_id, lock=lock)
    if volunteer is None:
        raise VolunteerNotFound()
    return volunteer


def acting_volunteer(*, db_session: Session, center_id: str, principal: Principal) -> Volunteer:
    """The volunteer a ``volunteer`` token belongs to (its ``sub`` is the person id)."""
    volunteer = db_session.scalars(
        select(Volunteer).where(
            Volunteer.center_id == center_id, Volunteer.person_id == principal.id
        )
    ).first()
    if volunteer is None:
        raise NotRegistered()
    return volunteer


def named_volunteer(
    *, db_session: Session, center_id: str, principal: Principal, ref: str | None
) -> Volunteer | None:
    """The volunteer a request names, or None if the register has no such one. For a
    volunteer, nothing or ``me`` is their own record; staff must name one. Whether the
    caller may act on the answer is the operation's ``OWN_RECORD`` rule."""
    if principal.role == "volunteer":
        own = acting_volunteer(db_session=db_session, center_id=center_id, principal=principal)
        if ref in (None, "me", own.id, own.person_id):
            return own
    elif ref is None or ref == "me":
        raise InvalidInput("请指定志愿者", fields={"volunteer_id": ["必填项"]})
    assert ref is not None
    return by_id_or_key(db_session, Volunteer, center_id, ref, Volunteer.person_id)


def update_volunteer(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    ref: str,
    data: VolunteerChanges,
    now: datetime | None = None,
    guard: Callable[[Volunteer], None] | None = None,
) -> Volunteer:
    """Change a volunteer's profile; announce it when something changed. ``guard`` is
    called with the locked row before the change (the ``If-Match`` check)."""
    volunteer = get_volunteer(db_session=db_session, center_id=center_id, ref=ref, lock=True)
    if guard is not None:
        guard(volunteer)
    wanted = dict(data)
    if "skills" in data:
        wanted["skills"] = sorted(set(data["skills"]))
    changed = {k: v for k, v in wanted.items() if getattr(volunteer, k) != v}
    if not changed:
        return volunteer
    for key, value in changed.items():
        setattr(volunteer, key, value)
    volunteer.updated_at = now or now_utc()
    outbox.add(
        events.VOLUNTEER_UPDATED,
        center_id=center_id,
        subject=volunteer.id,
        data={
            "volunteer_id": volunteer.id,
            "person_id": volunteer.person_id,
            "skills": volunteer.skills,
            "status": volunteer.status,
        },
    )
    return volunteer


def list_volunteers(
    *, db_session: Session, center_id: str, query: VolunteerFilter
) -> tuple[list[Volunteer], int]:
    """A center's volunteers, earliest registered first; optionally those with one skill."""
    where = [Volunteer.center_id == center_id]
    if query.get("status"):
        where.append(Volunteer.status == query["status"])
    rows = select(Volunteer).where(*where).order_by(Volunteer.registered_at, Volunteer.id)
    skill = query.get("skill")
    if skill:
        # Skills are a short JSON list; filter in Python to stay portable across SQLite/PostgreSQL.
        matching = [v for v in db_session.scalars(rows) if skill in (v.skills or [])]
        return matching[query["offset"] : query["offset"] + query["limit"]], len(matching)
    total = db_session.scalar(select(func.count()).select_from(Volunteer).where(*where)) or 0
    items = db_session.scalars(rows.limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total


def resolve_volunteers(
    *, db_session: Session, center_id: str, refs: Iterable[str], field: str = "volunteer_ids"
) -> list[Volunteer]:
    """Volunteers by id or person id, in the order given; any unknown one is an error."""
    refs = list(refs)
    found = list(
        db_session.scalars(
            select(Volunteer).where(
                Volunteer.center_id == center_id,
                or_(Volunteer.id.in_(refs), Volunteer.person_id.in_(refs)),
            )
        )
    )
    by_ref = {v.id: v for v in found} | {v.person_id: v for v in found if v.person_id}
    unknown = [r for r in refs if r not in by_ref]
    if unknown:
        raise UnknownVolunteers(fields={field: [f"不在本中心名册中：{', '.join(unknown)}"]})
    return [by_ref[r] for r in refs]


# -- training records ------------------------------------------------------------------------


def record_training(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    data: NewTraining,
    recorded_by: str | None,
    now: datetime | None = None,
) -> Training:
    """Record a course or exchange visit and the volunteers who took part."""
    taken = TrainingConflict(fields={"ref": ["该培训记录已存在"]})
    if data.ref and db_session.scalar(
        select(Training.id).where(Training.center_id == center_id, Training.ref == data.ref)
    ):
        raise taken
    people = resolve_volunteers(
        db_session=db_session, center_id=center_id, refs=dict.fromkeys(data.volunteer_ids)
    )
    training = Training(
        id=new_id(),
        center_id=center_id,
        ref=data.ref,
        kind=data.kind,
        title=data.title,
        occurred_on=data.occurred_on,
        places=data.places,
        hours=data.hours,
        programme=data.programme,
        note=data.note,
        recorded_by=recorded_by,
        created_at=now or now_utc(),
        attendees=[TrainingAttendee(volunteer_id=v.id, center_id=center_id) for v in people],
    )
    db_session.add(training)
    flush_or_conflict(db_session, taken)
    outbox.add(
        events.TRAINING_RECORDED,
        center_id=center_id,
        subject=training.id,
        data={
            "training_id": training.id,
            "kind": training.kind,
            "title": training.title,
            "occurred_on": training.occurred_on,
            "volunteer_ids": training.volunteer_ids,
        },
    )
    return training


def list_trainings(
    *, db_session: Session, center_id: str, query: Paging
) -> tuple[list[Training], int]:
    """A center's training records, latest first."""
    where = [Training.center_id == center_id]
    total = db_session.scalar(select(func.count()).select_from(Training).where(*where)) or 0
    items = db_session.scalars(
        select(Training)
        .where(*where)
        .order_by(Training.occurred_on.desc(), Training.id)
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return list(items), total


def trainings_of(*, db_session: Session, volunteer: Volunteer) -> list[Training]:
    """A volunteer's training records, latest first."""
    return list(
        db_session.scalars(
            select(Training)
            .join(TrainingAttendee, TrainingAttendee.training_id == Training.id)
            .where(TrainingAttendee.volunteer_id == volunteer.id)
            .order_by(Training.occurred_on.desc(), Training.id)
        )
    )
