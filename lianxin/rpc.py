"""nameko's ``@rpc``, with the worker's database session finished before the reply goes out
and the reply sent without a publisher confirm.

nameko sends an RPC's reply (``handle_result``) before it tears the worker down, and
sending yields to other green threads. A transaction left open by a refused call (an
error raised after a write began) would then hold its locks across that wait — on SQLite
the whole database — while other workers queue behind it. Closing the session first
rolls back anything uncommitted and returns the connection to the pool at once.

A reply goes to the caller's transient, exclusive reply queue: a confirm from the broker
tells the responder nothing the caller doesn't learn better from its own timeout, and it
costs a round trip (and broker work) on every call. Requests keep nameko's confirms: they
are how a caller learns at once that no service is listening.

Its queue ``rpc-<service>`` is a quorum queue (:mod:`lianxin.queues`), consumed by the
kit's queue consumer, which stops the start with a clear message when a classic queue of the
name is in the way.

It also defaults ``expected_exceptions`` to the kit's :data:`lianxin.errors.EXPECTED`:
every refusal a caller may see (invalid input, not found, forbidden ...) is expected, so
nameko logs none of them as a crash.

    from lianxin.rpc import rpc

    @rpc
    def create_ticket(self, center_id, payload): ...
"""

from __future__ import annotations

import logging
from typing import Any

from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.rpc import Responder, get_rpc_exchange
from nameko.rpc import Rpc as NamekoRpc
from nameko.rpc import RpcConsumer as NamekoRpcConsumer

from lianxin import queues
from lianxin.db import Database, as_unavailable
from lianxin.errors import EXPECTED

log = logging.getLogger(__name__)


class ReplyPublisher(Publisher):
    use_confirms = False


class UnconfirmedResponder(Responder):
    publisher_cls = ReplyPublisher


class RpcConsumer(NamekoRpcConsumer):
    """nameko's shared RPC consumer on a quorum queue, replying through
    :class:`UnconfirmedResponder`."""

    queue_consumer = queues.QueueConsumer()
    queue: Any

    def setup(self) -> None:
        super().setup()
        self.queue = queues.quorum(self.queue, self.container.config)

    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = UnconfirmedResponder(
            config[AMQP_URI_CONFIG_KEY],
            get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        try:
            result, exc_info = responder.send_response(result, exc_info)
        except Exception as exc:
            # The broker went away while the call ran. Raising here would end the container
            # (nameko treats this thread's error as fatal); the request is given back instead
            # (or, on a dead connection, redelivered by the broker), and the caller's wait
            # ends with a timeout or with the answer of the redelivery.
            log.warning(
                "reply to %s not sent (%s: %s); the request goes back to the broker",
                message.delivery_info.get("routing_key", "?"),
                type(exc).__name__,
                exc,
            )
            self.queue_consumer.requeue_message(message)
            return result, exc_info
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(NamekoRpc):
    rpc_consumer = RpcConsumer()

    def __init__(
        self, expected_exceptions: tuple[type[BaseException], ...] = EXPECTED, **kwargs: object
    ) -> None:
        super().__init__(expected_exceptions=expected_exceptions, **kwargs)

    def setup(self) -> None:
        super().setup()
        self.databases = [d for d in self.container.dependencies if isinstance(d, Database)]

    def handle_result(self, message, worker_ctx, result, exc_info):
        for database in self.databases:
            database.worker_teardown(worker_ctx)  # close (and roll back) before replying
        exc_info = as_unavailable(exc_info)  # an unreachable database: 503, not a crash
        return super().handle_result(message, worker_ctx, result, exc_info)


rpc = Rpc.decorator
