"""The resident-issue workflow: the actions on a loaded ticket, each checked against the
state machine (:mod:`services.tickets.states`).

Every transition is written to the ticket's timeline (actor, time, reason) and announced
with an event in the same transaction. Each action is one function of the same shape
(:data:`Step`): ``(*, db_session, outbox, ticket, actor, data, now)`` → the ticket, ``data``
being the action's payload as the contract loads it. Escalation to the joint meeting is in
:mod:`services.tickets.meetings`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.tickets import events as tickets_events
from lianxin.contracts.tickets.operations import (
    OPEN_STATES,
    RATINGS,
    Assignment,
    MergeInto,
    RatingGiven,
    Reason,
    Resolution,
    StepNote,
)
from lianxin.errors import Forbidden, InvalidInput
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.tickets.exceptions import InvalidTransition, ReopenWindowClosed
from services.tickets.models import Category, Center, Rating, Ticket
from services.tickets.queries import get_ticket
from services.tickets.states import check, fact, move, record

#: A resident may reopen a resolved ticket for this long.
REOPEN_DAYS = 15

NO_NOTE = StepNote(note=None)


class Step(Protocol):
    """One action of the workflow on a loaded (locked) ticket."""

    def __call__(
        self,
        *,
        db_session: Session,
        outbox: OutboxWriter,
        ticket: Ticket,
        actor: Principal,
        data: Any,
        now: datetime | None = None,
    ) -> Ticket: ...


def _merged_into(db_session: Session, ticket: Ticket) -> list[Ticket]:
    return list(
        db_session.scalars(
            select(Ticket).where(
                Ticket.primary_id == ticket.id, Ticket.center_id == ticket.center_id
            )
        )
    )


# -- the actions -----------------------------------------------------------------------------


def acknowledge_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    actor: Principal,
    data: StepNote = NO_NOTE,
    now: datetime | None = None,
) -> Ticket:
    """签收: the cadre on duty takes the ticket; routed to its party when the center auto-assigns."""
    now = now or now_utc()
    move(db_session, ticket, "acknowledge", "acknowledged", actor, now, data.note)
    ticket.acknowledged_at = now
    outbox.add(
        tickets_events.TICKET_ACKNOWLEDGED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(ticket, actor, acknowledged_at=now, late=now > ticket.ack_due_at),
    )
    center = db_session.get(Center, ticket.center_id)
    if center is not None and center.auto_assign:
        assign_ticket(
            db_session=db_session,
            outbox=outbox,
            ticket=ticket,
            actor=Principal.system(),
            data=Assignment(party=ticket.party, reason="按分派规则自动派单"),
            now=now,
            automatic=True,
        )
    return ticket


def assign_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    actor: Principal,
    data: Assignment,
    now: datetime | None = None,
    automatic: bool = False,
) -> Ticket:
    """派单 to a party (first dispatch, a change of party, or re-dispatch after a return)."""
    now = now or now_utc()
    if ticket.state == "assigned" and data.party == ticket.party:
        raise InvalidTransition(
            "工单已派给该责任方", extra={"state": ticket.state, "action": "assign"}
        )
    previous = ticket.party
    move(db_session, ticket, "assign", "assigned", actor, now, data.reason, data.party)
    ticket.party = data.party
    outbox.add(
        tickets_events.TICKET_ASSIGNED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(
            ticket, actor, automatic=automatic, previous_party=None if automatic else previous
        ),
    )
    return ticket


def start_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    actor: Principal,
    data: StepNote = NO_NOTE,
    now: datetime | None = None,
) -> Ticket:
    """The party begins working on it (audited; announced to no one)."""
    move(db_session, ticket, "start", "in_progress", actor, now or now_utc(), party=ticket.party)
    return ticket


def return_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    actor: Principal,
    data: Reason,
    now: datetime | None = None,
) -> Ticket:
    """退单: the party sends it back with a reason; it waits for re-dispatch."""
    now = now or now_utc()
    move(db_session, ticket, "return", "returned", actor, now, data.reason, ticket.party)
    outbox.add(
        tickets_events.TICKET_RETURNED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(ticket, actor, reason=data.reason),
    )
    return ticket


def resolve_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    actor: Principal,
    data: Resolution,
    now: datetime | None = None,
    via_meeting: bool = False,
) -> Ticket:
    """办结 with the answer given; repeat reports merged into it are resolved with it. The
    joint meeting (``via_meeting``) may also resolve an escalated ticket."""
    now = now or now_utc()
    if via_meeting:
        if ticket.state != "escalated":
            check(ticket, "resolve")
        before = ticket.state
        ticket.state, ticket.updated_at, ticket.due_at = "resolved", now, None
        record(
            db_session,
            ticket,
            "resolve",
            before,
            "resolved",
            actor,
            "联席会议决定办结",
            now,
            ticket.party,
        )
    else:
        move(db_session, ticket, "resolve", "resolved", actor, now, None, ticket.party)
    answer = data.answer
    ticket.answer, ticket.resolved_at = answer, now
    outbox.add(
        tickets_events.TICKET_RESOLVED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(ticket, actor, answer=answer[:80]),
    )
    for child in _merged_into(db_session, ticket):
        if child.state == "merged":
            child.state, child.answer, child.resolved_at, child.updated_at = (
                "resolved",
                answer,
                now,
                now,
            )
            record(
                db_session,
                child,
                "resolve",
                "merged",
                "resolved",
                actor,
                "随主工单办结",
                now,
                ticket.party,
            )
            child.party = ticket.party
            outbox.add(
                tickets_events.TICKET_RESOLVED,
                center_id=child.center_id,
                subject=child.id,
                data=fact(child, actor, answer=answer[:80]),
            )
    return ticket


def merge_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    actor: Principal,
    data: MergeInto,
    now: datetime | None = None,
) -> Ticket:
    """并单: a repeat report follows the primary ticket (of the same center) from now on; the
    primary lists it (``merged_ids``)."""
    now = now or now_utc()
    if data.primary_id == ticket.id:
        raise InvalidInput(fields={"primary_id": ["不能并入自身"]})
    primary = get_ticket(  # locked: its list of merged reports grows
        db_session=db_session, center_id=ticket.center_id, ticket_id=data.primary_id, lock=True
    )
    if primary.state not in OPEN_STATES:
        raise InvalidInput(fields={"primary_id": ["主工单已办结或已并单，不能并入"]})
    move(db_session, ticket, "merge", "merged", actor, now, f"并入 {primary.id}", primary.party)
    ticket.primary_id = primary.id
    primary.merged_ids = [*(primary.merged_ids or ()), ticket.id]
    outbox.add(
        tickets_events.TICKET_MERGED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(ticket, actor, primary_id=primary.id),
    )
    return ticket


def reopen_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    actor: Principal,
    data: Reason,
    now: datetime | None = None,
    by: str = "resident",
) -> Ticket:
    """重新办理: back to the party, with a fresh resolve deadline. ``by`` the resident (or
    staff on their behalf, a call to the hotline say: the same 15-day rule) or the survey."""
    now = now or now_utc()
    check(ticket, "reopen")
    if (
        by == "resident"
        and ticket.resolved_at
        and now - ticket.resolved_at > timedelta(days=REOPEN_DAYS)
    ):
        raise ReopenWindowClosed()
    category = db_session.get(Category, (ticket.center_id, ticket.category))
    ticket.resolve_due_at = now + timedelta(hours=category.resolve_hours if category else 72)
    ticket.resolve_breached = False
    move(db_session, ticket, "reopen", "assigned", actor, now, data.reason, ticket.party)
    ticket.reopen_count += 1
    ticket.closed_at = None
    outbox.add(
        tickets_events.TICKET_REOPENED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(ticket, actor, reason=data.reason, by=by),
    )
    return ticket


def close_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    actor: Principal,
    data: Reason,
    now: datetime | None = None,
    rating: str | None = None,
) -> Ticket:
    """回访关闭: the return visit is over; repeat reports merged into it close with it."""
    now = now or now_utc()
    move(db_session, ticket, "close", "closed", actor, now, data.reason, ticket.party)
    ticket.closed_at = now
    outbox.add(
        tickets_events.TICKET_CLOSED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(ticket, actor, rating=rating),
    )
    for child in _merged_into(db_session, ticket):
        if child.state == "resolved":
            move(db_session, child, "close", "closed", actor, now, "随主工单关闭", child.party)
            child.closed_at = now
            outbox.add(
                tickets_events.TICKET_CLOSED,
                center_id=child.center_id,
                subject=child.id,
                data=fact(child, actor, rating=None),
            )
    return ticket


def rate_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    actor: Principal,
    data: RatingGiven,
    now: datetime | None = None,
) -> Ticket:
    """回访评价: counted in the satisfaction rate; dissatisfied reopens, otherwise it closes.

    Staff recording a rating say how the return visit reached the resident (``via``): a
    rating "on the web" is the resident's own."""
    now = now or now_utc()
    check(ticket, "rate")
    if actor.is_staff and data.via == "web":
        raise Forbidden(
            "工作人员代为登记回访评价时，请注明回访方式（phone / visit / sms）",
            code="RATING_VIA_REQUIRED",
        )
    db_session.add(
        Rating(
            center_id=ticket.center_id,
            ticket_id=ticket.id,
            party=ticket.party,
            category=ticket.category,
            rating=data.rating,
            via=data.via,
            comment=data.comment or "",
            rated_at=now,
        )
    )
    ticket.rating = data.rating
    record(
        db_session,
        ticket,
        "rate",
        ticket.state,
        ticket.state,
        actor,
        f"{RATINGS[data.rating]} {data.comment or ''}".strip(),
        now,
        ticket.party,
    )
    outbox.add(
        tickets_events.TICKET_RATED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(ticket, actor, rating=data.rating),
    )
    if data.rating == "dissatisfied":
        return reopen_ticket(
            db_session=db_session,
            outbox=outbox,
            ticket=ticket,
            actor=actor,
            data=Reason(f"回访不满意：{data.comment or '未说明'}"),
            by="survey",
            now=now,
        )
    return close_ticket(
        db_session=db_session,
        outbox=outbox,
        ticket=ticket,
        actor=actor,
        data=Reason("回访完成"),
        rating=data.rating,
        now=now,
    )
