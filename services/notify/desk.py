"""Tickets resolved at the desk (当场办结), as notify remembers them: their party handled
nothing, so it is told nothing of them. ticket.created and ticket.resolved say so
(``on_the_spot``); ticket.rated does not, so a rating of such a ticket is planned with
``on_the_spot`` added from here — until the ticket is reopened, when its party takes it on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from lianxin.contracts.tickets import events as tk
from services.notify.models import DeskTicket, insert_ignore
from services.notify.plans import Event

#: The events that say a ticket was resolved at the desk (with ``on_the_spot``).
SAYS_ON_THE_SPOT = (tk.TICKET_CREATED, tk.TICKET_RESOLVED)

Key = tuple[str, str]


@dataclass
class DeskChanges:
    """What a batch of events teaches: tickets resolved at the desk, and ones reopened."""

    resolved: set[Key] = field(default_factory=set)
    reopened: set[Key] = field(default_factory=set)


def _key(event: Event) -> Key:
    return event["centerid"], event["data"]["ticket_id"]


def for_planning(
    *, db_session: Session, events: Sequence[Event]
) -> tuple[list[Event], DeskChanges]:
    """The events as planning reads them — the rating of a ticket resolved at the desk says
    ``on_the_spot`` — and what to :func:`remember` once the batch's deliveries are written.
    Reads the table only for a batch holding a rating."""
    rated = {_key(e) for e in events if e["type"] == tk.TICKET_RATED}
    desk: set[Key] = set()
    if rated:
        desk = set(
            db_session.execute(
                select(DeskTicket.center_id, DeskTicket.ticket_id).where(
                    tuple_(DeskTicket.center_id, DeskTicket.ticket_id).in_(sorted(rated))
                )
            ).tuples()
        )
    changes = DeskChanges()
    planning = []
    for event in events:
        etype = event["type"]
        if etype in SAYS_ON_THE_SPOT and event["data"].get("on_the_spot"):
            desk.add(_key(event))
            changes.resolved.add(_key(event))
        elif etype == tk.TICKET_REOPENED:
            desk.discard(_key(event))
            changes.resolved.discard(_key(event))
            changes.reopened.add(_key(event))
        elif etype == tk.TICKET_RATED and _key(event) in desk:
            event = {**event, "data": {**event["data"], "on_the_spot": True}}
        planning.append(event)
    return planning, changes


def remember(*, db_session: Session, changes: DeskChanges, now: datetime) -> None:
    """Record what a batch taught (nothing is written for a batch that taught nothing)."""
    if changes.reopened:
        db_session.execute(
            delete(DeskTicket).where(
                tuple_(DeskTicket.center_id, DeskTicket.ticket_id).in_(sorted(changes.reopened))
            )
        )
    if changes.resolved:
        rows = [
            {"center_id": c, "ticket_id": t, "resolved_at": now}
            for c, t in sorted(changes.resolved)
        ]
        insert_ignore(db_session, DeskTicket, rows, ["center_id", "ticket_id"])
