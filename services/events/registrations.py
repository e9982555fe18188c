"""Registrations: places, family members, the waitlist, approval and cancellation.

A registration is made, decided and cancelled with its activity locked
(:func:`services.events.activities.lock_activity`), so places are never given twice.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.clock import local_text, now_utc
from lianxin.contracts.events import operations as ops
from lianxin.contracts.events.events import (
    REGISTRATION_CANCELLED,
    REGISTRATION_CONFIRMED,
    REGISTRATION_PENDING,
    REGISTRATION_REJECTED,
    REGISTRATION_WAITLISTED,
)
from lianxin.contracts.events.operations import NewRegistration, RegistrationFilter
from lianxin.errors import InvalidInput
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.events import waitlist
from services.events.activities import get_activity, lock_activity
from services.events.exceptions import (
    ActivityStateConflict,
    AlreadyRegistered,
    RegistrationClosed,
    RegistrationNotFound,
    RegistrationStateConflict,
)
from services.events.models import ACTIVE_REGISTRATION, STATE_NAMES, Activity, Registration
from services.events.rooms import place_of

CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"
#: The event each initial state announces.
ANNOUNCED = {
    "confirmed": REGISTRATION_CONFIRMED,
    "waitlisted": REGISTRATION_WAITLISTED,
    "pending": REGISTRATION_PENDING,
}


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def _standing(
    db_session: Session, activity_id: str, person_id: str, code: str
) -> tuple[int, str | None, bool]:
    """In one query: places taken, the person's active registration state (if any), and
    whether ``code`` is in use for the activity."""
    active = and_(Registration.person_id == person_id, Registration.state.in_(ACTIVE_REGISTRATION))
    taken, state, code_used = db_session.execute(
        select(
            func.coalesce(
                func.sum(
                    case((Registration.state == "confirmed", Registration.party_size), else_=0)
                ),
                0,
            ),
            func.max(case((active, Registration.state), else_=None)),
            func.count(case((Registration.code == code, 1), else_=None)),
        ).where(Registration.activity_id == activity_id)
    ).one()
    return int(taken or 0), state, bool(code_used)


def _require_open(activity: Activity, now: datetime) -> None:
    if activity.state != "published":
        raise ActivityStateConflict(f"活动{STATE_NAMES[activity.state]}，不能报名")
    if activity.registration_opens_at and now < activity.registration_opens_at:
        raise RegistrationClosed(
            f"报名尚未开始（{local_text(activity.registration_opens_at)} 开始）"
        )
    if now >= activity.closes_at:
        raise RegistrationClosed("报名已截止")


def _registrant(data: NewRegistration, actor: Principal) -> str:
    """Who the registration is for: the resident themselves, or whom staff name."""
    ops.register_for_activity.authorize(actor, data)
    if not actor.is_staff:
        assert actor.id is not None
        return actor.id
    if not data.person_id:
        raise InvalidInput(fields={"person_id": ["工作人员代为报名时须指定居民"]})
    return data.person_id


def register(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    activity_id: str,
    data: NewRegistration,
    actor: Principal,
    now: datetime | None = None,
) -> Registration:
    """Register a resident (and the family members they bring) for an activity: a place if
    there is room, the waitlist if not, or staff's approval first where the activity needs it."""
    now = now or now_utc()
    person_id = _registrant(data, actor)
    activity = lock_activity(
        db_session=db_session, center_id=center_id, activity_id=activity_id, drafts=actor.is_staff
    )
    _require_open(activity, now)
    party_size = 1 + len(data.members)
    if party_size > activity.max_party_size:
        raise InvalidInput(
            fields={"members": [f"每份报名最多 {activity.max_party_size} 人（含本人）"]}
        )
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
        id=str(uuid.uuid4()),
        center_id=center_id,
        activity_id=activity.id,
        person_id=person_id,
        members=list(data.members),
        party_size=party_size,
        state=state,
        code=code,
        note=data.note or "",
        registered_by=actor.id,
        created_at=now,
        seq=activity.lock_version,
        attended=0,
        confirmed_at=now if state == "confirmed" else None,
    )
    db_session.add(registration)
    try:
        db_session.flush()
    except IntegrityError:  # the caller's transaction rolls back with the error
        raise AlreadyRegistered() from None
    outbox.add(
        ANNOUNCED[state],
        center_id=center_id,
        subject=registration.id,
        data=waitlist.fact(activity, registration, place_of(db_session, activity)),
    )
    return registration


def get_registration(
    *, db_session: Session, center_id: str, registration_id: str, actor: Principal
) -> Registration:
    """A registration its registrant or staff may see, or :class:`RegistrationNotFound`
    (another resident's registration is not found, rather than refused)."""
    registration = db_session.get(Registration, registration_id)
    if (
        registration is None
        or registration.center_id != center_id
        or (not actor.is_staff and registration.person_id != actor.id)
    ):
        raise RegistrationNotFound()
    return registration


def _locked_registration(
    db_session: Session, center_id: str, registration_id: str, actor: Principal
) -> tuple[Registration, Activity]:
    registration = get_registration(
        db_session=db_session, center_id=center_id, registration_id=registration_id, actor=actor
    )
    activity = lock_activity(
        db_session=db_session,
        center_id=center_id,
        activity_id=registration.activity_id,
        drafts=True,
    )
    db_session.refresh(registration)
    return registration, activity


def cancel_registration(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    registration_id: str,
    actor: Principal,
    reason: str | None = None,
    now: datetime | None = None,
) -> Registration:
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
    outbox.add(
        REGISTRATION_CANCELLED,
        center_id=center_id,
        subject=registration.id,
        data=waitlist.fact(activity, registration, place_of(db_session, activity))
        | {"reason": reason, "by": "staff" if actor.is_staff else "resident"},
    )
    if held_places:
        waitlist.promote(db_session, outbox, activity, now)
    return registration


def decide_registration(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    registration_id: str,
    actor: Principal,
    approve: bool,
    reason: str | None = None,
    now: datetime | None = None,
) -> Registration:
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
        outbox.add(
            REGISTRATION_REJECTED,
            center_id=center_id,
            subject=registration.id,
            data=waitlist.fact(activity, registration, place) | {"reason": reason},
        )
        return registration
    taken = waitlist.places_taken(db_session, activity.id)
    if taken + registration.party_size <= activity.capacity:
        registration.state, registration.confirmed_at = "confirmed", now
    else:
        registration.state = "waitlisted"
    outbox.add(
        ANNOUNCED[registration.state],
        center_id=center_id,
        subject=registration.id,
        data=waitlist.fact(activity, registration, place),
    )
    return registration


def list_registrations(
    *, db_session: Session, center_id: str, query: RegistrationFilter, actor: Principal
) -> tuple[list[Registration], int]:
    """Registrations in order of arrival: staff see all (of an activity or a person),
    residents only their own."""
    where = [Registration.center_id == center_id]
    person_id, activity_id, state = (
        query.get("person_id"),
        query.get("activity_id"),
        query.get("state"),
    )
    if not actor.is_staff:
        where.append(Registration.person_id == actor.id)
    elif person_id:
        where.append(Registration.person_id == person_id)
    if activity_id:
        get_activity(
            db_session=db_session, center_id=center_id, activity_id=activity_id, actor=actor
        )
        where.append(Registration.activity_id == activity_id)
    if state:
        where.append(Registration.state == state)
    # One activity's in order of arrival; a person's across activities by time.
    order = (Registration.seq,) if activity_id else (Registration.created_at, Registration.id)
    total = db_session.scalar(select(func.count()).select_from(Registration).where(*where)) or 0
    items = db_session.scalars(
        select(Registration)
        .where(*where)
        .order_by(*order)
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return list(items), total
