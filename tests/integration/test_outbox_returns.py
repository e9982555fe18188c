"""An outbox row is marked sent only when the broker confirmed its event *and* routed it to a
queue: the relay publishes ``mandatory``, a returned event stays unsent (counted) and is sent
once a queue is bound; one nobody is bound for long enough is parked in ``lianxin.unrouted``
(so an event type without subscribers doesn't hold the outbox for ever)."""

import uuid

import kombu
import pytest
from sqlalchemy import create_engine, select

from lianxin.clock import now_utc, rfc3339
from lianxin.contracts.tickets.events import TICKET_CREATED
from lianxin.metrics import for_service
from lianxin.outbox import UNROUTED, Publisher
from lianxin.testing import wait_for
from services.tickets.models import outbox_table

pytestmark = pytest.mark.integration


def returned(service: str, event_type: str) -> float:
    labels = {"service": service, "event_type": event_type}
    return (
        for_service(service).registry.get_sample_value("lianxin_outbox_returned_total", labels) or 0
    )


def test_an_event_no_queue_is_bound_for_stays_in_the_outbox_until_one_is(
    container_factory, service_config, demo_center, rpc, token, bus
):
    from services.tickets.service import TicketsService

    config = service_config("tickets", OUTBOX_UNROUTED_SECONDS=3600)
    container_factory(TicketsService, config).start()
    demo_center()
    before = returned("tickets", str(TICKET_CREATED))
    ticket = rpc(token("staff")).tickets.create_ticket(
        "yanminghu", {"category": "sanitation", "description": "无人订阅时的垃圾未清运"}
    )
    engine = create_engine(config["DB_URL"])

    def sent_at():
        with engine.connect() as connection:
            return connection.execute(
                select(outbox_table.c.sent_at).where(
                    outbox_table.c.type == str(TICKET_CREATED),
                    outbox_table.c.body["subject"].as_string() == ticket["id"],
                )
            ).scalar_one()

    try:
        # Confirmed by the broker but returned as unroutable: counted, and the row stays unsent.
        wait_for(lambda: returned("tickets", str(TICKET_CREATED)) > before, timeout=15)
        assert sent_at() is None
        received = bus.bind("tickets", TICKET_CREATED)  # a subscriber arrives
        body = wait_for(lambda: bus.get(received), timeout=45)  # the relay's back-off ≤ 30 s
        assert body["subject"] == ticket["id"]
        wait_for(lambda: sent_at() is not None)
    finally:
        engine.dispose()


def envelope(age_seconds: float = 0) -> dict:
    from datetime import timedelta

    return {
        "id": str(uuid.uuid4()),
        "specversion": "1.0",
        "type": "cn.lianxin.test.nobody-listens.v1",
        "source": "/lianxin/test",
        "subject": "s-1",
        "centerid": "yanminghu",
        "time": rfc3339(now_utc() - timedelta(seconds=age_seconds)),
        "data": {},
    }


def test_an_event_nobody_listens_to_is_parked_in_unrouted_once_old_enough(rabbit_config):
    publisher = Publisher(rabbit_config["AMQP_URI"], "returns-test.events", unrouted_after=60)
    try:
        fresh, old = envelope(), envelope(age_seconds=120)
        assert publisher.publish([fresh, old]) == [False, True]  # the fresh one is retried
        assert (publisher.returned_total, publisher.parked_total) == (2, 1)
    finally:
        publisher.close()
    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        message = kombu.Queue(UNROUTED, channel=conn.channel()).get(no_ack=True, accept=None)
    assert message is not None
    assert message.properties["message_id"] == old["id"]
    assert message.headers["x-lianxin-exchange"] == "returns-test.events"
    assert message.delivery_info["routing_key"] == old["type"]


def test_a_routed_event_is_confirmed_and_not_counted_as_returned(rabbit_config):
    publisher = Publisher(rabbit_config["AMQP_URI"], "routed-test.events")
    body = envelope()
    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        exchange = kombu.Exchange("routed-test.events", type="topic", durable=True)
        queue = kombu.Queue("routed-test", exchange, routing_key=body["type"], durable=False)
        queue(conn.channel()).declare()
        try:
            assert publisher.publish([body]) == [True]
            assert publisher.returned_total == 0
        finally:
            publisher.close()
        assert queue(conn.channel()).get(no_ack=True) is not None


def test_a_batch_of_events_leaves_in_one_write_and_arrives_whole_and_in_order(rabbit_config):
    """The relay writes a batch's publishes to the broker at once (one system call, not one
    an event): each still confirmed on its own, all of them queued in their order."""
    publisher = Publisher(rabbit_config["AMQP_URI"], "batched-test.events")
    bodies = [envelope() for _ in range(25)]
    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        exchange = kombu.Exchange("batched-test.events", type="topic", durable=True)
        queue = kombu.Queue("batched-test", exchange, routing_key=bodies[0]["type"], durable=False)
        queue(conn.channel()).declare()
        try:
            publisher.publish(bodies[:1])  # connected
            transport = publisher._conn.connection.transport  # type: ignore[union-attr]
            writes = []
            real = transport._write
            transport._write = lambda data: writes.append(len(data)) or real(data)
            assert publisher.publish(bodies[1:]) == [True] * 24
            assert len(writes) == 1
        finally:
            publisher.close()
        channel = conn.channel()
        got = [queue(channel).get(no_ack=True) for _ in bodies]
    assert [m.properties["message_id"] for m in got if m] == [b["id"] for b in bodies]
