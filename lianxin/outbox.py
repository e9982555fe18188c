"""Transactional outbox: events written with the change, published by a relay.

A service writes an event with ``self.outbox.add(...)`` inside the same database
transaction as the change it describes. After the commit the :class:`Outbox`
relay (a managed green thread in the service container) publishes it to the service's
nameko event exchange (``<service>.events``, routing key = the event type, exactly what
``@event_handler`` binds to) with pipelined publisher confirms (a batch's publishes in one
write), then marks it sent — only what the broker confirmed *and* routed to a queue
(published ``mandatory``; see :class:`Publisher`). With the broker down, requests still
commit and rows wait; the relay retries with capped exponential backoff.

The commit hands its events to the relay as they were written (a *hand-off*): the relay
publishes them without reading them back and marks them sent in one statement, with those
of the hand-offs of the next ``OUTBOX_MARK_SECONDS`` (0.1; a busy service hands off every
few milliseconds), and at stop. It scans
the table — unsent rows in id order, ``FOR UPDATE SKIP LOCKED`` — when it starts and after
any failure, until the table has caught up (so the order of events holds across an
outage), and once a poll for rows written elsewhere (a command-line tool, a hand-off lost)
that are older than ``OUTBOX_HANDOFF_GRACE_SECONDS``. Only committed events are handed on:
a rollback, or a savepoint's, forgets what it undid.

Delivery is at least once: a crash between confirm and mark publishes a row
again, which idempotent consumers ignore. Several replicas can relay the same
table on PostgreSQL (``FOR UPDATE SKIP LOCKED``); one's scan after its own failure can
publish again what another is handing on at that moment, which consumers ignore too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import amqp
import kombu
from nameko.extensions import DependencyProvider
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from tenacity import wait_exponential

from lianxin import metrics as kit_metrics
from lianxin import tracing
from lianxin.bulk import defer_rows
from lianxin.clock import now_utc
from lianxin.contracts import EventType, make_event
from lianxin.db import Database, UTCDateTime
from lianxin.queues import one_write

log = logging.getLogger(__name__)

ID = BigInteger().with_variant(Integer(), "sqlite")


def kit_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Declare the kit's tables in a service's metadata: ``outbox`` and ``processed_events``."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", ID, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("center_id", String(40), nullable=False),
        Column("type", String(120), nullable=False),
        Column("body", JSON, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("sent_at", UTCDateTime),
        Index(
            "ix_outbox_unsent",
            "id",
            postgresql_where=text("sent_at IS NULL"),
            sqlite_where=text("sent_at IS NULL"),
        ),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("handler", String(120), primary_key=True),
        Column("center_id", String(40), nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
    )
    return outbox, processed


def find_database(container) -> Database:
    """The service's :class:`Database` provider (exactly one per service)."""
    found = [d for d in container.dependencies if isinstance(d, Database)]
    if len(found) != 1:
        raise RuntimeError(f"{container.service_name} needs exactly one Database provider")
    return found[0]


#: ``session.info`` key of the events written in the session's transaction, each with the
#: savepoint it was written in (None: none), until the transaction ends.
_WRITTEN = "lianxin_outbox_written"


def _remember(session: Session, bodies: list[dict]) -> None:
    savepoint = session.get_nested_transaction()
    session.info.setdefault(_WRITTEN, []).extend((savepoint, b) for b in bodies)


class OutboxWriter:
    """What a worker sees as ``self.outbox``: adds events to its own transaction."""

    def __init__(self, session: Session, table: Table):
        self._session = session
        self._table = table

    def add(self, etype: EventType, *, center_id: str, subject: str, data: dict[str, Any]) -> dict:
        """Write an event into the worker's current transaction; returns the envelope (with
        the current span's ``traceparent``, if any: :mod:`lianxin.tracing`)."""
        trace = tracing.current_headers()
        body = make_event(
            etype,
            center_id=center_id,
            subject=subject,
            data=data,
            traceparent=trace.get(tracing.TRACEPARENT),
            tracestate=trace.get(tracing.TRACESTATE),
        )
        self._session.connection().execute(
            insert(self._table),
            dict(
                event_id=body["id"],
                center_id=center_id,
                type=str(etype),
                body=body,
                created_at=now_utc(),
            ),
        )
        _remember(self._session, [body])
        return body

    def add_many(
        self,
        events: list[tuple[EventType, str, str, dict[str, Any]]],
        traces: Sequence[Mapping[str, str] | None] | None = None,
    ) -> list[dict]:
        """Write many events ``(type, center_id, subject, data)`` in one statement. Each
        carries the current span's trace context, or the one ``traces`` gives for it (one
        per event; ``None`` = the current span): a gathered call's events continue the
        traces of the requests they answer."""
        current = tracing.current_headers()
        own = list(traces) if traces is not None else [None] * len(events)
        if len(own) != len(events):
            raise ValueError("add_many: one trace (or None) per event")
        bodies = [
            make_event(
                etype,
                center_id=center_id,
                subject=subject,
                data=data,
                traceparent=(trace or current).get(tracing.TRACEPARENT),
                tracestate=(trace or current).get(tracing.TRACESTATE),
            )
            for (etype, center_id, subject, data), trace in zip(events, own, strict=True)
        ]
        if bodies:
            created = now_utc()
            defer_rows(  # with the transaction's other deferred INSERTs, or at its commit
                self._session,
                self._table,
                [
                    dict(
                        event_id=b["id"],
                        center_id=b["centerid"],
                        type=b["type"],
                        body=b,
                        created_at=created,
                    )
                    for b in bodies
                ],
            )
            _remember(self._session, bodies)
        return bodies


#: Where an event no queue is bound for is parked once it has waited ``unrouted_after``
#: seconds (``OUTBOX_UNROUTED_SECONDS``, default 60): a bounded quorum queue ops can read.
UNROUTED = "lianxin.unrouted"
UNROUTED_MAX_LENGTH = 100_000
DEFAULT_UNROUTED_SECONDS = 60.0

OUTBOX_RETURNED = kit_metrics.counter(
    "lianxin_outbox_returned_total",
    "Events the broker returned as unroutable (no queue bound for their type); they stay unsent",
    ("event_type",),
)
OUTBOX_PARKED = kit_metrics.counter(
    "lianxin_outbox_unrouted_total",
    f"Events that found no queue for OUTBOX_UNROUTED_SECONDS and were parked in {UNROUTED}",
    ("event_type",),
)


class Publisher:
    """Publishes envelopes to an event exchange, many in flight, waiting for all confirms.

    Every event is published ``mandatory``: the broker returns one that no queue is bound
    for (``basic.return``, before its confirm), and a returned event counts as *not*
    confirmed — its row stays unsent and the relay tries again with its back-off. A
    confirm alone would only say the broker took it, not that any queue has it.

    An event type nobody subscribes to in a deployment (a catalogue event no department
    reads) must not hold the outbox for ever: once a returned event is ``unrouted_after``
    seconds old (its envelope's ``time``), it is parked in the :data:`UNROUTED` queue
    instead (a confirmed, routed publish, so the row is marked sent), with a warning and
    ``lianxin_outbox_unrouted_total``. So "nobody listens" (parked, counted, readable) is
    told apart from "the broker lost it" (never marked sent).
    """

    def __init__(
        self,
        amqp_uri: str,
        exchange: str,
        confirm_timeout: float = 10.0,
        unrouted_after: float = DEFAULT_UNROUTED_SECONDS,
        metrics: kit_metrics.ServiceMetrics | None = None,
    ):
        self.amqp_uri = amqp_uri
        self.exchange = exchange
        self.confirm_timeout = confirm_timeout
        self.unrouted_after = unrouted_after
        self.returned_total = 0
        self.parked_total = 0
        self._returned_metric = metrics.get(OUTBOX_RETURNED) if metrics else None
        self._parked_metric = metrics.get(OUTBOX_PARKED) if metrics else None
        self._conn: kombu.Connection | None = None
        self._channel: Any = None
        self._tag = 0
        self._acked: set[int] = set()
        self._nacked: set[int] = set()
        self._outstanding: set[int] = set()  # published, not yet confirmed
        self._returned: set[str] = set()  # message ids returned since the last publish

    def _ensure(self) -> None:
        if self._conn is not None and self._conn.connected:
            return
        self.close()
        conn = kombu.Connection(self.amqp_uri, connect_timeout=5)
        # One try per node of a failover URI (``amqp://a//;amqp://b//``), then the relay's back-off.
        conn.ensure_connection(max_retries=max(1, len(conn.alt)), interval_start=0, interval_step=0)
        channel = conn.channel()
        channel.exchange_declare(self.exchange, "topic", durable=True, auto_delete=False)
        channel.exchange_declare(UNROUTED, "fanout", durable=True, auto_delete=False)
        channel.queue_declare(
            UNROUTED,
            durable=True,
            auto_delete=False,
            arguments={
                "x-queue-type": "quorum",
                "x-max-length": UNROUTED_MAX_LENGTH,
                "x-overflow": "drop-head",
            },
        )
        channel.queue_bind(UNROUTED, UNROUTED, routing_key="")
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self._conn, self._channel, self._tag = conn, channel, 0
        self._acked.clear()
        self._nacked.clear()
        self._outstanding.clear()
        self._returned.clear()

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._acked.update(self._settled(delivery_tag, multiple))

    def _on_nack(self, delivery_tag: int, multiple: bool, *_: Any) -> None:
        self._nacked.update(self._settled(delivery_tag, multiple))

    def _settled(self, delivery_tag: int, multiple: bool) -> list[int]:
        """The tags a confirm settles: with ``multiple``, every outstanding one up to it —
        only those of the publishes waiting, not every tag since the channel opened (the
        channel lives for days: that set grew with every event ever relayed)."""
        if not multiple:
            self._outstanding.discard(delivery_tag)
            return [delivery_tag]
        settled = [t for t in self._outstanding if t <= delivery_tag]
        self._outstanding.difference_update(settled)
        return settled

    def _on_return(self, exc: Any, exchange: str, routing_key: str, message: Any) -> None:
        message_id = (message.properties or {}).get("message_id")
        if message_id:
            self._returned.add(message_id)

    def publish(self, bodies: list[dict[str, Any]]) -> list[bool]:
        """Publish ``bodies``; returns, per body, whether the broker confirmed it *and* a
        queue took it (an unroutable one old enough is parked, which counts as taken)."""
        self._ensure()
        self._returned.clear()
        with one_write(self._conn.connection if self._conn is not None else None):
            tags = [self._send(body, self.exchange, body["type"]) for body in bodies]
        self._wait(tags)
        result = [
            t in self._acked and body["id"] not in self._returned
            for t, body in zip(tags, bodies, strict=True)
        ]
        returned = [
            b
            for t, b in zip(tags, bodies, strict=True)
            if t in self._acked and b["id"] in self._returned
        ]
        self._forget(tags)
        if returned:
            self.returned_total += len(returned)
            for body in returned:
                if self._returned_metric is not None:
                    self._returned_metric.labels(body["type"]).inc()
            log.warning(
                "%d event(s) returned by the broker as unroutable from %s (no queue bound for %s); "
                "kept in the outbox",
                len(returned),
                self.exchange,
                ", ".join(sorted({b["type"] for b in returned})),
            )
            parked = self._park([b for b in returned if self._age(b) >= self.unrouted_after])
            index = {b["id"]: i for i, b in enumerate(bodies)}
            for event_id in parked:
                result[index[event_id]] = True
        return result

    def publish_counting_refusals(self, bodies: list[dict[str, Any]]) -> tuple[list[bool], int]:
        """:meth:`publish`, and how many of ``bodies`` the broker refused. A returned event
        (no queue bound yet) is not refused: it waits for the relay's next round, as events
        committed meanwhile do, without holding back the others; a refusal backs off."""
        returned, parked = self.returned_total, self.parked_total
        confirmed = self.publish(bodies)
        waiting = (self.returned_total - returned) - (self.parked_total - parked)
        return confirmed, len(bodies) - sum(confirmed) - waiting

    def _send(self, body: dict[str, Any], exchange: str, routing_key: str, **headers: Any) -> int:
        msg = amqp.Message(
            json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            message_id=body["id"],
            type=body["type"],
            timestamp=int(time.time()),
            application_headers={
                "cloudEvents:specversion": body["specversion"],
                "cloudEvents:type": body["type"],
                "cloudEvents:centerid": body["centerid"],
                # The distributed-tracing extension, as the AMQP binding carries attributes
                # (the envelope has it too): a broker-side tracer or a department sees it.
                **{
                    f"cloudEvents:{name}": body[name]
                    for name in (tracing.TRACEPARENT, tracing.TRACESTATE)
                    if body.get(name)
                },
                **headers,
            },
        )
        self._channel.basic_publish(msg, exchange=exchange, routing_key=routing_key, mandatory=True)
        self._tag += 1
        self._outstanding.add(self._tag)
        return self._tag

    def _wait(self, tags: list[int]) -> None:
        deadline = time.monotonic() + self.confirm_timeout
        while any(t not in self._acked and t not in self._nacked for t in tags):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("publisher confirms did not arrive in time")
            assert self._conn is not None  # _ensure() connected it
            self._conn.drain_events(timeout=remaining)

    def _forget(self, tags: list[int]) -> None:
        self._acked.difference_update(tags)
        self._nacked.difference_update(tags)
        self._outstanding.difference_update(tags)

    def _park(self, bodies: list[dict[str, Any]]) -> list[str]:
        """Publish unroutable ``bodies`` to :data:`UNROUTED`; the ids the broker took there."""
        if not bodies:
            return []
        self._returned.clear()
        with one_write(self._conn.connection if self._conn is not None else None):
            tags = [
                self._send(b, UNROUTED, b["type"], **{"x-lianxin-exchange": self.exchange})
                for b in bodies
            ]
        self._wait(tags)
        parked = [
            b
            for t, b in zip(tags, bodies, strict=True)
            if t in self._acked and b["id"] not in self._returned
        ]
        self._forget(tags)
        self._returned.clear()
        self.parked_total += len(parked)
        for body in parked:
            if self._parked_metric is not None:
                self._parked_metric.labels(body["type"]).inc()
            log.warning(
                "event %s (%s) found no queue on %s for %.0f s: parked in %s",
                body["id"],
                body["type"],
                self.exchange,
                self.unrouted_after,
                UNROUTED,
            )
        return [b["id"] for b in parked]

    @staticmethod
    def _age(body: dict[str, Any]) -> float:
        """Seconds since the envelope's ``time`` (0 if it has none that parses)."""
        try:
            made = datetime.fromisoformat(str(body["time"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return 0.0
        if made.tzinfo is None:
            made = made.replace(tzinfo=UTC)
        return (now_utc() - made).total_seconds()

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._conn.release()
        self._conn = self._channel = None


class Outbox(DependencyProvider):
    """Gives workers an :class:`OutboxWriter` and runs the relay for the service.

    Config: ``AMQP_URI`` (or ``OUTBOX_AMQP_URI`` to publish through another endpoint of
    the broker); ``OUTBOX_BATCH`` (rows per publish, default 200);
    ``OUTBOX_POLL_SECONDS`` (idle poll, default 1); ``OUTBOX_HANDOFF_GRACE_SECONDS`` (how
    old an unsent row must be for the poll to take it, default 2: younger ones are on
    their way through a hand-off); ``OUTBOX_MARK_SECONDS`` (how long the sent marks of
    hand-offs wait to go together, default 0.1, at most a quarter of the grace);
    ``OUTBOX_UNROUTED_SECONDS`` (how long an
    event no queue is bound for is retried before it is parked, default 60, see
    :class:`Publisher`)::

        class TicketsService:
            db = Database()
            outbox = Outbox(outbox_table)

            @rpc
            def create_ticket(self, ...):
                ...
                self.outbox.add(TICKET_CREATED, center_id=..., subject=ticket.id, data=...)
                self.db.commit()   # the event is committed with the ticket
    """

    def __init__(self, table: Table):
        self.table = table
        self._wake = threading.Event()
        self._running = False
        #: Events committed in this process, in commit order, for the relay to publish
        #: without reading them back (see :meth:`relay_handed`).
        self._handed: deque[dict] = deque()
        #: Until a scan finds the table caught up (at start, after a failure), the relay
        #: publishes by scanning in id order and ignores what is handed to it.
        self._scanning = True
        #: Event ids the hand-offs published, not yet marked sent (:meth:`mark_sent`), and
        #: since when the oldest of them waits.
        self._unmarked: list[str] = []
        self._unmarked_since = 0.0

    def setup(self) -> None:
        self.db = find_database(self.container)
        config = self.container.config
        self.batch = int(config.get("OUTBOX_BATCH", 200))
        self.poll = float(config.get("OUTBOX_POLL_SECONDS", 1))
        self.grace = float(config.get("OUTBOX_HANDOFF_GRACE_SECONDS", 2))
        # Marks wait well inside the grace: a published row older than it looks lost.
        self.mark_delay = min(float(config.get("OUTBOX_MARK_SECONDS", 0.1)), self.grace / 4)
        self.exchange = f"{self.container.service_name}.events"
        self.metrics = kit_metrics.for_service(self.container.service_name)
        self.publisher = Publisher(
            config.get("OUTBOX_AMQP_URI") or config["AMQP_URI"],
            self.exchange,
            unrouted_after=float(config.get("OUTBOX_UNROUTED_SECONDS") or DEFAULT_UNROUTED_SECONDS),
            metrics=self.metrics,
        )
        self._backoff = wait_exponential(multiplier=0.5, min=0.5, max=30)

    def start(self) -> None:
        from sqlalchemy import event

        event.listen(self.db.Session, "after_commit", self._after_commit)
        event.listen(self.db.Session, "after_soft_rollback", self._after_rollback)
        event.listen(self.db.Session, "after_transaction_end", self._after_end)
        self._running = True
        self.container.spawn_managed_thread(self._relay_forever, identifier="outbox-relay")

    def stop(self) -> None:
        self._running = False
        self._wake.set()
        try:
            self.mark_sent()
        except Exception as exc:  # they are published again at the next start
            log.warning(
                "outbox marks of %s not written at stop: %s", self.container.service_name, exc
            )
        self.publisher.close()

    def kill(self) -> None:
        """No marks: a killed container's unmarked events are published again at its next
        start (at least once), as a crash's are."""
        self._running = False
        self._wake.set()
        self.publisher.close()

    def _after_commit(self, session: Session) -> None:
        if session.get_nested_transaction() is not None:
            return  # a savepoint released: its events wait for the transaction's commit
        written = session.info.pop(_WRITTEN, None)
        if written:
            if not self._scanning:
                self._handed.extend(body for _savepoint, body in written)
            self._wake.set()

    def _after_rollback(self, session: Session, previous: Any) -> None:
        """A savepoint's rollback forgets the events written in it (and in its savepoints)."""
        written = session.info.get(_WRITTEN)
        if not written or not previous.nested:
            return  # the whole transaction's: its end forgets them (_after_end)

        def undone(savepoint: Any) -> bool:
            while savepoint is not None:
                if savepoint is previous:
                    return True
                savepoint = savepoint.parent
            return False

        session.info[_WRITTEN] = [(sp, b) for sp, b in written if not undone(sp)]

    def _after_end(self, session: Session, transaction: Any) -> None:
        if transaction.parent is None:  # rolled back or closed: nothing to hand on
            session.info.pop(_WRITTEN, None)

    def get_dependency(self, worker_ctx) -> OutboxWriter:
        return OutboxWriter(self.db.session_for(worker_ctx), self.table)

    def _relay_forever(self) -> None:
        failures = 0
        last_gauge = last_scan = 0.0
        while self._running:
            self._wake.wait(self.mark_delay if self._unmarked else self.poll)
            self._wake.clear()
            if not self._running:
                break
            try:
                if self._scanning:
                    self.mark_sent()  # what was published before the failure
                    self._catch_up()
                    last_scan = time.monotonic()
                while self._running and self._handed:
                    self.relay_handed()
                if self._marks_due():
                    self.mark_sent()
                if time.monotonic() - last_scan >= self.poll:
                    # Events no commit here handed on: another process's (a CLI's), or
                    # one whose hand-off was lost. Older than the grace: not in flight.
                    last_scan = time.monotonic()
                    while self._running and self.relay_once(min_age=self.grace) == self.batch:
                        continue
                failures = 0
            except Exception as exc:
                failures += 1
                self._scanning = True  # back to the table, in order, once it can be reached
                self._handed.clear()
                delay = self._backoff(_RetryState(failures))  # type: ignore[arg-type]
                log.warning(
                    "outbox relay of %s failed (%s); retrying in %.1fs",
                    self.container.service_name,
                    exc,
                    delay,
                )
                self.publisher.close()
                time.sleep(delay)
            if time.monotonic() - last_gauge >= self.poll:
                last_gauge = time.monotonic()
                try:
                    self.update_gauges()
                except Exception as exc:
                    log.warning("outbox gauges of %s failed: %s", self.container.service_name, exc)

    def _catch_up(self) -> None:
        """Publish every unsent row in id order, then take hand-offs again. What commits
        while the last scan reads is handed on (it is not in what the scan read)."""
        while self._running:
            self._handed.clear()
            self._scanning = False  # commits from here on are handed on ...
            if self.relay_once() < self.batch:
                return
            self._scanning = True  # ... unless more is waiting than one batch

    def relay_handed(self) -> int:
        """Publish up to a batch of the events committed here, as they were written (not
        read back), and mark those confirmed sent, in one statement of its own; returns how
        many were published. One the broker returns (no queue yet) stays unsent for the scan.

        This is the relay's usual path: a commit's events go out without the three round
        trips of a scan (its transaction, the SELECT, the UPDATE in it) or decoding them.
        Delivery stays at least once: a crash after the publish re-publishes them from the
        table at the next start."""
        bodies = [self._handed.popleft() for _ in range(min(self.batch, len(self._handed)))]
        confirmed, refused = self.publisher.publish_counting_refusals(bodies)
        done = [b["id"] for b, ok in zip(bodies, confirmed, strict=True) if ok]
        if done:
            if not self._unmarked:
                self._unmarked_since = time.monotonic()
            self._unmarked.extend(done)
            if len(self._unmarked) >= self.batch:
                self.mark_sent()
        self.metrics.outbox_published.labels().inc(len(done))
        if refused:  # back to the table, in order, after the back-off
            raise RuntimeError(f"broker refused {refused} events")
        return len(done)

    def mark_sent(self) -> None:
        """Mark what the hand-offs published sent, in one autocommit statement. Under load
        a hand-off publishes a gathered call's events every few milliseconds: their marks
        wait up to ``OUTBOX_MARK_SECONDS`` (or a batch) to go together, well inside the
        scan's grace, so the scan does not take them for lost. A crash before the mark
        publishes them again from the table at the next start (at least once)."""
        done, self._unmarked = self._unmarked, []  # no green switch: taken once
        if not done:
            return
        t = self.table
        assert self.db.engine is not None
        try:
            with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(update(t).where(t.c.event_id.in_(done)).values(sent_at=now_utc()))
        except BaseException:
            self._unmarked[:0] = done  # for the next try (the relay's, after its back-off)
            raise

    def _marks_due(self) -> bool:
        return bool(self._unmarked) and (time.monotonic() - self._unmarked_since >= self.mark_delay)

    def relay_once(self, min_age: float = 0.0) -> int:
        """Publish one batch of unsent rows (those written at least ``min_age`` seconds ago),
        in id order; returns how many were published."""
        t = self.table
        session = self.db.new_session()
        try:
            query = select(t.c.id, t.c.body).where(t.c.sent_at.is_(None))
            if min_age:
                query = query.where(t.c.created_at <= now_utc() - timedelta(seconds=min_age))
            rows = session.execute(
                query.order_by(t.c.id).limit(self.batch).with_for_update(skip_locked=True)
            ).all()
            if not rows:
                session.rollback()
                return 0
            if session.get_bind().dialect.name == "sqlite":
                # Don't hold a WAL snapshot through the network wait: the later write
                # would fail with SQLITE_BUSY_SNAPSHOT once another commit lands.
                session.commit()
            confirmed, refused = self.publisher.publish_counting_refusals([r.body for r in rows])
            done = [r.id for r, ok in zip(rows, confirmed, strict=True) if ok]
            if done:
                session.execute(update(t).where(t.c.id.in_(done)).values(sent_at=now_utc()))
            session.commit()
            self.metrics.outbox_published.labels().inc(len(done))
            if refused:
                raise RuntimeError(f"broker refused {refused} events")
            return len(done)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def update_gauges(self) -> None:
        t = self.table
        with self.db.scope() as session:
            count, oldest = session.execute(
                select(func.count(), func.min(t.c.created_at)).where(t.c.sent_at.is_(None))
            ).one()
        self.metrics.outbox_backlog.labels().set(count)
        age = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:  # an aggregate bypasses the column type
                oldest = oldest.replace(tzinfo=UTC)
            age = (now_utc() - oldest).total_seconds()
        self.metrics.outbox_age.labels().set(age)


class _RetryState:
    """The little of tenacity's RetryCallState that ``wait_exponential`` reads."""

    def __init__(self, attempt_number: int):
        self.attempt_number = attempt_number
