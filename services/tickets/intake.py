"""Taking in residents' issues: route each by its category, set its deadlines, store it with
its first audit line and its ``ticket.created`` event — many at once (the gateway gathers
concurrent intake into one call), one INSERT per table.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.tickets import events as tickets_events
from lianxin.contracts.tickets.operations import IntakeRequest, NewTicket
from lianxin.errors import InvalidInput, LianxinError
from lianxin.outbox import OutboxWriter
from services.tickets.configuration import require_center
from services.tickets.exceptions import InvalidCategory
from services.tickets.models import Ticket, TicketLog
from services.tickets.routing import RoutingCache, routing

SUMMARY_LENGTH = 60
#: How long the same submission from the same client counts as a repeat, not a new issue.
REPEAT_WINDOW = timedelta(minutes=10)

# -- checking a report -----------------------------------------------------------------------


def _answer_error(attr: dict[str, Any], value: Any) -> list[str] | None:
    """What is wrong with one given answer to a category's question, if anything."""
    keys = {v["key"] for v in attr.get("values") or []}
    values = value if isinstance(value, list) else [value]
    if attr.get("datatype") in ("singlevaluelist", "multivaluelist") and any(
        str(v) not in keys for v in values
    ):
        return [f"应为以下之一：{', '.join(sorted(keys))}"]
    if attr.get("datatype") == "number":
        try:
            float(value)
        except (TypeError, ValueError):
            return ["应为数字"]
    return None


def check_attributes(questions: Sequence[dict[str, Any]], given: dict[str, Any]) -> dict[str, Any]:
    """Answers to a category's questions: required ones present, list answers known; the
    empty ones dropped."""
    defined = {a["code"]: a for a in questions}
    errors: dict[str, list[str]] = {
        code: ["该类别没有这个问题"] for code in given if code not in defined
    }
    for code, attr in defined.items():
        value = given.get(code)
        if value in (None, "", []):
            if attr.get("required"):
                errors[code] = [f"必填：{attr['description']}"]
            continue
        problem = _answer_error(attr, value)
        if problem:
            errors[code] = problem
    if errors:
        raise InvalidInput(fields={"attributes": errors})
    return {k: v for k, v in given.items() if v not in (None, "", [])}


# -- the new ticket --------------------------------------------------------------------------


@dataclass(slots=True)
class TicketRow:
    """A new ticket as stored: its fields are the ``tickets`` table's columns (a test holds
    them together), plus ``category_name`` for its ``ticket.created`` event."""

    id: str
    center_id: str
    category: str
    party: str
    state: str
    channel: str
    description: str
    address: str
    lat: float | None
    long: float | None
    attributes: dict[str, Any]
    media_url: str | None
    reporter_id: str | None
    follow_code: str
    created_at: datetime
    updated_at: datetime
    ack_due_at: datetime
    resolve_due_at: datetime
    due_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    answer: str | None
    primary_id: str | None
    reopen_count: int
    rating: str | None
    ack_breach_level: int
    resolve_breached: bool
    intake_key: str | None
    #: Not stored: the ``ticket.created`` event names the category.
    category_name: str = ""


#: The stored fields of a :class:`TicketRow`.
ROW_COLUMNS = tuple(f.name for f in fields(TicketRow) if f.name != "category_name")


def prepare_ticket(
    *,
    db_session: Session,
    center_id: str,
    data: NewTicket,
    reporter_id: str | None,
    cache: RoutingCache | None = None,
    now: datetime | None = None,
    intake_key: str | None = None,
) -> TicketRow:
    """Check and route a new issue, without writing: its row, or the caller's error (unknown
    center or category, bad attributes). :func:`insert_tickets` stores it."""
    category = routing(db_session=db_session, center_id=center_id, code=data.category, cache=cache)
    if category is None or not category.active:
        # Tell an unknown center apart from an unknown category: both are the caller's error.
        require_center(db_session=db_session, center_id=center_id)
        raise InvalidCategory(fields={"category": ["该服务中心没有此诉求类别"]})
    attributes = (
        check_attributes(category.attributes, data.attributes)
        if category.attributes or data.attributes
        else {}
    )
    now = now or now_utc()
    ack_due_at = now + timedelta(minutes=category.ack_minutes)
    return TicketRow(
        id=str(uuid.uuid4()),
        center_id=center_id,
        category=category.code,
        party=category.party,
        state="reported",
        channel=data.channel,
        description=data.description,
        address=data.address or "",
        lat=data.lat,
        long=data.long,
        attributes=attributes,
        media_url=data.media_url,
        reporter_id=reporter_id,
        follow_code=secrets.token_urlsafe(12),
        created_at=now,
        updated_at=now,
        ack_due_at=ack_due_at,
        resolve_due_at=now + timedelta(hours=category.resolve_hours),
        due_at=ack_due_at,
        acknowledged_at=None,
        resolved_at=None,
        closed_at=None,
        answer=None,
        primary_id=None,
        reopen_count=0,
        rating=None,
        ack_breach_level=0,
        resolve_breached=False,
        intake_key=stored_intake_key(intake_key, now) if intake_key else None,
        category_name=category.name,
    )


def insert_tickets(
    *, db_session: Session, outbox: OutboxWriter, tickets: Sequence[TicketRow]
) -> None:
    """Store prepared issues with their audit entries and ``ticket.created`` events.

    Intake is the hot path: plain INSERTs (one statement per table for all of them), no
    unit of work (the new rows are dumped as they are)."""
    if not tickets:
        return
    conn = db_session.connection()
    conn.execute(insert(Ticket), [{c: getattr(t, c) for c in ROW_COLUMNS} for t in tickets])
    conn.execute(
        insert(TicketLog),
        [
            dict(
                center_id=t.center_id,
                ticket_id=t.id,
                action="report",
                from_state=None,
                to_state="reported",
                actor_id=t.reporter_id,
                actor_role=None,
                reason=None,
                party=None,
                at=t.created_at,
            )
            for t in tickets
        ],
    )
    outbox.add_many(
        [
            (
                tickets_events.TICKET_CREATED,
                t.center_id,
                t.id,
                {
                    "ticket_id": t.id,
                    "category": t.category,
                    "category_name": t.category_name,
                    "party": t.party,
                    "channel": t.channel,
                    "summary": t.description[:SUMMARY_LENGTH],
                    "ack_due_at": t.ack_due_at,
                    "resolve_due_at": t.resolve_due_at,
                    "person_id": t.reporter_id,
                },
            )
            for t in tickets
        ]
    )


def create_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    data: NewTicket,
    reporter_id: str | None,
    cache: RoutingCache | None = None,
    now: datetime | None = None,
) -> TicketRow:
    """Take in one issue: route it by category, set its deadlines, announce it.

    Returns the new row (read the ticket back with ``queries.get_ticket`` to change it)."""
    new = prepare_ticket(
        db_session=db_session,
        center_id=center_id,
        data=data,
        reporter_id=reporter_id,
        cache=cache,
        now=now,
    )
    insert_tickets(db_session=db_session, outbox=outbox, tickets=[new])
    return new


# -- the same submission again ---------------------------------------------------------------


def stored_intake_key(key: str, at: datetime) -> str:
    """A submission's key as stored: within its :data:`REPEAT_WINDOW`-long time bucket, so
    that a unique index refuses the same submission twice at once (through two gateways)
    while the same words weeks later are a new ticket."""
    bucket = int(at.timestamp() // REPEAT_WINDOW.total_seconds())
    return hashlib.sha256(f"{key}|{bucket}".encode()).hexdigest()


def earlier_submissions(
    *, db_session: Session, keys: set[str], now: datetime | None = None
) -> dict[tuple[str, str], TicketRow]:
    """Tickets taken in within :data:`REPEAT_WINDOW` under one of ``keys``, by (center, key):
    a repeated submission (a double click, a client's retry) answers with the first one."""
    if not keys:
        return {}
    now = now or now_utc()
    stored = {stored_intake_key(key, at): key for key in keys for at in (now, now - REPEAT_WINDOW)}
    columns = Ticket.__table__.c
    rows = db_session.execute(
        select(*(columns[c] for c in ROW_COLUMNS))
        .where(Ticket.intake_key.in_(sorted(stored)), Ticket.created_at >= now - REPEAT_WINDOW)
        .order_by(Ticket.created_at)
    ).all()
    found: dict[tuple[str, str], TicketRow] = {}
    for row in rows:
        found.setdefault((row.center_id, stored[row.intake_key]), TicketRow(**row._mapping))
    return found


# -- many at once ----------------------------------------------------------------------------


class IntakeAnswer(TypedDict, total=False):
    """One item's answer: its new ticket; the first ticket again (``repeat``); or its error."""

    ticket: TicketRow
    repeat: bool
    error: dict[str, Any]


#: A new issue's validated data and reporter, if its caller may report it (else it raises).
Admit = Callable[[IntakeRequest], tuple[NewTicket, str | None]]


def take_in(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    requests: Sequence[IntakeRequest],
    admit: Admit,
    cache: RoutingCache | None = None,
) -> list[IntakeAnswer]:
    """Take in many issues in one transaction, each answered on its own: one item's refusal
    leaves the others standing, and the same submission again within
    :data:`REPEAT_WINDOW` answers with the first ticket (nothing stored)."""
    earlier = earlier_submissions(
        db_session=db_session, keys={r.intake_key for r in requests if r.intake_key}
    )
    answers: list[IntakeAnswer] = []
    accepted: list[TicketRow] = []
    for request in requests:
        center_id, key = request.center_id, request.intake_key
        try:
            data, reporter_id = admit(request)  # a repeat is still checked against its caller
            if key and (center_id, key) in earlier:
                answers.append({"ticket": earlier[center_id, key], "repeat": True})
                continue
            ticket = prepare_ticket(
                db_session=db_session,
                center_id=center_id,
                data=data,
                reporter_id=reporter_id,
                cache=cache,
                intake_key=key,
            )
        except LianxinError as exc:
            answers.append({"error": exc.to_dict()})
            continue
        if key:
            earlier[center_id, key] = ticket  # the same submission twice in one batch
        accepted.append(ticket)
        answers.append({"ticket": ticket})
    insert_tickets(db_session=db_session, outbox=outbox, tickets=accepted)
    return answers
