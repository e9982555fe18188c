"""Attendance (person-times, 人次): counted at the door (check-in, walk-ins), recorded
afterwards from sign-in sheets (补录), and summed per activity, programme, audience and month.

An activity's person-times are the registrants checked in (each counting the
family members who came) plus the walk-ins counted at the door; an activity
recorded afterwards counts its whole sign-in sheet as walk-ins. Only activities
held (started, not cancelled) count. Days and months are Asia/Shanghai's.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, true, update
from sqlalchemy.orm import Session

from lianxin.clock import SHANGHAI, local, now_utc
from lianxin.contracts.events.events import ATTENDANCE_RECORDED, CHECKED_IN
from lianxin.contracts.events.operations import (
    AUDIENCES,
    AttendanceFilter,
    DoorCheckIn,
    PastActivity,
)
from lianxin.errors import InvalidInput
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.events import rooms, waitlist
from services.events.activities import find_activity
from services.events.exceptions import (
    ActivityStateConflict,
    AlreadyCheckedIn,
    CheckInClosed,
    RegistrationNotFound,
    RegistrationStateConflict,
)
from services.events.models import STATE_NAMES, Activity, Programme, Registration
from services.events.programmes import list_programmes

#: Check-in opens this long before the start and closes this long after the end.
CHECK_IN_MARGIN = timedelta(hours=1)

#: The default period of the statistics: the last 365 days, today included.
DEFAULT_DAYS = 365
NO_PROGRAMME = "none"


# -- at the door -----------------------------------------------------------------------------


def _require_door_open(activity: Activity, now: datetime) -> None:
    if activity.state != "published":
        raise ActivityStateConflict(f"活动{STATE_NAMES[activity.state]}，不能签到")
    if not activity.starts_at - CHECK_IN_MARGIN <= now <= activity.ends_at + CHECK_IN_MARGIN:
        raise CheckInClosed()


def check_in(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    activity_id: str,
    data: DoorCheckIn,
    actor: Principal,
    now: datetime | None = None,
) -> Registration:
    """Check a confirmed registration in at the door, by its id or the registrant's code;
    ``attended`` of its party count as person-times."""
    now = now or now_utc()
    activity = find_activity(
        db_session=db_session, center_id=center_id, activity_id=activity_id, drafts=True
    )
    _require_door_open(activity, now)
    where = [Registration.activity_id == activity.id]
    if data.registration_id:
        where.append(Registration.id == data.registration_id)
    else:
        where.append(Registration.code == data.code)
    registration = db_session.scalar(select(Registration).where(*where))
    if registration is None:
        raise RegistrationNotFound("签到码无效" if data.code else "该活动没有这条报名记录")
    if registration.state != "confirmed":
        raise RegistrationStateConflict(f"该报名{STATE_NAMES[registration.state]}，不能签到")
    attended = data.attended or registration.party_size
    if attended > registration.party_size:
        raise InvalidInput(
            fields={"attended": [f"不能多于报名人数（{registration.party_size} 人）"]}
        )
    marked = db_session.execute(
        update(Registration)
        .where(Registration.id == registration.id, Registration.checked_in_at.is_(None))
        .values(checked_in_at=now, checked_in_by=actor.id, attended=attended)
    )
    if marked.rowcount == 0:  # type: ignore[attr-defined]
        raise AlreadyCheckedIn()
    outbox.add(
        CHECKED_IN,
        center_id=center_id,
        subject=registration.id,
        data=waitlist.fact(activity, registration, rooms.place_of(db_session, activity))
        | {"person_times": attended},
    )
    return registration


def _recorded(activity: Activity, person_times: int, source: str) -> dict[str, Any]:
    """What attendance.recorded says."""
    return {
        "activity_id": activity.id,
        "programme": activity.programme,
        "audience": activity.audience,
        "title": activity.title,
        "starts_at": activity.starts_at,
        "person_times": person_times,
        "source": source,
    }


def record_walk_ins(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    activity_id: str,
    count: int,
    actor: Principal,
    now: datetime | None = None,
) -> Activity:
    """Count people who came without registering (person-times)."""
    now = now or now_utc()
    activity = find_activity(
        db_session=db_session, center_id=center_id, activity_id=activity_id, drafts=True
    )
    _require_door_open(activity, now)
    db_session.execute(
        update(Activity)
        .where(Activity.id == activity.id)
        .values(walk_ins=Activity.walk_ins + count)
        .execution_options(synchronize_session=False)
    )
    db_session.refresh(activity)
    outbox.add(
        ATTENDANCE_RECORDED,
        center_id=center_id,
        subject=activity.id,
        data=_recorded(activity, count, "walk_in"),
    )
    return activity


# -- afterwards (补录) -------------------------------------------------------------------------


def _record_problems(
    item: PastActivity, now: datetime, known_rooms: dict[str, Any], known_programmes: set[str]
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if item.ends_at > now:
        problems["ends_at"] = ["只能补录已结束的活动"]
    if item.programme and item.programme not in known_programmes:
        problems["programme"] = ["该服务中心没有此项目"]
    room = known_rooms.get(item.room or "")
    if item.room and room is None:
        problems["room"] = ["该服务中心没有此功能室"]
    elif room is not None and item.attendance > room.capacity:
        problems["attendance"] = [f"超过功能室容量（{room.capacity} 人）"]
    return problems


def record_activities(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    items: list[PastActivity],
    actor: Principal,
    now: datetime | None = None,
) -> list[Activity]:
    """Record activities already held, with the attendance of their sign-in sheets (补录):
    all of them, or none (the refusal names each item's problems)."""
    now = now or now_utc()
    known_rooms = {r.code: r for r in rooms.list_rooms(db_session=db_session, center_id=center_id)}
    known_programmes = {p.code for p in list_programmes(db_session=db_session, center_id=center_id)}
    errors = {
        index: problems
        for index, item in enumerate(items)
        if (problems := _record_problems(item, now, known_rooms, known_programmes))
    }
    if errors:
        raise InvalidInput(fields={"items": errors})
    recorded = []
    for item in items:
        columns = asdict(item)
        attendance = columns.pop("attendance")
        activity = Activity(
            id=str(uuid.uuid4()),
            center_id=center_id,
            state="completed",
            created_at=now,
            created_by=actor.id,
            capacity=attendance,
            walk_ins=attendance,
            sequence=0,
            lock_version=0,
            **columns,
        )
        db_session.add(activity)
        recorded.append(activity)
        outbox.add(
            ATTENDANCE_RECORDED,
            center_id=center_id,
            subject=activity.id,
            data=_recorded(activity, attendance, "record"),
        )
    return recorded


# -- statistics ------------------------------------------------------------------------------


def day_start(day: date) -> datetime:
    """Midnight of ``day`` in Asia/Shanghai, as an aware datetime."""
    return datetime.combine(day, time(0), SHANGHAI)


def attendance_stats(
    *, db_session: Session, center_id: str, query: AttendanceFilter, now: datetime | None = None
) -> dict[str, Any]:
    """Activities held and person-times in a period, grouped by ``group_by``."""
    now = now or now_utc()
    last = query.get("to") or local(now).date()
    first = query.get("from_") or last - timedelta(days=DEFAULT_DAYS - 1)
    start, end = day_start(first), min(day_start(last + timedelta(days=1)), now)
    where = [
        Activity.center_id == center_id,
        Activity.state.in_(("published", "completed")),
        Activity.starts_at >= start,
        Activity.starts_at < end,
    ]
    if query.get("programme"):
        where.append(Activity.programme == query["programme"])
    if query.get("audience"):
        where.append(Activity.audience == query["audience"])
    activities = list(
        db_session.scalars(select(Activity).where(*where).order_by(Activity.starts_at, Activity.id))
    )
    checked_in: dict[str, int] = dict(
        db_session.execute(
            select(Registration.activity_id, func.sum(Registration.attended))
            .where(
                Registration.center_id == center_id,
                Registration.checked_in_at.is_not(None),
                Registration.activity_id.in_(select(Activity.id).where(*where)),
            )
            .group_by(Registration.activity_id)
        ).all()
    )
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
    return {
        "group_by": group_by,
        "from_": first,
        "to": last,
        "activities": len(activities),
        "person_times": total,
        "groups": rows,
    }


def county_attendance_stats(
    *,
    db_session: Session,
    center_ids: list[str] | None,
    query: AttendanceFilter,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per center of ``center_ids`` (in their order) the activities held and person-times of
    :func:`attendance_stats` for the same query, counted at once (``GROUP BY center_id``).
    ``None``: every center that held activities in the period (by id) — one that held none
    is all zeros."""
    ids = list(dict.fromkeys(center_ids)) if center_ids is not None else None
    if ids == []:
        return []
    now = now or now_utc()
    last = query.get("to") or local(now).date()
    first = query.get("from_") or last - timedelta(days=DEFAULT_DAYS - 1)
    start, end = day_start(first), min(day_start(last + timedelta(days=1)), now)
    where = [
        Activity.center_id.in_(ids) if ids is not None else true(),
        Activity.state.in_(("published", "completed")),
        Activity.starts_at >= start,
        Activity.starts_at < end,
    ]
    if query.get("programme"):
        where.append(Activity.programme == query["programme"])
    if query.get("audience"):
        where.append(Activity.audience == query["audience"])
    held = {
        cid: (count, walk_ins)
        for cid, count, walk_ins in db_session.execute(
            select(Activity.center_id, func.count(), func.coalesce(func.sum(Activity.walk_ins), 0))
            .where(*where)
            .group_by(Activity.center_id)
        )
    }
    checked_in = dict(
        db_session.execute(
            select(Activity.center_id, func.coalesce(func.sum(Registration.attended), 0))
            .join(
                Registration,
                (Registration.activity_id == Activity.id)
                & (Registration.center_id == Activity.center_id),
            )
            .where(*where, Registration.checked_in_at.is_not(None))
            .group_by(Activity.center_id)
        ).all()
    )
    if ids is None:
        ids = sorted(held)
    return [
        {
            "center_id": cid,
            "activities": held.get(cid, (0, 0))[0],
            "person_times": int(held.get(cid, (0, 0))[1]) + int(checked_in.get(cid) or 0),
        }
        for cid in ids
    ]


Grouping = tuple[Callable[[Activity], str], Callable[[Activity], str]]


def _grouping(db_session: Session, center_id: str, group_by: str) -> Grouping:
    """(key of an activity, label of an activity) for a grouping."""
    if group_by == "programme":
        names: dict[str | None, str | None] = dict(
            db_session.execute(
                select(Programme.code, Programme.name).where(Programme.center_id == center_id)
            ).all()
        )
        return (
            lambda a: a.programme or NO_PROGRAMME,
            lambda a: names.get(a.programme, a.programme) if a.programme else "未归入项目",
        )
    if group_by == "audience":
        return lambda a: a.audience, lambda a: AUDIENCES.get(a.audience, a.audience)
    if group_by == "month":
        return (
            lambda a: f"{local(a.starts_at):%Y-%m}",
            lambda a: f"{local(a.starts_at).year}年{local(a.starts_at).month}月",
        )
    return lambda a: a.id, lambda a: f"{a.title}（{local(a.starts_at):%Y-%m-%d}）"
