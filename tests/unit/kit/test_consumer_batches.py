"""Batch mode of the kit's event handler, without a broker: how batches form, and what
becomes of a batch that cannot be committed. Messages are handed to the handler as the
queue consumer would hand them; acks, requeues and dead letters are recorded."""

import types

import eventlet
import pytest
from nameko.containers import ServiceContainer
from nameko.testing.utils import get_extension
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from lianxin import consumer
from lianxin.consumer import BATCH_EVENTS, EventHandler
from lianxin.contracts.tickets.events import TICKET_CREATED
from lianxin.db import Database, make_engine
from lianxin.testing import batch_recorder, ticket_created, wait_for

#: Records each event's effect, in batches of up to 3; fails on "boom"; can be held.
Recorder = batch_recorder("batch_recorder", batch=3, retry_delay=0.01)


class Broker:
    """The queue consumer as the handler sees it: what was acked, what was given back."""

    def __init__(self, max_workers):
        self.prefetch_count = max_workers
        self.acked, self.requeued = [], []

    def register_provider(self, provider):
        """The handler signs up at setup; there is no real queue to bind here."""

    def unregister_provider(self, provider):
        """…and signs off at stop; nothing to unbind."""

    def ack_message(self, message):
        self.acked.append(message.tag)

    def ack_messages(self, messages):
        self.acked.extend(m.tag for m in messages)

    def requeue_message(self, message):
        self.requeued.append(message.tag)


def message(body):
    return types.SimpleNamespace(
        tag=body["data"]["summary"],
        headers={},
        body=b"{}",
        content_type="application/json",
        delivery_info={"routing_key": TICKET_CREATED},
    )


@pytest.fixture
def recorder(sqlite_url, monkeypatch):
    """``recorder(max_workers=10)`` → the set-up batch handler of a (not started) container."""
    url = sqlite_url("recorder")
    engine = make_engine(url)
    Recorder.metadata.create_all(engine)
    Recorder.calls, Recorder.gate = [], None
    letters = []
    monkeypatch.setattr(
        consumer.deadletters,
        "publish",
        lambda uri, **kw: letters.append((kw["event_id"], kw["reason"])),
    )
    containers = []

    def make(max_workers=10, linger=0):
        container = ServiceContainer(
            Recorder,
            {
                "AMQP_URI": "memory://",
                "DB_URL": url,
                "max_workers": max_workers,
                "EVENT_BATCH_LINGER_SECONDS": linger,
            },
        )
        containers.append(container)
        get_extension(container, Database).setup()
        handler = get_extension(container, EventHandler)
        handler.queue_consumer = Broker(container.max_workers)
        handler.setup()
        handler.letters = letters
        return handler

    yield make
    for container in containers:
        container.kill()
    engine.dispose()


def deliver(handler, *summaries):
    """Hand messages over as the queue consumer does: each in a green thread of its own."""
    bodies = [ticket_created(s) for s in summaries]
    for body in bodies:
        eventlet.spawn(handler.handle_message, body, message(body))
    return bodies


def effects(handler):
    with handler.db.scope() as s:
        return dict(
            s.execute(
                select(Recorder.effects.c.event_id, func.count()).group_by(
                    Recorder.effects.c.event_id
                )
            ).all()
        )


def batches(handler):
    """(events, batches) committed so far, as ``/metrics`` shows them."""
    sample = handler.metrics.sample
    return (
        sample(BATCH_EVENTS, "_sum", event_type=handler.event_type),
        sample(BATCH_EVENTS, "_count", event_type=handler.event_type),
    )


def test_messages_received_together_are_handled_as_one_batch(recorder):
    handler = recorder()
    bodies = deliver(handler, "a", "b", "c")
    wait_for(lambda: len(handler.queue_consumer.acked) == 3)
    assert Recorder.calls == [["a", "b", "c"]]
    assert effects(handler) == {b["id"]: 1 for b in bodies}


def test_the_first_message_is_handled_at_once_and_later_ones_gather_for_the_next_batch(recorder):
    handler = recorder()
    Recorder.gate = eventlet.Event()
    deliver(handler, "first")
    wait_for(lambda: Recorder.calls == [["first"]])  # not waiting for company
    deliver(handler, "2", "3", "4", "5", "6")
    eventlet.sleep(0.05)
    assert Recorder.calls == [["first"]]  # one batch at a time: the others gather
    Recorder.gate.send()
    wait_for(lambda: len(handler.queue_consumer.acked) == 6)
    assert Recorder.calls == [["first"], ["2", "3", "4"], ["5", "6"]]
    assert len(effects(handler)) == 6 and set(effects(handler).values()) == {1}


def test_a_short_backlog_waits_a_moment_for_more_before_its_batch(recorder):
    """Under load events come in bursts: with a linger, the one waiting when a batch ends
    and the one arriving just after go in one batch, not two (a commit and an ack saved)."""
    handler = recorder(linger=1.0)
    Recorder.gate = eventlet.Event()
    deliver(handler, "first")
    wait_for(lambda: Recorder.calls == [["first"]])  # idle: at once, no linger
    deliver(handler, "2")
    eventlet.sleep(0.05)
    Recorder.gate.send()  # "first" ends with "2" waiting
    eventlet.sleep(0.1)
    deliver(handler, "3")
    wait_for(lambda: len(handler.queue_consumer.acked) == 3)
    assert Recorder.calls == [["first"], ["2", "3"]]


def test_committed_batches_are_counted_with_their_sizes(recorder):
    handler = recorder()
    events_before, batches_before = batches(handler)
    deliver(handler, "a", "b", "c", "d")
    wait_for(lambda: len(handler.queue_consumer.acked) == 4)
    events_after, batches_after = batches(handler)
    assert (events_after - events_before, batches_after - batches_before) == (4, 2)


def test_an_event_delivered_twice_in_one_batch_is_handled_once_and_both_copies_acked(recorder):
    handler = recorder()
    deduped = handler.metrics.deduplicated.labels(*handler.labels)._value.get()
    body = ticket_created("twice")
    for _ in range(2):
        eventlet.spawn(handler.handle_message, body, message(body))
    wait_for(lambda: len(handler.queue_consumer.acked) == 2)
    assert Recorder.calls == [["twice"]]
    assert effects(handler) == {body["id"]: 1}
    assert handler.metrics.deduplicated.labels(*handler.labels)._value.get() == deduped + 1


def test_a_processed_event_redelivered_among_new_ones_is_not_applied_twice(recorder):
    handler = recorder()
    [old] = deliver(handler, "old")
    wait_for(lambda: handler.queue_consumer.acked == ["old"])
    fallbacks = handler.fallbacks.labels(*handler.labels)._value.get()
    new = deliver(handler, "new-1", "new-2")
    handler.handle_message(old, message(old))  # the redelivery, in the same batch
    wait_for(lambda: len(handler.queue_consumer.acked) == 4)
    assert effects(handler) == {old["id"]: 1, **{b["id"]: 1 for b in new}}
    # Its mark collided at commit: the batch went one at a time, which told the repeat apart.
    assert handler.fallbacks.labels(*handler.labels)._value.get() == fallbacks + 1
    assert handler.letters == []


def test_a_failing_event_is_retried_then_dead_lettered_without_failing_its_batch_mates(recorder):
    handler = recorder()
    bodies = deliver(handler, "fine-1", "boom", "fine-2")
    wait_for(lambda: len(handler.queue_consumer.acked) == 3)
    assert Recorder.calls[0] == ["fine-1", "boom", "fine-2"]
    # Then one at a time: the fine ones once each, the bad one until it is given up on.
    assert sorted(map(tuple, Recorder.calls[1:])) == sorted(
        [("fine-1",), ("fine-2",), ("boom",), ("boom",), ("boom",)]
    )
    assert effects(handler) == {bodies[0]["id"]: 1, bodies[2]["id"]: 1}
    [(event_id, reason)] = handler.letters
    assert event_id == bodies[1]["id"] and "after 3 attempt(s)" in reason


def test_a_batch_whose_commit_fails_is_handled_one_event_at_a_time(recorder):
    handler = recorder()
    failures = []

    def database_gone_once(session):
        if not failures:
            failures.append(session)
            raise OperationalError("COMMIT", {}, Exception("database is locked"))

    event.listen(Session, "before_commit", database_gone_once)
    try:
        bodies = deliver(handler, "a", "b", "c")
        wait_for(lambda: len(handler.queue_consumer.acked) == 3)
    finally:
        event.remove(Session, "before_commit", database_gone_once)
    assert failures and Recorder.calls[0] == ["a", "b", "c"]
    assert sorted(map(tuple, Recorder.calls[1:])) == [("a",), ("b",), ("c",)]
    assert effects(handler) == {b["id"]: 1 for b in bodies}


def test_stopping_gives_gathered_messages_back_and_lets_the_running_batch_finish(recorder):
    handler = recorder()
    Recorder.gate = eventlet.Event()
    deliver(handler, "running")
    wait_for(lambda: Recorder.calls)
    deliver(handler, "waiting-1", "waiting-2")
    eventlet.sleep(0.05)
    handler.stop()
    assert handler.queue_consumer.requeued == ["waiting-1", "waiting-2"]
    Recorder.gate.send()
    wait_for(lambda: handler.queue_consumer.acked == ["running"])
    eventlet.sleep(0.05)
    assert Recorder.calls == [["running"]]


def test_a_batch_is_capped_at_half_the_prefetch_so_a_full_one_can_gather_while_one_runs(recorder):
    assert recorder(max_workers=20).batch == 3
    assert recorder(max_workers=4).batch == 2
    assert recorder(max_workers=1).batch == 1


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        EventHandler("tickets", TICKET_CREATED, batch=0)
