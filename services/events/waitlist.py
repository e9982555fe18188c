"""An activity's places: who holds them, who waits for them, and who gets a freed place.

Callers hold the activity's lock (:func:`services.events.activities.lock_activity`) while
they count and change places.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.contracts.events.events import REGISTRATION_PROMOTED
from lianxin.outbox import OutboxWriter
from services.events.models import ACTIVE_REGISTRATION, Activity, Registration
from services.events.rooms import place_of


def fact(activity: Activity, registration: Registration, place: str) -> dict[str, Any]:
    """What registration.* events say: enough for notify's confirmation and reminder."""
    return {
        "registration_id": registration.id,
        "activity_id": activity.id,
        "person_id": registration.person_id,
        "party_size": registration.party_size,
        "activity_title": activity.title,
        "starts_at": activity.starts_at,
        "place": place,
        "ends_at": activity.ends_at,
        "room": activity.room,
    }


def active_registrations(db_session: Session, activity_id: str) -> list[Registration]:
    """The registrations holding or waiting for a place, in order of arrival."""
    return list(
        db_session.scalars(
            select(Registration)
            .where(
                Registration.activity_id == activity_id,
                Registration.state.in_(ACTIVE_REGISTRATION),
            )
            .order_by(Registration.seq)
        )
    )


def person_ids(registrations: list[Registration]) -> list[str]:
    """The registrants, each once, in order."""
    return list(dict.fromkeys(r.person_id for r in registrations))


def places_taken(db_session: Session, activity_id: str) -> int:
    """People holding places (registrants and their family members)."""
    return int(
        db_session.scalar(
            select(func.coalesce(func.sum(Registration.party_size), 0)).where(
                Registration.activity_id == activity_id, Registration.state == "confirmed"
            )
        )
        or 0
    )


def promote(
    db_session: Session, outbox: OutboxWriter, activity: Activity, now: datetime
) -> list[Registration]:
    """Give freed places to the waitlist in order of registration. A party too large for
    the places left waits while smaller parties behind it are promoted."""
    if activity.state != "published" or activity.starts_at <= now:
        return []
    free = activity.capacity - places_taken(db_session, activity.id)
    promoted: list[Registration] = []
    if free <= 0:
        return promoted
    waiting = db_session.scalars(
        select(Registration)
        .where(
            Registration.activity_id == activity.id,
            Registration.state == "waitlisted",
        )
        .order_by(Registration.seq)
    )
    place = None
    for registration in waiting:
        if registration.party_size > free:
            continue
        registration.state, registration.confirmed_at = "confirmed", now
        free -= registration.party_size
        place = place or place_of(db_session, activity)
        outbox.add(
            REGISTRATION_PROMOTED,
            center_id=activity.center_id,
            subject=registration.id,
            data=fact(activity, registration, place),
        )
        promoted.append(registration)
        if free <= 0:
            break
    db_session.flush()
    return promoted
