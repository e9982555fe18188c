"""The rules of resident issues, free of nameko: plain functions over a session."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.contracts.tickets import TICKET_CREATED
from lianxin.outbox import OutboxWriter
from services.tickets.exceptions import (
    CategoryConflict,
    CenterConflict,
    CenterNotFound,
    InvalidCategory,
    TicketNotFound,
)
from services.tickets.models import Category, Center, Ticket

SUMMARY_LENGTH = 60


def now_utc() -> datetime:
    return datetime.now(UTC)


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
    center = Center(**data, created_at=now_utc())
    db_session.add(center)
    try:
        db_session.flush()
    except IntegrityError:
        db_session.rollback()
        raise CenterConflict(fields={"id": ["该编号已被使用"]}) from None
    return center


def add_category(*, db_session: Session, center_id: str, data: dict[str, Any]) -> Category:
    """Add an issue category with its party and SLA to a center."""
    require_center(db_session=db_session, center_id=center_id)
    if db_session.get(Category, (center_id, data["code"])) is not None:
        raise CategoryConflict(fields={"code": ["该类别编码已存在"]})
    category = Category(center_id=center_id, **data)
    db_session.add(category)
    db_session.flush()
    return category


def list_categories(*, db_session: Session, center_id: str) -> list[Category]:
    """A center's categories, by code."""
    return list(db_session.scalars(
        select(Category).where(Category.center_id == center_id).order_by(Category.code)))


def create_ticket(*, db_session: Session, outbox: OutboxWriter, center_id: str,
                  data: dict[str, Any], reporter_id: str | None,
                  now: datetime | None = None) -> Ticket:
    """Take in a resident's issue: route it by category, set its deadlines, announce it."""
    category = db_session.get(Category, (center_id, data["category"]))
    if category is None:
        # Tell an unknown center apart from an unknown category: both are the caller's error.
        require_center(db_session=db_session, center_id=center_id)
        raise InvalidCategory(fields={"category": ["该服务中心没有此诉求类别"]})
    now = now or now_utc()
    channel = data.get("channel", "web")
    ticket = Ticket(
        id=str(uuid.uuid4()), center_id=center_id, category=category.code,
        party=category.party, state="reported", channel=channel,
        description=data["description"], address=data.get("address") or "",
        lat=data.get("lat"), long=data.get("long"), reporter_id=reporter_id,
        created_at=now, ack_due_at=now + timedelta(minutes=category.ack_minutes),
        resolve_due_at=now + timedelta(hours=category.resolve_hours),
    )
    db_session.add(ticket)
    outbox.add(TICKET_CREATED, center_id=center_id, subject=ticket.id, data={
        "ticket_id": ticket.id, "category": ticket.category,
        "category_name": category.name, "party": ticket.party,
        "channel": channel, "summary": ticket.description[:SUMMARY_LENGTH],
        "ack_due_at": ticket.ack_due_at, "resolve_due_at": ticket.resolve_due_at,
    })
    return ticket


def get_ticket(*, db_session: Session, center_id: str, ticket_id: str) -> Ticket:
    """A center's ticket, or :class:`TicketNotFound` (also for another center's ticket)."""
    ticket = db_session.get(Ticket, ticket_id)
    if ticket is None or ticket.center_id != center_id:
        raise TicketNotFound()
    return ticket


def list_tickets(*, db_session: Session, center_id: str, query: dict[str, Any]) -> tuple[list[Ticket], int]:
    """A center's tickets, newest first, filtered by state / category / party."""
    where = [Ticket.center_id == center_id]
    for key in ("state", "category", "party"):
        if query.get(key):
            where.append(getattr(Ticket, key) == query[key])
    total = db_session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
    items = db_session.scalars(
        select(Ticket).where(*where).order_by(Ticket.created_at.desc(), Ticket.id)
        .limit(query["limit"]).offset(query["offset"])
    ).all()
    return list(items), total
