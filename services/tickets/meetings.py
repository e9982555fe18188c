"""The monthly joint meeting of the four parties (党建联席会): a ticket that can't be solved on
the spot goes onto the agenda of the center's next meeting, and the meeting's decision on
it (resolve, dispatch, or carry over to next month) comes back to the ticket."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lianxin.clock import local, now_utc
from lianxin.contracts.tickets import events as tickets_events
from lianxin.contracts.tickets.operations import Decision, Reason, Resolution
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.tickets.configuration import require_center
from services.tickets.exceptions import (
    AgendaItemDecided,
    AgendaItemNotFound,
    InvalidTransition,
    MeetingNotFound,
)
from services.tickets.models import AgendaItem, Center, JointMeeting, Ticket
from services.tickets.queries import get_ticket
from services.tickets.states import STATE_NAMES, fact, move, record
from services.tickets.workflow import resolve_ticket


def next_meeting(*, db_session: Session, center: Center, now: datetime) -> JointMeeting:
    """The center's next monthly meeting (this month's if its day hasn't passed), created
    if needed."""
    today = local(now).date()
    held = date(today.year, today.month, center.meeting_day)
    if held < today:
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        held = date(year, month, center.meeting_day)
    return meeting_for_month(db_session=db_session, center=center, month=held.strftime("%Y-%m"))


def meeting_for_month(*, db_session: Session, center: Center, month: str) -> JointMeeting:
    """The center's meeting of ``month`` (``YYYY-MM``), created if needed."""
    meeting = db_session.scalar(
        select(JointMeeting).where(JointMeeting.center_id == center.id, JointMeeting.month == month)
    )
    if meeting is None:
        year, mon = (int(x) for x in month.split("-"))
        meeting = JointMeeting(
            id=str(uuid.uuid4()),
            center_id=center.id,
            month=month,
            meeting_date=date(year, mon, center.meeting_day),
        )
        db_session.add(meeting)
        db_session.flush()
    return meeting


def _add_item(
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    meeting: JointMeeting,
    actor: Principal,
    reason: str,
    now: datetime,
) -> AgendaItem:
    item = AgendaItem(
        id=str(uuid.uuid4()),
        center_id=ticket.center_id,
        meeting_id=meeting.id,
        ticket_id=ticket.id,
        reason=reason,
        added_at=now,
    )
    db_session.add(item)
    outbox.add(
        tickets_events.TICKET_ESCALATED,
        center_id=ticket.center_id,
        subject=ticket.id,
        data=fact(ticket, actor, meeting_id=meeting.id, meeting_month=meeting.month, reason=reason),
    )
    return item


def escalate_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    ticket: Ticket,
    actor: Principal,
    data: Reason,
    now: datetime | None = None,
) -> Ticket:
    """提交联席会: put the ticket on the agenda of the center's next monthly joint meeting
    (a workflow :class:`~services.tickets.workflow.Step`)."""
    now = now or now_utc()
    move(db_session, ticket, "escalate", "escalated", actor, now, data.reason, ticket.party)
    center = require_center(db_session=db_session, center_id=ticket.center_id)
    meeting = next_meeting(db_session=db_session, center=center, now=now)
    _add_item(db_session, outbox, ticket, meeting, actor, data.reason, now)
    return ticket


def list_meetings(*, db_session: Session, center_id: str) -> list[JointMeeting]:
    """A center's meetings, latest month first."""
    return list(
        db_session.scalars(
            select(JointMeeting)
            .where(JointMeeting.center_id == center_id)
            .order_by(JointMeeting.month.desc())
        )
    )


def get_meeting(
    *, db_session: Session, center_id: str, month: str
) -> tuple[JointMeeting, list[AgendaItem]]:
    """A month's meeting and its agenda (each item with its ticket)."""
    meeting = db_session.scalar(
        select(JointMeeting).where(JointMeeting.center_id == center_id, JointMeeting.month == month)
    )
    if meeting is None:
        raise MeetingNotFound()
    items = list(
        db_session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id)
            .options(selectinload(AgendaItem.ticket))
            .order_by(AgendaItem.added_at, AgendaItem.id)
        )
    )
    return meeting, items


def _following(month: str) -> str:
    year, mon = (int(x) for x in month.split("-"))
    return f"{year + (mon == 12)}-{mon % 12 + 1:02d}"


def decide_agenda_item(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    item_id: str,
    actor: Principal,
    data: Decision,
    now: datetime | None = None,
) -> AgendaItem:
    """Record the meeting's decision on an item and carry it to the ticket."""
    now = now or now_utc()
    item = db_session.scalar(
        select(AgendaItem)
        .where(AgendaItem.id == item_id, AgendaItem.center_id == center_id)
        .with_for_update()
    )
    if item is None:
        raise AgendaItemNotFound()
    if item.decision is not None:
        raise AgendaItemDecided()
    ticket = get_ticket(
        db_session=db_session, center_id=center_id, ticket_id=item.ticket_id, lock=True
    )
    if ticket.state != "escalated":
        raise InvalidTransition(f"工单当前为「{STATE_NAMES.get(ticket.state)}」，不在联席会议程中")
    if data.decision == "resolved":
        resolve_ticket(
            db_session=db_session,
            outbox=outbox,
            ticket=ticket,
            actor=actor,
            data=Resolution(answer=data.answer or ""),
            now=now,
            via_meeting=True,
        )
    elif data.decision == "assigned":
        party = data.party or ticket.party
        previous = ticket.party
        ticket.state, ticket.party, ticket.updated_at = "assigned", party, now
        ticket.due_at = ticket.resolve_due_at
        record(
            db_session,
            ticket,
            "assign",
            "escalated",
            "assigned",
            actor,
            data.note or "联席会议决定派单",
            now,
            party,
        )
        outbox.add(
            tickets_events.TICKET_ASSIGNED,
            center_id=center_id,
            subject=ticket.id,
            data=fact(ticket, actor, automatic=False, previous_party=previous),
        )
    else:  # carried over to next month's meeting
        meeting = db_session.get(JointMeeting, item.meeting_id)
        assert meeting is not None  # an item is on a meeting's agenda
        following = _following(meeting.month)
        center = require_center(db_session=db_session, center_id=center_id)
        later = meeting_for_month(db_session=db_session, center=center, month=following)
        record(
            db_session,
            ticket,
            "carry_over",
            "escalated",
            "escalated",
            actor,
            data.note or f"顺延至 {following} 联席会",
            now,
            ticket.party,
        )
        _add_item(db_session, outbox, ticket, later, actor, item.reason, now)
    item.decision, item.decision_note = data.decision, data.note or data.answer
    item.decided_by, item.decided_at = actor.id, now
    return item
