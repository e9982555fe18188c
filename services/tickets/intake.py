"""Taking in residents' issues: route each by its category, set its deadlines, find the open
tickets it likely repeats, store it with its first audit line and its ``ticket.created``
event naming who is on duty — many at once (the gateway gathers concurrent intake into one
call), one INSERT per table.

A clerk may resolve what they register by hotline or at the desk as they register it
(当场办结): stored resolved, with ``report`` and ``resolve`` on its timeline and
ticket.created then ticket.resolved announced, nothing for the cadre on duty or a party.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from lianxin import tracing
from lianxin.bulk import defer_rows, flush_rows
from lianxin.centers import CenterDisabled
from lianxin.clock import now_utc
from lianxin.contracts import EventType
from lianxin.contracts.tickets import events as tickets_events
from lianxin.contracts.tickets.operations import ON_THE_SPOT_CHANNELS, IntakeRequest, NewTicket
from lianxin.errors import InvalidInput, LianxinError
from lianxin.outbox import OutboxWriter
from lianxin.roles import Principal
from services.tickets import settling
from services.tickets.configuration import DutyCache, on_duty, require_center
from services.tickets.exceptions import InvalidCategory
from services.tickets.models import Ticket, TicketLog, TicketPhoto
from services.tickets.questions import check_attributes
from services.tickets.routing import RoutingCache, routing
from services.tickets.states import fact, summary
from services.tickets.suggestions import SuggestionCache, find_likely_repeats

#: How long the same submission from the same client counts as a repeat, not a new issue.
REPEAT_WINDOW = timedelta(minutes=10)


# -- checking a report ---------------------------------------------------------------------


def check_on_the_spot(data: NewTicket, clerk: Principal | None) -> None:
    """An answer at intake (当场办结) only from staff, for what they register by hotline or
    at the desk: a resident's report, a web or Open311 one, goes to the cadre on duty."""
    if data.answer is None:
        return
    if clerk is None or not clerk.is_staff or data.channel not in ON_THE_SPOT_CHANNELS:
        refusal = "当场办结仅限工作人员登记的热线或来访诉求"
        raise InvalidInput(refusal, code="ON_THE_SPOT_REFUSED", fields={"answer": [refusal]})


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
    photo_ids: list[str]
    repeat_candidates: list[dict[str, Any]]
    supporter_ids: list[str]
    merged_ids: list[str]
    #: Not stored: the ``ticket.created`` event names the category.
    category_name: str = ""
    #: Not stored: the clerk who resolved it on the spot (its timeline's ``resolve``).
    clerk: Principal | None = None
    #: Not stored: the trace context of the request that reported it, which its events
    #: carry on (``None``: the current span's, see ``OutboxWriter.add_many``).
    trace: dict[str, str] | None = None


#: The fields of a :class:`TicketRow` that are not columns.
NOT_STORED = frozenset({"category_name", "clerk", "trace"})
#: The stored fields of a :class:`TicketRow`.
ROW_COLUMNS = tuple(f.name for f in fields(TicketRow) if f.name not in NOT_STORED)


@dataclass(frozen=True, slots=True)
class Admission:
    """A new issue admitted: its validated data, its reporter, and who registered it (the
    staff member who may resolve it on the spot; None for a resident or the public)."""

    data: NewTicket
    reporter_id: str | None
    clerk: Principal | None = None


def prepare_ticket(
    *,
    db_session: Session,
    center_id: str,
    data: NewTicket,
    reporter_id: str | None,
    cache: RoutingCache | None = None,
    now: datetime | None = None,
    intake_key: str | None = None,
    clerk: Principal | None = None,
) -> TicketRow:
    """Check and route a new issue, without writing: its row, or the caller's error (unknown
    center or category, bad attributes). :func:`insert_tickets` stores it. With an answer
    (checked by :func:`check_on_the_spot`), resolved by ``clerk`` as it is taken in."""
    category = routing(db_session=db_session, center_id=center_id, code=data.category, cache=cache)
    if category is not None and not category.center_open:
        raise CenterDisabled(
            "该服务中心已停用，暂停受理诉求，请拨打服务中心电话或到其他服务中心反映"
        )
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
    on_the_spot = data.answer is not None
    return TicketRow(
        id=str(uuid.uuid4()),
        center_id=center_id,
        category=category.code,
        party=category.party,
        state="resolved" if on_the_spot else "reported",
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
        due_at=None if on_the_spot else ack_due_at,
        acknowledged_at=None,
        resolved_at=now if on_the_spot else None,
        closed_at=None,
        answer=data.answer,
        primary_id=None,
        reopen_count=0,
        rating=None,
        ack_breach_level=0,
        resolve_breached=False,
        intake_key=stored_intake_key(intake_key, now) if intake_key else None,
        photo_ids=list(dict.fromkeys(data.photo_ids)),  # the same photo twice is one photo
        repeat_candidates=[],
        supporter_ids=[],
        merged_ids=[],
        category_name=category.name,
        clerk=clerk if on_the_spot else None,
    )


def insert_tickets(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    tickets: Sequence[TicketRow],
    duty: DutyCache | None = None,
) -> None:
    """Store prepared issues with their audit entries, photos and events: ``ticket.created``
    naming who the roster has on duty now (and ``ticket.resolved`` for one resolved on the
    spot).

    Intake is the hot path: plain INSERTs (one statement per table for all of them), no
    unit of work (the new rows are dumped as they are), the roster read through ``duty``
    (intake's cache) or once."""
    if not tickets:
        return
    on_duty_now = on_duty(
        db_session=db_session,
        center_ids={t.center_id for t in tickets},
        at=max(t.created_at for t in tickets),
        cache=duty,
    )
    # The batch's INSERTs in one round trip (lianxin.bulk.defer_rows): its claims (deferred by
    # take_in), tickets, timeline, photos and events (the outbox defers its own).
    defer_rows(db_session, Ticket, [{c: getattr(t, c) for c in ROW_COLUMNS} for t in tickets])
    defer_rows(db_session, TicketLog, [line for t in tickets for line in _first_lines(t)])
    photos = [
        {"photo_id": photo, "ticket_id": t.id, "center_id": t.center_id}
        for t in tickets
        for photo in t.photo_ids
    ]
    defer_rows(db_session, TicketPhoto, photos)
    announced = [
        (e, t.trace) for t in tickets for e in _announced(t, on_duty_now.get(t.center_id, []))
    ]
    outbox.add_many([e for e, _ in announced], traces=[trace for _, trace in announced])
    flush_rows(db_session)  # here, not at the commit: a repeated intake key is refused here


def _first_lines(ticket: TicketRow) -> list[dict[str, Any]]:
    """A new ticket's timeline: its report, and its resolution when resolved on the spot."""
    lines = [
        dict(
            center_id=ticket.center_id,
            ticket_id=ticket.id,
            action="report",
            from_state=None,
            to_state="reported",
            actor_id=ticket.reporter_id,
            actor_role=None,
            reason=None,
            party=None,
            at=ticket.created_at,
        )
    ]
    if ticket.clerk is not None:
        lines.append(
            dict(
                center_id=ticket.center_id,
                ticket_id=ticket.id,
                action="resolve",
                from_state="reported",
                to_state="resolved",
                actor_id=ticket.clerk.id,
                actor_role=ticket.clerk.role,
                reason="当场办结",
                party=ticket.party,
                at=ticket.created_at,
            )
        )
    return lines


def _announced(
    ticket: TicketRow, duty_person_ids: list[str]
) -> list[tuple[EventType, str, str, dict[str, Any]]]:
    """A new ticket's events, in order."""
    on_the_spot = ticket.clerk is not None
    created = {
        "ticket_id": ticket.id,
        "category": ticket.category,
        "category_name": ticket.category_name,
        "party": ticket.party,
        "channel": ticket.channel,
        "summary": summary(ticket.description),
        "ack_due_at": ticket.ack_due_at,
        "resolve_due_at": ticket.resolve_due_at,
        "person_id": ticket.reporter_id,
        "duty_person_ids": duty_person_ids,
        "on_the_spot": on_the_spot,
        "photo_ids": ticket.photo_ids,
        "likely_repeat_of": [c["ticket_id"] for c in ticket.repeat_candidates],
    }
    events = [(tickets_events.TICKET_CREATED, ticket.center_id, ticket.id, created)]
    if ticket.clerk is not None and ticket.answer is not None:
        resolved = fact(ticket, ticket.clerk, answer=ticket.answer[:80], on_the_spot=True)
        events.append((tickets_events.TICKET_RESOLVED, ticket.center_id, ticket.id, resolved))
    return events


def create_ticket(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    center_id: str,
    data: NewTicket,
    reporter_id: str | None,
    cache: RoutingCache | None = None,
    suggestions: SuggestionCache | None = None,
    now: datetime | None = None,
    clerk: Principal | None = None,
) -> TicketRow:
    """Take in one issue: route it by category, set its deadlines, find what it likely
    repeats, announce it (resolved at once with an answer: see :func:`prepare_ticket`).

    Returns the new row (read the ticket back with ``queries.get_ticket`` to change it)."""
    new = prepare_ticket(
        db_session=db_session,
        center_id=center_id,
        data=data,
        reporter_id=reporter_id,
        cache=cache,
        now=now,
        clerk=clerk,
    )
    find_likely_repeats(db_session=db_session, tickets=[new], cache=suggestions)
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


#: What the database raises for a value it cannot store (SQLSTATE class 22), and what a
#: driver raises for text it cannot encode: the report's fault, not the system's.
UNSTORABLE = (DataError, UnicodeError)


class IntakeAnswer(TypedDict, total=False):
    """One item's answer: its new ticket; the first ticket again (``repeat``); or its error."""

    ticket: TicketRow
    repeat: bool
    error: dict[str, Any]


#: A new issue admitted, if its caller may report it (else it raises).
Admit = Callable[[IntakeRequest], Admission]


def _trace_of(request: IntakeRequest) -> dict[str, str] | None:
    """The trace context a request gathered into another's call came with, for its events;
    ``None`` (the call's own span: gateway → RPC → event) for the request whose trace the
    call is in, or a malformed one."""
    if not tracing.valid_traceparent(request.traceparent):
        return None
    if str(request.traceparent).split("-")[1] == tracing.current_trace_id():
        return None
    found = {tracing.TRACEPARENT: str(request.traceparent)}
    if tracing.valid_tracestate(request.tracestate):
        found[tracing.TRACESTATE] = str(request.tracestate)
    return found


def take_in(
    *,
    db_session: Session,
    outbox: OutboxWriter,
    requests: Sequence[IntakeRequest],
    admit: Admit,
    cache: RoutingCache | None = None,
    suggestions: SuggestionCache | None = None,
    careful: bool = True,
) -> list[IntakeAnswer]:
    """Take in many issues in one transaction, each answered on its own: one item's refusal
    leaves the others standing, and the same submission again within
    :data:`REPEAT_WINDOW` answers with the first ticket (nothing stored). The likely
    repeats are looked for once per center for all of them. A request whose gateway already
    settled it as not taken in (:mod:`services.tickets.settling`) stores nothing: with
    ``careful``, its claim is asked first and it is dropped; without, the claims go with
    the tickets' INSERTs (one round trip less) and such a request fails the batch with
    ``IntegrityError``, and the caller rolls back and takes it in again carefully."""
    earlier = earlier_submissions(
        db_session=db_session, keys={r.intake_key for r in requests if r.intake_key}
    )
    answers: list[IntakeAnswer] = []
    accepted: list[TicketRow] = []
    claims: list[tuple[str, str, str]] = []  # (request key, center, ticket) to claim
    for request in requests:
        center_id, key = request.center_id, request.intake_key
        try:
            admitted = admit(request)  # a repeat is still checked against its caller
            if key and (center_id, key) in earlier:
                answers.append({"ticket": earlier[center_id, key], "repeat": True})
                continue
            ticket = prepare_ticket(
                db_session=db_session,
                center_id=center_id,
                data=admitted.data,
                reporter_id=admitted.reporter_id,
                cache=cache,
                intake_key=key,
                clerk=admitted.clerk,
            )
        except LianxinError as exc:
            answers.append({"error": exc.to_dict()})
            continue
        ticket.trace = _trace_of(request)
        if key:
            earlier[center_id, key] = ticket  # the same submission twice in one batch
        accepted.append(ticket)
        answers.append({"ticket": ticket})
        if request.request_key:
            claims.append((request.request_key, ticket.center_id, ticket.id))
    if claims and not careful:
        settling.claim_later(db_session=db_session, tickets=claims)
    elif claims:
        # A request the gateway gave up on and settled as not taken in stores nothing.
        taken = settling.claim(db_session=db_session, tickets=claims)
        dropped = {ticket_id for key, _c, ticket_id in claims if key not in taken}
        if dropped:
            accepted = [t for t in accepted if t.id not in dropped]
            answers = [
                {"error": settling.IntakeAbandoned().to_dict()}
                if "ticket" in a and a["ticket"].id in dropped
                else a
                for a in answers
            ]
    find_likely_repeats(db_session=db_session, tickets=accepted, cache=suggestions)
    insert_tickets(
        db_session=db_session,
        outbox=outbox,
        tickets=accepted,
        duty=cache.duty if cache is not None else None,
    )
    return answers
