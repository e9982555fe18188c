"""A three-node RabbitMQ cluster started by the test (private node names and ports, joined
with ``rabbitmqctl join_cluster``), the system on it under steady intake, and the node holding
the queues' leaders stopped and later started again: the services fail over to the other
nodes by themselves (``AMQP_URI`` names all three), every ticket answered 201 is stored once,
its ``ticket.created`` delivered and its staff notification recorded once, no process ends,
and every durable queue the services declared is a quorum queue.

Run it alone with ``.venv/bin/python -m pytest tests/integration/test_quorum_cluster.py -s``;
it prints a summary line (tickets accepted / stored / notified, 503s, the stop's duration)."""

import time
from collections import Counter

import kombu
import pytest

from lianxin import deadletters, queues
from lianxin.contracts.tickets.events import TICKET_CREATED
from lianxin.testing import free_port, wait_for
from tests.rabbitnodes import Cluster, Intake, Outcome, System

pytestmark = [pytest.mark.integration, pytest.mark.timeout(280)]

PORTS = [(5701, 25701), (5702, 25702), (5703, 25703)]
DOWN_SECONDS = 5


def test_a_node_stopped_and_started_under_intake_loses_nothing(tmp_path):
    cluster = Cluster.of(tmp_path / "rabbit", PORTS)
    system = System(tmp_path / "var", cluster.uri, free_port())
    try:
        system.start()
        staff = system.seed()
        leaders = Counter(q["leader"] for q in cluster.nodes[1].queues() if q["type"] == "quorum")
        victim = next(n for n in cluster.nodes if n.nodename == leaders.most_common(1)[0][0])
        with Intake(system.base, staff) as intake:
            intake.wait_accepting(0)
            time.sleep(3)
            stopped = time.monotonic()
            victim.stop()
            stop_took = time.monotonic() - stopped
            failed_over = intake.wait_accepting(stopped + stop_took, timeout=60)
            time.sleep(DOWN_SECONDS)
            victim.start()
            down = time.monotonic() - stopped
            restarted = time.monotonic()
            intake.wait_accepting(restarted)
            time.sleep(3)
            assert system.proc is not None and system.proc.poll() is None, system.output()
        answers = intake.answers
        during = sum(1 for a in answers if a.status == 201 and stopped <= a.at <= restarted)
        outcome = Outcome.of(system, answers)
        queues = cluster.nodes[1].queues()
    finally:
        code = system.stop()
        cluster.stop()
    outcome.code, outcome.output = code, system.output(20000)
    # 503 while no node answers, 504 when a call's outcome could not be settled; never 500.
    outcome.check()
    accepted, statuses = outcome.accepted, outcome.statuses
    assert during > 0, "nothing accepted while the node was down: the services did not fail over"
    # The services' queues: not the reply queues of this test's own standalone RPC clients.
    ours = [q for q in queues if not q["name"].startswith("rpc.reply-standalone_rpc_proxy-")]
    durable = {q["name"]: q["type"] for q in ours if q["durable"] == "true"}
    replies = [q for q in ours if q["name"].startswith("rpc.reply-")]
    assert replies and all(q["durable"] == "false" for q in replies), replies
    assert {"rpc-accounts", "rpc-tickets", "rpc-notify"} <= set(durable), queues
    assert any(n.startswith(f"evt-tickets-{TICKET_CREATED}--notify.") for n in durable), durable
    assert {name for name, kind in durable.items() if kind != "quorum"} == set(), queues
    print(
        f"\nquorum cluster, {victim.nodename} (the leaders' node) stopped {down:.1f} s "
        f"(its stop took {stop_took:.1f} s; a 201 again {failed_over:.1f} s after that): "
        f"{len(accepted)} tickets accepted ({during} while it was down), "
        f"{len(accepted & set(outcome.stored))} stored once, "
        f"{len(accepted & set(outcome.notified))} notified "
        f"once; {statuses.count(503)} answered 503, {statuses.count(504)} 504; "
        f"{len(durable)} durable queues, all quorum"
    )


# -- on the shared broker (a vhost of the test's own): what a quorum queue brings -------------


def test_a_message_delivered_past_the_limit_is_dead_lettered_by_the_broker_with_its_reason(
    rabbit_config,
):
    uri = rabbit_config["AMQP_URI"]
    deadletters.peek(uri)  # the dead-letter exchange and queue exist, as a service makes them
    exchange = kombu.Exchange("limit-test.events", type="topic", durable=True)
    queue = kombu.Queue(
        "evt-limit-test-x--notify.handle_x",
        exchange,
        routing_key="x",
        durable=True,
        queue_arguments=queues.arguments({"QUEUE_DELIVERY_LIMIT": 2}),
    )
    with kombu.Connection(uri) as conn:
        bound = queue(conn.channel())
        bound.declare()
        kombu.Producer(conn.channel()).publish(
            {"id": "e-1"}, exchange=exchange, routing_key="x", message_id="e-1", type="x"
        )
        wait_for(lambda: bound.queue_declare(passive=True).message_count == 1)
        for _ in range(10):  # a consumer that dies before its ack, again and again
            message = bound.get(no_ack=False)
            if message is None:
                break
            message.reject(requeue=True)
    letters = wait_for(lambda: deadletters.peek(uri), timeout=10)
    assert len(letters) == 1
    letter = letters[0]
    assert letter["reason"] == "broker: delivery_limit"
    assert (letter["queue"], letter["exchange"], letter["routing-key"]) == (
        "evt-limit-test-x--notify.handle_x",
        "limit-test.events",
        "x",
    )
    assert letter["service"] == "notify"
    assert letter["body"] == {"id": "e-1"}


def test_a_classic_queue_in_the_way_stops_the_start_with_one_line_naming_it(
    rabbit_config, service_config
):
    from lianxin import runner

    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        conn.channel().queue_declare("rpc-accounts", durable=True, auto_delete=False)  # classic
    config = service_config("accounts")
    overrides = {k: config[k] for k in ("AMQP_URI", "DB_URL", "METRICS_PORT")}
    with pytest.raises(runner.BrokerRefused) as refused:
        runner.run(["accounts"], overrides=overrides)
    text = str(refused.value)
    assert "rpc-accounts" in text and "docs/quorum-queues.md" in text
    assert "\n" not in text
