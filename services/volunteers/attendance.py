"""Attendance: check-in and check-out (which counts the service minutes into the hours
ledger, pending approval), no-shows, and the sweep of shifts long over."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.volunteers import events
from lianxin.errors import InvalidInput
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.volunteers.exceptions import InvalidAttendance, ShiftClosed
from services.volunteers.models import HourEntry, Shift, Signup, Volunteer, minutes_to_hours
from services.volunteers.records import STATUS_NAMES, new_id, when
from services.volunteers.shifts import get_shift, signup_fact
from services.volunteers.signups import live_signup
from services.volunteers.visits import log_shift_visit

#: Volunteers may check in from this long before a shift starts.
CHECK_IN_EARLY = timedelta(hours=1)
#: Who checks out a volunteer who forgot to, once the shift is long over.
SYSTEM = "system"


def _moment(at: datetime | None, now: datetime, actor: Principal) -> datetime:
    """When an attendance mark happened: now, or (staff only) a time already past."""
    if at is None:
        return now
    if not actor.is_staff:
        raise InvalidInput("只有社工可以补记时间", fields={"at": ["志愿者签到签退以当前时间为准"]})
    if at > now + timedelta(minutes=1):
        raise InvalidInput(fields={"at": ["不能晚于当前时间"]})
    return at


def counted_minutes(shift: Shift, checked_in_at: datetime, checked_out_at: datetime) -> int:
    """Service minutes: the part of [check-in, check-out] inside the shift's window."""
    start, end = max(checked_in_at, shift.starts_at), min(checked_out_at, shift.ends_at)
    return max(0, int((end - start).total_seconds() // 60))


def check_in(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    shift_ref: str,
    volunteer: Volunteer,
    actor: Principal,
    at: datetime | None = None,
    now: datetime | None = None,
) -> Signup:
    """Check a confirmed volunteer in, from an hour before the start until the end."""
    now = now or now_utc()
    moment = _moment(at, now, actor)
    shift = get_shift(db_session=db_session, center_id=center_id, ref=shift_ref, lock=True)
    if shift.status != "open":
        raise ShiftClosed("班次已取消")
    signup = live_signup(db_session, shift, volunteer)
    if signup.status != "confirmed":
        raise InvalidAttendance(
            f"报名状态为「{STATUS_NAMES[signup.status]}」，不能签到", code="CANNOT_CHECK_IN"
        )
    if not shift.starts_at - CHECK_IN_EARLY <= moment <= shift.ends_at:
        raise InvalidAttendance(
            f"签到时间为 {when(shift.starts_at - CHECK_IN_EARLY)} 至 {when(shift.ends_at)}",
            code="OUTSIDE_CHECK_IN_WINDOW",
        )
    signup.status, signup.checked_in_at, signup.checked_in_by = "checked_in", moment, actor.id
    outbox.add(events.CHECKED_IN, center_id=center_id, subject=signup.id, data=signup_fact(signup))
    return signup


def check_out(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    shift_ref: str,
    volunteer: Volunteer,
    actor: Principal,
    at: datetime | None = None,
    now: datetime | None = None,
) -> Signup:
    """Check a volunteer out: hours are counted and wait for a social worker's approval."""
    now = now or now_utc()
    moment = _moment(at, now, actor)
    shift = get_shift(db_session=db_session, center_id=center_id, ref=shift_ref, lock=True)
    signup = live_signup(db_session, shift, volunteer)
    if signup.status != "checked_in" or signup.checked_in_at is None:
        detail = (
            "尚未签到，不能签退"
            if signup.status == "confirmed"
            else f"报名状态为「{STATUS_NAMES[signup.status]}」，不能签退"
        )
        raise InvalidAttendance(detail, code="NOT_CHECKED_IN")
    if moment < signup.checked_in_at:
        raise InvalidInput(
            "签退时间早于签到时间",
            fields={"at": [f"不能早于签到时间 {when(signup.checked_in_at)}"]},
        )
    if moment <= shift.starts_at:
        raise InvalidAttendance(
            f"班次 {when(shift.starts_at)} 开始，开始后才能签退", code="SHIFT_NOT_STARTED"
        )
    _finish(db_session, outbox, shift, signup, moment, actor.id, now)
    return signup


def _finish(
    db_session: Session,
    outbox: OutboxWriter,
    shift: Shift,
    signup: Signup,
    moment: datetime,
    by: str | None,
    now: datetime,
) -> None:
    """Check out: count the minutes, put them in the ledger pending approval, log the visit."""
    assert signup.checked_in_at is not None, "checked out without a check-in"
    minutes = counted_minutes(shift, signup.checked_in_at, moment)
    signup.status, signup.checked_out_at, signup.checked_out_by = "completed", moment, by
    signup.minutes = minutes
    signup.hours_status = "pending" if minutes else None
    if minutes:
        db_session.add(
            HourEntry(
                id=new_id(),
                center_id=shift.center_id,
                volunteer_id=signup.volunteer_id,
                source="attendance",
                shift_id=shift.id,
                signup_id=signup.id,
                served_at=shift.starts_at,
                minutes=minutes,
                status="pending",
                created_at=now,
            )
        )
    outbox.add(
        events.CHECKED_OUT,
        center_id=shift.center_id,
        subject=signup.id,
        data=signup_fact(
            signup,
            checked_in_at=signup.checked_in_at,
            checked_out_at=moment,
            hours=minutes_to_hours(minutes),
        ),
    )
    if shift.beneficiary_id and minutes:
        log_shift_visit(db_session, outbox, shift, signup, by, now)


def mark_no_show(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    shift_ref: str,
    volunteer: Volunteer,
    now: datetime | None = None,
) -> Signup:
    """Record that a confirmed volunteer did not come, once the shift has ended: until then
    they may still come (check-in stays open until the end)."""
    now = now or now_utc()
    shift = get_shift(db_session=db_session, center_id=center_id, ref=shift_ref, lock=True)
    signup = live_signup(db_session, shift, volunteer)
    if signup.status != "confirmed":
        raise InvalidAttendance(
            f"报名状态为「{STATUS_NAMES[signup.status]}」，不能记为缺席", code="CANNOT_MARK_NO_SHOW"
        )
    if now < shift.ends_at:
        raise InvalidAttendance(
            f"班次尚未结束，不能标记未到（{when(shift.ends_at)} 结束后可标记）",
            code="SHIFT_NOT_ENDED",
        )
    signup.status = "no_show"
    outbox.add(events.NO_SHOW, center_id=center_id, subject=signup.id, data=signup_fact(signup))
    return signup


def sweep_finished_shifts(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    grace: timedelta,
    now: datetime | None = None,
    limit: int = 500,
) -> dict[str, int]:
    """Every center, once a shift ended more than ``grace`` ago: confirmed volunteers who never
    checked in are no-shows; those who checked in but not out are checked out at the shift's
    end, their hours pending a social worker's approval as usual. Returns how many of each."""
    now = now or now_utc()
    due = db_session.scalars(
        select(Signup)
        .join(Shift, Shift.id == Signup.shift_id)
        .where(
            Signup.status.in_(("confirmed", "checked_in")),
            Signup.ends_at <= now - grace,
            Shift.status == "open",
        )
        .order_by(Signup.ends_at)
        .limit(limit)
        .with_for_update(of=Signup, skip_locked=True)
    ).all()
    counts = {"no_shows": 0, "checked_out": 0}
    for signup in due:
        if signup.status == "confirmed":
            signup.status = "no_show"
            outbox.add(
                events.NO_SHOW,
                center_id=signup.center_id,
                subject=signup.id,
                data=signup_fact(signup),
            )
            counts["no_shows"] += 1
        else:
            _finish(db_session, outbox, signup.shift, signup, signup.shift.ends_at, SYSTEM, now)
            counts["checked_out"] += 1
    return counts
