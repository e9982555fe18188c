"""Urging (催办): the center admin presses whoever holds an open ticket — the cadre on duty
while it awaits acknowledgement or dispatch, its party's handlers once dispatched — with a
note on its timeline and a ticket.urged event (notify decides how they are told)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.tickets import events as tickets_events
from lianxin.contracts.tickets.operations import Urge
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.tickets.configuration import on_duty
from services.tickets.models import Ticket
from services.tickets.states import check, fact, record

#: The states in which the ticket waits for the cadre on duty (to acknowledge or dispatch).
WITH_DUTY = ("reported", "acknowledged", "returned")


def urge_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    actor: Principal,
    data: Urge,
    now: datetime | None = None,
) -> Ticket:
    """催办 an open ticket (a workflow :class:`~services.tickets.workflow.Step`); refused
    (:class:`InvalidTransition`) once it is resolved, closed or merged."""
    now = now or now_utc()
    check(ticket, "urge")
    holder = "duty" if ticket.state in WITH_DUTY else "party"
    duty = (
        on_duty(db_session=db_session, center_ids=[ticket.center_id], at=now).get(
            ticket.center_id, []
        )
        if holder == "duty"
        else []
    )
    record(
        db_session, ticket, "urge", ticket.state, ticket.state, actor, data.note, now, ticket.party
    )
    outbox.add(
        tickets_events.TICKET_URGED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(ticket, actor, holder=holder, duty_person_ids=duty, note=data.note),
    )
    return ticket
