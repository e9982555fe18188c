"""Totals: one volunteer's record (hours, shifts, reliability, milestones) and a center's
figures for a period (the report's 累计志愿服务时长, 参与服务人次, 服务对象人数)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypedDict

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from lianxin.clock import SHANGHAI
from lianxin.contracts.volunteers.operations import MILESTONES
from services.volunteers.models import (
    HourEntry,
    Milestone,
    Signup,
    Visit,
    Volunteer,
    minutes_to_hours,
)


class VolunteerRecord(TypedDict):
    """What ``VolunteerTotals`` shows."""

    verified_hours: float
    pending_hours: float
    participations: int
    shifts_completed: int
    no_shows: int
    late_cancellations: int
    reliability: float | None
    milestones: list[Milestone]
    next_milestone: int | None


class CenterFigures(TypedDict):
    """What ``CenterStats`` shows."""

    date_from: date | None
    date_to: date | None
    verified_hours: float
    participations: int
    beneficiaries_served: int
    service_person_times: int
    volunteers_active: int
    shifts_held: int
    no_shows: int
    pending_hours: float


def volunteer_totals(*, db_session: Session, volunteer: Volunteer) -> VolunteerRecord:
    """Hours, shifts, attendance, reliability and milestones of one volunteer."""
    entries: dict[str, int] = dict(
        db_session.execute(
            select(HourEntry.status, func.coalesce(func.sum(HourEntry.minutes), 0))
            .where(
                HourEntry.volunteer_id == volunteer.id,
                HourEntry.status.in_(("approved", "pending")),
            )
            .group_by(HourEntry.status)
        ).all()
    )
    participations = (
        db_session.scalar(
            select(func.count())
            .select_from(HourEntry)
            .where(HourEntry.volunteer_id == volunteer.id, HourEntry.status == "approved")
        )
        or 0
    )
    states: dict[str, int] = dict(
        db_session.execute(
            select(Signup.status, func.count())
            .where(Signup.volunteer_id == volunteer.id)
            .group_by(Signup.status)
        ).all()
    )
    late = (
        db_session.scalar(
            select(func.count())
            .select_from(Signup)
            .where(Signup.volunteer_id == volunteer.id, Signup.late_cancel.is_(True))
        )
        or 0
    )
    completed, no_shows = states.get("completed", 0), states.get("no_show", 0)
    record = completed + no_shows + late
    milestones = list(
        db_session.scalars(
            select(Milestone)
            .where(Milestone.volunteer_id == volunteer.id)
            .order_by(Milestone.milestone_hours)
        )
    )
    reached = {m.milestone_hours for m in milestones}
    upcoming = [m for m in MILESTONES if m not in reached]
    return {
        "verified_hours": minutes_to_hours(entries.get("approved", 0)),
        "pending_hours": minutes_to_hours(entries.get("pending", 0)),
        "participations": participations,
        "shifts_completed": completed,
        "no_shows": no_shows,
        "late_cancellations": late,
        "reliability": round(completed / record, 3) if record else None,
        "milestones": milestones,
        "next_milestone": upcoming[0] if upcoming else None,
    }


def period_bounds(
    date_from: date | None, date_to: date | None
) -> tuple[datetime | None, datetime | None]:
    """Local calendar days (both included) as a half-open UTC interval."""
    start = datetime.combine(date_from, time(0), SHANGHAI).astimezone(UTC) if date_from else None
    end = (
        datetime.combine(date_to + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)
        if date_to
        else None
    )
    return start, end


def _within(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    where = []
    if start is not None:
        where.append(column >= start)
    if end is not None:
        where.append(column < end)
    return where


def center_stats(
    *,
    db_session: Session,
    center_id: str,
    date_from: date | None = None,
    date_to: date | None = None,
) -> CenterFigures:
    """A center's totals for a period: verified hours, participations (person-times),
    beneficiaries served, visits, active volunteers, shifts held, no-shows, pending hours."""
    start, end = period_bounds(date_from, date_to)
    in_period = _within(HourEntry.served_at, start, end)
    minutes, participations, volunteers = db_session.execute(
        select(
            func.coalesce(func.sum(HourEntry.minutes), 0),
            func.count(),
            func.count(func.distinct(HourEntry.volunteer_id)),
        ).where(HourEntry.center_id == center_id, HourEntry.status == "approved", *in_period)
    ).one()
    pending = (
        db_session.scalar(
            select(func.coalesce(func.sum(HourEntry.minutes), 0)).where(
                HourEntry.center_id == center_id, HourEntry.status == "pending", *in_period
            )
        )
        or 0
    )
    visits, served = db_session.execute(
        select(func.count(), func.count(func.distinct(Visit.beneficiary_id))).where(
            Visit.center_id == center_id, *_within(Visit.visited_at, start, end)
        )
    ).one()
    signups_in_period = [Signup.center_id == center_id, *_within(Signup.starts_at, start, end)]
    shifts_held = (
        db_session.scalar(
            select(func.count(func.distinct(Signup.shift_id))).where(
                *signups_in_period, Signup.status == "completed"
            )
        )
        or 0
    )
    no_shows = (
        db_session.scalar(
            select(func.count())
            .select_from(Signup)
            .where(*signups_in_period, Signup.status == "no_show")
        )
        or 0
    )
    return {
        "date_from": date_from,
        "date_to": date_to,
        "verified_hours": minutes_to_hours(minutes),
        "participations": participations,
        "beneficiaries_served": served,
        "service_person_times": visits,
        "volunteers_active": volunteers,
        "shifts_held": shifts_held,
        "no_shows": no_shows,
        "pending_hours": minutes_to_hours(pending),
    }


def county_center_stats(
    *,
    db_session: Session,
    center_ids: list[str] | None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[dict[str, Any]]:
    """Per center of ``center_ids`` (in their order) the verified hours, participations and
    beneficiaries served of :func:`center_stats` for the period, counted at once (``GROUP BY
    center_id``: two reads, whatever the number of centers). ``None``: every center with
    approved hours or visits in the period (by id) — a center without is all zeros."""
    ids = list(dict.fromkeys(center_ids)) if center_ids is not None else None
    if ids == []:
        return []
    start, end = period_bounds(date_from, date_to)
    hours_of = HourEntry.center_id.in_(ids) if ids is not None else true()
    visits_of = Visit.center_id.in_(ids) if ids is not None else true()
    hours = {
        cid: (minutes, count)
        for cid, minutes, count in db_session.execute(
            select(HourEntry.center_id, func.coalesce(func.sum(HourEntry.minutes), 0), func.count())
            .where(
                hours_of,
                HourEntry.status == "approved",
                *_within(HourEntry.served_at, start, end),
            )
            .group_by(HourEntry.center_id)
        )
    }
    served = dict(
        db_session.execute(
            select(Visit.center_id, func.count(func.distinct(Visit.beneficiary_id)))
            .where(visits_of, *_within(Visit.visited_at, start, end))
            .group_by(Visit.center_id)
        ).all()
    )
    if ids is None:
        ids = sorted({*hours, *served})
    return [
        {
            "center_id": cid,
            "verified_hours": minutes_to_hours(hours.get(cid, (0, 0))[0]),
            "participations": hours.get(cid, (0, 0))[1],
            "beneficiaries_served": served.get(cid, 0),
        }
        for cid in ids
    ]
