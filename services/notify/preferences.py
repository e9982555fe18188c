"""How each person wants to be told: channels or mute per message type, and quiet hours
(Asia/Shanghai) when push messages wait — critical ones never do."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.clock import SHANGHAI, now_utc
from lianxin.contracts.notify.operations import PUSH_CHANNELS, PreferenceChoice, QuietWindow
from lianxin.errors import InvalidInput
from services.notify import messages
from services.notify.cache import touch
from services.notify.directory import ADDRESS
from services.notify.models import Preference, QuietHours
from services.notify.settings import Settings
from services.notify.templates import require_type

#: The message type of a preference that applies to every type.
ALL_TYPES = "*"


def _parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now: datetime, start: str, end: str) -> datetime | None:
    """When the quiet window ``start``–``end`` (Asia/Shanghai) around ``now`` ends; None if not in it."""
    local = now.astimezone(SHANGHAI)
    t, s, e = local.time(), _parse_hhmm(start), _parse_hhmm(end)
    if s < e:
        inside, day = s <= t < e, local.date()
    else:  # overnight, e.g. 22:00–07:00
        inside = t >= s or t < e
        day = local.date() + timedelta(days=1) if t >= s else local.date()
    if not inside:
        return None
    return datetime.combine(day, e, SHANGHAI).astimezone(UTC)


def get_quiet_hours(
    *, db_session: Session, center_id: str, person_id: str, settings: Settings
) -> dict[str, Any]:
    """A person's quiet hours: their own, else the service's default."""
    own = db_session.get(QuietHours, (center_id, person_id))
    if own is None:
        return {
            "start": settings.quiet_start or "22:00",
            "end": settings.quiet_end or "07:00",
            "enabled": bool(settings.quiet_start),
            "timezone": "Asia/Shanghai",
        }
    return {"start": own.start, "end": own.end, "enabled": own.enabled, "timezone": "Asia/Shanghai"}


def set_quiet_hours(
    *, db_session: Session, center_id: str, person_id: str, data: QuietWindow
) -> QuietHours:
    """Set a person's own quiet hours."""
    own = db_session.get(QuietHours, (center_id, person_id))
    if own is None:
        own = QuietHours(center_id=center_id, person_id=person_id)
        db_session.add(own)
    own.start, own.end, own.enabled, own.updated_at = data.start, data.end, data.enabled, now_utc()
    touch(db_session, center_id)
    return own


def get_preferences(
    *, db_session: Session, center_id: str, person_id: str, settings: Settings
) -> dict[str, Any]:
    """A person's settings: quiet hours, and per message type channels and mute."""
    own = {
        p.message_type: p
        for p in db_session.scalars(
            select(Preference).where(
                Preference.center_id == center_id, Preference.person_id == person_id
            )
        )
    }
    items = []
    for code in (ALL_TYPES, *messages.TYPES):
        p = own.get(code)
        mt = messages.get(code)
        items.append(
            {
                "message_type": code,
                "channels": p.channels if p else None,
                "muted": bool(p and p.muted) and not (mt and mt.critical),
                "critical": bool(mt and mt.critical),
            }
        )
    return {
        "person_id": person_id,
        "items": items,
        "quiet_hours": get_quiet_hours(
            db_session=db_session, center_id=center_id, person_id=person_id, settings=settings
        ),
    }


def set_preference(
    *,
    db_session: Session,
    center_id: str,
    person_id: str,
    message_type: str,
    data: PreferenceChoice,
) -> Preference:
    """Set how a person wants one message type (or every type, ``*``)."""
    if message_type != ALL_TYPES:
        mt = require_type(message_type)
        if mt.critical and data.muted:
            raise InvalidInput("紧急类消息不能屏蔽", fields={"muted": ["紧急类消息不能屏蔽"]})
    own = db_session.get(Preference, (center_id, person_id, message_type))
    if own is None:
        own = Preference(center_id=center_id, person_id=person_id, message_type=message_type)
        db_session.add(own)
    channels = data.channels
    own.channels = list(dict.fromkeys(channels)) if channels is not None else None
    own.muted, own.updated_at = bool(data.muted), now_utc()
    touch(db_session, center_id)
    return own


def choose_channels(mt: messages.MessageType, contact: Any | None, pref: Any | None) -> list[str]:
    """The push channels a message takes to a person (in-app is always added); ``contact`` and
    ``pref`` are a :class:`Contact` / :class:`Preference` or rows with the same fields."""
    if contact is None:
        return []
    reachable = [c for c in PUSH_CHANNELS if getattr(contact, ADDRESS[c])]
    if mt.critical:  # never muted: the person's channels and every default one
        wanted = dict.fromkeys([*(pref.channels or [] if pref else []), *mt.channels])
        return [c for c in wanted if c in reachable]
    if pref is not None and pref.muted:
        return []
    if pref is not None and pref.channels is not None:
        return [c for c in pref.channels if c in reachable]
    candidates = [c for c in mt.channels if c in reachable]
    return candidates[:1] if mt.first_only else candidates
