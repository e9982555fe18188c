"""Deadlines (SLA): every missed one announced once per level of the center's escalation
ladder, naming who is on duty at that moment; and what is still open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.tickets import events as tickets_events
from lianxin.contracts.tickets.operations import OPEN_STATES
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.tickets.configuration import on_duty
from services.tickets.models import Center, Ticket
from services.tickets.states import fact, record


@dataclass(frozen=True)
class Breach:
    """One announced breach: which center, which deadline (``acknowledge`` or ``resolve``),
    which level."""

    center_id: str
    kind: str
    level: int


def check_sla(
    *, db_session: Session, outbox: OutboxWriter, now: datetime | None = None, limit: int = 500
) -> list[Breach]:
    """Find tickets past a deadline and announce each breach once; returns those announced.

    The acknowledge ladder: level 1 at ``ack_due_at`` (the cadre on duty), level 2 at twice
    the limit (the center admin too), level 3 — where the center set
    ``escalation_level3_factor`` — at that multiple of it (the people the center names);
    each level once, the levels a slow timer skipped announced in order. Resolve: once, at
    ``resolve_due_at``. Rows are locked with SKIP LOCKED and the level reached is stored
    with the events, so replicas never announce one twice.
    """
    now = now or now_utc()
    found: list[Breach] = []
    late_ack = db_session.execute(
        select(Ticket, Center.escalation_level3_factor)
        .join(Center, Center.id == Ticket.center_id)
        .where(
            Ticket.state == "reported",
            Ticket.ack_due_at <= now,
            or_(
                Ticket.ack_breach_level < 2,
                (Ticket.ack_breach_level < 3) & Center.escalation_level3_factor.is_not(None),
            ),
        )
        .order_by(Ticket.ack_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Ticket)
    ).all()
    duty = _RosterNow(db_session, now)
    for ticket, factor in late_ack:
        level = ladder_level(ticket.created_at, ticket.ack_due_at, factor, now)
        for lvl in range(ticket.ack_breach_level + 1, level + 1):
            found.append(_breach(db_session, outbox, ticket, "acknowledge", lvl, duty, now))
        ticket.ack_breach_level = max(level, ticket.ack_breach_level)
    late_resolve = db_session.scalars(
        select(Ticket)
        .where(
            Ticket.due_at.is_not(None),
            Ticket.resolve_breached.is_(False),
            Ticket.resolve_due_at <= now,
            Ticket.state != "reported",
        )
        .order_by(Ticket.resolve_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for ticket in late_resolve:
        found.append(_breach(db_session, outbox, ticket, "resolve", 1, duty, now))
        ticket.resolve_breached = True
    return found


def ladder_level(
    created_at: datetime, ack_due_at: datetime, level3_factor: float | None, now: datetime
) -> int:
    """How far up the acknowledge ladder a ticket reported at ``created_at`` is at ``now``
    (0: within its limit)."""
    if now < ack_due_at:
        return 0
    elapsed, span = now - created_at, ack_due_at - created_at
    if level3_factor is not None and elapsed >= span * level3_factor:
        return 3
    return 2 if elapsed >= 2 * span else 1


class _RosterNow:
    """Who is on duty at the moment of the breaches, read once per center."""

    def __init__(self, db_session: Session, now: datetime):
        self._db, self._now = db_session, now
        self._found: dict[str, list[str]] = {}

    def __call__(self, center_id: str) -> list[str]:
        if center_id not in self._found:
            self._found[center_id] = on_duty(
                db_session=self._db, center_ids=[center_id], at=self._now
            ).get(center_id, [])
        return self._found[center_id]


def _breach(
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    kind: str,
    level: int,
    duty: _RosterNow,
    now: datetime,
) -> Breach:
    people = duty(ticket.center_id)
    system = Principal.system()
    record(
        db_session,
        ticket,
        f"sla_{kind}",
        ticket.state,
        ticket.state,
        system,
        f"超时（{'签收' if kind == 'acknowledge' else '办结'}，第 {level} 级提醒）",
        now,
        ticket.party,
    )
    outbox.add(
        tickets_events.TICKET_SLA_BREACHED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(
            ticket,
            system,
            kind=kind,
            level=level,
            due_at=ticket.ack_due_at if kind == "acknowledge" else ticket.resolve_due_at,
            duty_person_id=people[0] if people else None,
            duty_person_ids=people,
        ),
    )
    return Breach(ticket.center_id, kind, level)


def open_tickets(*, db_session: Session) -> dict[str, dict[str, int]]:
    """How many tickets are open in each state, per center (every center, every open state:
    zeros included, so a gauge set from it drops what was closed).

    One grouped count over the open tickets' partial index (``ix_tickets_open_state``):
    cheap enough for the SLA timer even at a million tickets."""
    counts: dict[str, dict[str, int]] = {
        center_id: dict.fromkeys(OPEN_STATES, 0)
        for center_id in db_session.scalars(select(Center.id))
    }
    rows = db_session.execute(
        select(Ticket.center_id, Ticket.state, func.count())
        .where(Ticket.due_at.is_not(None))
        .group_by(Ticket.center_id, Ticket.state)
    )
    for center_id, state, count in rows:
        counts.setdefault(center_id, dict.fromkeys(OPEN_STATES, 0))[state] = count
    return counts
