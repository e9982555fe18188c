"""What kind of queue each of the services' queues is: the one place the policy lives.

Every **durable** queue a service declares — nameko's RPC queue ``rpc-<service>``, the
kit's event-handler queues ``evt-<source>-<type>--<service>.<method>`` and the dead-letter
queue — is a RabbitMQ *quorum* queue (:func:`arguments`): replicated on the cluster's nodes,
so it survives the loss of a minority of them, with

* a delivery limit (``x-delivery-limit``, config or environment ``QUEUE_DELIVERY_LIMIT``,
  default :data:`DEFAULT_DELIVERY_LIMIT`): a message that is redelivered that often — one
  that kills its consumer before it is acknowledged, again and again — is dead-lettered by
  the broker instead of looping forever;
* the broker's dead-lettering into :data:`DEAD_LETTER_EXCHANGE`, *at least once*
  (``x-dead-letter-strategy``, which needs ``x-overflow: reject-publish``), so the message
  reaches the dead-letter queue, where ``lianxin dead-letters`` shows it with the reason the
  broker gave (``delivery_limit``) beside the ones the kit writes itself.

Broadcast handlers' queues (one per replica, exclusive) and RPC reply queues (one per
process, named by a uuid) stay classic and **transient**: nothing in them outlives their
consumer, and a transient queue whose node goes down is deleted, so its owner can declare it
again on another node (a durable classic queue there would be "down" until its node is back).

A deployment that has classic queues of these names must migrate them first
(``docs/quorum-queues.md``): declaring a quorum queue over a classic one is refused by the
broker, and the service then stops at start with :class:`QueueTypeMismatch`.

nameko's acknowledgements are also made harmless here on a dead connection (see
:func:`_safe_ack`): the broker redelivers the message anyway.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

import kombu
import nameko.messaging
from amqp.exceptions import PreconditionFailed
from nameko.rpc import ReplyListener as NamekoReplyListener
from nameko.rpc import RpcProxy as NamekoRpcProxy

from lianxin import readiness

log = logging.getLogger(__name__)

QUEUE_TYPE = "quorum"
#: Deliveries of one message before the broker dead-letters it (``QUEUE_DELIVERY_LIMIT``).
#: Every redelivery counts — one after a lost connection or a stopped consumer too —, so the
#: limit is well above what a few broker restarts or deploys cost a message.
DEFAULT_DELIVERY_LIMIT = 20
#: Where the kit and the broker dead-letter (``lianxin.deadletters`` binds its queue to it).
DEAD_LETTER_EXCHANGE = "lianxin.dead-letters"
#: A consumer that lost its broker tries again after this, then a second longer each time …
RECONNECT_FIRST_SECONDS = 0.5
#: … up to this (a failover URI's next node is tried on each attempt).
RECONNECT_MAX_SECONDS = 5.0
#: The document a refused declaration points to.
UPGRADE_DOC = "docs/quorum-queues.md"


class QueueTypeMismatch(RuntimeError):
    """A queue of the name the service declares exists with other arguments (a classic queue
    from before quorum queues): the one-line message names the queue and the document."""


def delivery_limit(config: Mapping[str, Any] | None = None) -> int:
    """The delivery limit: ``QUEUE_DELIVERY_LIMIT`` from the config, else the environment."""
    raw = (config or {}).get("QUEUE_DELIVERY_LIMIT") or os.environ.get("QUEUE_DELIVERY_LIMIT")
    if raw in (None, ""):
        return DEFAULT_DELIVERY_LIMIT
    limit = int(raw)
    if limit < 1:
        raise ValueError(f"QUEUE_DELIVERY_LIMIT must be at least 1 (got {raw!r})")
    return limit


def arguments(
    config: Mapping[str, Any] | None = None, *, dead_letter: bool = True
) -> dict[str, Any]:
    """The declaration arguments of a durable queue; ``dead_letter=False`` for the
    dead-letter queue itself (no limit: reading it returns messages, which counts)."""
    args: dict[str, Any] = {"x-queue-type": QUEUE_TYPE}
    if dead_letter:
        args.update(
            {
                "x-delivery-limit": delivery_limit(config),
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",  # what at-least-once dead-lettering needs
            }
        )
    return args


def quorum(queue: Any, config: Mapping[str, Any] | None = None) -> kombu.Queue:
    """``queue`` as the durable quorum queue of the same name, exchange and binding."""
    return kombu.Queue(
        queue.name,
        exchange=queue.exchange,
        routing_key=queue.routing_key,
        durable=True,
        auto_delete=False,
        exclusive=False,
        queue_arguments={**(queue.queue_arguments or {}), **arguments(config)},
    )


def transient(queue: Any) -> kombu.Queue:
    """``queue`` as a classic, non-durable queue (same name, binding and arguments)."""
    return kombu.Queue(
        queue.name,
        exchange=queue.exchange,
        routing_key=queue.routing_key,
        durable=False,
        auto_delete=queue.auto_delete,
        exclusive=queue.exclusive,
        queue_arguments=dict(queue.queue_arguments or {}),
    )


def for_consumer(queue: Any, config: Mapping[str, Any] | None = None) -> kombu.Queue:
    """The policy for a consumer's queue: quorum if it is meant to outlive its consumer
    (durable, neither exclusive nor auto-delete), else transient."""
    if queue.durable and not queue.exclusive and not queue.auto_delete:
        return quorum(queue, config)
    return transient(queue)


_INEQUIVALENT = re.compile(r"inequivalent arg '(?P<arg>[^']+)' for queue '(?P<queue>[^']+)'")


def mismatch(exc: BaseException) -> QueueTypeMismatch | None:
    """The :class:`QueueTypeMismatch` a refused declaration means, or ``None``."""
    if not isinstance(exc, PreconditionFailed):
        return None
    found = _INEQUIVALENT.search(str(exc))
    if found is None:
        return None
    queue, arg = found["queue"], found["arg"]
    if arg == "x-queue-type":
        what = "已存在同名的 classic 队列，不能声明为 quorum 队列"
    else:
        what = f"已存在、参数 {arg} 与现在的配置不同"
    return QueueTypeMismatch(f"队列 {queue} {what}：请先按 {UPGRADE_DOC} 迁移（{arg}）")


def _safe_ack(self: Any, message: Any) -> None:
    """Acknowledge if the message's channel is still open; on a dead connection do nothing.

    nameko catches only ``amqp.exceptions.ConnectionError`` here, not the socket's own
    errors (``ConnectionResetError``) nor a closed channel's, and the worker or managed
    thread that raises them ends its container. The broker redelivers an unacknowledged
    message of a lost connection anyway; the handlers are idempotent.
    """
    _settle(message, "ack")


def _safe_requeue(self: Any, message: Any) -> None:
    """Give the message back if its channel is still open (see :func:`_safe_ack`)."""
    _settle(message, "requeue")


def _settle(message: Any, how: str) -> None:
    channel = getattr(message, "channel", None)
    if channel is None or not getattr(channel, "connection", None):
        return
    try:
        getattr(message, how)()
    except Exception as exc:  # the connection or channel went away: the broker redelivers
        log.warning(
            "could not %s a message (%s: %s); the broker redelivers it",
            how,
            type(exc).__name__,
            exc,
        )


def _safe_ack_all(self: Any, messages: list[Any]) -> None:
    """Acknowledge many messages (each as :func:`_safe_ack`) with one write to the broker per
    connection instead of one each: a batch's acknowledgements leave together."""
    by_connection: dict[int, tuple[Any, list[Any]]] = {}
    for message in messages:
        connection = getattr(getattr(message, "channel", None), "connection", None)
        by_connection.setdefault(id(connection), (connection, []))[1].append(message)
    for connection, group in by_connection.values():
        try:
            with one_write(connection):
                for message in group:
                    _settle(message, "ack")
        except Exception as exc:  # the write itself failed: the broker redelivers them
            log.warning(
                "could not ack %d message(s) (%s: %s); the broker redelivers them",
                len(group),
                type(exc).__name__,
                exc,
            )


@contextlib.contextmanager
def one_write(connection: Any) -> Iterator[None]:
    """The AMQP frames written on ``connection`` (py-amqp's) inside the block leave in one
    socket write as it ends, not one each: for many publishes or acknowledgements in a row,
    one system call (and one read on the broker's side) instead of many.

    Nothing inside may wait for the broker (a confirm, a reply): the frames are still here.
    Nothing else writes on the connection meanwhile either: buffering never yields to
    another green thread. A connection without py-amqp's transport writes as usual."""
    transport: Any = getattr(connection, "transport", None)
    write = getattr(transport, "_write", None)
    if write is None:
        yield
        return
    pending: list[bytes] = []
    # The frame writer hands over a view of its reused buffer: keep a copy.
    transport._write = lambda data: pending.append(bytes(data))
    try:
        yield
    finally:
        transport._write = write
        if pending:
            transport.write(b"".join(pending))  # marks the transport down if it fails


# Every QueueConsumer of the process — the kit's and nameko's own (its broadcast handlers,
# the reply listeners) — settles messages this way.
nameko.messaging.QueueConsumer.ack_message = _safe_ack
nameko.messaging.QueueConsumer.ack_messages = _safe_ack_all
nameko.messaging.QueueConsumer.requeue_message = _safe_requeue


class QueueConsumer(nameko.messaging.QueueConsumer):
    """nameko's queue consumer, stopping its container's start with
    :class:`QueueTypeMismatch` when the broker refuses a queue's declaration.

    nameko would log the refusal as a lost connection and retry it every second, for ever,
    with the container's start waiting meanwhile. Once running, a refusal (a queue deleted
    and declared classic by hand) is logged with the same message and retried.
    """

    def __init__(self) -> None:
        super().__init__()
        self.refused: QueueTypeMismatch | None = None

    def get_consumers(self, consumer_cls, channel):
        try:
            return self.make_consumers(consumer_cls, channel)
        except PreconditionFailed as exc:
            refused = mismatch(exc)
            if refused is None:
                raise
            log.error("%s", refused)
            if not self._consumers_ready.ready():
                self.refused = refused
                self.should_stop = True
                self._consumers_ready.send_exception(refused)
            raise

    @contextlib.contextmanager
    def establish_connection(self):
        # kombu's default waits 2, 4, 6 … up to 30 s between tries: after a broker restart a
        # service would stay deaf for up to half a minute. A try a second (at most 5 s
        # apart) costs the broker nothing while it is down.
        with self.create_connection() as conn:
            conn.ensure_connection(
                self.on_connection_error,
                self.connect_max_retries,
                interval_start=RECONNECT_FIRST_SECONDS,
                interval_step=1,
                interval_max=RECONNECT_MAX_SECONDS,
            )
            yield conn

    def make_consumers(self, consumer_cls, channel):
        """Declare the providers' queues and consume them (nameko's ``get_consumers``)."""
        return super().get_consumers(consumer_cls, channel)

    # What the readiness probes read (lianxin.readiness): consuming, or why not.

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        readiness.consuming(self.container.service_name, self)
        super().on_consume_ready(connection, channel, consumers, **kwargs)

    def on_connection_error(self, exc, interval):
        readiness.lost(self.container.service_name, self, f"broker unreachable: {exc}")
        super().on_connection_error(exc, interval)

    def consume(self, *args, **kwargs):
        try:
            yield from super().consume(*args, **kwargs)
        except BaseException as exc:  # the connection went away: kombu's loop reconnects
            readiness.lost(self.container.service_name, self, f"connection lost: {exc!r}")
            raise
        readiness.lost(self.container.service_name, self, "stopping")

    def start(self) -> None:
        super().start()
        if self.refused is not None:
            readiness.lost(self.container.service_name, self, str(self.refused))
            raise self.refused

    def stop(self) -> None:
        readiness.lost(self.container.service_name, self, "stopping")
        try:
            super().stop()
        finally:
            readiness.gone(self.container.service_name, self)

    def kill(self) -> None:
        try:
            super().kill()
        finally:
            readiness.gone(self.container.service_name, self)


class ReplyListener(NamekoReplyListener):
    """nameko's RPC reply listener on a transient reply queue, consumed by the kit's
    :class:`QueueConsumer` (which reconnects, failing over to the next broker node)."""

    queue_consumer = QueueConsumer()
    queue: Any

    def setup(self) -> None:
        super().setup()
        self.queue = transient(self.queue)


# The services and the gateway use nameko's ``RpcProxy``: their reply queues are made here.
NamekoRpcProxy.rpc_reply_listener = ReplyListener()
