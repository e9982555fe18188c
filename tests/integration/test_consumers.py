"""Idempotent, validating handlers: repeats ignored, bad messages dead-lettered with the reason,
and the queue keeps flowing."""

import json
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData

from lianxin import deadletters
from lianxin.consumer import event_handler
from lianxin.contracts import make_event
from lianxin.contracts.tickets.events import TICKET_CREATED
from lianxin.db import Database, make_engine
from lianxin.metrics import for_service
from lianxin.outbox import kit_tables
from lianxin.testing import wait_for

pytestmark = pytest.mark.integration


def ticket_created(ticket_id=None, center="yanminghu"):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    ticket_id = ticket_id or str(uuid.uuid4())
    return make_event(
        TICKET_CREATED,
        center_id=center,
        subject=ticket_id,
        data={
            "ticket_id": ticket_id,
            "category": "sanitation",
            "category_name": "环境卫生",
            "party": "property",
            "channel": "web",
            "summary": "垃圾未清运",
            "ack_due_at": now + timedelta(minutes=10),
            "resolve_due_at": now + timedelta(hours=24),
        },
    )


@pytest.fixture
def notify(container_factory, service_config, center_registry):
    from services.notify.service import NotifyService

    center_registry()
    container = container_factory(NotifyService, service_config("notify"))
    container.start()
    return container


def inbox(rpc, token):
    return rpc(token("staff")).notify.list_notifications("yanminghu")["items"]


def test_malformed_messages_are_dead_lettered_with_reasons_and_valid_ones_still_flow(
    notify, bus, rpc, token, rabbit_config
):
    bad = ticket_created()
    bad["data"]["party"] = "police"
    bus.publish("tickets", TICKET_CREATED, b"{not json", content_type="application/json")
    bus.publish("tickets", TICKET_CREATED, {"hello": "world"})
    bus.publish("tickets", TICKET_CREATED, bad)
    bus.publish("tickets", TICKET_CREATED, b"\x00\x01", content_type="application/x-unknown")
    good = ticket_created()
    bus.publish("tickets", TICKET_CREATED, good)

    wait_for(lambda: inbox(rpc, token))
    assert [n["ref_id"] for n in inbox(rpc, token)] == [good["data"]["ticket_id"]]

    letters = wait_for(lambda: len(got := deadletters.peek(rabbit_config["AMQP_URI"])) == 4 and got)
    reasons = " | ".join(letter["reason"] for letter in letters)
    assert "undecodable" in reasons and "envelope" in reasons and "party" in reasons
    assert all(letter["service"] == "notify" for letter in letters)
    assert all(
        letter["queue"].startswith(f"evt-tickets-{TICKET_CREATED}--notify.") for letter in letters
    )
    assert any(letter.get("event-id") == bad["id"] for letter in letters)
    # Peeking does not consume: ops can look twice.
    assert len(deadletters.peek(rabbit_config["AMQP_URI"])) == 4


def test_an_oversized_envelope_that_meets_its_contract_is_dead_lettered_not_processed(
    notify, bus, rpc, token, rabbit_config
):
    padded = ticket_created()
    padded["padding"] = "x" * (1024 * 1024)  # an extra CloudEvents attribute of 1 MiB
    bus.publish("tickets", TICKET_CREATED, padded)
    good = ticket_created()
    bus.publish("tickets", TICKET_CREATED, good)

    wait_for(lambda: inbox(rpc, token))
    assert [n["ref_id"] for n in inbox(rpc, token)] == [good["data"]["ticket_id"]]
    [letter] = wait_for(lambda: deadletters.peek(rabbit_config["AMQP_URI"]))
    assert "over the limit of 65536 bytes" in letter["reason"]
    assert letter.get("event-id") == padded["id"]


def test_dead_letters_command_lists_reasons(notify, bus, rabbit_config, monkeypatch):
    from lianxin.cli import main

    bus.publish("tickets", TICKET_CREATED, {"specversion": "1.0"})
    wait_for(lambda: deadletters.peek(rabbit_config["AMQP_URI"]))
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    result = CliRunner().invoke(main, ["dead-letters", "--json"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["service"] == "notify" and "envelope" in line["reason"]


def test_redelivered_event_is_handled_once(notify, bus, rpc, token):
    event = ticket_created()
    before = for_service("notify").deduplicated.labels(TICKET_CREATED)._value.get()
    for _ in range(3):
        bus.publish("tickets", TICKET_CREATED, event)
    wait_for(
        lambda: for_service("notify").deduplicated.labels(TICKET_CREATED)._value.get() >= before + 2
    )
    assert len(inbox(rpc, token)) == 1


class Flaky:
    """A service whose handler fails for one ticket and works for the others."""

    name = "flaky"
    metadata = MetaData()
    kit_tables(metadata)
    db = Database(metadata)
    handled: list = []

    @event_handler("tickets", TICKET_CREATED, retry_delay=0.05)
    def handle_ticket_created(self, event):
        if event["data"]["summary"] == "boom":
            raise RuntimeError("the printer is on fire")
        Flaky.handled.append(event["id"])


def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered_without_blocking(
    container_factory, rabbit_config, sqlite_url, bus
):
    url = sqlite_url("flaky")
    engine = make_engine(url)
    Flaky.metadata.create_all(engine)
    engine.dispose()
    container_factory(Flaky, {"AMQP_URI": rabbit_config["AMQP_URI"], "DB_URL": url}).start()

    boom = ticket_created()
    boom["data"]["summary"] = "boom"
    fine = ticket_created()
    bus.publish("tickets", TICKET_CREATED, boom)
    bus.publish("tickets", TICKET_CREATED, fine)

    wait_for(lambda: fine["id"] in Flaky.handled)
    letter = wait_for(lambda: deadletters.peek(rabbit_config["AMQP_URI"]))[0]
    assert letter["event-id"] == boom["id"] and letter["service"] == "flaky"
    assert "after 3 attempt(s)" in letter["reason"] and "printer is on fire" in letter["reason"]
    assert boom["id"] not in Flaky.handled


def test_replayed_dead_letter_is_processed_once_fixed(notify, bus, rpc, token, rabbit_config):
    from lianxin import deadletters as dl

    event = ticket_created()
    # Dead-letter a valid event by hand (as if its handler had failed while the DB was down).
    dl.publish(
        rabbit_config["AMQP_URI"],
        body=json.dumps(event).encode(),
        content_type="application/json",
        reason="database unavailable",
        service="notify",
        queue="q",
        exchange="tickets.events",
        routing_key=TICKET_CREATED,
    )
    assert dl.replay(rabbit_config["AMQP_URI"]) == 1
    wait_for(lambda: inbox(rpc, token))
    assert dl.peek(rabbit_config["AMQP_URI"]) == []
