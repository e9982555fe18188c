"""A volunteer's sign-ups to shifts: a place if one is free, else the waitlist; giving a place
up (late, if within a day of the start); the lists of a shift's or a volunteer's sign-ups.

Concurrency: on PostgreSQL a sign-up locks the shift row, then the volunteer row
(``SELECT ... FOR UPDATE``), so capacity and "never two overlapping shifts" hold under
concurrent requests; anything else that locks both takes them in that order. SQLite
serialises writers anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.volunteers import events
from lianxin.contracts.volunteers.operations import SKILLS, SignupFilter
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.volunteers.exceptions import (
    AlreadySignedUp,
    InvalidAttendance,
    OverlappingShift,
    ShiftClosed,
    SignupNotFound,
    SkillsMissing,
    VolunteerInactive,
)
from services.volunteers.models import HOLDING, Shift, Signup, Volunteer
from services.volunteers.records import STATUS_NAMES, flush_or_conflict, new_id, when
from services.volunteers.registers import get_volunteer
from services.volunteers.shifts import (
    get_shift,
    promote_waitlist,
    release,
    signup_fact,
    taken_places,
)

#: A confirmed place given up closer than this to the start is a late cancellation.
LATE_CANCEL = timedelta(hours=24)


def _waitlist_position(db_session: Session, signup: Signup) -> int | None:
    if signup.status != "waitlisted":
        return None
    ahead = (
        db_session.scalar(
            select(func.count())
            .select_from(Signup)
            .where(
                Signup.shift_id == signup.shift_id,
                Signup.status == "waitlisted",
                or_(
                    Signup.queued_at < signup.queued_at,
                    and_(Signup.queued_at == signup.queued_at, Signup.id < signup.id),
                ),
            )
        )
        or 0
    )
    return ahead + 1


def with_position(db_session: Session, signup: Signup) -> Signup:
    """Fill a sign-up's place in line (1: the next; None unless waitlisted)."""
    signup.waitlist_position = _waitlist_position(db_session, signup)
    return signup


def _refuse_overlap(db_session: Session, shift: Shift, volunteer: Volunteer) -> None:
    """A volunteer holds (or waits for) one shift at a time; once per shift."""
    held = db_session.scalars(
        select(Signup).where(
            Signup.volunteer_id == volunteer.id,
            Signup.status.in_(HOLDING),
            Signup.starts_at < shift.ends_at,
            Signup.ends_at > shift.starts_at,
        )
    ).all()
    for other in held:
        if other.shift_id == shift.id:
            raise AlreadySignedUp(extra={"signup_id": other.id, "status": other.status})
    if held:
        other = held[0]
        state = "候补" if other.status == "waitlisted" else "已报名"
        raise OverlappingShift(
            f"与{state}的班次「{other.shift.title}」（{when(other.starts_at)}–"
            f"{when(other.ends_at)[-5:]}）时间重叠",
            extra={"signup_id": other.id},
        )


def sign_up(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    shift_ref: str,
    volunteer: Volunteer,
    now: datetime | None = None,
) -> Signup:
    """Take a place on a shift, or join its waitlist when it is full.

    Refused: a cancelled or started shift, an inactive volunteer, missing skills, a second
    sign-up to the same shift, and any overlap with a shift the volunteer holds or waits for.
    """
    now = now or now_utc()
    shift = get_shift(db_session=db_session, center_id=center_id, ref=shift_ref, lock=True)
    if shift.status != "open":
        raise ShiftClosed("班次已取消，不能报名")
    if now >= shift.starts_at:
        raise ShiftClosed("班次已开始，不能报名")
    volunteer = get_volunteer(
        db_session=db_session, center_id=center_id, ref=volunteer.id, lock=True
    )
    if volunteer.status != "active":
        raise VolunteerInactive()
    missing = [s for s in shift.required_skills if s not in volunteer.skills]
    if missing:
        names = "、".join(SKILLS.get(s, s) for s in missing)
        raise SkillsMissing(f"缺少该班次所需的技能：{names}", extra={"missing": missing})
    _refuse_overlap(db_session, shift, volunteer)
    status = "confirmed" if taken_places(db_session, shift) < shift.capacity else "waitlisted"
    # The line's order is the order of arrival: strictly increasing per shift (row locked).
    last = db_session.scalar(select(func.max(Signup.queued_at)).where(Signup.shift_id == shift.id))
    if last is not None and last.tzinfo is None:  # an aggregate bypasses the column type
        last = last.replace(tzinfo=UTC)
    queued_at = max(now, last + timedelta(microseconds=1)) if last is not None else now
    signup = Signup(
        id=new_id(),
        center_id=center_id,
        shift_id=shift.id,
        volunteer_id=volunteer.id,
        status=status,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        queued_at=queued_at,
        confirmed_at=now if status == "confirmed" else None,
        promoted=False,
        late_cancel=False,
    )
    signup.shift, signup.volunteer = shift, volunteer
    db_session.add(signup)
    flush_or_conflict(db_session, AlreadySignedUp())
    etype = events.SIGNUP_CONFIRMED if status == "confirmed" else events.SIGNUP_WAITLISTED
    outbox.add(etype, center_id=center_id, subject=signup.id, data=signup_fact(signup))
    return with_position(db_session, signup)


def get_signup(*, db_session: Session, center_id: str, signup_id: str) -> Signup:
    """A center's sign-up, or :class:`SignupNotFound`."""
    signup = db_session.get(Signup, signup_id)
    if signup is None or signup.center_id != center_id:
        raise SignupNotFound()
    return signup


def live_signup(db_session: Session, shift: Shift, volunteer: Volunteer) -> Signup:
    """A volunteer's sign-up to a shift that is not cancelled, or :class:`SignupNotFound`."""
    signup = db_session.scalars(
        select(Signup)
        .where(
            Signup.shift_id == shift.id,
            Signup.volunteer_id == volunteer.id,
            Signup.status != "cancelled",
        )
        .execution_options(populate_existing=True)
    ).first()
    if signup is None:
        raise SignupNotFound("该志愿者未报名此班次")
    return signup


def cancel_signup(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    signup: Signup,
    actor: Principal,
    reason: str | None,
    now: datetime | None = None,
) -> tuple[Signup, list[Signup]]:
    """Give up a place (or a place in line) before the shift starts; a freed place goes to the
    waitlist at once. Returns the cancelled sign-up and those promoted in its place.

    A confirmed place a volunteer gives up less than 24 h before the start is a late
    cancellation (staff cancelling for them is not).
    """
    now = now or now_utc()
    shift = get_shift(
        db_session=db_session, center_id=signup.center_id, ref=signup.shift_id, lock=True
    )
    db_session.refresh(signup)
    if signup.status not in ("confirmed", "waitlisted"):
        raise InvalidAttendance(
            f"报名状态为「{STATUS_NAMES[signup.status]}」，不能取消", code="SIGNUP_NOT_CANCELLABLE"
        )
    if now >= shift.starts_at:
        raise ShiftClosed("班次已开始，不能取消报名")
    was_confirmed = signup.status == "confirmed"
    late = actor.role == "volunteer" and was_confirmed and shift.starts_at - now < LATE_CANCEL
    release(signup, reason=reason, by=actor.id, now=now, late=late)
    outbox.add(
        events.SIGNUP_CANCELLED,
        center_id=signup.center_id,
        subject=signup.id,
        data=signup_fact(signup, reason=reason),
    )
    db_session.flush()
    promoted = promote_waitlist(db_session, outbox, shift, now) if was_confirmed else []
    return signup, promoted


def list_signups(
    *,
    db_session: Session,
    center_id: str,
    query: SignupFilter,
    shift: Shift | None = None,
    volunteer: Volunteer | None = None,
) -> tuple[list[Signup], int]:
    """Sign-ups of a shift (in line order) or of a volunteer (latest shift first)."""
    where = [Signup.center_id == center_id]
    order: tuple[Any, ...]
    if shift is not None:
        where.append(Signup.shift_id == shift.id)
        order = (Signup.queued_at, Signup.id)
    else:
        order = (Signup.starts_at.desc(), Signup.id)
    if volunteer is not None:
        where.append(Signup.volunteer_id == volunteer.id)
    if query.get("status"):
        where.append(Signup.status == query["status"])
    total = db_session.scalar(select(func.count()).select_from(Signup).where(*where)) or 0
    items = list(
        db_session.scalars(
            select(Signup)
            .where(*where)
            .order_by(*order)
            .limit(query["limit"])
            .offset(query["offset"])
        )
    )
    for signup in items:
        with_position(db_session, signup)
    return items, total
