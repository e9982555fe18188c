"""The vocabulary of planning who is told what: a :class:`Plan` of :class:`Message` s to
recipients and :class:`Reminder` s to schedule, move or withdraw (see
:mod:`services.notify.planner`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: A validated event envelope, its ``data`` loaded by its contract (what the kit hands over).
Event = dict[str, Any]
#: An event's ``data``, as its contract in the catalogue loads it.
EventData = dict[str, Any]


@dataclass
class Message:
    """One message type to some recipients, with its template variables."""

    message_type: str
    context: dict[str, Any]
    persons: list[str] = field(default_factory=list)
    #: Roles of the center (from the directory), e.g. ("staff",).
    roles: tuple[str, ...] = ()
    #: The party whose handlers (directory entries with that ``party``) are told.
    party: str | None = None
    #: When nobody resolves, the message goes to this role's shared inbox (never dropped).
    fallback_role: str | None = None
    #: Who is not told (the actor who caused the event).
    exclude: tuple[str, ...] = ()
    ref_type: str | None = None
    ref_id: str | None = None


@dataclass
class Reminder:
    key: str
    person_id: str
    kind: str
    send_at: datetime
    data: dict[str, Any]


@dataclass
class Plan:
    messages: list[Message] = field(default_factory=list)
    schedule: list[Reminder] = field(default_factory=list)
    #: Move these reminders if they exist (never create them).
    reschedule: list[Reminder] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)


def iso(value: Any) -> Any:
    """A time as ISO 8601 text (what a scheduled message keeps); anything else as it is."""
    return value.isoformat() if isinstance(value, datetime) else value
