"""The hours ledger: service hours pending a social worker's approval, approved (verified:
they count, and may cross a milestone) or rejected.

Approving hours locks only the volunteer row (their verified total and milestones).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.clock import local, now_utc
from lianxin.contracts.volunteers import events
from lianxin.contracts.volunteers.operations import MILESTONES, HourFilter
from lianxin.outbox import OutboxWriter
from services.volunteers.exceptions import HourEntryNotFound, HoursAlreadyDecided
from services.volunteers.models import HourEntry, Milestone, Signup, Volunteer, minutes_to_hours
from services.volunteers.records import DECIDED
from services.volunteers.registers import get_volunteer
from services.volunteers.shifts import get_shift


def _credit(
    db_session: Session, outbox: OutboxWriter, volunteer: Volunteer, minutes: int, now: datetime
) -> list[Milestone]:
    """Add verified minutes to a (locked) volunteer; record and announce milestones crossed."""
    volunteer.verified_minutes = (volunteer.verified_minutes or 0) + minutes
    reached = set(
        db_session.scalars(
            select(Milestone.milestone_hours).where(Milestone.volunteer_id == volunteer.id)
        )
    )
    new = []
    for hours in MILESTONES:
        if hours in reached or volunteer.verified_minutes < hours * 60:
            continue
        milestone = Milestone(
            volunteer_id=volunteer.id,
            milestone_hours=hours,
            center_id=volunteer.center_id,
            reached_at=now,
            total_minutes=volunteer.verified_minutes,
            certificate_no=f"LX{local(now):%Y%m%d}-{hours:04d}-{volunteer.id[:8].upper()}",
        )
        db_session.add(milestone)
        new.append(milestone)
        outbox.add(
            events.MILESTONE_REACHED,
            center_id=volunteer.center_id,
            subject=volunteer.id,
            data={
                "volunteer_id": volunteer.id,
                "person_id": volunteer.person_id,
                "milestone_hours": hours,
                "total_hours": minutes_to_hours(volunteer.verified_minutes),
            },
        )
    return new


def approve_entry(
    db_session: Session,
    outbox: OutboxWriter,
    entry: HourEntry,
    volunteer: Volunteer,
    by: str | None,
    note: str | None,
    now: datetime,
) -> None:
    """Approve a pending entry of a (locked) volunteer: the hours count from now on."""
    entry.status, entry.decided_by, entry.decided_at, entry.note = "approved", by, now, note
    _credit(db_session, outbox, volunteer, entry.minutes, now)
    outbox.add(
        events.HOURS_APPROVED,
        center_id=entry.center_id,
        subject=entry.id,
        data={
            "volunteer_id": volunteer.id,
            "person_id": volunteer.person_id,
            "shift_id": entry.shift_id,
            "hours": entry.hours,
            "approver_id": by,
            "entry_id": entry.id,
            "source": entry.source,
            "correction_id": entry.correction_id,
            "total_hours": volunteer.verified_hours,
        },
    )


def get_entry(*, db_session: Session, center_id: str, entry_id: str) -> HourEntry:
    """A center's ledger entry, or :class:`HourEntryNotFound`."""
    entry = db_session.get(HourEntry, entry_id)
    if entry is None or entry.center_id != center_id:
        raise HourEntryNotFound()
    return entry


def _pending_entry(
    db_session: Session, center_id: str, entry_id: str
) -> tuple[HourEntry, Volunteer]:
    """The entry, once its volunteer is locked, if it still waits for a decision."""
    entry = get_entry(db_session=db_session, center_id=center_id, entry_id=entry_id)
    volunteer = get_volunteer(
        db_session=db_session, center_id=center_id, ref=entry.volunteer_id, lock=True
    )
    db_session.refresh(entry)
    if entry.status != "pending":
        raise HoursAlreadyDecided(f"该时长已{DECIDED[entry.status]}")
    return entry, volunteer


def _settle_signup(db_session: Session, entry: HourEntry, state: str) -> None:
    """A sign-up shows what became of its hours."""
    if entry.signup_id:
        signup = db_session.get(Signup, entry.signup_id)
        if signup is not None:
            signup.hours_status = state


def approve_hours(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    entry_id: str,
    by: str | None,
    note: str | None = None,
    now: datetime | None = None,
) -> HourEntry:
    """A social worker verifies pending hours: they count from now on."""
    entry, volunteer = _pending_entry(db_session, center_id, entry_id)
    approve_entry(db_session, outbox, entry, volunteer, by, note, now or now_utc())
    _settle_signup(db_session, entry, "approved")
    return entry


def approve_shift_hours(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    shift_ref: str,
    by: str | None,
    now: datetime | None = None,
) -> list[HourEntry]:
    """Approve every pending entry of a shift at once."""
    shift = get_shift(db_session=db_session, center_id=center_id, ref=shift_ref)
    pending = list(
        db_session.scalars(
            select(HourEntry.id)
            .where(HourEntry.shift_id == shift.id, HourEntry.status == "pending")
            .order_by(HourEntry.volunteer_id)
        )
    )
    return [
        approve_hours(
            db_session=db_session,
            outbox=outbox,
            center_id=center_id,
            entry_id=entry_id,
            by=by,
            now=now,
        )
        for entry_id in pending
    ]


def reject_hours(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    entry_id: str,
    by: str | None,
    note: str,
    now: datetime | None = None,
) -> HourEntry:
    """A social worker refuses pending hours, saying why."""
    entry, _volunteer = _pending_entry(db_session, center_id, entry_id)
    entry.status, entry.decided_by, entry.decided_at, entry.note = (
        "rejected",
        by,
        now or now_utc(),
        note,
    )
    _settle_signup(db_session, entry, "rejected")
    outbox.add(
        events.HOURS_REJECTED,
        center_id=center_id,
        subject=entry.id,
        data={
            "entry_id": entry.id,
            "volunteer_id": entry.volunteer_id,
            "person_id": entry.volunteer.person_id,
            "shift_id": entry.shift_id,
            "hours": entry.hours,
            "approver_id": by,
            "reason": note,
        },
    )
    return entry


def list_hours(
    *, db_session: Session, center_id: str, query: HourFilter, volunteer: Volunteer | None = None
) -> tuple[list[HourEntry], int]:
    """The ledger, latest service first; by state, volunteer or shift."""
    where = [HourEntry.center_id == center_id]
    if query.get("status"):
        where.append(HourEntry.status == query["status"])
    volunteer_ref = query.get("volunteer_id")
    if volunteer is None and volunteer_ref:
        volunteer = get_volunteer(db_session=db_session, center_id=center_id, ref=volunteer_ref)
    if volunteer is not None:
        where.append(HourEntry.volunteer_id == volunteer.id)
    shift_ref = query.get("shift_id")
    if shift_ref:
        shift = get_shift(db_session=db_session, center_id=center_id, ref=shift_ref)
        where.append(HourEntry.shift_id == shift.id)
    total = db_session.scalar(select(func.count()).select_from(HourEntry).where(*where)) or 0
    items = list(
        db_session.scalars(
            select(HourEntry)
            .where(*where)
            .order_by(HourEntry.served_at.desc(), HourEntry.id)
            .limit(query["limit"])
            .offset(query["offset"])
        )
    )
    return items, total
