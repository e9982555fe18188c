"""Idempotent event handlers that dead-letter what they cannot process.

:class:`EventHandler` is nameko's ``@event_handler`` (same exchange, queue and
routing key, so departments bind the same way) with three guarantees added:

* the message is validated against its contract before any code runs; one
  that breaks it (or is not JSON at all) is dead-lettered with the reason;
* the event ``id`` is recorded in the service's ``processed_events`` table in
  the same transaction as the handler's effect — **the handler does not
  commit; the kit commits when it returns** — and a repeat is ignored (its
  processed mark collides at commit and its effect is rolled back, so a
  handler's effects must stay inside its database transaction);
* a handler that raises is retried (capped backoff), then dead-lettered.
  The original is acknowledged only after it is either processed or safely
  dead-lettered, so it is never lost and never blocks the queue.

Its queue (``evt-<source>-<type>--<service>.<method>``) is a quorum queue with a delivery
limit (:mod:`lianxin.queues`): a message that kills its consumer before the ack, again and
again, is dead-lettered by the broker into the same dead-letter queue. Example::

    @event_handler("tickets", tickets.TICKET_CREATED)
    def handle_ticket_created(self, event):
        domain.record_staff_notification(db_session=self.db, event=event)

**Batch mode** (``batch=N``) hands the method a *list* of validated events, to save
what each event costs alone: a worker, a commit, a statement per table. Batches form
by themselves: the first message is handled at once (no timer), messages that arrive
while a batch runs gather, and when it ends the next batch — up to ``N`` of them —
starts. A service may set ``EVENT_BATCH_LINGER_SECONDS`` (notify: 5 ms): a backlog shorter
than a batch then waits that long for more before its batch starts — under load events
arrive in bursts (a relay's batch, split among the replicas) and a batch's commit and ack
cost as much as several events; idle, nothing waits. The kit inserts the batch's
processed marks in one statement, commits them with the batch's effects in one
transaction, then acknowledges its messages (in one write to the broker). The guarantees
stay those above, event by event:

* an invalid message is dead-lettered as it arrives and never joins a batch;
* an event delivered twice within a batch is handled once (the copy is acknowledged
  with it); one processed before makes the batch's marks collide at commit;
* a batch whose handler raises, or whose commit fails (such a collision included), is
  rolled back and its events handled one at a time by the single-event path above —
  each as a list of one, with its own retries and dead letter — so one bad event never
  fails or loses its batch-mates, and a repeat is recognised as such;
* when the container stops, the running batch finishes; messages gathered for the next
  one are given back to the broker, which redelivers them (so does a killed batch's).

Prefetch: nameko lets each queue's consumer hold ``max_workers`` (the container's)
unacknowledged messages. A running batch holds up to ``N`` of them, so only the rest
can gather meanwhile: ``N`` is capped at half of ``max_workers`` (with a warning),
which lets a full batch gather while one runs. Example::

    @event_handler("tickets", tickets.TICKET_CREATED, batch=10)
    def handle_ticket_created(self, events):
        domain.record_staff_notifications(db_session=self.db, events=events)
"""

from __future__ import annotations

import logging
from collections import deque
from functools import partial
from typing import Any

import eventlet
from nameko.events import EventHandler as NamekoEventHandler
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from lianxin import deadletters
from lianxin import metrics as kit_metrics
from lianxin.bulk import defer_rows
from lianxin.clock import now_utc
from lianxin.contracts import InvalidEvent, parse_event
from lianxin.db import unreachable
from lianxin.errors import LianxinError, Unavailable
from lianxin.outbox import find_database
from lianxin.queues import QueueConsumer, for_consumer

log = logging.getLogger(__name__)

#: Buckets of the batch-size histogram (events per committed batch).
BATCH_BUCKETS = (1, 2, 3, 5, 10, 20, 50, 100)
#: The largest envelope a handler takes (config ``MAX_EVENT_BYTES``): the catalogue's events
#: are a few hundred bytes; something far larger (an extra attribute of a megabyte that the
#: contract doesn't forbid) is dead-lettered with the reason, not processed.
MAX_EVENT_BYTES = 64 * 1024
#: Attempts at an event whose handler met a transient fault (its database unreachable, a
#: service unavailable): with the capped back-off, about two and a half minutes of waiting
#: before it is dead-lettered.
TRANSIENT_ATTEMPTS = 10

BATCH_EVENTS = kit_metrics.histogram(
    "lianxin_consumer_batch_events",
    "Events per batch committed by a batch handler",
    ("event_type",),
    buckets=BATCH_BUCKETS,
)
BATCH_FALLBACKS = kit_metrics.counter(
    "lianxin_consumer_batch_fallbacks_total",
    "Batches rolled back and handled one event at a time",
    ("event_type",),
)


class SafeQueueConsumer(QueueConsumer):
    """The kit's queue consumer, but an undecodable message is dead-lettered, not fatal."""

    def make_consumers(self, consumer_cls, channel):
        for provider in self._providers:
            consumer = consumer_cls(
                queues=[provider.queue],
                callbacks=[partial(self.handle_message, provider)],
                accept=self.accept,
                on_decode_error=provider.handle_undecodable,
            )
            consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()


class EventHandler(NamekoEventHandler):
    """Idempotent, validating, dead-lettering ``@event_handler`` (see the module doc)."""

    queue_consumer = SafeQueueConsumer()
    queue: Any

    def __init__(
        self,
        source_service: str,
        event_type: str,
        max_attempts: int = 3,
        retry_delay: float = 0.5,
        batch: int | None = None,
        **kwargs,
    ):
        super().__init__(source_service, event_type, **kwargs)
        if batch is not None and batch < 1:
            raise ValueError(f"batch must be at least 1 (got {batch})")
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.batch = batch
        # Batch mode: messages gathered for the next batch; whether a batch runs.
        self.waiting: deque[tuple[Any, dict[str, Any]]] = deque()
        self.batching = False
        self.stopping = False
        self.linger = 0.0

    def setup(self) -> None:
        super().setup()
        # A service's pool queue is quorum; a broadcast handler's (exclusive) stays transient.
        self.queue = for_consumer(self.queue, self.container.config)
        self.db = find_database(self.container)
        self.processed = self.db.metadata.tables["processed_events"]
        self.metrics = kit_metrics.for_service(self.container.service_name)
        self.handler_key = f"{self.container.service_name}.{self.method_name}"
        self.max_bytes = int(self.container.config.get("MAX_EVENT_BYTES") or MAX_EVENT_BYTES)
        self.labels = (self.event_type,)
        if self.batch:
            room = max(1, self.queue_consumer.prefetch_count // 2)
            if self.batch > room:
                log.warning(
                    "%s: batch %d capped at %d, half the prefetch (max_workers %d), "
                    "so that a full batch can gather while one runs",
                    self.handler_key,
                    self.batch,
                    room,
                    self.queue_consumer.prefetch_count,
                )
                self.batch = room
            self.batch_sizes = self.metrics.get(BATCH_EVENTS)
            self.linger = float(self.container.config.get("EVENT_BATCH_LINGER_SECONDS") or 0)
            self.fallbacks = self.metrics.get(BATCH_FALLBACKS)

    def stop(self) -> None:
        self.stopping = True
        super().stop()  # the consumer is cancelled: nothing more arrives
        self._give_back()

    # -- receiving -----------------------------------------------------------------------

    def handle_undecodable(self, message, exc) -> None:
        self._dead_letter(message, f"undecodable message: {type(exc).__name__}: {exc}")

    def handle_message(self, body, message) -> None:
        size = len(message.body or b"")
        if size > self.max_bytes:
            self._dead_letter(
                message,
                f"envelope of {size} bytes is over the limit of {self.max_bytes} bytes",
                body=body,
            )
            return
        try:
            event = parse_event(body, expected=self.event_type)
        except InvalidEvent as exc:
            self._dead_letter(message, f"invalid event: {exc}", body=body)
            return
        # No look-up first: the processed mark's primary key refuses a repeat at commit,
        # which rolls the repeat's effect back (one query per event saved; repeats are rare).
        if self.batch:
            self._gather(message, event)
        else:
            self._spawn(message, event, attempt=1)

    def _spawn(self, message, event, attempt: int) -> None:
        """Handle one event on its own (in batch mode: as a list of one)."""
        context_data = self.unpack_message_headers(message)
        context_data["event_id"] = event["id"]
        try:
            self.container.spawn_worker(
                self,
                ([event],) if self.batch else (event,),
                {},
                context_data=context_data,
                handle_result=partial(self._handle_result, message, event, attempt),
            )
        except Exception:  # ContainerBeingKilled: let the broker redeliver later
            self.queue_consumer.requeue_message(message)

    def traced_messages(self, worker_ctx) -> list[dict[str, Any]]:
        """The envelopes a worker handles, for :class:`lianxin.tracing.Tracing`: the worker's
        consumer span is a child of the first one's ``traceparent`` and, in a batch, links to
        every event's. One span per batch, not per event: the batch is one piece of work (one
        transaction); a batch of one — what an idle system sends — is a plain child, and each
        event's webhooks still join the event's own trace (they are sent from its envelope).
        A malformed ``traceparent`` was dropped on arrival (:func:`parse_event`)."""
        handled = worker_ctx.args[0] if worker_ctx.args else []
        return list(handled) if isinstance(handled, list) else [handled]

    def _already_processed(self, event_id: str) -> bool:
        p = self.processed
        with self.db.scope() as session:
            return (
                session.execute(
                    select(p.c.event_id).where(
                        p.c.event_id == event_id, p.c.handler == self.handler_key
                    )
                ).first()
                is not None
            )

    # -- batches -------------------------------------------------------------------------

    def _gather(self, message, event) -> None:
        self.waiting.append((message, event))
        if self.batching:
            return  # the running batch starts the next one when it ends
        self.batching = True
        # One turn of the hub, not a timer: messages received together with this one
        # (each in a thread of its own, already scheduled) join its batch.
        eventlet.sleep(0)
        self._next_batch()

    def _next_batch(self) -> None:
        """Start a batch of what has gathered, up to ``batch``; or stop batching if nothing has."""
        if self.stopping:
            self._give_back()
        if not self.waiting:
            self.batching = False
            return
        size = self.batch or 1
        taken = [self.waiting.popleft() for _ in range(min(size, len(self.waiting)))]
        unique: dict[str, dict[str, Any]] = {}
        for _message, event in taken:
            unique.setdefault(event["id"], event)  # a copy delivered twice is handled once
        events = list(unique.values())
        context_data = self.unpack_message_headers(taken[0][0])
        context_data["event_id"] = ",".join(unique)
        try:
            self.container.spawn_worker(
                self,
                (events,),
                {},
                context_data=context_data,
                handle_result=partial(self._handle_batch_result, taken, events),
            )
        except Exception:  # ContainerBeingKilled: let the broker redeliver later
            for message, _event in taken:
                self.queue_consumer.requeue_message(message)
            self._give_back()
            self.batching = False

    def _handle_batch_result(self, taken, events, worker_ctx, result=None, exc_info=None):
        session = self.db.session_for(worker_ctx)
        error = None if exc_info is None else exc_info[1]
        if error is None:
            try:
                now = now_utc()
                # With what the worker deferred (lianxin.bulk), one round trip, at the commit.
                defer_rows(
                    session,
                    self.processed,
                    [
                        {
                            "event_id": e["id"],
                            "handler": self.handler_key,
                            "center_id": e["centerid"],
                            "processed_at": now,
                        }
                        for e in events
                    ],
                )
                session.commit()
            except Exception as exc:
                error = exc
        if error is None:
            self.queue_consumer.ack_messages([message for message, _event in taken])
            self.batch_sizes.labels(*self.labels).observe(len(events))
            if len(taken) > len(events):
                self.metrics.deduplicated.labels(*self.labels).inc(len(taken) - len(events))
            self._after_batch(fallback=[])
            return result, None
        session.rollback()
        # One at a time, each event gets what it deserves: its effect, its dedupe (a repeat
        # collided here), or its retries and dead letter (a bad one failed here).
        (log.info if isinstance(error, IntegrityError) else log.warning)(
            "batch of %d event(s) on %s not committed (%s: %s); handling them one at a time",
            len(events),
            self.handler_key,
            type(error).__name__,
            error,
        )
        self.fallbacks.labels(*self.labels).inc()
        self._after_batch(fallback=taken)
        return result, exc_info if exc_info is not None else (
            type(error),
            error,
            error.__traceback__,
        )

    def _after_batch(self, fallback: list) -> None:
        # In a thread of its own: a worker waiting here for a free worker slot could wait
        # forever if every slot were held by a batch worker doing the same.
        self.container.spawn_managed_thread(
            partial(self._resume, fallback), identifier=f"{self.handler_key}.next_batch"
        )

    def _resume(self, fallback: list) -> None:
        for message, event in fallback:
            if self.stopping:
                self.queue_consumer.requeue_message(message)
            else:
                self._spawn(message, event, attempt=1)
        if self.linger and 0 < len(self.waiting) < (self.batch or 1) and not self.stopping:
            # A backlog, but a short one: under load events come in bursts (a publisher's
            # batch, split among the replicas), and a moment more lets the next burst join
            # instead of paying a batch's fixed cost for a few. Idle, nothing waits here.
            eventlet.sleep(self.linger)
        self._next_batch()

    def _give_back(self) -> None:
        """Requeue what gathered for a batch that will not start (the container stops)."""
        while self.waiting:
            message, _event = self.waiting.popleft()
            self.queue_consumer.requeue_message(message)

    # -- finishing -----------------------------------------------------------------------

    def _handle_result(self, message, event, attempt, worker_ctx, result=None, exc_info=None):
        session = self.db.session_for(worker_ctx)
        if exc_info is None:
            try:
                session.execute(
                    insert(self.processed).values(
                        event_id=event["id"],
                        handler=self.handler_key,
                        center_id=event["centerid"],
                        processed_at=now_utc(),
                    )
                )
                session.commit()
            except IntegrityError:
                # Another delivery of the same event won the race: its effect stands.
                session.rollback()
                self.metrics.deduplicated.labels(*self.labels).inc()
            except Exception as exc:
                session.rollback()
                return self._failed(message, event, attempt, exc, result)
            self.queue_consumer.ack_message(message)
            return result, None
        session.rollback()
        try:
            repeat = self._already_processed(event["id"])
        except Exception:
            repeat = False
        if repeat:
            # A redelivered event whose effect collided with its first delivery's.
            self.metrics.deduplicated.labels(*self.labels).inc()
            self.queue_consumer.ack_message(message)
            return result, None
        return self._failed(message, event, attempt, exc_info[1], result, exc_info)

    def _failed(self, message, event, attempt, exc, result, exc_info=None):
        # A refusal is final; a fault of what the handler depends on (its database gone
        # for a restart, another service unavailable) is waited out for longer.
        transient = unreachable(exc) or isinstance(exc, Unavailable)
        permanent = isinstance(exc, LianxinError) and not transient
        attempts = TRANSIENT_ATTEMPTS if transient else self.max_attempts
        if not permanent and attempt < attempts:
            delay = min(self.retry_delay * 2 ** (attempt - 1), 30)
            log.warning(
                "handler %s failed on event %s (attempt %s), retrying in %.1fs: %s",
                self.handler_key,
                event["id"],
                attempt,
                delay,
                exc,
            )
            eventlet.spawn_after(delay, self._spawn, message, event, attempt + 1)
        else:
            self._dead_letter(
                message,
                f"handler failed after {attempt} attempt(s): {type(exc).__name__}: {exc}",
                event=event,
            )
        return result, exc_info if exc_info is not None else (type(exc), exc, exc.__traceback__)

    def _dead_letter(self, message, reason: str, body=None, event=None) -> None:
        service = self.container.service_name
        event_type = self.event_type
        event_id = center = None
        source = event or (body if isinstance(body, dict) else {})
        if isinstance(source, dict):
            event_id, center = source.get("id"), source.get("centerid")
        log.error(
            "dead-lettering a message from %s: %s",
            self.queue.name,
            reason,
            extra={"event_id": event_id},
        )
        try:
            deadletters.publish(
                self.container.config["AMQP_URI"],
                body=message.body,
                content_type=message.content_type,
                reason=reason,
                service=service,
                queue=self.queue.name,
                exchange=self.queue.exchange.name,
                routing_key=message.delivery_info.get("routing_key", ""),
                event_type=event_type,
                event_id=event_id,
                center_id=center,
            )
        except Exception as exc:
            # Could not park it: give it back to the broker rather than lose it.
            log.error("could not dead-letter (%s); requeueing after a pause", exc)
            eventlet.sleep(1)
            self.queue_consumer.requeue_message(message)
            return
        self.metrics.dead_letters.labels(event_type).inc()
        self.queue_consumer.ack_message(message)


event_handler = EventHandler.decorator
