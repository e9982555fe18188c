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


#: Who a center has alerted beyond those an event names (see
#: :func:`services.notify.directory.resolve_recipients`): its admins (directory role admin),
#: its fallback people (:data:`FALLBACK` as a step of a chain: each of them in order, one
#: step each) and its leadership, the last two from its alerting settings.
ADMINS = "admins"
FALLBACK = "fallback"
LEADERSHIP = "leadership"
#: When nobody on duty can be reached: the admins, then the fallback people one by one.
DUTY_CHAIN = (ADMINS, FALLBACK)


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
    #: Groups of the center's alerting settings told too (:data:`LEADERSHIP`).
    groups: tuple[str, ...] = ()
    #: When none of the recipients can be reached beyond the inbox, the first step of this
    #: chain that reaches someone is told as well (e.g. :data:`DUTY_CHAIN`); when none does,
    #: ``fallback_role``'s shared inbox too.
    chain: tuple[str, ...] = ()
    #: Told once per this key, recipient and channel, whatever the events (the ticket id:
    #: a reporter hears of its dispatch once, however often it is dispatched or redelivered).
    once: str | None = None


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
