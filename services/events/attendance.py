"""Attendance (person-times, 人次) per activity, programme, audience and month.

An activity's person-times are the registrants checked in (each counting the
family members who came) plus the walk-ins counted at the door; an activity
recorded afterwards counts its whole sign-in sheet as walk-ins. Only activities
held (started, not cancelled) count. Days and months are Asia/Shanghai's.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.contracts.events.operations import AUDIENCES
from services.events.common import SHANGHAI, local, now_utc
from services.events.models import Activity, Programme, Registration

#: The default period: the last 365 days, today included.
DEFAULT_DAYS = 365
NO_PROGRAMME = "none"


def day_start(day: date) -> datetime:
    """Midnight of ``day`` in Asia/Shanghai, as an aware datetime."""
    return datetime.combine(day, time(0), SHANGHAI)


def attendance_stats(*, db_session: Session, center_id: str, query: dict[str, Any],
                     now: datetime | None = None) -> dict[str, Any]:
    """Activities held and person-times in a period, grouped by ``group_by``."""
    now = now or now_utc()
    last = query.get("to") or local(now).date()
    first = query.get("from_") or last - timedelta(days=DEFAULT_DAYS - 1)
    start, end = day_start(first), min(day_start(last + timedelta(days=1)), now)
    where = [Activity.center_id == center_id, Activity.state.in_(("published", "completed")),
             Activity.starts_at >= start, Activity.starts_at < end]
    for key in ("programme", "audience"):
        if query.get(key):
            where.append(getattr(Activity, key) == query[key])
    activities = list(db_session.scalars(select(Activity).where(*where)
                                         .order_by(Activity.starts_at, Activity.id)))
    checked_in = dict(db_session.execute(
        select(Registration.activity_id, func.sum(Registration.attended))
        .where(Registration.center_id == center_id, Registration.checked_in_at.is_not(None),
               Registration.activity_id.in_(select(Activity.id).where(*where)))
        .group_by(Registration.activity_id)).all())
    group_by = query.get("group_by") or "programme"
    key_of, label_of = _grouping(db_session, center_id, group_by)
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: {"activities": 0, "person_times": 0})
    total = 0
    for activity in activities:
        person_times = activity.walk_ins + int(checked_in.get(activity.id) or 0)
        total += person_times
        group = groups[key_of(activity)]
        group["activities"] += 1
        group["person_times"] += person_times
        group.setdefault("label", label_of(activity))
    rows = [{"key": key, **values} for key, values in groups.items()]
    if group_by in ("programme", "audience"):
        rows.sort(key=lambda row: (-row["person_times"], row["key"]))
    return {"group_by": group_by, "from_": first, "to": last, "activities": len(activities),
            "person_times": total, "groups": rows}


def _grouping(db_session: Session, center_id: str, group_by: str):
    """(key of an activity, label of an activity) for a grouping."""
    if group_by == "programme":
        names = dict(db_session.execute(select(Programme.code, Programme.name)
                                        .where(Programme.center_id == center_id)).all())
        return (lambda a: a.programme or NO_PROGRAMME,
                lambda a: names.get(a.programme, a.programme) if a.programme else "未归入项目")
    if group_by == "audience":
        return lambda a: a.audience, lambda a: AUDIENCES.get(a.audience, a.audience)
    if group_by == "month":
        return (lambda a: f"{local(a.starts_at):%Y-%m}",
                lambda a: f"{local(a.starts_at).year}年{local(a.starts_at).month}月")
    return lambda a: a.id, lambda a: f"{a.title}（{local(a.starts_at):%Y-%m-%d}）"
