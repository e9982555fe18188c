"""The rules of programmes, activities, registrations and check-in, free of nameko.

Every change to an activity's registrations first bumps the activity's
``lock_version`` (:func:`lock_activity`): on PostgreSQL that UPDATE holds the row
until commit, on SQLite it takes the write lock, so counting the places taken and
inserting a registration are never interleaved with another registration for the
same activity — thirty people registering at once for twenty places get exactly
twenty places and ten waitlist entries.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.contracts.events.events import (
    ACTIVITY_CANCELLED,
    ACTIVITY_CHANGED,
    ACTIVITY_PUBLISHED,
    ATTENDANCE_RECORDED,
    CHECKED_IN,
    REGISTRATION_CANCELLED,
    REGISTRATION_CONFIRMED,
    REGISTRATION_PENDING,
    REGISTRATION_PROMOTED,
    REGISTRATION_REJECTED,
    REGISTRATION_WAITLISTED,
)
from lianxin.contracts.events.operations import check_activity
from lianxin.errors import Forbidden, InvalidInput
from lianxin.outbox import OutboxWriter
from services.events import rooms
from services.events.common import Actor, as_dict, invalid, local, now_utc
from services.events.exceptions import (
    ActivityNotFound,
    ActivityStateConflict,
    AlreadyCheckedIn,
    AlreadyRegistered,
    CapacityConflict,
    CheckInClosed,
    InvalidProgramme,
    InvalidRoom,
    ProgrammeConflict,
    RegistrationClosed,
    RegistrationNotFound,
    RegistrationStateConflict,
)
from services.events.models import (
    ACTIVE_REGISTRATION,
    Activity,
    Programme,
    Registration,
    Room,
    RoomBooking,
)

#: Check-in opens this long before the start and closes this long after the end.
CHECK_IN_MARGIN = timedelta(hours=1)
CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"
#: Changes registrants are told of (activity.changed).
NOTABLE = ("title", "starts_at", "ends_at", "room", "place", "capacity")
EDITABLE = ("title", "description", "programme", "audience", "starts_at", "ends_at", "room",
            "place", "capacity", "registration_opens_at", "registration_closes_at",
            "needs_approval", "max_party_size")
STATE_NAMES = {"draft": "尚未发布", "published": "已发布", "cancelled": "已取消",
               "completed": "已结束", "pending": "待审核", "confirmed": "已确认",
               "waitlisted": "在候补名单中", "rejected": "未通过审核"}


# -- programmes ------------------------------------------------------------------------------

def add_programme(*, db_session: Session, center_id: str, data: dict[str, Any]) -> Programme:
    """Add a standing programme to the center."""
    if db_session.get(Programme, (center_id, data["code"])) is not None:
        raise ProgrammeConflict(fields={"code": ["该项目编码已存在"]})
    programme = Programme(center_id=center_id, **data)
    db_session.add(programme)
    return programme


def list_programmes(*, db_session: Session, center_id: str) -> list[Programme]:
    """A center's programmes, by code."""
    return list(db_session.scalars(
        select(Programme).where(Programme.center_id == center_id).order_by(Programme.code)))


def _require_programme(db_session: Session, center_id: str, code: str | None) -> None:
    if code and db_session.get(Programme, (center_id, code)) is None:
        raise InvalidProgramme(fields={"programme": ["该服务中心没有此项目"]})


# -- activities: reading ---------------------------------------------------------------------

def get_activity(*, db_session: Session, center_id: str, activity_id: str,
                 actor: Actor) -> Activity:
    """A center's activity, or :class:`ActivityNotFound` (drafts exist only for staff)."""
    activity = db_session.get(Activity, activity_id)
    if activity is None or activity.center_id != center_id or (
            activity.state == "draft" and not actor.is_staff):
        raise ActivityNotFound()
    return activity


def lock_activity(*, db_session: Session, center_id: str, activity_id: str,
                  actor: Actor) -> Activity:
    """The activity, locked against other registration changes until the transaction ends."""
    activity = db_session.scalars(
        update(Activity).where(Activity.id == activity_id, Activity.center_id == center_id)
        .values(lock_version=Activity.lock_version + 1).returning(Activity)
        .execution_options(populate_existing=True)).one_or_none()
    if activity is None or (activity.state == "draft" and not actor.is_staff):
        raise ActivityNotFound()
    return activity


def list_activities(*, db_session: Session, center_id: str, query: dict[str, Any],
                    actor: Actor, now: datetime | None = None) -> tuple[list[Activity], int]:
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
    if query.get("start"):
        where.append(Activity.starts_at >= query["start"])
    if query.get("end"):
        where.append(Activity.starts_at < query["end"])
    order = ((Activity.starts_at.desc(), Activity.id) if when == "past"
             else (Activity.starts_at, Activity.id))
    total = db_session.scalar(select(func.count()).select_from(Activity).where(*where)) or 0
    items = db_session.scalars(select(Activity).where(*where).order_by(*order)
                               .limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total


def _counts(db_session: Session, activity_ids: list[str]) -> dict[str, dict[str, int]]:
    """Per activity: people confirmed, waitlisted, pending, and checked in."""
    counts = {a: {"confirmed": 0, "waitlisted": 0, "pending": 0, "attended": 0}
              for a in activity_ids}
    if not activity_ids:
        return counts
    rows = db_session.execute(
        select(Registration.activity_id, Registration.state,
               func.sum(Registration.party_size), func.sum(Registration.attended))
        .where(Registration.activity_id.in_(activity_ids))
        .group_by(Registration.activity_id, Registration.state))
    for activity_id, state, people, attended in rows:
        if state in counts[activity_id]:
            counts[activity_id][state] = int(people or 0)
        counts[activity_id]["attended"] += int(attended or 0)
    return counts


def describe(*, db_session: Session, activities: list[Activity]) -> list[dict[str, Any]]:
    """Activities as ActivityRead dicts: with places taken and left, waitlist, attendance."""
    if not activities:
        return []
    counts = _counts(db_session, [a.id for a in activities])
    center_id = activities[0].center_id
    names = rooms.room_names(db_session=db_session, center_id=center_id)
    booking_ids = [a.booking_id for a in activities if a.booking_id]
    booking_states = dict(db_session.execute(
        select(RoomBooking.id, RoomBooking.state).where(RoomBooking.id.in_(booking_ids))).all()
    ) if booking_ids else {}
    views = []
    for a in activities:
        c = counts[a.id]
        views.append(as_dict(
            a, room_name=names.get(a.room) if a.room else None,
            registration_closes_at=a.closes_at,
            places_taken=c["confirmed"], places_left=max(a.capacity - c["confirmed"], 0),
            waitlisted=c["waitlisted"], pending=c["pending"],
            person_times=c["attended"] + a.walk_ins,
            booking_state=booking_states.get(a.booking_id) if a.booking_id else None,
        ))
    return views


def place_of(db_session: Session, activity: Activity) -> str:
    """Where an activity happens, as people read it: the room's name, or the place."""
    if activity.room:
        room = db_session.get(Room, (activity.center_id, activity.room))
        name = room.name if room is not None else activity.room
        return f"{name}（{activity.place}）" if activity.place else name
    return activity.place


def _active_registrations(db_session: Session, activity_id: str) -> list[Registration]:
    return list(db_session.scalars(select(Registration).where(
        Registration.activity_id == activity_id, Registration.state.in_(ACTIVE_REGISTRATION),
    ).order_by(Registration.seq)))


def _person_ids(registrations: list[Registration]) -> list[str]:
    return list(dict.fromkeys(r.person_id for r in registrations))


# -- activities: changing --------------------------------------------------------------------

def _published_data(db_session: Session, activity: Activity) -> dict[str, Any]:
    return {"activity_id": activity.id, "programme": activity.programme,
            "audience": activity.audience, "title": activity.title,
            "starts_at": activity.starts_at, "ends_at": activity.ends_at, "room": activity.room,
            "capacity": activity.capacity, "place": place_of(db_session, activity),
            "needs_approval": activity.needs_approval,
            "registration_closes_at": activity.closes_at}


def _book_for(db_session: Session, outbox: OutboxWriter, activity: Activity, actor: Actor,
              now: datetime) -> None:
    """Book the activity's room for its time (the room must fit its capacity)."""
    room = rooms.lock_room(db_session=db_session, center_id=activity.center_id, code=activity.room)
    if room is None:
        raise InvalidRoom(fields={"room": ["该服务中心没有此功能室"]})
    if activity.capacity > room.capacity:
        raise InvalidInput(fields={"capacity": [f"超过功能室容量（{room.capacity} 人）"]})
    [booking] = rooms.hold(db_session=db_session, outbox=outbox, room=room,
                           slots=[(activity.starts_at, activity.ends_at)], purpose=activity.title,
                           actor=actor, now=now, activity_id=activity.id)
    activity.booking_id = booking.id


def _release_booking_of(db_session: Session, outbox: OutboxWriter, activity: Activity,
                        reason: str, now: datetime) -> None:
    if not activity.booking_id:
        return
    booking = db_session.get(RoomBooking, activity.booking_id)
    if booking is not None:
        room = rooms.lock_room(db_session=db_session, center_id=activity.center_id,
                               code=booking.room)
        assert room is not None
        db_session.refresh(booking)
        rooms.release(db_session=db_session, outbox=outbox, booking=booking, room=room,
                      reason=reason, now=now)
        db_session.flush()
    activity.booking_id = None


def create_activity(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                    data: dict[str, Any], actor: Actor, now: datetime | None = None) -> Activity:
    """Publish an activity (or keep it a draft): in one of the center's rooms, which it
    books for its time, or at a place."""
    now = now or now_utc()
    data = dict(data)
    publish = data.pop("publish", True)
    if data["starts_at"] <= now:
        raise InvalidInput(fields={"starts_at": ["开始时间须晚于现在"]})
    _require_programme(db_session, center_id, data.get("programme"))
    activity = Activity(id=str(uuid.uuid4()), center_id=center_id,
                        state="published" if publish else "draft", created_at=now,
                        created_by=actor.id, walk_ins=0, sequence=0, lock_version=0, **data)
    db_session.add(activity)
    if activity.room:
        _book_for(db_session, outbox, activity, actor, now)
    if publish:
        outbox.add(ACTIVITY_PUBLISHED, center_id=center_id, subject=activity.id,
                   data=_published_data(db_session, activity))
    return activity


def publish_activity(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                     activity_id: str, actor: Actor, now: datetime | None = None) -> Activity:
    """Publish a draft: residents see it and may register."""
    now = now or now_utc()
    activity = lock_activity(db_session=db_session, center_id=center_id, activity_id=activity_id,
                             actor=actor)
    if activity.state != "draft":
        raise ActivityStateConflict(f"活动{STATE_NAMES[activity.state]}，不是草稿")
    if activity.starts_at <= now:
        raise ActivityStateConflict("活动开始时间已过，请先修改时间再发布")
    activity.state, activity.updated_at = "published", now
    outbox.add(ACTIVITY_PUBLISHED, center_id=center_id, subject=activity.id,
               data=_published_data(db_session, activity))
    return activity


def update_activity(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                    activity_id: str, changes: dict[str, Any], actor: Actor,
                    now: datetime | None = None) -> Activity:
    """Change an activity; its room is re-booked if the room or time moves, and everyone
    registered or waitlisted is told of a new title, time, place or capacity."""
    now = now or now_utc()
    activity = lock_activity(db_session=db_session, center_id=center_id, activity_id=activity_id,
                             actor=actor)
    if activity.state not in ("draft", "published"):
        raise ActivityStateConflict(f"活动{STATE_NAMES[activity.state]}，不能修改")
    if activity.ends_at <= now:
        raise ActivityStateConflict("活动已结束，不能修改")
    merged = {key: getattr(activity, key) for key in EDITABLE} | changes
    try:
        check_activity(merged)
    except ValidationError as exc:
        raise invalid(exc) from None
    changed = [key for key in EDITABLE if key in changes and changes[key] != getattr(activity, key)]
    if not changed:
        return activity
    if "starts_at" in changed and merged["starts_at"] <= now:
        raise InvalidInput(fields={"starts_at": ["开始时间须晚于现在"]})
    if "programme" in changed:
        _require_programme(db_session, center_id, merged["programme"])
    if "capacity" in changed:
        taken = _counts(db_session, [activity.id])[activity.id]["confirmed"]
        if merged["capacity"] < taken:
            raise CapacityConflict(f"已有 {taken} 人获得名额，容量不能少于 {taken}",
                                   fields={"capacity": [f"不能少于 {taken}"]})
    moved = any(key in changed for key in ("room", "starts_at", "ends_at"))
    if moved:
        # Both rooms locked in one order, so two activities swapping rooms cannot deadlock.
        for code in sorted({activity.room, merged["room"]} - {None}):
            rooms.lock_room(db_session=db_session, center_id=center_id, code=code)
        _release_booking_of(db_session, outbox, activity, "活动改期或更换场地", now)
    for key in changed:
        setattr(activity, key, merged[key])
    if activity.room and moved:
        _book_for(db_session, outbox, activity, actor, now)
    elif activity.room and "capacity" in changed:
        room = db_session.get(Room, (center_id, activity.room))
        if room is not None and activity.capacity > room.capacity:
            raise InvalidInput(fields={"capacity": [f"超过功能室容量（{room.capacity} 人）"]})
    if "title" in changed and activity.booking_id and not moved:
        booking = db_session.get(RoomBooking, activity.booking_id)
        if booking is not None:
            booking.purpose = activity.title
    activity.updated_at = now
    notable = [key for key in NOTABLE if key in changed]
    if notable:
        activity.sequence += 1
    if activity.state == "published" and notable:
        place = place_of(db_session, activity)
        outbox.add(ACTIVITY_CHANGED, center_id=center_id, subject=activity.id, data={
            "activity_id": activity.id, "title": activity.title, "starts_at": activity.starts_at,
            "ends_at": activity.ends_at, "place": place, "changes": notable,
            "person_ids": _person_ids(_active_registrations(db_session, activity.id)),
            "room": activity.room, "capacity": activity.capacity})
    if activity.state == "published":
        _promote(db_session, outbox, activity, now)
    return activity


def cancel_activity(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                    activity_id: str, reason: str, actor: Actor,
                    now: datetime | None = None) -> Activity:
    """Cancel an activity: its registrations are cancelled, its room released, and everyone
    registered or waitlisted told."""
    now = now or now_utc()
    activity = lock_activity(db_session=db_session, center_id=center_id, activity_id=activity_id,
                             actor=actor)
    if activity.state not in ("draft", "published"):
        raise ActivityStateConflict(f"活动{STATE_NAMES[activity.state]}")
    if activity.ends_at <= now:
        raise ActivityStateConflict("活动已结束，不能取消")
    was_published = activity.state == "published"
    registrations = _active_registrations(db_session, activity.id)
    place = place_of(db_session, activity)
    for registration in registrations:
        registration.state, registration.cancelled_at = "cancelled", now
        registration.reason = reason
        outbox.add(REGISTRATION_CANCELLED, center_id=center_id, subject=registration.id,
                   data=_fact(activity, registration, place) | {"reason": reason, "by": "activity"})
    _release_booking_of(db_session, outbox, activity, "活动取消", now)
    activity.state, activity.cancel_reason, activity.updated_at = "cancelled", reason, now
    activity.sequence += 1
    if was_published:
        outbox.add(ACTIVITY_CANCELLED, center_id=center_id, subject=activity.id, data={
            "activity_id": activity.id, "title": activity.title, "starts_at": activity.starts_at,
            "reason": reason, "person_ids": _person_ids(registrations), "place": place})
    return activity


def record_activities(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                      items: list[dict[str, Any]], actor: Actor,
                      now: datetime | None = None) -> list[Activity]:
    """Record activities already held, with the attendance of their sign-in sheets (补录)."""
    now = now or now_utc()
    known_rooms = {r.code: r for r in rooms.list_rooms(db_session=db_session, center_id=center_id)}
    known_programmes = {p.code for p in list_programmes(db_session=db_session, center_id=center_id)}
    errors: dict[int, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        problems: dict[str, list[str]] = {}
        if item["ends_at"] > now:
            problems["ends_at"] = ["只能补录已结束的活动"]
        if item.get("programme") and item["programme"] not in known_programmes:
            problems["programme"] = ["该服务中心没有此项目"]
        room = known_rooms.get(item.get("room") or "")
        if item.get("room") and room is None:
            problems["room"] = ["该服务中心没有此功能室"]
        elif room is not None and item["attendance"] > room.capacity:
            problems["attendance"] = [f"超过功能室容量（{room.capacity} 人）"]
        if problems:
            errors[index] = problems
    if errors:
        raise InvalidInput(fields={"items": errors})
    recorded = []
    for item in items:
        data = dict(item)
        attendance = data.pop("attendance")
        activity = Activity(id=str(uuid.uuid4()), center_id=center_id, state="completed",
                            created_at=now, created_by=actor.id, capacity=attendance,
                            walk_ins=attendance, sequence=0, lock_version=0, **data)
        db_session.add(activity)
        recorded.append(activity)
        outbox.add(ATTENDANCE_RECORDED, center_id=center_id, subject=activity.id, data={
            "activity_id": activity.id, "programme": activity.programme,
            "audience": activity.audience, "title": activity.title,
            "starts_at": activity.starts_at, "person_times": attendance, "source": "record"})
    return recorded


# -- registrations ---------------------------------------------------------------------------

def _fact(activity: Activity, registration: Registration, place: str) -> dict[str, Any]:
    """What registration.* events say: enough for notify's confirmation and reminder."""
    return {"registration_id": registration.id, "activity_id": activity.id,
            "person_id": registration.person_id, "party_size": registration.party_size,
            "activity_title": activity.title, "starts_at": activity.starts_at, "place": place,
            "ends_at": activity.ends_at, "room": activity.room}


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def _standing(db_session: Session, activity_id: str, person_id: str,
              code: str) -> tuple[int, str | None, bool]:
    """In one query: places taken, the person's active registration state (if any), and
    whether ``code`` is in use for the activity."""
    active = and_(Registration.person_id == person_id,
                  Registration.state.in_(ACTIVE_REGISTRATION))
    taken, state, code_used = db_session.execute(select(
        func.coalesce(func.sum(case((Registration.state == "confirmed", Registration.party_size),
                                    else_=0)), 0),
        func.max(case((active, Registration.state), else_=None)),
        func.count(case((Registration.code == code, 1), else_=None)),
    ).where(Registration.activity_id == activity_id)).one()
    return int(taken or 0), state, bool(code_used)


def _require_open(activity: Activity, now: datetime) -> None:
    if activity.state != "published":
        raise ActivityStateConflict(f"活动{STATE_NAMES[activity.state]}，不能报名")
    if activity.registration_opens_at and now < activity.registration_opens_at:
        raise RegistrationClosed(
            f"报名尚未开始（{local(activity.registration_opens_at):%Y-%m-%d %H:%M} 开始）")
    if now >= activity.closes_at:
        raise RegistrationClosed("报名已截止")


def _places_taken(db_session: Session, activity_id: str) -> int:
    return int(db_session.scalar(select(func.coalesce(func.sum(Registration.party_size), 0)).where(
        Registration.activity_id == activity_id, Registration.state == "confirmed")) or 0)


def register(*, db_session: Session, outbox: OutboxWriter, center_id: str, activity_id: str,
             data: dict[str, Any], actor: Actor, now: datetime | None = None) -> Registration:
    """Register a resident (and the family members they bring) for an activity: a place if
    there is room, the waitlist if not, or staff's approval first where the activity needs it."""
    now = now or now_utc()
    if actor.is_staff:
        person_id = data.get("person_id")
        if not person_id:
            raise InvalidInput(fields={"person_id": ["工作人员代为报名时须指定居民"]})
    else:
        person_id = actor.id
        if data.get("person_id") not in (None, actor.id):
            raise Forbidden("居民只能为本人及家人报名", code="ROLE_FORBIDDEN")
    activity = lock_activity(db_session=db_session, center_id=center_id, activity_id=activity_id,
                             actor=actor)
    _require_open(activity, now)
    party_size = 1 + len(data.get("members") or [])
    if party_size > activity.max_party_size:
        raise InvalidInput(fields={"members": [f"每份报名最多 {activity.max_party_size} 人（含本人）"]})
    if party_size > activity.capacity:
        raise InvalidInput(fields={"members": [f"超过活动容量（{activity.capacity} 人）"]})
    code_used = True
    while code_used:  # the activity is locked: a code free now is free at commit
        code = _new_code()
        taken, existing, code_used = _standing(db_session, activity.id, person_id, code)
    if existing is not None:
        raise AlreadyRegistered(f"已报名该活动（{STATE_NAMES[existing]}），请勿重复报名")
    if activity.needs_approval and not actor.is_staff:
        state = "pending"
    elif taken + party_size <= activity.capacity:
        state = "confirmed"
    else:
        state = "waitlisted"
    registration = Registration(
        id=str(uuid.uuid4()), center_id=center_id, activity_id=activity.id, person_id=person_id,
        members=list(data.get("members") or []), party_size=party_size, state=state,
        code=code, note=data.get("note") or "",
        registered_by=actor.id, created_at=now, seq=activity.lock_version, attended=0,
        confirmed_at=now if state == "confirmed" else None)
    db_session.add(registration)
    try:
        db_session.flush()
    except IntegrityError:  # the caller's transaction rolls back with the error
        raise AlreadyRegistered() from None
    etype = {"confirmed": REGISTRATION_CONFIRMED, "waitlisted": REGISTRATION_WAITLISTED,
             "pending": REGISTRATION_PENDING}[state]
    outbox.add(etype, center_id=center_id, subject=registration.id,
               data=_fact(activity, registration, place_of(db_session, activity)))
    return registration


def get_registration(*, db_session: Session, center_id: str, registration_id: str,
                     actor: Actor) -> Registration:
    """A registration its registrant or staff may see, or :class:`RegistrationNotFound`."""
    registration = db_session.get(Registration, registration_id)
    if registration is None or registration.center_id != center_id or (
            not actor.is_staff and registration.person_id != actor.id):
        raise RegistrationNotFound()
    return registration


def _locked_registration(db_session: Session, center_id: str, registration_id: str,
                         actor: Actor) -> tuple[Registration, Activity]:
    registration = get_registration(db_session=db_session, center_id=center_id,
                                    registration_id=registration_id, actor=actor)
    activity = lock_activity(db_session=db_session, center_id=center_id,
                             activity_id=registration.activity_id, actor=Actor(actor.id, "staff"))
    db_session.refresh(registration)
    return registration, activity


def _promote(db_session: Session, outbox: OutboxWriter, activity: Activity,
             now: datetime) -> list[Registration]:
    """Give freed places to the waitlist in order of registration. A party too large for
    the places left waits while smaller parties behind it are promoted."""
    if activity.state != "published" or activity.starts_at <= now:
        return []
    free = activity.capacity - _places_taken(db_session, activity.id)
    promoted = []
    if free <= 0:
        return promoted
    waiting = db_session.scalars(select(Registration).where(
        Registration.activity_id == activity.id, Registration.state == "waitlisted",
    ).order_by(Registration.seq))
    place = None
    for registration in waiting:
        if registration.party_size > free:
            continue
        registration.state, registration.confirmed_at = "confirmed", now
        free -= registration.party_size
        place = place or place_of(db_session, activity)
        outbox.add(REGISTRATION_PROMOTED, center_id=activity.center_id, subject=registration.id,
                   data=_fact(activity, registration, place))
        promoted.append(registration)
        if free <= 0:
            break
    db_session.flush()
    return promoted


def cancel_registration(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                        registration_id: str, actor: Actor, reason: str | None = None,
                        now: datetime | None = None) -> Registration:
    """Cancel a registration (the resident's own, or any by staff); the places it held go
    to the waitlist."""
    now = now or now_utc()
    registration, activity = _locked_registration(db_session, center_id, registration_id, actor)
    if registration.state not in ACTIVE_REGISTRATION:
        raise RegistrationStateConflict(f"该报名{STATE_NAMES[registration.state]}")
    if registration.checked_in_at is not None:
        raise RegistrationStateConflict("已签到的报名不能取消")
    if activity.starts_at <= now and not actor.is_staff:
        raise RegistrationStateConflict("活动已开始，不能取消报名")
    held_places = registration.state == "confirmed"
    registration.state, registration.cancelled_at, registration.reason = "cancelled", now, reason
    db_session.flush()
    outbox.add(REGISTRATION_CANCELLED, center_id=center_id, subject=registration.id,
               data=_fact(activity, registration, place_of(db_session, activity))
               | {"reason": reason, "by": "staff" if actor.is_staff else "resident"})
    if held_places:
        _promote(db_session, outbox, activity, now)
    return registration


def decide_registration(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                        registration_id: str, actor: Actor, approve: bool,
                        reason: str | None = None, now: datetime | None = None) -> Registration:
    """Staff approve a pending registration (a place, or the waitlist if full) or decline it."""
    now = now or now_utc()
    registration, activity = _locked_registration(db_session, center_id, registration_id, actor)
    if registration.state != "pending":
        raise RegistrationStateConflict(f"该报名{STATE_NAMES[registration.state]}，无需审核")
    if activity.state != "published" or activity.starts_at <= now:
        raise ActivityStateConflict("活动已开始或已取消，不能再审核报名")
    registration.decided_by = actor.id
    place = place_of(db_session, activity)
    if not approve:
        registration.state, registration.reason, registration.cancelled_at = "rejected", reason, now
        outbox.add(REGISTRATION_REJECTED, center_id=center_id, subject=registration.id,
                   data=_fact(activity, registration, place) | {"reason": reason})
        return registration
    if _places_taken(db_session, activity.id) + registration.party_size <= activity.capacity:
        registration.state, registration.confirmed_at = "confirmed", now
        etype = REGISTRATION_CONFIRMED
    else:
        registration.state = "waitlisted"
        etype = REGISTRATION_WAITLISTED
    outbox.add(etype, center_id=center_id, subject=registration.id,
               data=_fact(activity, registration, place))
    return registration


def list_registrations(*, db_session: Session, center_id: str, query: dict[str, Any],
                       actor: Actor) -> tuple[list[Registration], int]:
    """Registrations in order of arrival: staff see all (of an activity or a person),
    residents only their own."""
    where = [Registration.center_id == center_id]
    if actor.is_staff:
        if query.get("person_id"):
            where.append(Registration.person_id == query["person_id"])
    else:
        where.append(Registration.person_id == actor.id)
    if query.get("activity_id"):
        get_activity(db_session=db_session, center_id=center_id,
                     activity_id=query["activity_id"], actor=actor)
        where.append(Registration.activity_id == query["activity_id"])
    if query.get("state"):
        where.append(Registration.state == query["state"])
    # One activity's in order of arrival; a person's across activities by time.
    order = ((Registration.seq,) if query.get("activity_id")
             else (Registration.created_at, Registration.id))
    total = db_session.scalar(select(func.count()).select_from(Registration).where(*where)) or 0
    items = db_session.scalars(select(Registration).where(*where).order_by(*order)
                               .limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total


def registration_views(*, db_session: Session,
                       registrations: list[Registration]) -> list[dict[str, Any]]:
    """Registrations as RegistrationRead dicts, with waitlist positions."""
    waiting = {r.activity_id for r in registrations if r.state == "waitlisted"}
    positions: dict[str, int] = {}
    for activity_id in waiting:
        queue = db_session.scalars(select(Registration.id).where(
            Registration.activity_id == activity_id, Registration.state == "waitlisted",
        ).order_by(Registration.seq))
        positions.update({rid: n for n, rid in enumerate(queue, start=1)})
    return [as_dict(r, position=positions.get(r.id)) for r in registrations]


# -- at the door -----------------------------------------------------------------------------

def _require_door_open(activity: Activity, now: datetime) -> None:
    if activity.state != "published":
        raise ActivityStateConflict(f"活动{STATE_NAMES[activity.state]}，不能签到")
    if not activity.starts_at - CHECK_IN_MARGIN <= now <= activity.ends_at + CHECK_IN_MARGIN:
        raise CheckInClosed()


def check_in(*, db_session: Session, outbox: OutboxWriter, center_id: str, activity_id: str,
             data: dict[str, Any], actor: Actor, now: datetime | None = None) -> Registration:
    """Check a confirmed registration in at the door, by its id or the registrant's code;
    ``attended`` of its party count as person-times."""
    now = now or now_utc()
    activity = get_activity(db_session=db_session, center_id=center_id, activity_id=activity_id,
                            actor=Actor(actor.id, "staff"))
    _require_door_open(activity, now)
    where = [Registration.activity_id == activity.id]
    if data.get("registration_id"):
        where.append(Registration.id == data["registration_id"])
    else:
        where.append(Registration.code == data["code"])
    registration = db_session.scalar(select(Registration).where(*where))
    if registration is None:
        raise RegistrationNotFound("签到码无效" if data.get("code") else "该活动没有这条报名记录")
    if registration.state != "confirmed":
        raise RegistrationStateConflict(f"该报名{STATE_NAMES[registration.state]}，不能签到")
    attended = data.get("attended") or registration.party_size
    if attended > registration.party_size:
        raise InvalidInput(fields={"attended": [f"不能多于报名人数（{registration.party_size} 人）"]})
    marked = db_session.execute(
        update(Registration).where(Registration.id == registration.id,
                                   Registration.checked_in_at.is_(None))
        .values(checked_in_at=now, checked_in_by=actor.id, attended=attended))
    if marked.rowcount == 0:
        raise AlreadyCheckedIn()
    outbox.add(CHECKED_IN, center_id=center_id, subject=registration.id,
               data=_fact(activity, registration, place_of(db_session, activity))
               | {"person_times": attended})
    return registration


def record_walk_ins(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                    activity_id: str, count: int, actor: Actor,
                    now: datetime | None = None) -> Activity:
    """Count people who came without registering (person-times)."""
    now = now or now_utc()
    activity = get_activity(db_session=db_session, center_id=center_id, activity_id=activity_id,
                            actor=Actor(actor.id, "staff"))
    _require_door_open(activity, now)
    db_session.execute(update(Activity).where(Activity.id == activity.id)
                       .values(walk_ins=Activity.walk_ins + count)
                       .execution_options(synchronize_session=False))
    db_session.refresh(activity)
    outbox.add(ATTENDANCE_RECORDED, center_id=center_id, subject=activity.id, data={
        "activity_id": activity.id, "programme": activity.programme, "audience": activity.audience,
        "title": activity.title, "starts_at": activity.starts_at, "person_times": count,
        "source": "walk_in"})
    return activity
