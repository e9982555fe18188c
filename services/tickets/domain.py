"""The rules of resident issues, free of nameko: plain functions over a session.

The workflow is a state machine (``TRANSITIONS``); every transition is written to the
ticket's timeline (actor, time, reason) and announced with an event in the same
transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.contracts.tickets import events as tickets_events
from lianxin.contracts.tickets import operations as contract
from lianxin.errors import InvalidInput
from lianxin.outbox import OutboxWriter
from services.tickets.exceptions import (
    AgendaItemDecided,
    AgendaItemNotFound,
    CategoryConflict,
    CategoryNotFound,
    CenterConflict,
    CenterNotFound,
    InvalidApiKey,
    InvalidCategory,
    InvalidTransition,
    MeetingNotFound,
    ReopenWindowClosed,
    TicketNotFound,
)
from services.tickets.models import (
    OPEN_STATES,
    AgendaItem,
    ApiKey,
    Category,
    Center,
    DutyShift,
    JointMeeting,
    Rating,
    Ticket,
    TicketLog,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUMMARY_LENGTH = 60
REOPEN_DAYS = 15

STATE_NAMES = {
    "reported": "待签收", "acknowledged": "已签收", "assigned": "已派单", "in_progress": "处理中",
    "returned": "已退单", "escalated": "提交联席会", "resolved": "已办结", "closed": "已回访关闭",
    "merged": "已并单",
}

#: action → states it may start from (the state it leads to is decided by the action).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "acknowledge": ("reported",),
    "assign": ("acknowledged", "assigned", "returned"),
    "start": ("assigned",),
    "return": ("assigned", "in_progress"),
    "resolve": ("assigned", "in_progress"),
    "escalate": ("acknowledged", "assigned", "in_progress", "returned"),
    "merge": ("reported", "acknowledged", "assigned", "returned"),
    "rate": ("resolved",),
    "close": ("resolved",),
    "reopen": ("resolved", "closed"),
}
ACTION_NAMES = {
    "acknowledge": "签收", "assign": "派单", "start": "开始办理", "return": "退单", "resolve": "办结",
    "escalate": "提交联席会", "merge": "并单", "rate": "评价", "close": "回访关闭", "reopen": "重新办理",
}


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (id and role) or the system itself (``id`` None)."""

    id: str | None
    role: str | None

    @classmethod
    def system(cls) -> Actor:
        return cls(None, "system")


def now_utc() -> datetime:
    return datetime.now(UTC)


# -- centers ---------------------------------------------------------------------------------

def get_center(*, db_session: Session, center_id: str) -> Center | None:
    """One center by id."""
    return db_session.get(Center, center_id)


def require_center(*, db_session: Session, center_id: str) -> Center:
    """The center, or :class:`CenterNotFound`."""
    center = get_center(db_session=db_session, center_id=center_id)
    if center is None:
        raise CenterNotFound(fields={"center_id": ["服务中心不存在"]})
    return center


def create_center(*, db_session: Session, data: dict[str, Any]) -> Center:
    """Register a new center (tenant)."""
    if get_center(db_session=db_session, center_id=data["id"]) is not None:
        raise CenterConflict(fields={"id": ["该编号已被使用"]})
    center = Center(**data, fallback_party="village_committee", auto_assign=True, meeting_day=25,
                    created_at=now_utc())
    db_session.add(center)
    try:
        db_session.flush()
    except IntegrityError:
        db_session.rollback()
        raise CenterConflict(fields={"id": ["该编号已被使用"]}) from None
    return center


def update_center(*, db_session: Session, center_id: str, data: dict[str, Any]) -> Center:
    """Change a center's routing fallback, auto-assignment or meeting day."""
    center = require_center(db_session=db_session, center_id=center_id)
    for key, value in data.items():
        setattr(center, key, value)
    forget_routing(center_id)
    return center


# -- categories and routing ------------------------------------------------------------------

def add_category(*, db_session: Session, center_id: str, data: dict[str, Any]) -> Category:
    """Add an issue category with its routing rule, SLA and Open311 service to a center."""
    require_center(db_session=db_session, center_id=center_id)
    data = {**data, "service_code": data.get("service_code") or data["code"]}
    if db_session.get(Category, (center_id, data["code"])) is not None:
        raise CategoryConflict(fields={"code": ["该类别编码已存在"]})
    if category_by_service_code(db_session=db_session, center_id=center_id,
                                service_code=data["service_code"]) is not None:
        raise CategoryConflict(fields={"service_code": ["该 Open311 服务编码已存在"]})
    category = Category(center_id=center_id, active=True, **data)
    db_session.add(category)
    db_session.flush()
    forget_routing(center_id)
    return category


def get_category(*, db_session: Session, center_id: str, code: str) -> Category:
    category = db_session.get(Category, (center_id, code))
    if category is None:
        raise CategoryNotFound()
    return category


def category_by_service_code(*, db_session: Session, center_id: str,
                             service_code: str) -> Category | None:
    """The category an Open311 ``service_code`` names."""
    return db_session.scalar(select(Category).where(Category.center_id == center_id,
                                                    Category.service_code == service_code))


def update_category(*, db_session: Session, center_id: str, code: str,
                    data: dict[str, Any]) -> Category:
    """Change a category's routing rule, SLA or questions; open tickets keep their deadlines."""
    category = get_category(db_session=db_session, center_id=center_id, code=code)
    for key, value in data.items():
        setattr(category, key, value)
    forget_routing(center_id)
    return category


def list_categories(*, db_session: Session, center_id: str, active_only: bool = False) -> list[Category]:
    """A center's categories, by code."""
    query = select(Category).where(Category.center_id == center_id)
    if active_only:
        query = query.where(Category.active.is_(True))
    return list(db_session.scalars(query.order_by(Category.code)))


def route(center: Center, category: Category) -> str:
    """The party a category's issues go to: its rule, else the center's fallback."""
    return category.party or center.fallback_party


# -- duty roster -----------------------------------------------------------------------------

def add_duty_shift(*, db_session: Session, center_id: str, data: dict[str, Any]) -> DutyShift:
    """Put someone on duty for a time window."""
    require_center(db_session=db_session, center_id=center_id)
    shift = DutyShift(id=str(uuid.uuid4()), center_id=center_id, **data)
    db_session.add(shift)
    return shift


def list_duty(*, db_session: Session, center_id: str, start: datetime | None,
              end: datetime | None) -> list[DutyShift]:
    """The roster overlapping [start, end) (default: the coming week)."""
    start = start or now_utc() - timedelta(days=1)
    end = end or start + timedelta(days=8)
    return list(db_session.scalars(
        select(DutyShift).where(DutyShift.center_id == center_id, DutyShift.starts_at < end,
                                DutyShift.ends_at > start).order_by(DutyShift.starts_at)))


def on_duty(*, db_session: Session, center_id: str, at: datetime) -> DutyShift | None:
    """Who is on duty at ``at`` (the latest-starting shift covering it)."""
    return db_session.scalar(
        select(DutyShift).where(DutyShift.center_id == center_id, DutyShift.starts_at <= at,
                                DutyShift.ends_at > at)
        .order_by(DutyShift.starts_at.desc()).limit(1))


# -- intake ----------------------------------------------------------------------------------

def _check_attributes(category: Category, given: dict[str, Any]) -> dict[str, Any]:
    """Answers to the category's questions: required ones present, list answers known."""
    defined = {a["code"]: a for a in category.attributes or []}
    errors: dict[str, list[str]] = {}
    for code in given:
        if code not in defined:
            errors[code] = ["该类别没有这个问题"]
    for code, attr in defined.items():
        value = given.get(code)
        if value in (None, "", []):
            if attr.get("required"):
                errors[code] = [f"必填：{attr['description']}"]
            continue
        keys = {v["key"] for v in attr.get("values") or []}
        values = value if isinstance(value, list) else [value]
        if attr.get("datatype") in ("singlevaluelist", "multivaluelist") and \
                any(str(v) not in keys for v in values):
            errors[code] = [f"应为以下之一：{', '.join(sorted(keys))}"]
        elif attr.get("datatype") == "number":
            try:
                float(value)
            except (TypeError, ValueError):
                errors[code] = ["应为数字"]
    if errors:
        raise InvalidInput(fields={"attributes": errors})
    return {k: v for k, v in given.items() if v not in (None, "", [])}


@dataclass(frozen=True)
class Routing:
    """What intake needs to know about a category, with its center's fallback party."""

    code: str
    name: str
    party: str
    ack_minutes: int
    resolve_hours: int
    attributes: tuple
    active: bool

    @property
    def questions(self) -> Category:
        return Category(code=self.code, attributes=list(self.attributes))


#: Intake reads a category on every report; categories change rarely. A change drops the
#: center's entries in every replica at once (the service's routing-changed broadcast);
#: entries also expire after ``ROUTING_TTL`` seconds, in case that broadcast was lost.
ROUTING_TTL = 30.0
_routing: dict[tuple[str, str, str], tuple[float, Routing | None]] = {}


def forget_routing(center_id: str | None) -> None:
    """Drop a center's cached routing (every center's with None)."""
    if center_id is None:
        _routing.clear()
        return
    for key in [k for k in _routing if k[1] == center_id]:
        _routing.pop(key, None)


def routing(*, db_session: Session, center_id: str, code: str) -> Routing | None:
    """The category's routing (cached), or None if the center has no such category."""
    key = (str(db_session.get_bind().url), center_id, code)  # per database
    hit = _routing.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    row = db_session.execute(
        select(Category.code, Category.name, Category.party, Category.ack_minutes,
               Category.resolve_hours, Category.attributes, Category.active, Center.fallback_party)
        .join(Center, Center.id == Category.center_id)
        .where(Category.center_id == center_id, Category.code == code)).first()
    found = None if row is None else Routing(
        row.code, row.name, row.party or row.fallback_party, row.ack_minutes, row.resolve_hours,
        tuple(row.attributes or ()), row.active)
    if len(_routing) > 10_000:
        _routing.clear()
    _routing[key] = (time.monotonic() + ROUTING_TTL, found)
    return found


#: How long the same submission from the same client counts as a repeat, not a new issue.
REPEAT_WINDOW = timedelta(minutes=10)


def create_ticket(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                  data: dict[str, Any], reporter_id: str | None,
                  now: datetime | None = None) -> SimpleNamespace:
    """Take in a resident's issue: route it by category, set its deadlines, announce it.

    Returns the new ticket's columns (read it back with :func:`get_ticket` to change it)."""
    new = prepare_ticket(db_session=db_session, center_id=center_id, data=data,
                         reporter_id=reporter_id, now=now)
    insert_tickets(db_session=db_session, outbox=outbox, tickets=[new])
    return new


def prepare_ticket(*, db_session: Session, center_id: str, data: dict[str, Any],
                   reporter_id: str | None, now: datetime | None = None,
                   intake_key: str | None = None) -> SimpleNamespace:
    """Check and route a new issue, without writing: its columns, or the caller's error
    (unknown center or category, bad attributes). :func:`insert_tickets` stores it."""
    category = routing(db_session=db_session, center_id=center_id, code=data["category"])
    if category is None or not category.active:
        # Tell an unknown center apart from an unknown category: both are the caller's error.
        require_center(db_session=db_session, center_id=center_id)
        raise InvalidCategory(fields={"category": ["该服务中心没有此诉求类别"]})
    attributes = _check_attributes(category.questions, data.get("attributes") or {}) \
        if category.attributes or data.get("attributes") else {}
    now = now or now_utc()
    values = dict(
        id=str(uuid.uuid4()), center_id=center_id, category=category.code,
        party=category.party, state="reported", channel=data.get("channel", "web"),
        description=data["description"], address=data.get("address") or "",
        lat=data.get("lat"), long=data.get("long"), attributes=attributes,
        media_url=data.get("media_url"), reporter_id=reporter_id,
        follow_code=secrets.token_urlsafe(12), created_at=now, updated_at=now,
        ack_due_at=now + timedelta(minutes=category.ack_minutes),
        resolve_due_at=now + timedelta(hours=category.resolve_hours),
        acknowledged_at=None, resolved_at=None, closed_at=None, answer=None, primary_id=None,
        rating=None, reopen_count=0, ack_breach_level=0, resolve_breached=False,
        intake_key=stored_intake_key(intake_key, now) if intake_key else None,
        category_name=category.name,
    )
    values["due_at"] = values["ack_due_at"]
    return SimpleNamespace(**values)


def stored_intake_key(key: str, at: datetime) -> str:
    """A submission's key as stored: within its :data:`REPEAT_WINDOW`-long time bucket, so
    that a unique index refuses the same submission twice at once (through two gateways)
    while the same words weeks later are a new ticket."""
    bucket = int(at.timestamp() // REPEAT_WINDOW.total_seconds())
    return hashlib.sha256(f"{key}|{bucket}".encode()).hexdigest()


def earlier_submissions(*, db_session: Session, keys: set[str],
                        now: datetime | None = None) -> dict[tuple[str, str], Any]:
    """Tickets taken in within :data:`REPEAT_WINDOW` under one of ``keys``, by (center, key):
    a repeated submission (a double click, a client's retry) answers with the first one."""
    if not keys:
        return {}
    now = now or now_utc()
    stored = {stored_intake_key(key, at): key for key in keys for at in (now, now - REPEAT_WINDOW)}
    rows = db_session.execute(select(*Ticket.__table__.c).where(
        Ticket.intake_key.in_(sorted(stored)), Ticket.created_at >= now - REPEAT_WINDOW)
        .order_by(Ticket.created_at)).all()
    found: dict[tuple[str, str], Any] = {}
    for row in rows:
        found.setdefault((row.center_id, stored[row.intake_key]), row)
    return found


def insert_tickets(*, db_session: Session, outbox: OutboxWriter,
                   tickets: list[SimpleNamespace]) -> None:
    """Store prepared issues with their audit entries and ``ticket.created`` events.

    Intake is the hot path: plain INSERTs (one statement per table for all of them), no
    unit of work (the new rows are dumped as they are)."""
    if not tickets:
        return
    columns = [c.name for c in Ticket.__table__.columns]
    conn = db_session.connection()
    conn.execute(insert(Ticket.__table__), [{c: getattr(t, c) for c in columns} for t in tickets])
    conn.execute(insert(TicketLog.__table__), [dict(
        center_id=t.center_id, ticket_id=t.id, action="report", from_state=None,
        to_state="reported", actor_id=t.reporter_id, actor_role=None, reason=None, party=None,
        at=t.created_at) for t in tickets])
    outbox.add_many([(tickets_events.TICKET_CREATED, t.center_id, t.id, {
        "ticket_id": t.id, "category": t.category, "category_name": t.category_name,
        "party": t.party, "channel": t.channel,
        "summary": t.description[:SUMMARY_LENGTH], "ack_due_at": t.ack_due_at,
        "resolve_due_at": t.resolve_due_at, "person_id": t.reporter_id,
    }) for t in tickets])


# -- reading ---------------------------------------------------------------------------------

def get_ticket(*, db_session: Session, center_id: str, ticket_id: str, lock: bool = False) -> Ticket:
    """A center's ticket, or :class:`TicketNotFound` (also for another center's ticket)."""
    query = select(Ticket).where(Ticket.id == ticket_id, Ticket.center_id == center_id)
    if lock:
        query = query.with_for_update()
    ticket = db_session.scalar(query)
    if ticket is None:
        raise TicketNotFound()
    return ticket


def list_tickets(*, db_session: Session, center_id: str, query: dict[str, Any],
                 reporter_id: str | None = None) -> tuple[list[Ticket], int]:
    """A center's tickets, newest first, filtered by state / category / party (or reporter)."""
    where = [Ticket.center_id == center_id]
    for key in ("state", "category", "party"):
        if query.get(key):
            where.append(getattr(Ticket, key) == query[key])
    if reporter_id is not None:
        where.append(Ticket.reporter_id == reporter_id)
    total = db_session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
    items = db_session.scalars(
        select(Ticket).where(*where).order_by(Ticket.created_at.desc(), Ticket.id)
        .limit(query["limit"]).offset(query["offset"])
    ).all()
    return list(items), total


def search_tickets(*, db_session: Session, center_id: str, query: dict[str, Any]) -> list[Ticket]:
    """Tickets by ids, category, creation window and open/closed (merged ones left out)."""
    where = [Ticket.center_id == center_id, Ticket.state != "merged"]
    if query.get("ids"):
        where.append(Ticket.id.in_(query["ids"]))
    if query.get("category"):
        where.append(Ticket.category == query["category"])
    if query.get("start"):
        where.append(Ticket.created_at >= query["start"])
    if query.get("end"):
        where.append(Ticket.created_at < query["end"])
    if query.get("status") == "open":
        where.append(Ticket.due_at.is_not(None))
    elif query.get("status") == "closed":
        where.append(Ticket.due_at.is_(None))
    return list(db_session.scalars(select(Ticket).where(*where)
                                   .order_by(Ticket.created_at.desc()).limit(query["limit"])))


def board(*, db_session: Session, center_id: str, query: dict[str, Any]) -> dict[str, Any]:
    """The staff board: open tickets, most urgent deadline first; and counts by state.

    Read on the session's connection with Core (plain rows: no ORM loading, no identity
    map): the board is read-only and hot, and its cost grows with the rows it returns.
    """
    db_session.flush()  # Core doesn't autoflush: changes pending in this session count too
    conn = db_session.connection()
    table = Ticket.__table__
    where = [table.c.center_id == center_id, table.c.due_at.is_not(None)]
    for key in ("state", "category", "party"):
        if query.get(key):
            where.append(table.c[key] == query[key])
    items = conn.execute(select(*table.c).where(*where).order_by(table.c.due_at, table.c.id)
                         .limit(query["limit"]).offset(query["offset"])).all()
    counts = dict(conn.execute(
        select(table.c.state, func.count()).where(table.c.center_id == center_id,
                                                  table.c.due_at.is_not(None))
        .group_by(table.c.state)).all())
    filtered = any(query.get(k) for k in ("state", "category", "party"))
    total = (conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0) \
        if filtered else sum(counts.values())
    return {"items": items, "total": total, "counts": {s: counts.get(s, 0) for s in OPEN_STATES},
            "limit": query["limit"], "offset": query["offset"]}


def timeline(*, db_session: Session, ticket: Ticket) -> list[TicketLog]:
    """Everything that happened to a ticket, in order."""
    return list(db_session.scalars(select(TicketLog).where(TicketLog.ticket_id == ticket.id)
                                   .order_by(TicketLog.id)))


# -- the workflow ----------------------------------------------------------------------------

def _log(db_session: Session, ticket: Ticket, action: str, from_state: str | None, to_state: str,
         actor: Actor, reason: str | None, now: datetime, party: str | None = None) -> None:
    db_session.add(TicketLog(center_id=ticket.center_id, ticket_id=ticket.id, action=action,
                             from_state=from_state, to_state=to_state, actor_id=actor.id,
                             actor_role=actor.role, reason=reason, party=party, at=now))


def _check(ticket: Ticket, action: str) -> None:
    if ticket.state not in TRANSITIONS[action]:
        raise InvalidTransition(
            f"工单当前为「{STATE_NAMES.get(ticket.state, ticket.state)}」，不能{ACTION_NAMES[action]}",
            extra={"state": ticket.state, "action": action})


def _move(db_session: Session, ticket: Ticket, action: str, to_state: str, actor: Actor,
          now: datetime, reason: str | None = None, party: str | None = None) -> str:
    """Apply a checked transition: state, next deadline, audit line. Returns the old state."""
    _check(ticket, action)
    before = ticket.state
    ticket.state = to_state
    ticket.updated_at = now
    if to_state in ("resolved", "closed", "merged"):
        ticket.due_at = None
    elif to_state == "reported":
        ticket.due_at = ticket.ack_due_at
    else:
        ticket.due_at = ticket.resolve_due_at
    _log(db_session, ticket, action, before, to_state, actor, reason, now, party)
    return before


def _fact(ticket: Ticket, actor: Actor, **extra: Any) -> dict[str, Any]:
    return {"ticket_id": ticket.id, "category": ticket.category, "party": ticket.party,
            "actor_id": actor.id, "person_id": ticket.reporter_id, **extra}


def acknowledge(*, db_session: Session, outbox: OutboxWriter, ticket: Ticket, actor: Actor,
                note: str | None = None, now: datetime | None = None) -> Ticket:
    """签收: the cadre on duty takes the ticket; routed to its party when the center auto-assigns."""
    now = now or now_utc()
    _move(db_session, ticket, "acknowledge", "acknowledged", actor, now, note)
    ticket.acknowledged_at = now
    outbox.add(tickets_events.TICKET_ACKNOWLEDGED, center_id=ticket.center_id, subject=ticket.id,
               data=_fact(ticket, actor, acknowledged_at=now, late=now > ticket.ack_due_at))
    center = db_session.get(Center, ticket.center_id)
    if center is not None and center.auto_assign:
        assign(db_session=db_session, outbox=outbox, ticket=ticket, actor=Actor.system(),
               party=ticket.party, reason="按分派规则自动派单", now=now, automatic=True)
    return ticket


def assign(*, db_session: Session, outbox: OutboxWriter, ticket: Ticket, actor: Actor, party: str,
           reason: str | None = None, now: datetime | None = None, automatic: bool = False) -> Ticket:
    """派单 to a party (first dispatch, a change of party, or re-dispatch after a return)."""
    now = now or now_utc()
    if ticket.state == "assigned" and party == ticket.party:
        raise InvalidTransition("工单已派给该责任方", extra={"state": ticket.state, "action": "assign"})
    previous = ticket.party
    _move(db_session, ticket, "assign", "assigned", actor, now, reason, party)
    ticket.party = party
    outbox.add(tickets_events.TICKET_ASSIGNED, center_id=ticket.center_id, subject=ticket.id,
               data=_fact(ticket, actor, automatic=automatic,
                          previous_party=None if automatic else previous))
    return ticket


def start(*, db_session: Session, ticket: Ticket, actor: Actor, now: datetime | None = None) -> Ticket:
    """The party begins working on it (audited; no event)."""
    _move(db_session, ticket, "start", "in_progress", actor, now or now_utc(), party=ticket.party)
    return ticket


def return_ticket(*, db_session: Session, outbox: OutboxWriter, ticket: Ticket, actor: Actor,
                  reason: str, now: datetime | None = None) -> Ticket:
    """退单: the party sends it back with a reason; it waits for re-dispatch."""
    now = now or now_utc()
    _move(db_session, ticket, "return", "returned", actor, now, reason, ticket.party)
    outbox.add(tickets_events.TICKET_RETURNED, center_id=ticket.center_id, subject=ticket.id,
               data=_fact(ticket, actor, reason=reason))
    return ticket


def _merged_into(db_session: Session, ticket: Ticket) -> list[Ticket]:
    return list(db_session.scalars(select(Ticket).where(Ticket.primary_id == ticket.id,
                                                        Ticket.center_id == ticket.center_id)))


def resolve(*, db_session: Session, outbox: OutboxWriter, ticket: Ticket, actor: Actor,
            answer: str, now: datetime | None = None, via_meeting: bool = False) -> Ticket:
    """办结 with the answer given; repeat reports merged into it are resolved with it."""
    now = now or now_utc()
    if via_meeting:  # the joint meeting may resolve an escalated ticket
        if ticket.state != "escalated":
            _check(ticket, "resolve")
        before = ticket.state
        ticket.state, ticket.updated_at, ticket.due_at = "resolved", now, None
        _log(db_session, ticket, "resolve", before, "resolved", actor, "联席会议决定办结", now,
             ticket.party)
    else:
        _move(db_session, ticket, "resolve", "resolved", actor, now, None, ticket.party)
    ticket.answer, ticket.resolved_at = answer, now
    outbox.add(tickets_events.TICKET_RESOLVED, center_id=ticket.center_id, subject=ticket.id,
               data=_fact(ticket, actor, answer=answer[:80]))
    for child in _merged_into(db_session, ticket):
        if child.state == "merged":
            child.state, child.answer, child.resolved_at, child.updated_at = \
                "resolved", answer, now, now
            _log(db_session, child, "resolve", "merged", "resolved", actor, "随主工单办结", now,
                 ticket.party)
            child.party = ticket.party
            outbox.add(tickets_events.TICKET_RESOLVED, center_id=child.center_id, subject=child.id,
                       data=_fact(child, actor, answer=answer[:80]))
    return ticket


def merge(*, db_session: Session, outbox: OutboxWriter, ticket: Ticket, primary: Ticket,
          actor: Actor, now: datetime | None = None) -> Ticket:
    """并单: a repeat report follows the primary ticket from now on."""
    now = now or now_utc()
    if primary.id == ticket.id:
        raise InvalidInput(fields={"primary_id": ["不能并入自身"]})
    if primary.state not in OPEN_STATES:
        raise InvalidInput(fields={"primary_id": ["主工单已办结或已并单，不能并入"]})
    _move(db_session, ticket, "merge", "merged", actor, now, f"并入 {primary.id}", primary.party)
    ticket.primary_id = primary.id
    outbox.add(tickets_events.TICKET_MERGED, center_id=ticket.center_id, subject=ticket.id,
               data=_fact(ticket, actor, primary_id=primary.id))
    return ticket


def reopen(*, db_session: Session, outbox: OutboxWriter, ticket: Ticket, actor: Actor, reason: str,
           by: str, now: datetime | None = None) -> Ticket:
    """重新办理: back to the party, with a fresh resolve deadline."""
    now = now or now_utc()
    _check(ticket, "reopen")
    if by == "resident" and ticket.resolved_at and now - ticket.resolved_at > timedelta(days=REOPEN_DAYS):
        raise ReopenWindowClosed()
    category = db_session.get(Category, (ticket.center_id, ticket.category))
    ticket.resolve_due_at = now + timedelta(hours=category.resolve_hours if category else 72)
    ticket.resolve_breached = False
    _move(db_session, ticket, "reopen", "assigned", actor, now, reason, ticket.party)
    ticket.reopen_count += 1
    ticket.closed_at = None
    outbox.add(tickets_events.TICKET_REOPENED, center_id=ticket.center_id, subject=ticket.id,
               data=_fact(ticket, actor, reason=reason, by=by))
    return ticket


def close(*, db_session: Session, outbox: OutboxWriter, ticket: Ticket, actor: Actor,
          reason: str | None, rating: str | None = None, now: datetime | None = None) -> Ticket:
    """回访关闭: the return visit is over."""
    now = now or now_utc()
    _move(db_session, ticket, "close", "closed", actor, now, reason, ticket.party)
    ticket.closed_at = now
    outbox.add(tickets_events.TICKET_CLOSED, center_id=ticket.center_id, subject=ticket.id,
               data=_fact(ticket, actor, rating=rating))
    for child in _merged_into(db_session, ticket):
        if child.state == "resolved":
            _move(db_session, child, "close", "closed", actor, now, "随主工单关闭", child.party)
            child.closed_at = now
            outbox.add(tickets_events.TICKET_CLOSED, center_id=child.center_id, subject=child.id,
                       data=_fact(child, actor, rating=None))
    return ticket


def rate(*, db_session: Session, outbox: OutboxWriter, ticket: Ticket, actor: Actor,
         data: dict[str, Any], now: datetime | None = None) -> Ticket:
    """回访评价: counted in the satisfaction rate; dissatisfied reopens, otherwise it closes."""
    now = now or now_utc()
    _check(ticket, "rate")
    rating = data["rating"]
    db_session.add(Rating(center_id=ticket.center_id, ticket_id=ticket.id, party=ticket.party,
                          category=ticket.category, rating=rating, via=data.get("via", "web"),
                          comment=data.get("comment") or "", rated_at=now))
    ticket.rating = rating
    _log(db_session, ticket, "rate", ticket.state, ticket.state, actor,
         f"{contract.RATINGS[rating]} {data.get('comment') or ''}".strip(), now, ticket.party)
    outbox.add(tickets_events.TICKET_RATED, center_id=ticket.center_id, subject=ticket.id,
               data=_fact(ticket, actor, rating=rating))
    if rating == "dissatisfied":
        return reopen(db_session=db_session, outbox=outbox, ticket=ticket, actor=actor,
                      reason=f"回访不满意：{data.get('comment') or '未说明'}", by="survey", now=now)
    return close(db_session=db_session, outbox=outbox, ticket=ticket, actor=actor,
                 reason="回访完成", rating=rating, now=now)


# -- joint meeting ---------------------------------------------------------------------------

def _month_meeting_date(year: int, month: int, day: int) -> date:
    return date(year, month, day)


def next_meeting(*, db_session: Session, center: Center, now: datetime) -> JointMeeting:
    """The center's next monthly meeting (this month's if its day hasn't passed), created if needed."""
    today = now.astimezone(SHANGHAI).date()
    held = _month_meeting_date(today.year, today.month, center.meeting_day)
    if held < today:
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        held = _month_meeting_date(year, month, center.meeting_day)
    return meeting_for_month(db_session=db_session, center=center, month=held.strftime("%Y-%m"))


def meeting_for_month(*, db_session: Session, center: Center, month: str) -> JointMeeting:
    meeting = db_session.scalar(select(JointMeeting).where(JointMeeting.center_id == center.id,
                                                           JointMeeting.month == month))
    if meeting is None:
        year, mon = (int(x) for x in month.split("-"))
        meeting = JointMeeting(id=str(uuid.uuid4()), center_id=center.id, month=month,
                               meeting_date=_month_meeting_date(year, mon, center.meeting_day))
        db_session.add(meeting)
        db_session.flush()
    return meeting


def escalate(*, db_session: Session, outbox: OutboxWriter, ticket: Ticket, actor: Actor,
             reason: str, now: datetime | None = None) -> AgendaItem:
    """提交联席会: put the ticket on the agenda of the center's next monthly joint meeting."""
    now = now or now_utc()
    _move(db_session, ticket, "escalate", "escalated", actor, now, reason, ticket.party)
    center = db_session.get(Center, ticket.center_id)
    meeting = next_meeting(db_session=db_session, center=center, now=now)
    return _add_item(db_session, outbox, ticket, meeting, actor, reason, now)


def _add_item(db_session: Session, outbox: OutboxWriter, ticket: Ticket, meeting: JointMeeting,
              actor: Actor, reason: str, now: datetime) -> AgendaItem:
    item = AgendaItem(id=str(uuid.uuid4()), center_id=ticket.center_id, meeting_id=meeting.id,
                      ticket_id=ticket.id, reason=reason, added_at=now)
    db_session.add(item)
    outbox.add(tickets_events.TICKET_ESCALATED, center_id=ticket.center_id, subject=ticket.id,
               data=_fact(ticket, actor, meeting_id=meeting.id, meeting_month=meeting.month,
                          reason=reason))
    return item


def list_meetings(*, db_session: Session, center_id: str) -> list[JointMeeting]:
    return list(db_session.scalars(select(JointMeeting).where(JointMeeting.center_id == center_id)
                                   .order_by(JointMeeting.month.desc())))


def get_meeting(*, db_session: Session, center_id: str, month: str) -> tuple[JointMeeting, list[AgendaItem]]:
    """A month's meeting and its agenda (each item with its ticket)."""
    meeting = db_session.scalar(select(JointMeeting).where(JointMeeting.center_id == center_id,
                                                           JointMeeting.month == month))
    if meeting is None:
        raise MeetingNotFound()
    items = list(db_session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
                                    .order_by(AgendaItem.added_at, AgendaItem.id)))
    tickets = {t.id: t for t in db_session.scalars(
        select(Ticket).where(Ticket.id.in_([i.ticket_id for i in items])))}
    for item in items:
        item.ticket = tickets.get(item.ticket_id)
    return meeting, items


def decide(*, db_session: Session, outbox: OutboxWriter, center_id: str, item_id: str,
           actor: Actor, data: dict[str, Any], now: datetime | None = None) -> AgendaItem:
    """Record the meeting's decision on an item and carry it to the ticket."""
    now = now or now_utc()
    item = db_session.scalar(select(AgendaItem).where(AgendaItem.id == item_id,
                                                      AgendaItem.center_id == center_id)
                             .with_for_update())
    if item is None:
        raise AgendaItemNotFound()
    if item.decision is not None:
        raise AgendaItemDecided()
    ticket = get_ticket(db_session=db_session, center_id=center_id, ticket_id=item.ticket_id,
                        lock=True)
    if ticket.state != "escalated":
        raise InvalidTransition(f"工单当前为「{STATE_NAMES.get(ticket.state)}」，不在联席会议程中")
    decision = data["decision"]
    if decision == "resolved":
        resolve(db_session=db_session, outbox=outbox, ticket=ticket, actor=actor,
                answer=data["answer"], now=now, via_meeting=True)
    elif decision == "assigned":
        previous = ticket.party
        ticket.state, ticket.party, ticket.updated_at = "assigned", data["party"], now
        ticket.due_at = ticket.resolve_due_at
        _log(db_session, ticket, "assign", "escalated", "assigned", actor,
             data.get("note") or "联席会议决定派单", now, data["party"])
        outbox.add(tickets_events.TICKET_ASSIGNED, center_id=center_id, subject=ticket.id,
                   data=_fact(ticket, actor, automatic=False, previous_party=previous))
    else:  # carried over to next month's meeting
        meeting = db_session.get(JointMeeting, item.meeting_id)
        year, month = (int(x) for x in meeting.month.split("-"))
        following = f"{year + (month == 12)}-{month % 12 + 1:02d}"
        center = db_session.get(Center, center_id)
        later = meeting_for_month(db_session=db_session, center=center, month=following)
        _log(db_session, ticket, "carry_over", "escalated", "escalated", actor,
             data.get("note") or f"顺延至 {following} 联席会", now, ticket.party)
        _add_item(db_session, outbox, ticket, later, actor, item.reason, now)
    item.decision, item.decision_note = decision, data.get("note") or data.get("answer")
    item.decided_by, item.decided_at = actor.id, now
    return item


# -- SLA -------------------------------------------------------------------------------------

def check_sla(*, db_session: Session, outbox: OutboxWriter, now: datetime | None = None,
              limit: int = 500) -> int:
    """Find tickets past a deadline and announce each breach once; returns how many.

    Level 1: not acknowledged by ``ack_due_at`` (alert the cadre on duty), or not resolved by
    ``resolve_due_at``. Level 2: still not acknowledged at twice the acknowledge limit (alert
    the center admin too). Rows are locked with SKIP LOCKED so replicas never announce twice.
    """
    now = now or now_utc()
    found = 0
    late_ack = db_session.scalars(
        select(Ticket).where(Ticket.state == "reported", Ticket.ack_due_at <= now,
                             Ticket.ack_breach_level < 2)
        .order_by(Ticket.ack_due_at).limit(limit).with_for_update(skip_locked=True)).all()
    for ticket in late_ack:
        limit_span = ticket.ack_due_at - ticket.created_at
        level = 2 if now >= ticket.created_at + 2 * limit_span else 1
        for lvl in range(ticket.ack_breach_level + 1, level + 1):
            _breach(db_session, outbox, ticket, "acknowledge", lvl, ticket.ack_due_at, now)
            found += 1
        ticket.ack_breach_level = level
    late_resolve = db_session.scalars(
        select(Ticket).where(Ticket.due_at.is_not(None), Ticket.resolve_breached.is_(False),
                             Ticket.resolve_due_at <= now, Ticket.state != "reported")
        .order_by(Ticket.resolve_due_at).limit(limit).with_for_update(skip_locked=True)).all()
    for ticket in late_resolve:
        _breach(db_session, outbox, ticket, "resolve", 1, ticket.resolve_due_at, now)
        ticket.resolve_breached = True
        found += 1
    return found


def _breach(db_session: Session, outbox: OutboxWriter, ticket: Ticket, kind: str, level: int,
            due_at: datetime, now: datetime) -> None:
    duty = on_duty(db_session=db_session, center_id=ticket.center_id, at=now)
    _log(db_session, ticket, f"sla_{kind}", ticket.state, ticket.state, Actor.system(),
         f"超时（{'签收' if kind == 'acknowledge' else '办结'}，第 {level} 级提醒）", now, ticket.party)
    outbox.add(tickets_events.TICKET_SLA_BREACHED, center_id=ticket.center_id, subject=ticket.id,
               data=_fact(ticket, Actor.system(), kind=kind, level=level, due_at=due_at,
                          duty_person_id=duty.person_id if duty else None))


# -- satisfaction ----------------------------------------------------------------------------

def satisfaction(*, db_session: Session, center_id: str, group_by: str,
                 start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    """Ratings and the satisfaction rate ((满意 + 基本满意) / all) per center, party, category or
    month (Asia/Shanghai)."""
    where = [Rating.center_id == center_id]
    if start:
        where.append(Rating.rated_at >= start)
    if end:
        where.append(Rating.rated_at < end)
    tally: dict[str, dict[str, int]] = {}
    if group_by == "month":
        for rated_at, rating in db_session.execute(select(Rating.rated_at, Rating.rating).where(*where)):
            key = rated_at.astimezone(SHANGHAI).strftime("%Y-%m")
            bucket = tally.setdefault(key, dict.fromkeys(contract.RATINGS, 0))
            bucket[rating] = bucket.get(rating, 0) + 1
    else:
        column = {"center": Rating.center_id, "party": Rating.party, "category": Rating.category}[group_by]
        for key, rating, count in db_session.execute(
                select(column, Rating.rating, func.count()).where(*where).group_by(column, Rating.rating)):
            tally.setdefault(str(key), dict.fromkeys(contract.RATINGS, 0))[rating] = count
    rows = []
    for key in sorted(tally):
        counts = tally[key]
        total = sum(counts.values())
        good = counts["satisfied"] + counts["basically_satisfied"]
        rows.append({"key": key, "ratings": total, **counts,
                     "rate": round(100 * good / total, 1) if total else None})
    return rows


# -- Open311 API keys ------------------------------------------------------------------------

def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(*, db_session: Session, center_id: str, name: str) -> str:
    """A new Open311 key for a client of the center; only its hash is stored."""
    require_center(db_session=db_session, center_id=center_id)
    key = "lx_" + secrets.token_urlsafe(24)
    db_session.add(ApiKey(id=str(uuid.uuid4()), center_id=center_id, name=name,
                          key_hash=_hash(key), created_at=now_utc()))
    return key


def check_api_key(*, db_session: Session, center_id: str, key: str | None) -> ApiKey:
    """The key's record if it is valid for the center; else :class:`InvalidApiKey`."""
    if not key:
        raise InvalidApiKey("缺少 api_key")
    record = db_session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(key)))
    if record is None or record.revoked_at is not None or record.center_id != center_id:
        raise InvalidApiKey()
    return record


def revoke_api_keys(*, db_session: Session, center_id: str, name: str) -> int:
    result = db_session.execute(update(ApiKey).where(ApiKey.center_id == center_id,
                                                     ApiKey.name == name,
                                                     ApiKey.revoked_at.is_(None))
                                .values(revoked_at=now_utc()))
    return result.rowcount
