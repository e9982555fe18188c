"""Where a category's issues go, as intake reads it on every report: the category's routing
rule (else its center's fallback party), its deadlines and questions — through a cache
that the service makes, one per replica, and empties when a center's routing changes; and
who is on duty, whom a new ticket is announced to (:class:`DutyCache`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tickets.configuration import DutyCache
from services.tickets.models import Category, Center


@dataclass(frozen=True)
class Routing:
    """What intake needs to know about a category, with its center's fallback party."""

    code: str
    name: str
    party: str
    ack_minutes: int
    resolve_hours: int
    attributes: tuple[dict[str, Any], ...]
    active: bool
    #: The center takes reports (not disabled).
    center_open: bool = True


class RoutingCache:
    """Categories' routing as intake last read it, per center and code.

    Intake reads a category on every report; categories change rarely. A change drops the
    center's entries in every replica at once (the service's routing-changed broadcast
    calls :meth:`forget`); entries also expire after ``ttl`` seconds, in case that
    broadcast was lost. One per service container (its database)."""

    def __init__(
        self, ttl: float = 30.0, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ):
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, Routing | None]] = {}
        #: Who is on duty, the other half of where a new ticket goes (its announcement).
        self.duty = DutyCache(ttl=ttl, clock=clock)

    def get(self, center_id: str, code: str, load: Callable[[], Routing | None]) -> Routing | None:
        """The cached routing of ``code``, else what ``load`` reads (remembered)."""
        hit = self._entries.get((center_id, code))
        if hit is not None and hit[0] > self._clock():
            return hit[1]
        found = load()
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[center_id, code] = (self._clock() + self.ttl, found)
        return found

    def forget(self, center_id: str | None) -> None:
        """Drop a center's entries, its duty roster's too (every center's with None)."""
        self.duty.forget(center_id)
        if center_id is None:
            self._entries.clear()
            return
        for key in [k for k in self._entries if k[0] == center_id]:
            self._entries.pop(key, None)

    def centers(self) -> set[str]:
        """The centers of which something is cached."""
        return {center_id for center_id, _ in self._entries}


def routing(
    *, db_session: Session, center_id: str, code: str, cache: RoutingCache | None = None
) -> Routing | None:
    """The category's routing (through ``cache``, if given), or None if the center has no
    such category."""

    def load() -> Routing | None:
        row = db_session.execute(
            select(
                Category.code,
                Category.name,
                Category.party,
                Category.ack_minutes,
                Category.resolve_hours,
                Category.attributes,
                Category.active,
                Center.fallback_party,
                Center.status,
            )
            .join(Center, Center.id == Category.center_id)
            .where(Category.center_id == center_id, Category.code == code)
        ).first()
        return (
            None
            if row is None
            else Routing(
                row.code,
                row.name,
                row.party or row.fallback_party,
                row.ack_minutes,
                row.resolve_hours,
                tuple(row.attributes or ()),
                row.active,
                row.status != "disabled",
            )
        )

    return load() if cache is None else cache.get(center_id, code, load)
