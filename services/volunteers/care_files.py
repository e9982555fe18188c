"""The volunteers service's part of a beneficiary's care file (帮扶档案): the record, every
visit, the next planned visit — read only together with a line in the access log (who
opened it, when) — the link to the directory's person, and the log the admin reads.

The reports service joins this part with the person's tickets and activity registrations
(``/api/v1/beneficiaries/<id>/care-file``); the log is written here, beside the sensitive
record, so no path to the file skips it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.roles import Principal
from services.volunteers.beneficiaries import get_beneficiary
from services.volunteers.exceptions import BeneficiaryNotFound
from services.volunteers.models import Beneficiary, CareFileAccess, Shift, Visit

#: Visits a file lists, latest first (a paper ledger of years stays readable).
VISITS_SHOWN = 200


def read_care_file(
    *,
    db_session: Session,
    center_id: str,
    ref: str,
    reader: Principal,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The beneficiary's record, visits and next planned visit; the opening is logged in the
    same transaction (the caller commits)."""
    now = now or now_utc()
    beneficiary = get_beneficiary(db_session=db_session, center_id=center_id, ref=ref)
    db_session.add(
        CareFileAccess(
            center_id=center_id,
            beneficiary_id=beneficiary.id,
            reader_id=reader.id,
            reader_role=reader.role,
            reader_duty=reader.duty,
            opened_at=now,
        )
    )
    visits = list(
        db_session.scalars(
            select(Visit)
            .where(Visit.center_id == center_id, Visit.beneficiary_id == beneficiary.id)
            .order_by(Visit.visited_at.desc(), Visit.id)
            .limit(VISITS_SHOWN)
        )
    )
    next_visit = db_session.scalar(
        select(Shift)
        .where(
            Shift.center_id == center_id,
            Shift.beneficiary_id == beneficiary.id,
            Shift.status == "open",
            Shift.starts_at >= now,
        )
        .order_by(Shift.starts_at, Shift.id)
        .limit(1)
    )
    return {
        "beneficiary": beneficiary,
        "visits": visits,
        "visits_total": beneficiary.visits,
        "next_visit": next_visit,
        "opened_at": now,
    }


def link_person(
    *,
    db_session: Session,
    center_id: str,
    ref: str,
    person_id: str | None,
    linked_by: str | None,
    now: datetime | None = None,
) -> Beneficiary:
    """Link the beneficiary to the directory's ``person_id`` (None: unlink), recording who
    confirmed it and when."""
    beneficiary = get_beneficiary(db_session=db_session, center_id=center_id, ref=ref)
    beneficiary.person_id = person_id
    beneficiary.person_linked_by = linked_by if person_id else None
    beneficiary.person_linked_at = (now or now_utc()) if person_id else None
    return beneficiary


def list_access(
    *, db_session: Session, center_id: str, beneficiary_ref: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """The log of openings, latest first; of one beneficiary's file when ``beneficiary_ref``."""
    where = [CareFileAccess.center_id == center_id]
    if beneficiary_ref:
        found = db_session.scalar(
            select(Beneficiary.id).where(
                Beneficiary.center_id == center_id,
                (Beneficiary.id == beneficiary_ref) | (Beneficiary.file_no == beneficiary_ref),
            )
        )
        if found is None:
            raise BeneficiaryNotFound()
        where.append(CareFileAccess.beneficiary_id == found)
    total = db_session.scalar(select(func.count()).select_from(CareFileAccess).where(*where)) or 0
    rows = db_session.execute(
        select(CareFileAccess, Beneficiary.name, Beneficiary.file_no)
        .join(Beneficiary, Beneficiary.id == CareFileAccess.beneficiary_id)
        .where(*where)
        .order_by(CareFileAccess.opened_at.desc(), CareFileAccess.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    items = [
        {
            "id": access.id,
            "beneficiary_id": access.beneficiary_id,
            "beneficiary_name": name,
            "file_no": file_no,
            "reader_id": access.reader_id,
            "reader_role": access.reader_role,
            "reader_duty": access.reader_duty,
            "opened_at": access.opened_at,
        }
        for access, name, file_no in rows
    ]
    return items, total
