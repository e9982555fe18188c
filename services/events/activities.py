"""Programmes and activities: publishing (booking the activity's room), drafts, changes
told to registrants, cancellation.

Every change to an activity's registrations first bumps the activity's
``lock_version`` (:func:`lock_activity`): on PostgreSQL that UPDATE holds the row
until commit, on SQLite it takes the write lock, so counting the places taken and
inserting a registration are never interleaved with another registration for the
same activity — thirty people registering at once for twenty places get exactly
twenty places and ten waitlist entries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.events.events import (
    ACTIVITY_CANCELLED,
    ACTIVITY_CHANGED,
    ACTIVITY_PUBLISHED,
    REGISTRATION_CANCELLED,
)
from lianxin.contracts.events.operations import (
    ActivityChanges,
    ActivityFilter,
    NewActivity,
    check_activity,
)
from lianxin.errors import InvalidInput, validation_error
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.events import bookings, views, waitlist
from services.events.exceptions import (
    ActivityNotFound,
    ActivityStateConflict,
    CapacityConflict,
)
from services.events.models import STATE_NAMES, Activity, Room, RoomBooking
from services.events.programmes import require_programme
from services.events.rooms import lock_room, place_of

#: Changes registrants are told of (activity.changed).
NOTABLE = ("title", "starts_at", "ends_at", "room", "place", "capacity")
#: Changes that move the activity's room booking.
MOVES = ("room", "starts_at", "ends_at")
EDITABLE = (
    "title",
    "description",
    "programme",
    "audience",
    "starts_at",
    "ends_at",
    "room",
    "place",
    "capacity",
    "registration_opens_at",
    "registration_closes_at",
    "needs_approval",
    "max_party_size",
)


# -- activities: reading ---------------------------------------------------------------------


def find_activity(
    *, db_session: Session, center_id: str, activity_id: str, drafts: bool
) -> Activity:
    """A center's activity (a draft only with ``drafts``), or :class:`ActivityNotFound`."""
    activity = db_session.get(Activity, activity_id)
    if (
        activity is None
        or activity.center_id != center_id
        or (activity.state == "draft" and not drafts)
    ):
        raise ActivityNotFound()
    return activity


def get_activity(
    *, db_session: Session, center_id: str, activity_id: str, actor: Principal
) -> Activity:
    """A center's activity as ``actor`` may see it (drafts exist only for staff)."""
    return find_activity(
        db_session=db_session, center_id=center_id, activity_id=activity_id, drafts=actor.is_staff
    )


def lock_activity(
    *, db_session: Session, center_id: str, activity_id: str, drafts: bool
) -> Activity:
    """The activity, locked against other registration changes until the transaction ends."""
    activity = db_session.scalars(
        update(Activity)
        .where(Activity.id == activity_id, Activity.center_id == center_id)
        .values(lock_version=Activity.lock_version + 1)
        .returning(Activity)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if activity is None or (activity.state == "draft" and not drafts):
        raise ActivityNotFound()
    return activity


def list_activities(
    *,
    db_session: Session,
    center_id: str,
    query: ActivityFilter,
    actor: Principal,
    now: datetime | None = None,
) -> tuple[list[Activity], int]:
    """A center's activities, upcoming (soonest first), past (latest first) or all, filtered
    by programme, audience, state, room and start time."""
    now = now or now_utc()
    where = [Activity.center_id == center_id]
    when = query.get("when") or "all"
    if when == "upcoming":
        where.append(Activity.ends_at > now)
    elif when == "past":
        where.append(Activity.ends_at <= now)
    for key in ("programme", "audience", "state", "room"):
        if query.get(key):
            where.append(getattr(Activity, key) == query[key])
    if not actor.is_staff:
        where.append(Activity.state != "draft")
    start, end = query.get("start"), query.get("end")
    if start:
        where.append(Activity.starts_at >= start)
    if end:
        where.append(Activity.starts_at < end)
    order = (
        (Activity.starts_at.desc(), Activity.id)
        if when == "past"
        else (Activity.starts_at, Activity.id)
    )
    total = db_session.scalar(select(func.count()).select_from(Activity).where(*where)) or 0
    items = db_session.scalars(
        select(Activity)
        .where(*where)
        .order_by(*order)
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return list(items), total


def list_public_activities(
    *,
    db_session: Session,
    center_id: str,
    days: int,
    limit: int,
    now: datetime | None = None,
) -> list[Activity]:
    """Published activities not yet over that start within ``days`` from ``now`` (those
    under way included), soonest first: what anyone may see of a center's programme."""
    now = now or now_utc()
    return list(
        db_session.scalars(
            select(Activity)
            .where(
                Activity.center_id == center_id,
                Activity.state == "published",
                Activity.ends_at > now,
                Activity.starts_at < now + timedelta(days=days),
            )
            .order_by(Activity.starts_at, Activity.id)
            .limit(limit)
        ).all()
    )


# -- activities: changing --------------------------------------------------------------------


def _published_data(db_session: Session, activity: Activity) -> dict[str, Any]:
    return {
        "activity_id": activity.id,
        "programme": activity.programme,
        "audience": activity.audience,
        "title": activity.title,
        "starts_at": activity.starts_at,
        "ends_at": activity.ends_at,
        "room": activity.room,
        "capacity": activity.capacity,
        "place": place_of(db_session, activity),
        "needs_approval": activity.needs_approval,
        "registration_closes_at": activity.closes_at,
    }


def create_activity(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    data: NewActivity,
    actor: Principal,
    now: datetime | None = None,
) -> Activity:
    """Publish an activity (or keep it a draft): in one of the center's rooms, which it
    books for its time, or at a place."""
    now = now or now_utc()
    columns = asdict(data)
    publish = columns.pop("publish")
    if data.starts_at <= now:
        raise InvalidInput(fields={"starts_at": ["开始时间须晚于现在"]})
    require_programme(db_session, center_id, data.programme)
    activity = Activity(
        id=str(uuid.uuid4()),
        center_id=center_id,
        state="published" if publish else "draft",
        created_at=now,
        created_by=actor.id,
        walk_ins=0,
        sequence=0,
        lock_version=0,
        **columns,
    )
    db_session.add(activity)
    if activity.room:
        bookings.book_activity(db_session, outbox, activity, actor, now)
    if publish:
        outbox.add(
            ACTIVITY_PUBLISHED,
            center_id=center_id,
            subject=activity.id,
            data=_published_data(db_session, activity),
        )
    return activity


def publish_activity(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    activity_id: str,
    actor: Principal,
    now: datetime | None = None,
) -> Activity:
    """Publish a draft: residents see it and may register."""
    now = now or now_utc()
    activity = lock_activity(
        db_session=db_session, center_id=center_id, activity_id=activity_id, drafts=actor.is_staff
    )
    if activity.state != "draft":
        raise ActivityStateConflict(f"活动{STATE_NAMES[activity.state]}，不是草稿")
    if activity.starts_at <= now:
        raise ActivityStateConflict("活动开始时间已过，请先修改时间再发布")
    activity.state, activity.updated_at = "published", now
    outbox.add(
        ACTIVITY_PUBLISHED,
        center_id=center_id,
        subject=activity.id,
        data=_published_data(db_session, activity),
    )
    return activity


def update_activity(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    activity_id: str,
    changes: ActivityChanges,
    actor: Principal,
    now: datetime | None = None,
    guard: Callable[[Activity], None] | None = None,
) -> Activity:
    """Change an activity; its room is re-booked if the room or time moves, and everyone
    registered or waitlisted is told of a new title, time, place or capacity. ``guard`` is
    called with the locked row before the change (the ``If-Match`` check)."""
    now = now or now_utc()
    activity = lock_activity(
        db_session=db_session, center_id=center_id, activity_id=activity_id, drafts=actor.is_staff
    )
    if guard is not None:
        guard(activity)
    if activity.state not in ("draft", "published"):
        raise ActivityStateConflict(f"活动{STATE_NAMES[activity.state]}，不能修改")
    if activity.ends_at <= now:
        raise ActivityStateConflict("活动已结束，不能修改")
    merged = {key: getattr(activity, key) for key in EDITABLE} | dict(changes)
    try:
        check_activity(merged)
    except ValidationError as exc:
        raise validation_error(exc.normalized_messages()) from None
    changed = [key for key in EDITABLE if key in changes and merged[key] != getattr(activity, key)]
    if not changed:
        return activity
    _check_change(db_session, activity, merged, changed, now)
    moved = any(key in changed for key in MOVES)
    if moved:
        # Both rooms locked in one order, so two activities swapping rooms cannot deadlock.
        for code in sorted({activity.room, merged["room"]} - {None}):
            lock_room(db_session=db_session, center_id=center_id, code=code)
        bookings.release_activity_booking(db_session, outbox, activity, "活动改期或更换场地", now)
    for key in changed:
        setattr(activity, key, merged[key])
    _follow_with_booking(db_session, outbox, activity, changed, moved, actor, now)
    activity.updated_at = now
    _tell_registrants(db_session, outbox, activity, changed, now)
    return activity


def _check_change(
    db_session: Session,
    activity: Activity,
    merged: dict[str, Any],
    changed: list[str],
    now: datetime,
) -> None:
    """Refuse a change the activity's registrations or the center cannot take."""
    if "starts_at" in changed and merged["starts_at"] <= now:
        raise InvalidInput(fields={"starts_at": ["开始时间须晚于现在"]})
    if "programme" in changed:
        require_programme(db_session, activity.center_id, merged["programme"])
    if "capacity" in changed:
        taken = views.counts(db_session, [activity.id])[activity.id]["confirmed"]
        if merged["capacity"] < taken:
            raise CapacityConflict(
                f"已有 {taken} 人获得名额，容量不能少于 {taken}",
                fields={"capacity": [f"不能少于 {taken}"]},
            )


def _follow_with_booking(
    db_session: Session,
    outbox: OutboxWriter,
    activity: Activity,
    changed: list[str],
    moved: bool,
    actor: Principal,
    now: datetime,
) -> None:
    """Keep the activity's room booking in step with a change already applied: a moved
    activity books its (new) room again; a larger one must still fit; a renamed one
    renames its booking."""
    if activity.room and moved:
        bookings.book_activity(db_session, outbox, activity, actor, now)
    elif activity.room and "capacity" in changed:
        room = db_session.get(Room, (activity.center_id, activity.room))
        if room is not None and activity.capacity > room.capacity:
            raise InvalidInput(fields={"capacity": [f"超过功能室容量（{room.capacity} 人）"]})
    if "title" in changed and activity.booking_id and not moved:
        booking = db_session.get(RoomBooking, activity.booking_id)
        if booking is not None:
            booking.purpose = activity.title


def _tell_registrants(
    db_session: Session, outbox: OutboxWriter, activity: Activity, changed: list[str], now: datetime
) -> None:
    """A notable change raises the iCalendar SEQUENCE and, once published, is announced;
    places it frees go to the waitlist."""
    notable = [key for key in NOTABLE if key in changed]
    if notable:
        activity.sequence += 1
    if activity.state != "published":
        return
    if notable:
        outbox.add(
            ACTIVITY_CHANGED,
            center_id=activity.center_id,
            subject=activity.id,
            data={
                "activity_id": activity.id,
                "title": activity.title,
                "starts_at": activity.starts_at,
                "ends_at": activity.ends_at,
                "place": place_of(db_session, activity),
                "changes": notable,
                "person_ids": waitlist.person_ids(
                    waitlist.active_registrations(db_session, activity.id)
                ),
                "room": activity.room,
                "capacity": activity.capacity,
            },
        )
    waitlist.promote(db_session, outbox, activity, now)


def cancel_activity(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    activity_id: str,
    reason: str,
    actor: Principal,
    now: datetime | None = None,
) -> Activity:
    """Cancel an activity: its registrations are cancelled, its room released, and everyone
    registered or waitlisted told."""
    now = now or now_utc()
    activity = lock_activity(
        db_session=db_session, center_id=center_id, activity_id=activity_id, drafts=actor.is_staff
    )
    if activity.state not in ("draft", "published"):
        raise ActivityStateConflict(f"活动{STATE_NAMES[activity.state]}")
    if activity.ends_at <= now:
        raise ActivityStateConflict("活动已结束，不能取消")
    was_published = activity.state == "published"
    registrations = waitlist.active_registrations(db_session, activity.id)
    place = place_of(db_session, activity)
    for registration in registrations:
        registration.state, registration.cancelled_at = "cancelled", now
        registration.reason = reason
        outbox.add(
            REGISTRATION_CANCELLED,
            center_id=center_id,
            subject=registration.id,
            data=waitlist.fact(activity, registration, place)
            | {"reason": reason, "by": "activity"},
        )
    bookings.release_activity_booking(db_session, outbox, activity, "活动取消", now)
    activity.state, activity.cancel_reason, activity.updated_at = "cancelled", reason, now
    activity.sequence += 1
    if was_published:
        outbox.add(
            ACTIVITY_CANCELLED,
            center_id=center_id,
            subject=activity.id,
            data={
                "activity_id": activity.id,
                "title": activity.title,
                "starts_at": activity.starts_at,
                "reason": reason,
                "person_ids": waitlist.person_ids(registrations),
                "place": place,
            },
        )
    return activity
