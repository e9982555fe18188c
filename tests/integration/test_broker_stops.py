"""The broker stopped five times in a row under steady intake, on a private node (never the
shared one): no process ends, the gateway answers again after each start, every ticket
answered 201 is stored once and its staff notification recorded once, and while the broker
is away the answer is 503 with Retry-After (or 504 when a call's outcome could not be
settled), never a 500. Readiness follows the broker: the gateway's and the tickets service's
``/readyz`` answer 503 while it is stopped and 200 again once their consumers consume.

A stop is ``rabbitmqctl stop_app`` — every connection closed, the port refusing, the queues
stopped — and a start ``start_app``, which recovers them from disk: to the services the same
as a stopped broker, in a quarter of a node's restart (the cluster test restarts a node)."""

import time

import pytest

from lianxin.testing import free_port
from tests.rabbitnodes import Intake, Outcome, RabbitNode, System

pytestmark = [pytest.mark.integration, pytest.mark.timeout(280)]

STOPS = 5
DOWN_SECONDS = 3


def test_five_broker_stops_in_a_row_lose_no_ticket_and_end_no_process(tmp_path):
    node = RabbitNode("lianxin-solo", base=tmp_path / "rabbit", port=5690, dist_port=25690)
    node.start()
    tickets_metrics = free_port()
    system = System(
        tmp_path / "var",
        node.uri,
        free_port(),
        extra_env={"TICKETS_METRICS_PORT": str(tickets_metrics)},
    )
    downs: list[float] = []
    recoveries: list[float] = []
    unready: list[float | None] = []  # seconds from a stop until both say "not ready"
    ready: list[float | None] = []  # seconds from a start until both say "ready" again
    try:
        system.start()
        probes = [f"{system.base}/readyz", f"http://127.0.0.1:{tickets_metrics}/readyz"]
        assert system.readiness(probes, True, timeout=10) is not None
        staff = system.seed()
        with Intake(system.base, staff) as intake:
            intake.wait_accepting(0)
            for _ in range(STOPS):
                time.sleep(1)
                stopped = time.monotonic()
                node.stop_app()
                unready.append(system.readiness(probes, False, timeout=DOWN_SECONDS))
                time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - stopped)))
                node.start_app()
                started = time.monotonic()
                downs.append(started - stopped)
                recoveries.append(intake.wait_accepting(started))
                ready.append(system.readiness(probes, True, timeout=30))
                assert system.proc is not None and system.proc.poll() is None, system.output()
            time.sleep(2)
        outcome = Outcome.of(system, intake.answers)
    finally:
        code = system.stop()
        node.stop()
    outcome.code, outcome.output = code, system.output(20000)
    # 503: the broker can't be reached; 504: the call's outcome could not be settled before
    # the gateway's wait ended (nothing it answered 201 for). Never a 500.
    outcome.check()
    accepted, statuses = outcome.accepted, outcome.statuses
    assert None not in unready, f"/readyz still ready with the broker stopped: {unready}"
    assert None not in ready, f"/readyz not ready again 30 s after a start: {ready}"
    print(
        f"\nbroker stopped {STOPS}× ({', '.join(f'{d:.1f}' for d in downs)} s down): "
        f"{len(accepted)} tickets accepted, {len(accepted & set(outcome.stored))} stored, "
        f"{len(accepted & set(outcome.notified))} notified once; "
        f"{statuses.count(503)} answered 503, {statuses.count(504)} 504, "
        f"{statuses.count(None)} unanswered; "
        f"201 again {max(recoveries):.1f} s after a start at worst; /readyz 503 "
        f"{max(u for u in unready if u is not None):.1f} s after a stop and 200 "
        f"{max(r for r in ready if r is not None):.1f} s after a start at worst"
    )
