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

Example::

    @event_handler("tickets", tickets.TICKET_CREATED)
    def handle_ticket_created(self, event):
        domain.record_staff_notification(db_session=self.db, event=event)
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial

import eventlet
from nameko.events import EventHandler as NamekoEventHandler
from nameko.messaging import QueueConsumer
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from lianxin import deadletters
from lianxin import metrics as kit_metrics
from lianxin.contracts import InvalidEvent, parse_event
from lianxin.errors import LianxinError
from lianxin.outbox import find_database

log = logging.getLogger(__name__)


class SafeQueueConsumer(QueueConsumer):
    """nameko's queue consumer, but an undecodable message is dead-lettered, not fatal."""

    def get_consumers(self, consumer_cls, channel):  # noqa: ANN001
        for provider in self._providers:
            consumer = consumer_cls(
                queues=[provider.queue], callbacks=[partial(self.handle_message, provider)],
                accept=self.accept, on_decode_error=provider.handle_undecodable,
            )
            consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()


class EventHandler(NamekoEventHandler):
    """Idempotent, validating, dead-lettering ``@event_handler`` (see the module doc)."""

    queue_consumer = SafeQueueConsumer()

    def __init__(self, source_service: str, event_type: str, max_attempts: int = 3,
                 retry_delay: float = 0.5, **kwargs):  # noqa: ANN003
        super().__init__(source_service, event_type, **kwargs)
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay

    def setup(self) -> None:
        super().setup()
        self.db = find_database(self.container)
        self.processed = self.db.metadata.tables["processed_events"]
        self.metrics = kit_metrics.for_service(self.container.service_name)
        self.handler_key = f"{self.container.service_name}.{self.method_name}"

    # -- receiving -----------------------------------------------------------------------

    def handle_undecodable(self, message, exc) -> None:  # noqa: ANN001
        self._dead_letter(message, f"undecodable message: {type(exc).__name__}: {exc}")

    def handle_message(self, body, message) -> None:  # noqa: ANN001
        try:
            event = parse_event(body, expected=self.event_type)
        except InvalidEvent as exc:
            self._dead_letter(message, f"invalid event: {exc}", body=body)
            return
        # No look-up first: the processed mark's primary key refuses a repeat at commit,
        # which rolls the repeat's effect back (one query per event saved; repeats are rare).
        self._spawn(message, event, attempt=1)

    def _spawn(self, message, event, attempt: int) -> None:  # noqa: ANN001
        context_data = self.unpack_message_headers(message)
        context_data["event_id"] = event["id"]
        try:
            self.container.spawn_worker(
                self, (event,), {}, context_data=context_data,
                handle_result=partial(self._handle_result, message, event, attempt),
            )
        except Exception:  # ContainerBeingKilled: let the broker redeliver later
            self.queue_consumer.requeue_message(message)

    def _already_processed(self, event_id: str) -> bool:
        p = self.processed
        with self.db.scope() as session:
            return session.execute(
                select(p.c.event_id).where(p.c.event_id == event_id, p.c.handler == self.handler_key)
            ).first() is not None

    # -- finishing -----------------------------------------------------------------------

    def _handle_result(self, message, event, attempt, worker_ctx, result=None, exc_info=None):  # noqa: ANN001, ANN202
        session = self.db.session_for(worker_ctx)
        if exc_info is None:
            try:
                session.execute(insert(self.processed).values(
                    event_id=event["id"], handler=self.handler_key, center_id=event["centerid"],
                    processed_at=datetime.now(UTC),
                ))
                session.commit()
            except IntegrityError:
                # Another delivery of the same event won the race: its effect stands.
                session.rollback()
                self.metrics.deduplicated.labels(self.container.service_name, self.event_type).inc()
            except Exception as exc:  # noqa: BLE001
                session.rollback()
                return self._failed(message, event, attempt, exc, result)
            self.queue_consumer.ack_message(message)
            return result, None
        session.rollback()
        try:
            repeat = self._already_processed(event["id"])
        except Exception:  # noqa: BLE001 - can't tell: treat it as the failure it is
            repeat = False
        if repeat:
            # A redelivered event whose effect collided with its first delivery's.
            self.metrics.deduplicated.labels(self.container.service_name, self.event_type).inc()
            self.queue_consumer.ack_message(message)
            return result, None
        return self._failed(message, event, attempt, exc_info[1], result, exc_info)

    def _failed(self, message, event, attempt, exc, result, exc_info=None):  # noqa: ANN001, ANN202
        permanent = isinstance(exc, LianxinError)
        if not permanent and attempt < self.max_attempts:
            delay = min(self.retry_delay * 2 ** (attempt - 1), 30)
            log.warning("handler %s failed on event %s (attempt %s), retrying in %.1fs: %s",
                        self.handler_key, event["id"], attempt, delay, exc)
            eventlet.spawn_after(delay, self._spawn, message, event, attempt + 1)
        else:
            self._dead_letter(message, f"handler failed after {attempt} attempt(s): "
                                       f"{type(exc).__name__}: {exc}", event=event)
        return result, exc_info if exc_info is not None else (type(exc), exc, exc.__traceback__)

    def _dead_letter(self, message, reason: str, body=None, event=None) -> None:  # noqa: ANN001
        service = self.container.service_name
        event_type = self.event_type
        event_id = center = None
        source = event or (body if isinstance(body, dict) else {})
        if isinstance(source, dict):
            event_id, center = source.get("id"), source.get("centerid")
        log.error("dead-lettering a message from %s: %s", self.queue.name, reason,
                  extra={"event_id": event_id})
        try:
            deadletters.publish(
                self.container.config["AMQP_URI"], body=message.body,
                content_type=message.content_type, reason=reason, service=service,
                queue=self.queue.name, exchange=self.queue.exchange.name,
                routing_key=message.delivery_info.get("routing_key", ""),
                event_type=event_type, event_id=event_id, center_id=center,
            )
        except Exception as exc:  # noqa: BLE001
            # Could not park it: give it back to the broker rather than lose it.
            log.error("could not dead-letter (%s); requeueing after a pause", exc)
            eventlet.sleep(1)
            self.queue_consumer.requeue_message(message)
            return
        self.metrics.dead_letters.labels(service, event_type).inc()
        self.queue_consumer.ack_message(message)


event_handler = EventHandler.decorator
