"""The beneficiary register (帮扶对象): who the center cares for, their care needs and
guardian, brought over from a paper register by import. Only the center's staff read it.

Wherever a request names a beneficiary it may use the record's id or its ``file_no``
(档案编号).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from lianxin.clock import local, now_utc
from lianxin.contracts.volunteers import events
from lianxin.contracts.volunteers.operations import (
    BeneficiaryChanges,
    BeneficiaryFilter,
    NewBeneficiary,
)
from lianxin.outbox import OutboxWriter
from services.volunteers.exceptions import BeneficiaryConflict, BeneficiaryNotFound
from services.volunteers.models import Beneficiary, Visit
from services.volunteers.records import by_id_or_key, flush_or_conflict, new_id


def _age(beneficiary: Beneficiary, today: date) -> int | None:
    return None if beneficiary.birth_year is None else today.year - beneficiary.birth_year


def _with_visit_facts(db_session: Session, items: list[Beneficiary]) -> list[Beneficiary]:
    """Fill each beneficiary's age, visit count and last visit (one query for the page)."""
    today = local(now_utc()).date()
    facts = {}
    if items:
        facts = {
            row[0]: row[1:]
            for row in db_session.execute(
                select(Visit.beneficiary_id, func.count(), func.max(Visit.visited_at))
                .where(Visit.beneficiary_id.in_([b.id for b in items]))
                .group_by(Visit.beneficiary_id)
            )
        }
    for b in items:
        count, last = facts.get(b.id, (0, None))
        if last is not None and last.tzinfo is None:  # an aggregate bypasses the column type
            last = last.replace(tzinfo=UTC)
        b.age, b.visits, b.last_visit_at = _age(b, today), count, last
    return items


def find_beneficiary(*, db_session: Session, center_id: str, ref: str) -> Beneficiary | None:
    """A center's beneficiary by id or file number, or None."""
    return by_id_or_key(db_session, Beneficiary, center_id, ref, Beneficiary.file_no)


def register_beneficiary(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    data: NewBeneficiary,
    now: datetime | None = None,
) -> Beneficiary:
    """Add a person to the beneficiary register."""
    taken = BeneficiaryConflict(fields={"file_no": ["该档案编号已被使用"]})
    if data.file_no and db_session.scalar(
        select(Beneficiary.id).where(
            Beneficiary.center_id == center_id, Beneficiary.file_no == data.file_no
        )
    ):
        raise taken
    beneficiary = Beneficiary(
        id=new_id(),
        center_id=center_id,
        file_no=data.file_no,
        name=data.name,
        category=data.category,
        care_needs=list(dict.fromkeys(data.care_needs)),
        address=data.address,
        gender=data.gender,
        birth_year=data.birth_year,
        guardian=data.guardian,
        notes=data.notes or "",
        status="active",
        registered_at=now or now_utc(),
    )
    db_session.add(beneficiary)
    flush_or_conflict(db_session, taken)
    outbox.add(
        events.BENEFICIARY_REGISTERED,
        center_id=center_id,
        subject=beneficiary.id,
        data={
            "beneficiary_id": beneficiary.id,
            "category": beneficiary.category,
            "care_needs": beneficiary.care_needs,
        },
    )
    return _with_visit_facts(db_session, [beneficiary])[0]


def import_beneficiaries(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    items: list[NewBeneficiary],
    now: datetime | None = None,
) -> dict[str, int]:
    """Bring a paper register over; file numbers already on the register are skipped."""
    wanted = [item.file_no for item in items]
    existing = set(
        db_session.scalars(
            select(Beneficiary.file_no).where(
                Beneficiary.center_id == center_id, Beneficiary.file_no.in_(wanted)
            )
        )
    )
    created = 0
    for item in items:
        if item.file_no in existing:
            continue
        register_beneficiary(
            db_session=db_session, outbox=outbox, center_id=center_id, data=item, now=now
        )
        existing.add(item.file_no)
        created += 1
    return {"created": created, "skipped": len(items) - created}


def get_beneficiary(*, db_session: Session, center_id: str, ref: str) -> Beneficiary:
    """A center's beneficiary by id or file number, or :class:`BeneficiaryNotFound`."""
    beneficiary = find_beneficiary(db_session=db_session, center_id=center_id, ref=ref)
    if beneficiary is None:
        raise BeneficiaryNotFound()
    return _with_visit_facts(db_session, [beneficiary])[0]


def update_beneficiary(
    *,
    db_session: Session,
    center_id: str,
    ref: str,
    data: BeneficiaryChanges,
    now: datetime | None = None,
) -> Beneficiary:
    """Change a beneficiary's record (no event: the details never leave the service)."""
    beneficiary = get_beneficiary(db_session=db_session, center_id=center_id, ref=ref)
    for key, value in data.items():
        setattr(beneficiary, key, value)
    beneficiary.updated_at = now or now_utc()
    return beneficiary


def list_beneficiaries(
    *, db_session: Session, center_id: str, query: BeneficiaryFilter
) -> tuple[list[Beneficiary], int]:
    """A center's beneficiaries by name, filtered by category, status, name or address."""
    where = [Beneficiary.center_id == center_id]
    if query.get("category"):
        where.append(Beneficiary.category == query["category"])
    if query.get("status"):
        where.append(Beneficiary.status == query["status"])
    if query.get("q"):
        pattern = f"%{query['q']}%"
        where.append(or_(Beneficiary.name.like(pattern), Beneficiary.address.like(pattern)))
    rows = select(Beneficiary).where(*where).order_by(Beneficiary.registered_at, Beneficiary.id)
    care_need = query.get("care_need")
    if care_need:
        matching = [b for b in db_session.scalars(rows) if care_need in b.care_needs]
        page = matching[query["offset"] : query["offset"] + query["limit"]]
        return _with_visit_facts(db_session, page), len(matching)
    total = db_session.scalar(select(func.count()).select_from(Beneficiary).where(*where)) or 0
    items = list(db_session.scalars(rows.limit(query["limit"]).offset(query["offset"])))
    return _with_visit_facts(db_session, items), total
