"""A ticket's state machine and its timeline: which action may start from which state, the
audit line every change writes, and what every ticket event after ``created`` carries.

The actions themselves are in :mod:`services.tickets.workflow` (and escalation, in
:mod:`services.tickets.meetings`); the SLA timer writes its lines here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from lianxin.contracts.tickets.operations import ACTION_NAMES, STATE_NAMES, TRANSITIONS
from lianxin.privacy import FREE_TEXT_FIELDS, mask
from lianxin.roles import Principal
from services.tickets.exceptions import InvalidTransition
from services.tickets.models import Ticket, TicketLog

#: How much of the description an event (and a likely repeat) shows.
SUMMARY_LENGTH = 60


def summary(description: str) -> str:
    """The start of a description, as events and likely repeats show it: phone and ID
    numbers masked (138****5678) — events go to every department subscriber. Masked before
    it is cut, so that no number is cut into a piece the mask no longer recognises."""
    return mask(description)[:SUMMARY_LENGTH]


def record(
    db_session: Session,
    ticket: Ticket,
    action: str,
    from_state: str | None,
    to_state: str,
    actor: Principal,
    reason: str | None,
    now: datetime,
    party: str | None = None,
) -> None:
    """One line of the ticket's timeline."""
    db_session.add(
        TicketLog(
            center_id=ticket.center_id,
            ticket_id=ticket.id,
            action=action,
            from_state=from_state,
            to_state=to_state,
            actor_id=actor.id,
            actor_role=actor.role,
            reason=reason,
            party=party,
            at=now,
        )
    )


def check(ticket: Ticket, action: str) -> None:
    """:class:`InvalidTransition` unless the ticket's state allows ``action``."""
    if ticket.state not in TRANSITIONS[action]:
        raise InvalidTransition(
            f"工单当前为「{STATE_NAMES.get(ticket.state, ticket.state)}」，不能{ACTION_NAMES[action]}",
            extra={"state": ticket.state, "action": action},
        )


def move(
    db_session: Session,
    ticket: Ticket,
    action: str,
    to_state: str,
    actor: Principal,
    now: datetime,
    reason: str | None = None,
    party: str | None = None,
) -> str:
    """Apply a checked transition: state, next deadline, audit line. Returns the old state."""
    check(ticket, action)
    before = ticket.state
    ticket.state = to_state
    ticket.updated_at = now
    if to_state in ("resolved", "closed", "merged"):
        ticket.due_at = None
    elif to_state == "reported":
        ticket.due_at = ticket.ack_due_at
    else:
        ticket.due_at = ticket.resolve_due_at
    record(db_session, ticket, action, before, to_state, actor, reason, now, party)
    return before


class Announced(Protocol):
    """What a ticket event is made from: a stored ticket, or a new one being stored."""

    @property
    def id(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def party(self) -> str: ...
    @property
    def reporter_id(self) -> str | None: ...
    @property
    def supporter_ids(self) -> Sequence[str]: ...


def fact(ticket: Announced, actor: Principal, **extra: Any) -> dict[str, Any]:
    """What every ticket event after ``created`` carries, and ``extra``: its supporters are
    told of its progress as its reporter is. Free text in ``extra`` (a return's or a
    reopening's ``reason``, an ``answer``, an urging ``note``) goes out masked, as a
    summary does."""
    for key in FREE_TEXT_FIELDS.intersection(extra):
        if isinstance(extra[key], str):
            extra[key] = mask(extra[key])
    return {
        "ticket_id": ticket.id,
        "category": ticket.category,
        "party": ticket.party,
        "actor_id": actor.id,
        "person_id": ticket.reporter_id,
        "supporter_ids": list(ticket.supporter_ids or ()),
        **extra,
    }
