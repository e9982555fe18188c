"""The visit log (探访记录): visits to beneficiaries, recorded by a social worker (who approves
each volunteer's hours with it), brought over from a paper ledger, or made by the check-outs
of a shift for a beneficiary."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.volunteers import events
from lianxin.contracts.volunteers.operations import ImportedVisit, NewVisit, Paging
from lianxin.errors import InvalidInput
from lianxin.outbox import OutboxWriter
from services.volunteers.beneficiaries import find_beneficiary, get_beneficiary
from services.volunteers.exceptions import BeneficiaryNotFound, VisitConflict
from services.volunteers.hours import approve_entry
from services.volunteers.models import HourEntry, Shift, Signup, Visit, VisitVolunteer
from services.volunteers.records import flush_or_conflict, new_id
from services.volunteers.registers import get_volunteer, resolve_volunteers

#: What a shift kind does for a beneficiary (the visit log's care types).
KIND_CARE = {"visit": ["emotional_support"], "cleaning": ["life_care"], "escort": ["health"]}


def record_visit(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    beneficiary_ref: str,
    data: NewVisit,
    by: str | None,
    now: datetime | None = None,
) -> Visit:
    """Log a visit to a beneficiary; the recording social worker approves each volunteer's
    hours with it."""
    now = now or now_utc()
    if data.visited_at > now + timedelta(minutes=1):
        raise InvalidInput(fields={"visited_at": ["不能晚于当前时间"]})
    beneficiary = find_beneficiary(db_session=db_session, center_id=center_id, ref=beneficiary_ref)
    if beneficiary is None:
        raise BeneficiaryNotFound()
    taken = VisitConflict(fields={"ref": ["该服务记录已存在"]})
    if data.ref and db_session.scalar(
        select(Visit.id).where(Visit.center_id == center_id, Visit.ref == data.ref)
    ):
        raise taken
    people = resolve_volunteers(
        db_session=db_session,
        center_id=center_id,
        refs=[v.volunteer_id for v in data.volunteers],
        field="volunteers",
    )
    if len({p.id for p in people}) != len(people):
        raise InvalidInput(fields={"volunteers": ["同一志愿者不能重复登记"]})
    minutes = [round(v.hours * 60) for v in data.volunteers]
    served = list(zip(people, minutes, strict=True))
    visit = Visit(
        id=new_id(),
        center_id=center_id,
        ref=data.ref,
        beneficiary_id=beneficiary.id,
        visited_at=data.visited_at,
        tasks=data.tasks,
        care_types=data.care_types or [],
        notes=data.notes,
        recorded_by=by,
        created_at=now,
        participants=[
            VisitVolunteer(volunteer_id=p.id, center_id=center_id, position=i, minutes=m)
            for i, (p, m) in enumerate(served)
        ],
    )
    db_session.add(visit)
    flush_or_conflict(db_session, taken)
    outbox.add(
        events.VISIT_RECORDED,
        center_id=center_id,
        subject=visit.id,
        data={
            "visit_id": visit.id,
            "beneficiary_id": beneficiary.id,
            "shift_id": None,
            "visited_at": visit.visited_at,
            "volunteer_ids": [p.id for p in people],
            "care_types": visit.care_types,
        },
    )
    # Lock volunteers in id order: two visits naming the same people never deadlock.
    for person, mins in sorted(served, key=lambda pm: pm[0].id):
        volunteer = get_volunteer(
            db_session=db_session, center_id=center_id, ref=person.id, lock=True
        )
        entry = HourEntry(
            id=new_id(),
            center_id=center_id,
            volunteer_id=volunteer.id,
            source="visit",
            visit_id=visit.id,
            served_at=visit.visited_at,
            minutes=mins,
            status="pending",
            created_at=now,
        )
        db_session.add(entry)
        approve_entry(db_session, outbox, entry, volunteer, by, None, now)
    return visit


def import_visits(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    items: list[ImportedVisit],
    by: str | None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Bring a paper service ledger over; refs already in the log are skipped."""
    existing = set(
        db_session.scalars(
            select(Visit.ref).where(
                Visit.center_id == center_id, Visit.ref.in_([i.ref for i in items])
            )
        )
    )
    created = 0
    for index, item in enumerate(items):
        if item.ref in existing:
            continue
        try:
            record_visit(
                db_session=db_session,
                outbox=outbox,
                center_id=center_id,
                beneficiary_ref=item.beneficiary_id,
                data=item,
                by=by,
                now=now,
            )
        except BeneficiaryNotFound:
            raise InvalidInput(
                fields={"items": {index: {"beneficiary_id": ["帮扶对象不存在"]}}}
            ) from None
        except InvalidInput as exc:
            raise InvalidInput(exc.detail, fields={"items": {index: exc.fields}}) from None
        existing.add(item.ref)
        created += 1
    return {"created": created, "skipped": len(items) - created}


def list_visits(
    *, db_session: Session, center_id: str, beneficiary_ref: str, query: Paging
) -> tuple[list[Visit], int]:
    """A beneficiary's visit log, latest first."""
    beneficiary = get_beneficiary(db_session=db_session, center_id=center_id, ref=beneficiary_ref)
    where = [Visit.center_id == center_id, Visit.beneficiary_id == beneficiary.id]
    total = db_session.scalar(select(func.count()).select_from(Visit).where(*where)) or 0
    items = list(
        db_session.scalars(
            select(Visit)
            .where(*where)
            .order_by(Visit.visited_at.desc(), Visit.id)
            .limit(query["limit"])
            .offset(query["offset"])
        )
    )
    return items, total


def log_shift_visit(
    db_session: Session,
    outbox: OutboxWriter,
    shift: Shift,
    signup: Signup,
    by: str | None,
    now: datetime,
) -> Visit:
    """The beneficiary's visit log gets the shift's visit; each check-out (with minutes
    counted) joins it."""
    minutes = signup.minutes or 0
    visit = db_session.scalars(select(Visit).where(Visit.shift_id == shift.id)).first()
    if visit is None:
        visit = Visit(
            id=new_id(),
            center_id=shift.center_id,
            beneficiary_id=shift.beneficiary_id,
            shift_id=shift.id,
            visited_at=shift.starts_at,
            tasks=list(shift.tasks),
            care_types=KIND_CARE.get(shift.kind, []),
            notes=shift.description,
            recorded_by=by,
            created_at=now,
            participants=[],
        )
        db_session.add(visit)
        visit.participants.append(
            VisitVolunteer(
                volunteer_id=signup.volunteer_id,
                center_id=shift.center_id,
                position=0,
                minutes=minutes,
            )
        )
        db_session.flush()
        outbox.add(
            events.VISIT_RECORDED,
            center_id=shift.center_id,
            subject=visit.id,
            data={
                "visit_id": visit.id,
                "beneficiary_id": visit.beneficiary_id,
                "shift_id": shift.id,
                "visited_at": visit.visited_at,
                "volunteer_ids": [signup.volunteer_id],
                "care_types": visit.care_types,
            },
        )
        return visit
    existing = {p.volunteer_id: p for p in visit.participants}
    if signup.volunteer_id in existing:
        existing[signup.volunteer_id].minutes = minutes
    else:
        visit.participants.append(
            VisitVolunteer(
                volunteer_id=signup.volunteer_id,
                center_id=shift.center_id,
                position=len(visit.participants),
                minutes=minutes,
            )
        )
    return visit
