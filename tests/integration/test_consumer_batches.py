"""Batch mode on the real broker: a burst of events is committed in fewer transactions than
events, each event's effect is there exactly once, and a bad message, a failing event, a
repeat or a stopped container never costs a batch-mate.

A burst is published to the handler's queue before its container starts, so that the
broker hands the messages over together (as it does to a service under load)."""

import eventlet
import kombu
import pytest
from sqlalchemy import func, select

from lianxin import deadletters, queues
from lianxin.contracts.tickets.events import TICKET_CREATED
from lianxin.db import make_engine
from lianxin.metrics import for_service
from lianxin.testing import batch_recorder, ticket_created, wait_for

pytestmark = pytest.mark.integration

NOTIFY_HANDLER = "handle_tickets_ticket_created"


def declare_queue(amqp_uri, service, method):
    """The queue nameko's handler ``service.method`` of ticket.created consumes."""
    exchange = kombu.Exchange("tickets.events", type="topic", durable=True)
    queue = kombu.Queue(
        f"evt-tickets-{TICKET_CREATED}--{service}.{method}",
        exchange,
        routing_key=TICKET_CREATED,
        durable=True,
        auto_delete=False,
        queue_arguments=queues.arguments(),  # what the handler declares: a quorum queue
    )
    with kombu.Connection(amqp_uri) as conn:
        queue(conn.channel()).declare()


def committed(service):
    """(events, batches) committed by ``service``'s ticket.created batch handler so far."""
    labels = {"service": service, "event_type": TICKET_CREATED}
    sample = for_service(service).registry.get_sample_value
    return (
        sample("lianxin_consumer_batch_events_sum", labels) or 0,
        sample("lianxin_consumer_batch_events_count", labels) or 0,
    )


def counter(name, service):
    value = for_service(service).registry.get_sample_value(
        f"{name}_total", {"service": service, "event_type": TICKET_CREATED}
    )
    return value or 0


# -- notify, the batch handler on the hot path -----------------------------------------------


@pytest.fixture
def notify(container_factory, service_config, rabbit_config, center_registry):
    """``notify()`` → a started notify container; its ticket.created queue exists before."""
    from services.notify.service import NotifyService

    center_registry()
    declare_queue(rabbit_config["AMQP_URI"], "notify", NOTIFY_HANDLER)
    config = service_config("notify")

    def start():
        container = container_factory(NotifyService, config)
        container.start()
        return container

    return start


def staff_inbox(rpc, token):
    """Ticket ids in the staff's inbox (``ticket.created`` tells the staff)."""
    page = rpc(token("staff")).notify.list_notifications("yanminghu", {"limit": 100})
    return [n["ref_id"] for n in page["items"]]


def test_a_burst_is_committed_in_fewer_transactions_than_events_each_effect_once(
    notify, bus, rpc, token
):
    burst = [ticket_created(f"第{n}条") for n in range(30)]
    for body in burst:
        bus.publish("tickets", TICKET_CREATED, body)
    events0, batches0 = committed("notify")
    notify()

    wait_for(lambda: len(staff_inbox(rpc, token)) >= len(burst), timeout=20)
    eventlet.sleep(0.3)  # anything applied twice would show by now
    assert sorted(staff_inbox(rpc, token)) == sorted(b["data"]["ticket_id"] for b in burst)
    events1, batches1 = committed("notify")
    assert events1 - events0 == len(burst)
    assert 0 < batches1 - batches0 < len(burst)


def test_a_malformed_message_in_a_burst_is_dead_lettered_and_its_batch_mates_are_handled(
    notify, bus, rpc, token, rabbit_config
):
    good = [ticket_created() for _ in range(6)]
    bad = ticket_created()
    bad["data"]["party"] = "police"
    for body in good[:3]:
        bus.publish("tickets", TICKET_CREATED, body)
    bus.publish("tickets", TICKET_CREATED, bad)
    bus.publish("tickets", TICKET_CREATED, b"{not json")
    for body in good[3:]:
        bus.publish("tickets", TICKET_CREATED, body)
    notify()

    letters = wait_for(lambda: len(got := deadletters.peek(rabbit_config["AMQP_URI"])) == 2 and got)
    wait_for(lambda: len(staff_inbox(rpc, token)) == len(good))
    assert sorted(staff_inbox(rpc, token)) == sorted(b["data"]["ticket_id"] for b in good)
    reasons = " | ".join(letter["reason"] for letter in letters)
    assert "party" in reasons and "undecodable" in reasons
    assert any(letter.get("event-id") == bad["id"] for letter in letters)


def test_an_event_redelivered_in_a_burst_is_not_applied_twice(
    notify, bus, rpc, token, rabbit_config
):
    first = ticket_created()
    bus.publish("tickets", TICKET_CREATED, first)
    running = notify()
    wait_for(lambda: staff_inbox(rpc, token) == [first["data"]["ticket_id"]])
    running.stop()  # what follows waits in the queue, to arrive together

    deduped = for_service("notify").deduplicated.labels(TICKET_CREATED)._value.get()
    later = [ticket_created() for _ in range(4)]
    for body in (later[0], first, later[1], later[2], first, later[3]):
        bus.publish("tickets", TICKET_CREATED, body)
    notify()

    wait_for(
        lambda: (
            for_service("notify").deduplicated.labels(TICKET_CREATED)._value.get() >= deduped + 2
        )
    )
    wait_for(lambda: len(staff_inbox(rpc, token)) >= 5)
    eventlet.sleep(0.3)
    assert sorted(staff_inbox(rpc, token)) == sorted(
        b["data"]["ticket_id"] for b in (first, *later)
    )
    assert deadletters.peek(rabbit_config["AMQP_URI"]) == []


# -- the kit's guarantees, on a service of its own ---------------------------------------------

#: Records each event's effect, in batches of up to 4; fails on "boom"; can be held.
Batcher = batch_recorder("batcher", batch=4, retry_delay=0.05)


@pytest.fixture
def batcher(container_factory, rabbit_config, sqlite_url):
    """``batcher()`` → a started Batcher container (its queue and database exist before)."""
    url = sqlite_url("batcher")
    engine = make_engine(url)
    Batcher.metadata.create_all(engine)
    Batcher.calls, Batcher.gate = [], None
    declare_queue(rabbit_config["AMQP_URI"], "batcher", "handle_ticket_created")

    def start():
        container = container_factory(
            Batcher, {"AMQP_URI": rabbit_config["AMQP_URI"], "DB_URL": url, "max_workers": 10}
        )
        container.start()
        return container

    start.effects = lambda: dict(
        engine.connect()
        .execute(
            select(Batcher.effects.c.event_id, func.count()).group_by(Batcher.effects.c.event_id)
        )
        .all()
    )
    yield start
    engine.dispose()


def test_a_failing_event_is_retried_then_dead_lettered_and_its_batch_mates_are_handled_once(
    batcher, bus, rabbit_config
):
    fine = [ticket_created(f"fine-{n}") for n in range(7)]
    boom = ticket_created("boom")
    for body in (*fine[:3], boom, *fine[3:]):
        bus.publish("tickets", TICKET_CREATED, body)
    fallbacks = counter("lianxin_consumer_batch_fallbacks", "batcher")
    batcher()

    letter = wait_for(lambda: deadletters.peek(rabbit_config["AMQP_URI"]))[0]
    wait_for(lambda: len(batcher.effects()) == len(fine))
    eventlet.sleep(0.3)
    assert batcher.effects() == {b["id"]: 1 for b in fine}
    assert letter["event-id"] == boom["id"] and "after 3 attempt(s)" in letter["reason"]
    assert [c for c in Batcher.calls if "boom" in c][0] != ["boom"]  # it failed in a batch first
    assert Batcher.calls.count(["boom"]) == 3  # then on its own: 3 attempts
    assert counter("lianxin_consumer_batch_fallbacks", "batcher") == fallbacks + 1


def test_a_container_killed_mid_batch_has_its_messages_redelivered_and_handled_once(batcher, bus):
    burst = [ticket_created(f"t-{n}") for n in range(10)]
    for body in burst:
        bus.publish("tickets", TICKET_CREATED, body)
    Batcher.gate = eventlet.Event()
    first = batcher()
    wait_for(lambda: Batcher.calls)  # a batch is running, the rest are gathered
    first.kill()
    assert batcher.effects() == {}

    Batcher.gate = None
    batcher()
    wait_for(lambda: len(batcher.effects()) == len(burst), timeout=20)
    eventlet.sleep(0.3)
    assert batcher.effects() == {b["id"]: 1 for b in burst}


def test_a_container_stopped_mid_batch_finishes_it_and_gives_the_rest_back(batcher, bus):
    burst = [ticket_created(f"t-{n}") for n in range(10)]
    for body in burst:
        bus.publish("tickets", TICKET_CREATED, body)
    Batcher.gate = eventlet.Event()
    first = batcher()
    wait_for(lambda: Batcher.calls)
    running = len(Batcher.calls[0])
    stopping = eventlet.spawn(first.stop)
    eventlet.sleep(0.2)
    Batcher.gate.send()  # the running batch may finish now; the container waits for it
    stopping.wait()
    assert len(batcher.effects()) == running < len(burst)

    Batcher.gate = None
    batcher()
    wait_for(lambda: len(batcher.effects()) == len(burst), timeout=20)
    eventlet.sleep(0.3)
    assert batcher.effects() == {b["id"]: 1 for b in burst}
