"""The queue policy (``lianxin.queues``): durable queues are quorum queues with a delivery
limit and the broker's dead-lettering, broadcast and reply queues stay transient, a classic
queue in the way is named in one line, and a message on a dead connection is settled
harmlessly. No broker needed."""

from types import SimpleNamespace
from unittest import mock

import kombu
import pytest
from amqp.exceptions import PreconditionFailed
from kombu.exceptions import OperationalError
from nameko.messaging import QueueConsumer as NamekoQueueConsumer

from lianxin import deadletters, queues
from lianxin.rpc import RpcConsumer, UnconfirmedResponder

EXCHANGE = kombu.Exchange("tickets.events", type="topic", durable=True)


def test_a_durable_queue_is_quorum_with_a_delivery_limit_and_the_brokers_dead_lettering():
    assert queues.arguments({}) == {
        "x-queue-type": "quorum",
        "x-delivery-limit": 20,
        "x-dead-letter-exchange": "lianxin.dead-letters",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def test_the_delivery_limit_comes_from_config_or_environment(monkeypatch):
    assert queues.delivery_limit({"QUEUE_DELIVERY_LIMIT": "5"}) == 5
    monkeypatch.setenv("QUEUE_DELIVERY_LIMIT", "7")
    assert queues.delivery_limit({}) == 7
    with pytest.raises(ValueError, match="QUEUE_DELIVERY_LIMIT"):
        queues.delivery_limit({"QUEUE_DELIVERY_LIMIT": "0"})


def test_the_dead_letter_queue_has_no_limit_and_no_dead_letter_exchange_of_its_own():
    # Reading it hands messages back (a delivery each time); a limit would drop them.
    assert queues.arguments(dead_letter=False) == {"x-queue-type": "quorum"}


def test_a_service_pool_handler_queue_becomes_quorum_and_keeps_its_binding():
    pool = kombu.Queue("evt-tickets-x--notify.handle", EXCHANGE, routing_key="x", durable=True)
    made = queues.for_consumer(pool, {})
    assert made.queue_arguments["x-queue-type"] == "quorum"
    assert (made.name, made.exchange.name, made.routing_key) == (pool.name, "tickets.events", "x")
    assert made.durable and not made.auto_delete and not made.exclusive


def test_a_broadcast_queue_stays_classic_and_transient():
    broadcast = kombu.Queue(
        "evt-tickets-x--tickets.forget-abc",
        EXCHANGE,
        routing_key="x",
        durable=True,
        auto_delete=True,
        exclusive=True,
    )
    made = queues.for_consumer(broadcast, {})
    assert not made.durable and made.exclusive and made.auto_delete
    assert "x-queue-type" not in (made.queue_arguments or {})


def test_rpc_queue_is_quorum_and_reply_queue_transient():
    container = SimpleNamespace(
        service_name="tickets", config={"AMQP_URI": "amqp://x//"}, shared_extensions={}
    )
    consumer = RpcConsumer()
    consumer.container = container
    consumer.queue_consumer = mock.Mock()
    consumer.setup()
    assert consumer.queue.name == "rpc-tickets"
    assert consumer.queue.queue_arguments["x-queue-type"] == "quorum"

    listener = queues.ReplyListener()
    listener.container = container
    listener.queue_consumer = mock.Mock()
    listener.setup()
    assert listener.queue.name.startswith("rpc.reply-tickets-")
    assert not listener.queue.durable
    assert listener.queue.queue_arguments == {"x-expires": 300000}  # nameko's, kept


def test_nameko_rpc_proxies_use_the_kits_reply_listener():
    from nameko.rpc import RpcProxy

    assert type(RpcProxy.rpc_reply_listener) is queues.ReplyListener


def test_a_classic_queue_in_the_way_is_named_in_one_line_with_the_document():
    exc = PreconditionFailed(
        "Queue.declare: (406) PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue "
        "'rpc-tickets' in vhost '/': received the value 'quorum' of type 'longstr' but current "
        "is none"
    )
    refused = queues.mismatch(exc)
    assert isinstance(refused, queues.QueueTypeMismatch)
    text = str(refused)
    assert "rpc-tickets" in text and "classic" in text and "docs/quorum-queues.md" in text
    assert "\n" not in text


def test_other_refusals_are_not_a_queue_type_mismatch():
    assert (
        queues.mismatch(PreconditionFailed("PRECONDITION_FAILED - unknown delivery tag 1")) is None
    )
    assert queues.mismatch(OperationalError("ECONNREFUSED")) is None


def test_an_ack_on_a_dead_connection_is_harmless():
    # What ended the gateway: its reply consumer acked after the broker reset the socket.
    message = mock.Mock()
    message.ack.side_effect = ConnectionResetError(104, "Connection reset by peer")
    message.requeue.side_effect = OSError("Socket closed")
    NamekoQueueConsumer.ack_message(mock.Mock(), message)
    NamekoQueueConsumer.requeue_message(mock.Mock(), message)
    closed = mock.Mock()
    closed.channel.connection = None  # the channel is gone: nothing is sent at all
    NamekoQueueConsumer.ack_message(mock.Mock(), closed)
    closed.ack.assert_not_called()


def test_a_reply_that_cannot_be_sent_gives_the_request_back_instead_of_ending_the_container(
    monkeypatch,
):
    def refuse(self, result, exc_info):
        raise OperationalError("[Errno 111] ECONNREFUSED")

    monkeypatch.setattr(UnconfirmedResponder, "send_response", refuse)
    consumer = RpcConsumer()
    consumer.container = SimpleNamespace(config={"AMQP_URI": "amqp://x//"})
    consumer.queue_consumer = mock.Mock()
    message = mock.Mock(delivery_info={"routing_key": "tickets.create_ticket"})
    assert consumer.handle_result(message, {"id": "t-1"}, None) == ({"id": "t-1"}, None)
    consumer.queue_consumer.requeue_message.assert_called_once_with(message)
    consumer.queue_consumer.ack_message.assert_not_called()


def test_a_broker_dead_letter_shows_with_its_reason_queue_exchange_and_routing_key():
    message = SimpleNamespace(
        body=b'{"id": "e-1"}',
        content_type="application/json",
        properties={"type": "cn.lianxin.tickets.ticket.created.v1", "message_id": "e-1"},
        headers={
            "x-first-death-reason": "delivery_limit",
            "x-first-death-queue": "evt-tickets-cn.lianxin.tickets.ticket.created.v1--notify.h",
            "x-first-death-exchange": "tickets.events",
            "cloudEvents:centerid": "yanminghu",
            "x-death": [
                {
                    "count": 1,
                    "reason": "delivery_limit",
                    "queue": "evt-tickets-cn.lianxin.tickets.ticket.created.v1--notify.h",
                    "exchange": "tickets.events",
                    "routing-keys": ["cn.lianxin.tickets.ticket.created.v1"],
                }
            ],
        },
    )
    described = deadletters._describe(message)
    assert described["reason"] == "broker: delivery_limit"
    assert described["queue"].endswith("--notify.h")
    assert described["exchange"] == "tickets.events"
    assert described["routing-key"] == "cn.lianxin.tickets.ticket.created.v1"
    assert described["service"] == "notify"
    assert (described["event-id"], described["center"]) == ("e-1", "yanminghu")
    assert described["body"] == {"id": "e-1"}
