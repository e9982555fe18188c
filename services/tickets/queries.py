"""Reading tickets: one ticket (as its reader may see it), the list, the staff board, the
Open311 search, a ticket's timeline and the satisfaction rate."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.clock import local
from lianxin.contracts.tickets.operations import (
    OPEN_STATES,
    RATINGS,
    BoardItem,
    TicketFilter,
    TicketSearchFilter,
    sees_ticket,
)
from lianxin.roles import Principal
from services.tickets.exceptions import PhotoNotPublic, TicketNotFound
from services.tickets.models import Center, Rating, Ticket, TicketLog, TicketPhoto

_NARROWING = ("state", "category", "party")

#: The columns a board item is dumped from: the board reads no more (a ticket's other
#: columns — five of them JSON, parsed on every row — were a fifth of a page's read).
_BOARD_COLUMNS = tuple(
    dict.fromkeys(field.attribute or name for name, field in BoardItem().fields.items())
)


def get_ticket(
    *, db_session: Session, center_id: str, ticket_id: str, lock: bool = False
) -> Ticket:
    """A center's ticket, or :class:`TicketNotFound` (also for another center's ticket)."""
    query = select(Ticket).where(Ticket.id == ticket_id, Ticket.center_id == center_id)
    if lock:
        query = query.with_for_update()
    ticket = db_session.scalar(query)
    if ticket is None:
        raise TicketNotFound()
    return ticket


def visible_ticket(
    *, db_session: Session, center_id: str, ticket_id: str, reader: Principal, lock: bool = False
) -> Ticket:
    """The ticket as ``reader`` may see it: a resident sees only their own, a party's staff
    only its party's — another is :class:`TicketNotFound`, as if it did not exist."""
    ticket = get_ticket(db_session=db_session, center_id=center_id, ticket_id=ticket_id, lock=lock)
    if not sees_ticket(reader, ticket):
        raise TicketNotFound()
    return ticket


#: What a list for a party's staff asks when it asks for another party: nothing matches.
_NO_PARTY = "-"


def as_seen_by(reader: Principal, query: TicketFilter) -> TicketFilter:
    """A party's staff (a handler, the social workers) read only their own party's tickets:
    asking for another party's gives none."""
    if reader.party is None:
        return query
    party = reader.party if query.party in (None, "", reader.party) else _NO_PARTY
    return dataclasses.replace(query, party=party)


def list_tickets(
    *, db_session: Session, center_id: str, query: TicketFilter, reporter_id: str | None = None
) -> tuple[list[Ticket], int]:
    """A center's tickets, newest first, filtered by state / category / party (or reporter)."""
    where = [Ticket.center_id == center_id]
    for key in _NARROWING:
        if getattr(query, key):
            where.append(getattr(Ticket, key) == getattr(query, key))
    if reporter_id is not None:
        where.append(Ticket.reporter_id == reporter_id)
    total = db_session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
    items = db_session.scalars(
        select(Ticket)
        .where(*where)
        .order_by(Ticket.created_at.desc(), Ticket.id)
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    return list(items), total


def search_tickets(
    *, db_session: Session, center_id: str, query: TicketSearchFilter
) -> list[Ticket]:
    """Tickets by ids, category, creation window and open/closed (merged ones left out)."""
    where = [Ticket.center_id == center_id, Ticket.state != "merged"]
    if query.ids:
        where.append(Ticket.id.in_(query.ids))
    if query.category:
        where.append(Ticket.category == query.category)
    if query.start:
        where.append(Ticket.created_at >= query.start)
    if query.end:
        where.append(Ticket.created_at < query.end)
    if query.status == "open":
        where.append(Ticket.due_at.is_not(None))
    elif query.status == "closed":
        where.append(Ticket.due_at.is_(None))
    return list(
        db_session.scalars(
            select(Ticket).where(*where).order_by(Ticket.created_at.desc()).limit(query.limit)
        )
    )


class BoardPage(TypedDict):
    """The staff board (rows are plain: read with Core)."""

    items: list[Any]
    total: int
    counts: dict[str, int]
    limit: int
    offset: int


def board(
    *, db_session: Session, center_id: str, query: TicketFilter, party: str | None = None
) -> BoardPage:
    """The staff board: open tickets, most urgent deadline first; and counts by state (of
    ``party``'s tickets only, for a party's staff).

    Read on the session's connection with Core (plain rows: no ORM loading, no identity
    map): the board is read-only and hot, and its cost grows with the rows it returns.
    """
    db_session.flush()  # Core doesn't autoflush: changes pending in this session count too
    conn = db_session.connection()
    table = Ticket.__table__
    where = [table.c.center_id == center_id, table.c.due_at.is_not(None)]
    for key in _NARROWING:
        if getattr(query, key):
            where.append(table.c[key] == getattr(query, key))
    items = conn.execute(
        select(*(table.c[name] for name in _BOARD_COLUMNS))
        .where(*where)
        .order_by(table.c.due_at, table.c.id)
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    scope = [table.c.center_id == center_id, table.c.due_at.is_not(None)]
    if party is not None:
        scope.append(table.c.party == party)
    counts: dict[str, int] = dict(
        conn.execute(
            select(table.c.state, func.count()).where(*scope).group_by(table.c.state)
        ).all()
    )
    filtered = any(getattr(query, k) for k in _NARROWING)
    total = (
        (conn.execute(select(func.count()).select_from(table).where(*where)).scalar() or 0)
        if filtered
        else sum(counts.values())
    )
    return {
        # as mappings: the schema reads each field by key (a Row refuses a key, and the
        # refusal costs an exception per field before the attribute is tried)
        "items": [row._mapping for row in items],
        "total": total,
        "counts": {s: counts.get(s, 0) for s in OPEN_STATES},
        "limit": query.limit,
        "offset": query.offset,
    }


def public_photo(*, db_session: Session, center_id: str, photo_id: str) -> dict[str, str]:
    """The photo and the ticket that holds it, if the center shows photos to the public;
    else :class:`PhotoNotPublic` (as for a photo no ticket of the center holds)."""
    found = db_session.execute(
        select(TicketPhoto.photo_id, TicketPhoto.ticket_id)
        .join(Center, Center.id == TicketPhoto.center_id)
        .where(
            TicketPhoto.photo_id == photo_id,
            TicketPhoto.center_id == center_id,
            Center.public_photos.is_(True),
        )
        .limit(1)
    ).first()
    if found is None:
        raise PhotoNotPublic()
    return {"photo_id": found.photo_id, "ticket_id": found.ticket_id}


def timeline(*, db_session: Session, ticket: Ticket) -> list[TicketLog]:
    """Everything that happened to a ticket, in order."""
    return list(
        db_session.scalars(
            select(TicketLog).where(TicketLog.ticket_id == ticket.id).order_by(TicketLog.id)
        )
    )


def satisfaction(
    *,
    db_session: Session,
    center_id: str,
    group_by: str,
    start: datetime | None,
    end: datetime | None,
) -> list[dict[str, Any]]:
    """Ratings and the satisfaction rate ((满意 + 基本满意) / all) per center, party, category or
    month (Asia/Shanghai)."""
    where = [Rating.center_id == center_id]
    if start:
        where.append(Rating.rated_at >= start)
    if end:
        where.append(Rating.rated_at < end)
    tally: dict[str, dict[str, int]] = {}
    if group_by == "month":
        for rated_at, rating in db_session.execute(
            select(Rating.rated_at, Rating.rating).where(*where)
        ):
            bucket = tally.setdefault(local(rated_at).strftime("%Y-%m"), dict.fromkeys(RATINGS, 0))
            bucket[rating] = bucket.get(rating, 0) + 1
    else:
        column = {"center": Rating.center_id, "party": Rating.party, "category": Rating.category}[
            group_by
        ]
        for key, rating, count in db_session.execute(
            select(column, Rating.rating, func.count())
            .where(*where)
            .group_by(column, Rating.rating)
        ):
            tally.setdefault(str(key), dict.fromkeys(RATINGS, 0))[rating] = count
    rows = []
    for key in sorted(tally):
        counts = tally[key]
        total = sum(counts.values())
        good = counts["satisfied"] + counts["basically_satisfied"]
        rows.append(
            {
                "key": key,
                "ratings": total,
                **counts,
                "rate": round(100 * good / total, 1) if total else None,
            }
        )
    return rows
