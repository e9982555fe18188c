"""Supporters ("我也遇到了", FixMyStreet's "me too"): a resident who has the same problem as an
open ticket joins it instead of reporting it again — counted, and told of its progress as
its reporter is (every later event names them). Once per person and once per phone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.tickets import events as tickets_events
from lianxin.contracts.tickets.operations import NewSupporter
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.tickets.exceptions import SupporterConflict
from services.tickets.models import Ticket, TicketSupporter
from services.tickets.states import check, fact, record


def support_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    supporter: NewSupporter,
    now: datetime | None = None,
) -> Ticket:
    """Add a supporter to a loaded (locked) ticket and announce it. Refused
    (:class:`~lianxin.errors.Conflict`) for its reporter, for one who joined already (the
    same person, or the same phone), and for a ticket no longer open."""
    now = now or now_utc()
    check(ticket, "support")
    if supporter.supporter_id == ticket.reporter_id:
        raise SupporterConflict("您是这个问题的反映人，办理进展会通知您", code="OWN_TICKET")
    if supporter.supporter_id in (ticket.supporter_ids or ()):
        raise SupporterConflict()
    try:
        # The unique indexes decide (two joins at once, the same phone under another id);
        # a savepoint keeps the ticket's lock and the caller's transaction.
        with db_session.begin_nested():
            db_session.connection().execute(
                insert(TicketSupporter),
                dict(
                    center_id=ticket.center_id,
                    ticket_id=ticket.id,
                    person_id=supporter.supporter_id,
                    phone_hash=supporter.phone_hash,
                    joined_at=now,
                ),
            )
    except IntegrityError:
        raise SupporterConflict() from None
    ticket.supporter_ids = [*(ticket.supporter_ids or ()), supporter.supporter_id]
    actor = Principal.person(supporter.supporter_id, "resident")
    record(
        db_session, ticket, "support", ticket.state, ticket.state, actor, None, now, ticket.party
    )
    outbox.add(
        tickets_events.TICKET_SUPPORTED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(
            ticket,
            actor,
            supporter_id=supporter.supporter_id,
            supporters=len(ticket.supporter_ids),
        ),
    )
    return ticket
