"""Deadlines (SLA): every missed one announced once per level, and what is still open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
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

    Level 1: not acknowledged by ``ack_due_at`` (alert the cadre on duty), or not resolved by
    ``resolve_due_at``. Level 2: still not acknowledged at twice the acknowledge limit (alert
    the center admin too). Rows are locked with SKIP LOCKED so replicas never announce twice.
    """
    now = now or now_utc()
    found: list[Breach] = []
    late_ack = db_session.scalars(
        select(Ticket)
        .where(Ticket.state == "reported", Ticket.ack_due_at <= now, Ticket.ack_breach_level < 2)
        .order_by(Ticket.ack_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for ticket in late_ack:
        limit_span = ticket.ack_due_at - ticket.created_at
        level = 2 if now >= ticket.created_at + 2 * limit_span else 1
        for lvl in range(ticket.ack_breach_level + 1, level + 1):
            found.append(
                _breach(db_session, outbox, ticket, "acknowledge", lvl, ticket.ack_due_at, now)
            )
        ticket.ack_breach_level = level
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
        found.append(_breach(db_session, outbox, ticket, "resolve", 1, ticket.resolve_due_at, now))
        ticket.resolve_breached = True
    return found


def _breach(
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    kind: str,
    level: int,
    due_at: datetime,
    now: datetime,
) -> Breach:
    duty = on_duty(db_session=db_session, center_id=ticket.center_id, at=now)
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
            due_at=due_at,
            duty_person_id=duty.person_id if duty else None,
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
