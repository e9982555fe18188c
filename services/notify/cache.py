"""What telling people reads on every event, kept for a few seconds.

Every event makes notify read the same few things: who holds a role or belongs to a
party at the center, those people's contact data, preferences and quiet hours, the
center's own templates, and the active department subscriptions. They change when
someone edits them — rarely — and are read for every event, so the service keeps them
in a :class:`ReadCache` for ``DIRECTORY_CACHE_SECONDS`` (default 5; 0 reads the
database every time).

A change made through this process is seen at once: the domain functions that write
those tables :func:`touch` their session, and when that session commits, the center
(or the subscriptions) is invalidated. A change made by another replica is seen within
the TTL. Entries are loaded on a connection of their own, after noting the scope's
generation, and kept only if nothing was invalidated meanwhile: a cached copy is never
older than this process's last commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from nameko.extensions import DependencyProvider
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from lianxin.outbox import find_database

T = TypeVar("T")

#: The scope of the department subscriptions (the other scopes are center ids).
SUBSCRIPTIONS = "*subscriptions"
_TOUCHED = "notify.touched"
#: What :meth:`ReadCache.lookup` returns for a key it does not keep.
MISSING = object()


def touch(db_session: Session, scope: str) -> None:
    """Note that this transaction changes what :class:`ReadCache` keeps for ``scope``
    (a center id, or :data:`SUBSCRIPTIONS`); the cache drops it when the session commits."""
    db_session.info.setdefault(_TOUCHED, set()).add(scope)


class ReadCache:
    """A small TTL cache with per-scope generations (see the module doc)::

    cache = ReadCache(ttl=5)
    staff = cache.get("yanminghu", ("members", "staff"), lambda: load_staff(...))
    cache.invalidate("yanminghu")   # every entry of the center is stale now
    """

    def __init__(
        self, ttl: float, maxsize: int = 20_000, clock: Callable[[], float] = time.monotonic
    ):
        self.ttl = ttl
        self.maxsize = maxsize
        self.clock = clock
        self._entries: dict[tuple[str, Hashable], tuple[float, int, Any]] = {}
        self._generations: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def generation(self, scope: str) -> int:
        return self._generations.get(scope, 0)

    def invalidate(self, scope: str) -> None:
        self._generations[scope] = self.generation(scope) + 1

    def clear(self) -> None:
        self._entries.clear()
        for scope in self._generations:
            self._generations[scope] += 1

    def lookup(self, scope: str, key: Hashable) -> Any:
        """The value kept for ``key``, or :data:`MISSING` (absent, expired or invalidated)."""
        entry = self._entries.get((scope, key))
        if entry is None or entry[0] <= self.clock() or entry[1] != self.generation(scope):
            return MISSING
        return entry[2]

    def store(self, scope: str, key: Hashable, value: Any, generation: int) -> None:
        """Keep ``value`` if ``scope`` is still at ``generation`` (noted before loading it)."""
        if not self.enabled or generation != self.generation(scope):
            return
        entries = self._entries
        if len(entries) >= self.maxsize and (scope, key) not in entries:
            now = self.clock()
            for stale in [k for k, e in entries.items() if e[0] <= now][: self.maxsize // 4]:
                del entries[stale]
            while len(entries) >= self.maxsize:  # still full: the oldest go first
                del entries[next(iter(entries))]
        entries[(scope, key)] = (self.clock() + self.ttl, generation, value)

    def get(self, scope: str, key: Hashable, load: Callable[[], T]) -> T:
        value = self.lookup(scope, key)
        if value is MISSING:
            generation = self.generation(scope)
            value = load()
            self.store(scope, key, value, generation)
        return value

    def get_many(
        self, scope: str, keys: Iterable[Hashable], load: Callable[[list[Any]], dict[Any, Any]]
    ) -> dict[Any, Any]:
        """Values for ``keys``; those not kept are loaded in one ``load(missing)`` call,
        which returns a value for each (keys it has nothing for are kept as ``None``)."""
        found, missing = {}, []
        for key in keys:
            value = self.lookup(scope, key)
            if value is MISSING:
                missing.append(key)
            else:
                found[key] = value
        if missing:
            generation = self.generation(scope)
            loaded = load(missing)
            for key in missing:
                found[key] = value = loaded.get(key)
                self.store(scope, key, value, generation)
        return found


def invalidate_on_commit(factory: sessionmaker[Session], cache: ReadCache) -> None:
    """Drop from ``cache`` what a session of ``factory`` :func:`touch`-ed, when it commits."""

    def committed(session: Session) -> None:
        for scope in session.info.pop(_TOUCHED, ()):
            cache.invalidate(scope)

    event.listen(factory, "after_commit", committed)


class Cache(DependencyProvider):
    """The service's :class:`ReadCache`, dropped per center when a session of the service's
    database that :func:`touch`-ed it commits. Config: ``DIRECTORY_CACHE_SECONDS`` (5)::

        cache = Cache()

        def handle_event(self, event):
            directory = Directory(self.db, cache=self.cache)
    """

    def setup(self) -> None:
        ttl = float(self.container.config.get("DIRECTORY_CACHE_SECONDS", 5) or 0)
        self.cache = ReadCache(ttl=ttl)

    def start(self) -> None:
        # In start(), not setup(): the database provider's sessionmaker exists by then.
        factory = find_database(self.container).Session
        assert factory is not None, "the database provider is set up before start()"
        invalidate_on_commit(factory, self.cache)

    def stop(self) -> None:
        self.cache.clear()

    def get_dependency(self, worker_ctx) -> ReadCache:
        return self.cache
