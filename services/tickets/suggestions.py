"""Suggestions, the tickets side of :mod:`services.tickets.suggest` (the engine): each
center's category model — built from its active categories and its handled tickets, kept
per replica in a :class:`SuggestionCache` — the open tickets a report likely repeats
(stored with a new ticket, offered before one is sent), and the categories it likely is.

A report is compared with the center's most recent open tickets (:data:`OPEN_SCAN`), read
in one query per center for a whole gathered intake call; the batch's own earlier reports
join them as it goes (two residents reporting the same thing at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.contracts.tickets.operations import SuggestionAsk
from services.tickets.configuration import require_center
from services.tickets.models import Category, Ticket
from services.tickets.states import summary
from services.tickets.suggest import (
    DEFAULT_RADIUS_M,
    CategoryInfo,
    CategoryModel,
    OpenTicket,
    find_repeats,
)

#: The handled (resolved or closed) tickets a center's model learns from: its latest.
HANDLED_EXAMPLES = 3000
#: The open tickets a report is compared with: the center's latest.
OPEN_SCAN = 200
#: The likely repeats kept with a ticket and offered before sending; the categories offered.
KEPT_REPEATS = 3
TOP_CATEGORIES = 3
#: Analyses a model remembers: the open tickets, searched again at every intake, and room
#: for the new reports among them.
_MEMO_SIZE = 2 * OPEN_SCAN


class SuggestionCache:
    """Each center's :class:`CategoryModel`, as last built, and the repeat radius.

    A model is built on a center's first report (or suggestion) and rebuilt after ``ttl``
    seconds — what the center's newly handled tickets teach arrives so — or at once when
    the center's categories change (the service's routing-changed broadcast calls
    :meth:`forget`). Building reads up to :data:`HANDLED_EXAMPLES` tickets and costs about
    half a second of CPU at that size. At most ``size`` centers are kept (the least recently
    used goes). One per service container."""

    def __init__(
        self,
        ttl: float = 600.0,
        radius_m: float = DEFAULT_RADIUS_M,
        size: int = 200,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ttl = ttl
        self.radius_m = radius_m
        self.size = size
        self._clock = clock
        self._models: dict[str, tuple[float, CategoryModel | None]] = {}

    def model(
        self, center_id: str, build: Callable[[], CategoryModel | None]
    ) -> CategoryModel | None:
        """The center's cached model, else what ``build`` makes (remembered)."""
        hit = self._models.pop(center_id, None)
        if hit is None or hit[0] <= self._clock():
            hit = (self._clock() + self.ttl, build())
        self._models[center_id] = hit  # (re)inserted last: the most recently used
        while len(self._models) > self.size:
            self._models.pop(next(iter(self._models)))
        return hit[1]

    def forget(self, center_id: str | None) -> None:
        """Drop a center's model (every center's with None)."""
        if center_id is None:
            self._models.clear()
        else:
            self._models.pop(center_id, None)

    def centers(self) -> set[str]:
        """The centers of which a model is cached."""
        return set(self._models)


def warm_up() -> None:
    """Load the word segmenter's dictionary now (about a second, once per process) rather
    than on a center's first report."""
    CategoryModel.build([CategoryInfo("_", "_")], memo_size=0)


def category_model(
    *, db_session: Session, center_id: str, cache: SuggestionCache | None = None
) -> CategoryModel | None:
    """The center's model (through ``cache``, if given): its active categories' keywords,
    names and descriptions, and its latest handled tickets; None while it has no active
    category."""

    def build() -> CategoryModel | None:
        categories = db_session.execute(
            select(Category.code, Category.name, Category.keywords, Category.description)
            .where(Category.center_id == center_id, Category.active.is_(True))
            .order_by(Category.code)
        ).all()
        if not categories:
            return None
        handled = db_session.execute(
            select(Ticket.description, Ticket.category)
            .where(Ticket.center_id == center_id, Ticket.state.in_(("resolved", "closed")))
            .order_by(Ticket.created_at.desc())
            .limit(HANDLED_EXAMPLES)
        ).all()
        return CategoryModel.build(
            [
                CategoryInfo(c.code, c.name, tuple(c.keywords or ()), c.description or "")
                for c in categories
            ],
            [(row.description, row.category) for row in handled],
            memo_size=_MEMO_SIZE,
        )

    return build() if cache is None else cache.model(center_id, build)


# -- the open tickets a report is compared with ----------------------------------------------

#: What two reports are compared on: description, address, lat, long.
_Compared = tuple[str, str | None, float | None, float | None]


class OpenPool:
    """A center's open tickets as a report is compared with them: grouped by what is
    compared (description and place), so that the same report filed many times is scored
    once and still offered as each of its tickets, the newest first. Only a group's first
    ticket is made an :class:`OpenTicket` (the engine's input); the others are kept as
    ``(id, state)``."""

    def __init__(self, rows: Iterable[tuple[str, str, _Compared]] = ()):
        self._groups: dict[_Compared, list[tuple[str, str]]] = {}
        for ticket_id, state, compared in rows:
            self._groups.setdefault(compared, []).append((ticket_id, state))

    def add(self, ticket_id: str, state: str, compared: _Compared) -> None:
        """A ticket newer than every other (one taken in meanwhile)."""
        self._groups.setdefault(compared, []).insert(0, (ticket_id, state))

    def likely_repeats(
        self,
        model: CategoryModel,
        *,
        text: str,
        address: str | None,
        lat: float | None,
        long: float | None,
        radius_m: float,
        limit: int = KEPT_REPEATS,
    ) -> list[dict[str, Any]]:
        """The open tickets a report likely repeats (:func:`suggest.find_repeats`), best
        match first, at most ``limit``, as a ticket keeps them and the contract shows them."""
        representatives = {members[0][0]: key for key, members in self._groups.items()}
        found = find_repeats(
            text,
            address=address,
            lat=lat,
            long=long,
            candidates=[  # no summary: each member's own is made below
                OpenTicket(members[0][0], key[0], "", members[0][1], *key[1:])
                for key, members in self._groups.items()
            ],
            radius_m=radius_m,
            model=model,
        )
        repeats: list[dict[str, Any]] = []
        for match in found:
            key = representatives[match.ticket_id]
            distance = None if match.distance_m is None else round(match.distance_m, 1)
            for ticket_id, state in self._groups[key]:
                if len(repeats) == limit:
                    return repeats
                repeats.append(
                    {
                        "ticket_id": ticket_id,
                        "summary": summary(key[0]),
                        "state": state,
                        "distance_m": distance,
                    }
                )
        return repeats


def open_pool(*, db_session: Session, center_id: str, limit: int = OPEN_SCAN) -> OpenPool:
    """The center's latest open tickets (one query, with Core on the session's connection:
    plain rows, half the cost of an ORM-enabled select at intake's rate)."""
    table = Ticket.__table__
    rows = db_session.connection().execute(
        select(
            table.c.id,
            table.c.state,
            table.c.description,
            table.c.address,
            table.c.lat,
            table.c.long,
        )
        .where(table.c.center_id == center_id, table.c.due_at.is_not(None))
        .order_by(table.c.created_at.desc())
        .limit(limit)
    )
    return OpenPool((r[0], r[1], (r[2], r[3], r[4], r[5])) for r in rows)


# -- at intake and before it -----------------------------------------------------------------


class NewReport(Protocol):
    """What intake hands in of a new ticket: what is compared, and where its likely
    repeats go (:class:`services.tickets.intake.TicketRow` is one)."""

    id: str
    center_id: str
    state: str
    description: str
    address: str
    lat: float | None
    long: float | None
    repeat_candidates: list[dict[str, Any]]


def find_likely_repeats(
    *, db_session: Session, tickets: Sequence[NewReport], cache: SuggestionCache | None = None
) -> None:
    """Set each new open ticket's ``repeat_candidates`` (of a :class:`NewReport` shape):
    one model and one query of open tickets per center, however many tickets it has."""
    radius = cache.radius_m if cache is not None else DEFAULT_RADIUS_M
    by_center: dict[str, list[NewReport]] = {}
    for ticket in tickets:
        if ticket.state == "reported":  # not one resolved on the spot
            by_center.setdefault(ticket.center_id, []).append(ticket)
    for center_id, new in by_center.items():
        model = category_model(db_session=db_session, center_id=center_id, cache=cache)
        if model is None:
            continue
        pool = open_pool(db_session=db_session, center_id=center_id)
        for ticket in new:
            ticket.repeat_candidates = pool.likely_repeats(
                model,
                text=ticket.description,
                address=ticket.address,
                lat=ticket.lat,
                long=ticket.long,
                radius_m=radius,
            )
            pool.add(
                ticket.id,
                ticket.state,
                (ticket.description, ticket.address, ticket.lat, ticket.long),
            )


def suggest(
    *, db_session: Session, center_id: str, ask: SuggestionAsk, cache: SuggestionCache | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Before a report is sent: its likely categories (top three, with a score) and the
    open tickets it likely repeats; of an existing center (else :class:`CenterNotFound`)."""
    require_center(db_session=db_session, center_id=center_id)
    model = category_model(db_session=db_session, center_id=center_id, cache=cache)
    if model is None:
        return {"categories": [], "repeats": []}
    categories = [
        {"code": s.code, "name": s.name, "score": round(s.score, 4)}
        for s in model.suggest(ask.description, limit=TOP_CATEGORIES)
    ]
    repeats = open_pool(db_session=db_session, center_id=center_id).likely_repeats(
        model,
        text=ask.description,
        address=ask.address,
        lat=ask.lat,
        long=ask.long,
        radius_m=cache.radius_m if cache is not None else DEFAULT_RADIUS_M,
    )
    return {"categories": categories, "repeats": repeats}
