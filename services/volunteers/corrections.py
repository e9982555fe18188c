"""Correction requests (补录): a sign-up's check-in / check-out set right after the fact. A
social worker approves one (the sign-up's times change and its hours are approved anew) or
refuses it, saying why."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.volunteers import events
from lianxin.contracts.volunteers.operations import CorrectionFilter, NewCorrection
from lianxin.errors import InvalidInput
from lianxin.outbox import OutboxWriter
from services.volunteers.attendance import counted_minutes
from services.volunteers.exceptions import CorrectionConflict, CorrectionNotFound, InvalidAttendance
from services.volunteers.hours import approve_entry
from services.volunteers.models import Correction, HourEntry, Signup, Volunteer
from services.volunteers.records import DECIDED, STATUS_NAMES, flush_or_conflict, new_id, when
from services.volunteers.registers import get_volunteer
from services.volunteers.visits import log_shift_visit


def request_correction(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    signup: Signup,
    data: NewCorrection,
    requested_by: str | None,
    now: datetime | None = None,
) -> Correction:
    """Ask for a sign-up's check-in / check-out to be corrected (after the shift started)."""
    now = now or now_utc()
    if signup.status in ("waitlisted", "cancelled"):
        raise InvalidAttendance(
            f"报名状态为「{STATUS_NAMES[signup.status]}」，不能申请补录", code="CANNOT_CORRECT"
        )
    shift = signup.shift
    if now < shift.starts_at:
        raise InvalidAttendance("班次尚未开始，不能申请补录", code="CANNOT_CORRECT")
    if data.checked_out_at > now + timedelta(minutes=1):
        raise InvalidInput(fields={"checked_out_at": ["不能晚于当前时间"]})
    minutes = counted_minutes(shift, data.checked_in_at, data.checked_out_at)
    if not minutes:
        raise InvalidInput(
            "补录时间与班次时间不重叠",
            fields={
                "checked_in_at": [f"班次时间为 {when(shift.starts_at)}–{when(shift.ends_at)[-5:]}"]
            },
        )
    if db_session.scalar(
        select(Correction.id).where(
            Correction.signup_id == signup.id, Correction.status == "pending"
        )
    ):
        raise CorrectionConflict()
    correction = Correction(
        id=new_id(),
        center_id=signup.center_id,
        signup_id=signup.id,
        volunteer_id=signup.volunteer_id,
        checked_in_at=data.checked_in_at,
        checked_out_at=data.checked_out_at,
        minutes=minutes,
        reason=data.reason,
        status="pending",
        requested_by=requested_by,
        created_at=now,
    )
    correction.signup = signup
    db_session.add(correction)
    flush_or_conflict(db_session, CorrectionConflict())
    outbox.add(
        events.CORRECTION_REQUESTED,
        center_id=signup.center_id,
        subject=correction.id,
        data=_correction_fact(correction),
    )
    return correction


def _correction_fact(correction: Correction, **extra: Any) -> dict[str, Any]:
    signup = correction.signup
    return {
        "correction_id": correction.id,
        "signup_id": signup.id,
        "shift_id": signup.shift_id,
        "volunteer_id": signup.volunteer_id,
        "person_id": signup.volunteer.person_id,
        "hours": correction.hours,
        **extra,
    }


def get_correction(*, db_session: Session, center_id: str, correction_id: str) -> Correction:
    """A center's correction request, or :class:`CorrectionNotFound`."""
    correction = db_session.get(Correction, correction_id)
    if correction is None or correction.center_id != center_id:
        raise CorrectionNotFound()
    return correction


def _pending_correction(
    db_session: Session, center_id: str, correction_id: str
) -> tuple[Correction, Volunteer]:
    """The request, once its volunteer is locked, if it still waits for a decision."""
    correction = get_correction(
        db_session=db_session, center_id=center_id, correction_id=correction_id
    )
    volunteer = get_volunteer(
        db_session=db_session, center_id=center_id, ref=correction.volunteer_id, lock=True
    )
    db_session.refresh(correction)
    if correction.status != "pending":
        raise CorrectionConflict(f"该申请已{DECIDED[correction.status]}", code="CORRECTION_DECIDED")
    return correction, volunteer


def approve_correction(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    correction_id: str,
    by: str | None,
    note: str | None = None,
    now: datetime | None = None,
) -> Correction:
    """Apply a correction: the sign-up's times change and its hours are approved anew,
    replacing whatever entry it had (pending or approved)."""
    now = now or now_utc()
    correction, volunteer = _pending_correction(db_session, center_id, correction_id)
    signup = correction.signup
    for previous in db_session.scalars(
        select(HourEntry).where(
            HourEntry.signup_id == signup.id, HourEntry.status.in_(("pending", "approved"))
        )
    ):
        if previous.status == "approved":
            volunteer.verified_minutes -= previous.minutes
        previous.status, previous.decided_by, previous.decided_at = "superseded", by, now
    signup.status = "completed"
    signup.checked_in_at, signup.checked_out_at = (
        correction.checked_in_at,
        correction.checked_out_at,
    )
    signup.minutes, signup.hours_status = correction.minutes, "approved"
    correction.status, correction.decided_by, correction.decided_at = "approved", by, now
    correction.decision_note = note
    entry = HourEntry(
        id=new_id(),
        center_id=center_id,
        volunteer_id=volunteer.id,
        source="correction",
        shift_id=signup.shift_id,
        signup_id=signup.id,
        correction_id=correction.id,
        served_at=signup.starts_at,
        minutes=correction.minutes,
        status="pending",
        created_at=now,
    )
    db_session.add(entry)
    db_session.flush()
    approve_entry(db_session, outbox, entry, volunteer, by, note, now)
    if signup.shift.beneficiary_id:
        log_shift_visit(db_session, outbox, signup.shift, signup, by, now)
    return correction


def reject_correction(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    correction_id: str,
    by: str | None,
    note: str,
    now: datetime | None = None,
) -> Correction:
    """Refuse a correction, saying why; the sign-up stays as it was."""
    correction, _volunteer = _pending_correction(db_session, center_id, correction_id)
    correction.status, correction.decided_by, correction.decided_at = (
        "rejected",
        by,
        now or now_utc(),
    )
    correction.decision_note = note
    outbox.add(
        events.CORRECTION_REJECTED,
        center_id=center_id,
        subject=correction.id,
        data=_correction_fact(correction, approver_id=by, reason=note),
    )
    return correction


def list_corrections(
    *,
    db_session: Session,
    center_id: str,
    query: CorrectionFilter,
    volunteer: Volunteer | None = None,
) -> tuple[list[Correction], int]:
    """Correction requests, oldest first (the social worker's queue)."""
    where = [Correction.center_id == center_id]
    if query.get("status"):
        where.append(Correction.status == query["status"])
    volunteer_ref = query.get("volunteer_id")
    if volunteer is None and volunteer_ref:
        volunteer = get_volunteer(db_session=db_session, center_id=center_id, ref=volunteer_ref)
    if volunteer is not None:
        where.append(Correction.volunteer_id == volunteer.id)
    total = db_session.scalar(select(func.count()).select_from(Correction).where(*where)) or 0
    items = list(
        db_session.scalars(
            select(Correction)
            .where(*where)
            .order_by(Correction.created_at, Correction.id)
            .limit(query["limit"])
            .offset(query["offset"])
        )
    )
    return items, total
