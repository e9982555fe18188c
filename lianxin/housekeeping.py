"""Housekeeping of the kit's tables: what nobody needs any more is deleted, a chunk at a time.

Every event a service writes stays in its ``outbox`` and every event it handles leaves a mark
in ``processed_events``; without this both grow with every ticket for ever (at a county's
1M tickets a year, millions of rows a service), and the relay's and the consumers' indexes
with them. :class:`Housekeeping` deletes, every ``HOUSEKEEPING_SECONDS`` (3600):

* ``outbox`` rows **sent** more than ``OUTBOX_KEEP_DAYS`` (7) ago — an unsent row is never
  deleted, however old: it is what the relay still owes;
* ``processed_events`` marks older than ``PROCESSED_EVENTS_KEEP_DAYS`` (30). A mark guards
  against a redelivery, which the broker makes within minutes of a lost ack; a dead letter
  replayed later was never processed, so it has no mark to lose.

Deleting is idempotent, so every replica runs it; each chunk (``HOUSEKEEPING_CHUNK`` rows,
1000) is a statement and a transaction of its own, so no lock is held long. The first round
runs a minute after the start, not in it. ``lianxin_kit_pruned_rows_total{table}`` counts
what went. Example::

    class TicketsService:
        db = Database(Base.metadata)
        housekeeping = Housekeeping()
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, Table, delete, select, tuple_

from lianxin import metrics as kit_metrics
from lianxin.clock import now_utc
from lianxin.outbox import find_database

log = logging.getLogger(__name__)

PRUNED = kit_metrics.counter(
    "lianxin_kit_pruned_rows_total",
    "Rows of the kit's tables deleted as no longer needed (sent outbox rows, old processed marks)",
    ("table",),
)

#: Seconds after the start before the first round.
FIRST_ROUND_DELAY = 60.0


def prune(
    engine: Engine,
    *,
    outbox: Table,
    processed: Table,
    now: datetime,
    outbox_keep: timedelta,
    processed_keep: timedelta,
    chunk: int = 1000,
) -> dict[str, int]:
    """Delete sent outbox rows older than ``outbox_keep`` and processed marks older than
    ``processed_keep``, ``chunk`` rows a statement; returns how many went from each table."""
    old_sent = (
        select(outbox.c.id)
        .where(outbox.c.sent_at.is_not(None), outbox.c.sent_at < now - outbox_keep)
        .order_by(outbox.c.id)
        .limit(chunk)
    )
    old_marks = (
        select(processed.c.event_id, processed.c.handler)
        .where(processed.c.processed_at < now - processed_keep)
        .limit(chunk)
    )
    statements = {
        outbox.name: delete(outbox).where(outbox.c.id.in_(old_sent)),
        processed.name: delete(processed).where(
            tuple_(processed.c.event_id, processed.c.handler).in_(old_marks)
        ),
    }
    deleted = dict.fromkeys(statements, 0)
    for table, statement in statements.items():
        while True:
            with engine.begin() as conn:
                count = conn.execute(statement).rowcount
            deleted[table] += count
            if count < chunk:
                break
            eventlet.sleep(0)  # let the service's work in between chunks
    return deleted


def _positive(config: dict, key: str, default: float) -> float:
    """A setting that must be a number above zero: a keep of 0 days would delete every
    processed mark as it is made (and redeliveries would be handled twice), so a wrong one
    stops the service at start, naming the setting, instead of being guessed at."""
    raw = config.get(key, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = 0.0
    if not value > 0:
        raise ValueError(f"{key} must be a number above zero (got {raw!r})")
    return value


class Housekeeping(DependencyProvider):
    """Runs :func:`prune` on the service's kit tables in a managed thread (see the module
    doc); the config's ``HOUSEKEEPING_SECONDS``, ``OUTBOX_KEEP_DAYS``,
    ``PROCESSED_EVENTS_KEEP_DAYS``, ``HOUSEKEEPING_CHUNK``."""

    def setup(self) -> None:
        config = self.container.config
        self.db = find_database(self.container)
        tables = self.db.metadata.tables
        self.outbox, self.processed = tables["outbox"], tables["processed_events"]
        self.every = _positive(config, "HOUSEKEEPING_SECONDS", 3600)
        self.outbox_keep = timedelta(days=_positive(config, "OUTBOX_KEEP_DAYS", 7))
        self.processed_keep = timedelta(days=_positive(config, "PROCESSED_EVENTS_KEEP_DAYS", 30))
        self.chunk = int(_positive(config, "HOUSEKEEPING_CHUNK", 1000))
        self.first_delay = min(FIRST_ROUND_DELAY, self.every)
        self.pruned = kit_metrics.for_service(self.container.service_name).get(PRUNED)
        self._wake = threading.Event()
        self._running = False

    def start(self) -> None:
        self._running = True
        self.container.spawn_managed_thread(self._forever, identifier="housekeeping")

    def stop(self) -> None:
        self._running = False
        self._wake.set()

    kill = stop

    def run_once(self) -> dict[str, int]:
        """One round now; returns the rows deleted from each table."""
        assert self.db.engine is not None
        deleted = prune(
            self.db.engine,
            outbox=self.outbox,
            processed=self.processed,
            now=now_utc(),
            outbox_keep=self.outbox_keep,
            processed_keep=self.processed_keep,
            chunk=self.chunk,
        )
        for table, count in deleted.items():
            self.pruned.labels(table).inc(count)
        if any(deleted.values()):
            log.info(
                "housekeeping of %s deleted %s",
                self.container.service_name,
                ", ".join(f"{n} rows of {t}" for t, n in deleted.items()),
            )
        return deleted

    def _forever(self) -> None:
        delay = self.first_delay
        while self._running:
            self._wake.wait(delay)
            if not self._running:
                break
            delay = self.every
            try:
                self.run_once()
            except Exception as exc:  # the database away: the next round tries again
                log.warning("housekeeping of %s failed: %s", self.container.service_name, exc)
