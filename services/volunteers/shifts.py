"""Shifts (服务班次) and their places: publishing, changing and cancelling a shift; a place
freed or added goes to the waitlist at once, in the order people joined it.

Concurrency: anything that changes a shift's places locks the shift row first
(``SELECT ... FOR UPDATE``; see ``signups``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.volunteers import events
from lianxin.contracts.volunteers.operations import NewShift, ShiftChanges, ShiftFilter
from lianxin.outbox import OutboxWriter
from services.volunteers.beneficiaries import find_beneficiary
from services.volunteers.exceptions import (
    CapacityConflict,
    InvalidShift,
    ShiftClosed,
    ShiftConflict,
    ShiftNotFound,
)
from services.volunteers.models import Shift, Signup
from services.volunteers.records import by_id_or_key, flush_or_conflict, new_id

#: Sign-up states that took a place on the shift.
TAKEN = ("confirmed", "checked_in", "completed", "no_show")

# -- shifts ----------------------------------------------------------------------------------


def _with_counts(db_session: Session, shifts: list[Shift]) -> list[Shift]:
    """Fill each shift's confirmed and waitlisted counts (one query for the page)."""
    counts: dict[tuple[str, str], int] = {}
    if shifts:
        counts = {
            (s, st): n
            for s, st, n in db_session.execute(
                select(Signup.shift_id, Signup.status, func.count())
                .where(Signup.shift_id.in_([s.id for s in shifts]))
                .group_by(Signup.shift_id, Signup.status)
            )
        }
    for shift in shifts:
        shift.confirmed = sum(counts.get((shift.id, st), 0) for st in TAKEN)
        shift.waitlisted = counts.get((shift.id, "waitlisted"), 0)
    return shifts


def signup_fact(signup: Signup, **extra: Any) -> dict[str, Any]:
    """What every sign-up event carries (and a reminder needs)."""
    shift = signup.shift
    return {
        "shift_id": shift.id,
        "volunteer_id": signup.volunteer_id,
        "person_id": signup.volunteer.person_id,
        "shift_title": shift.title,
        "starts_at": shift.starts_at,
        "ends_at": shift.ends_at,
        "place": shift.place,
        "signup_id": signup.id,
        **extra,
    }


def publish_shift(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    data: NewShift,
    created_by: str | None,
    now: datetime | None = None,
) -> Shift:
    """Publish a service task volunteers may sign up for."""
    now = now or now_utc()
    if data.ends_at <= now:
        raise InvalidShift("班次已结束，不能发布", fields={"ends_at": ["结束时间已过"]})
    taken = ShiftConflict(fields={"ref": ["该班次已存在"]})
    if data.ref and db_session.scalar(
        select(Shift.id).where(Shift.center_id == center_id, Shift.ref == data.ref)
    ):
        raise taken
    beneficiary_id = None
    if data.beneficiary_id:
        beneficiary = find_beneficiary(
            db_session=db_session, center_id=center_id, ref=data.beneficiary_id
        )
        if beneficiary is None:
            raise InvalidShift(fields={"beneficiary_id": ["帮扶对象不存在"]})
        beneficiary_id = beneficiary.id
    shift = Shift(
        id=new_id(),
        center_id=center_id,
        ref=data.ref,
        title=data.title,
        kind=data.kind,
        description=data.description,
        place=data.place,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        capacity=data.capacity,
        required_skills=sorted(set(data.required_skills)),
        tasks=data.tasks,
        beneficiary_id=beneficiary_id,
        programme=data.programme,
        status="open",
        created_by=created_by,
        created_at=now,
    )
    db_session.add(shift)
    flush_or_conflict(db_session, taken)
    outbox.add(
        events.SHIFT_PUBLISHED,
        center_id=center_id,
        subject=shift.id,
        data={
            "shift_id": shift.id,
            "title": shift.title,
            "kind": shift.kind,
            "starts_at": shift.starts_at,
            "ends_at": shift.ends_at,
            "place": shift.place,
            "capacity": shift.capacity,
            "required_skills": shift.required_skills,
            "beneficiary_id": shift.beneficiary_id,
        },
    )
    return _with_counts(db_session, [shift])[0]


def get_shift(*, db_session: Session, center_id: str, ref: str, lock: bool = False) -> Shift:
    """A center's shift by id or ref, or :class:`ShiftNotFound` (also another center's)."""
    shift = by_id_or_key(db_session, Shift, center_id, ref, Shift.ref, lock=lock)
    if shift is None:
        raise ShiftNotFound()
    return shift


def shift_with_counts(*, db_session: Session, center_id: str, ref: str) -> Shift:
    """A shift with its confirmed and waitlisted counts."""
    return _with_counts(
        db_session, [get_shift(db_session=db_session, center_id=center_id, ref=ref)]
    )[0]


def list_shifts(
    *, db_session: Session, center_id: str, query: ShiftFilter
) -> tuple[list[Shift], int]:
    """A center's shifts by start time, filtered by period, kind, status, beneficiary."""
    where = [Shift.center_id == center_id]
    if query.get("starts_from"):
        where.append(Shift.starts_at >= query["starts_from"])
    if query.get("starts_before"):
        where.append(Shift.starts_at < query["starts_before"])
    if query.get("kind"):
        where.append(Shift.kind == query["kind"])
    if query.get("status"):
        where.append(Shift.status == query["status"])
    beneficiary_ref = query.get("beneficiary_id")
    if beneficiary_ref:
        beneficiary = find_beneficiary(
            db_session=db_session, center_id=center_id, ref=beneficiary_ref
        )
        where.append(Shift.beneficiary_id == (beneficiary.id if beneficiary else None))
    if query.get("available"):
        taken = (
            select(func.count())
            .select_from(Signup)
            .where(Signup.shift_id == Shift.id, Signup.status.in_(TAKEN))
            .scalar_subquery()
        )
        where += [Shift.status == "open", taken < Shift.capacity]
    total = db_session.scalar(select(func.count()).select_from(Shift).where(*where)) or 0
    items = list(
        db_session.scalars(
            select(Shift)
            .where(*where)
            .order_by(Shift.starts_at, Shift.id)
            .limit(query["limit"])
            .offset(query["offset"])
        )
    )
    return _with_counts(db_session, items), total


def taken_places(db_session: Session, shift: Shift) -> int:
    return (
        db_session.scalar(
            select(func.count())
            .select_from(Signup)
            .where(Signup.shift_id == shift.id, Signup.status.in_(TAKEN))
        )
        or 0
    )


def promote_waitlist(
    db_session: Session, outbox: OutboxWriter, shift: Shift, now: datetime
) -> list[Signup]:
    """Give free places to the waitlist in the order people joined it (shift row locked)."""
    if shift.status != "open" or now >= shift.starts_at:
        return []
    free = shift.capacity - taken_places(db_session, shift)
    if free <= 0:
        return []
    promoted = list(
        db_session.scalars(
            select(Signup)
            .where(Signup.shift_id == shift.id, Signup.status == "waitlisted")
            .order_by(Signup.queued_at, Signup.id)
            .limit(free)
        )
    )
    for signup in promoted:
        signup.status, signup.promoted, signup.confirmed_at = "confirmed", True, now
        outbox.add(
            events.SIGNUP_PROMOTED,
            center_id=shift.center_id,
            subject=signup.id,
            data=signup_fact(signup),
        )
    return promoted


def update_shift(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    ref: str,
    data: ShiftChanges,
    now: datetime | None = None,
    guard: Callable[[Shift], None] | None = None,
) -> tuple[Shift, list[Signup]]:
    """Change a shift's places, description or tasks; more places promote the waitlist.
    ``guard`` is called with the locked row (and its counts) before the change (the
    ``If-Match`` check)."""
    now = now or now_utc()
    shift = get_shift(db_session=db_session, center_id=center_id, ref=ref, lock=True)
    if guard is not None:
        guard(_with_counts(db_session, [shift])[0])
    if shift.status != "open":
        raise ShiftClosed("班次已取消，不能修改")
    if "capacity" in data:
        taken = taken_places(db_session, shift)
        if data["capacity"] < taken:
            raise CapacityConflict(
                f"已有 {taken} 人确认，名额不能少于 {taken}",
                fields={"capacity": [f"不能少于已确认的 {taken} 人"]},
            )
    for key, value in data.items():
        setattr(shift, key, value)
    db_session.flush()
    promoted = promote_waitlist(db_session, outbox, shift, now)
    return _with_counts(db_session, [shift])[0], promoted


def cancel_shift(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    ref: str,
    reason: str,
    by: str | None,
    now: datetime | None = None,
) -> Shift:
    """Call a shift off before it starts; every sign-up on it is cancelled and announced."""
    now = now or now_utc()
    shift = get_shift(db_session=db_session, center_id=center_id, ref=ref, lock=True)
    if shift.status != "open":
        raise ShiftClosed("班次已取消")
    if now >= shift.starts_at:
        raise ShiftClosed("班次已开始，不能取消")
    shift.status, shift.cancel_reason = "cancelled", reason
    live = db_session.scalars(
        select(Signup).where(
            Signup.shift_id == shift.id, Signup.status.in_(("confirmed", "waitlisted"))
        )
    )
    for signup in live:
        release(signup, reason=f"班次取消：{reason}", by=by, now=now, late=False)
        outbox.add(
            events.SIGNUP_CANCELLED,
            center_id=center_id,
            subject=signup.id,
            data=signup_fact(signup, reason=signup.cancel_reason),
        )
    outbox.add(
        events.SHIFT_CANCELLED,
        center_id=center_id,
        subject=shift.id,
        data={
            "shift_id": shift.id,
            "title": shift.title,
            "starts_at": shift.starts_at,
            "reason": reason,
        },
    )
    db_session.flush()
    return _with_counts(db_session, [shift])[0]


def release(
    signup: Signup, *, reason: str | None, by: str | None, now: datetime, late: bool
) -> None:
    """Mark a sign-up cancelled (its place, if any, is free again)."""
    signup.status, signup.cancelled_at = "cancelled", now
    signup.cancel_reason, signup.cancelled_by, signup.late_cancel = reason, by, late
