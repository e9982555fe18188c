"""Benchmark: each service's /metrics at N centers (issue 16's budget: ≤ 1 MB, ≤ 200 ms).

    .venv/bin/python bench/metrics_cardinality.py [--centers 500] [--no-live]

In process, every service's registry is filled as N centers would fill it: every label
combination the code can produce, the label values read from the contracts (ticket states,
intake channels, ratings, SLA kinds and levels; registration and booking states, audiences;
delivery channels and outcomes; sign-in methods), every entrypoint of the service class with
every outcome, every event type it handles in the consumer's counters. Then it renders the
exposition 50 times and prints its size and the p50/p99 time to render, per service.

Live (unless ``--no-live``): starts ``lianxin run tickets bench.metrics_cardinality:MetricsFiller``
on a scratch vhost and a scratch SQLite database, as bench/intake.py does — the filler runs in
the tickets process, so it fills the very registry the tickets service serves — and scrapes
the metrics port 50 times, plain and gzip (as Prometheus asks). Asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from nameko.rpc import rpc

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lianxin import metrics as kit  # noqa: E402
from lianxin.contracts.events import operations as events_ops  # noqa: E402
from lianxin.contracts.notify import operations as notify_ops  # noqa: E402
from lianxin.contracts.tickets import operations as tickets_ops  # noqa: E402
from lianxin.services import SERVICES, load_class  # noqa: E402
from services.accounts import metrics as accounts_m  # noqa: E402
from services.events import metrics as events_m  # noqa: E402
from services.notify import metrics as notify_m  # noqa: E402
from services.tickets import metrics as tickets_m  # noqa: E402
from services.volunteers import metrics as volunteers_m  # noqa: E402

BUDGET_BYTES = 1_000_000
BUDGET_SECONDS = 0.2
RUNS = 50
#: Township names as long as real center ids (yanminghu, fenghuangtai, nanliuzhuang …).
NAMES = ("yanminghu", "fenghuangtai", "yinying", "nanliuzhuang", "jinhuajie", "dongfengcun")

#: What each service's domain counts, per center: (metric, label tuples after ``center``).
#: The value domains are the contracts'; where the code adds values of its own, they are
#: spelled as the code spells them (see the metric's declaration).
PER_CENTER: dict[str, list[tuple[kit.Metric, list[tuple[str, ...]]]]] = {
    "tickets": [
        (tickets_m.OPEN_TICKETS, [(s,) for s in tickets_ops.OPEN_STATES]),
        (tickets_m.RECEIVED, [(c,) for c in tickets_ops.CHANNELS]),
        (tickets_m.ACKNOWLEDGE_SECONDS, [()]),
        # The acknowledge ladder has three levels, resolving one (services/tickets/sla.py).
        (
            tickets_m.SLA_BREACHES,
            [("acknowledge", str(level)) for level in (1, 2, 3)] + [("resolve", "1")],
        ),
        (tickets_m.RATINGS, [(r,) for r in tickets_ops.RATINGS]),
    ],
    "volunteers": [
        (
            volunteers_m.SIGNUPS,
            [(o,) for o in ("confirmed", "waitlisted", "promoted", "cancelled", "no_show")],
        ),
        (volunteers_m.HOURS_APPROVED, [()]),
    ],
    "events": [
        (events_m.REGISTRATIONS, [(s,) for s in events_ops.REGISTRATION_STATES]),
        (events_m.PERSON_TIMES, [(a,) for a in events_ops.AUDIENCES]),
        (
            events_m.ROOM_BOOKINGS,
            [(s,) for s in (*events_ops.BOOKING_STATES, "approved")],
        ),
    ],
    "notify": [
        (
            notify_m.DELIVERIES,
            [(c, o) for c in notify_ops.CHANNELS for o in ("sent", "failed")]
            + [(notify_m.WEBHOOK_CHANNEL, o) for o in ("delivered", "failed", "gone")],
        )
    ],
    "accounts": [
        (
            accounts_m.SIGN_INS,
            [(m, o) for m in ("password", "code") for o in ("ok", "refused", "locked")],
        ),
        (accounts_m.CODES_SENT, [(o,) for o in ("sent", "no_volunteer")]),
    ],
    "gateway": [],
}
#: What a service counts per service (its own machinery, no center).
PER_SERVICE: dict[str, list[tuple[kit.Metric, list[tuple[str, ...]]]]] = {
    "notify": [
        (
            notify_m.DELIVERY_STEPS,
            [(c, o) for c in notify_ops.PUSH_CHANNELS for o in ("queued", "deferred", "retried")]
            + [(notify_m.WEBHOOK_CHANNEL, "retried")],
        ),
        (notify_m.SEND_SECONDS, [(c,) for c in (*notify_ops.PUSH_CHANNELS, "subscription")]),
        (notify_m.BACKLOG, [(c,) for c in (*notify_ops.PUSH_CHANNELS, "subscription")]),
    ],
}


def center_ids(n: int) -> list[str]:
    return [f"{NAMES[i % len(NAMES)]}-{i:03d}" for i in range(n)]


def entrypoints(service: str) -> Iterator[tuple[str, Any]]:
    """(method name, entrypoint) of every entrypoint of the service class (unbound)."""
    cls = load_class(SERVICES[service])
    for name in dir(cls):
        for entry in getattr(getattr(cls, name, None), "nameko_entrypoints", ()):
            yield name, entry


def record(recorder: kit.Recorder, values: tuple[str, ...]) -> None:
    """Values as long as a running service's (four-digit counts, sums at full precision)."""
    child = recorder.labels(*values)
    if recorder.metric.kind == "counter":
        child.inc(1234)
    elif recorder.metric.kind == "gauge":
        child.set(57)
    else:
        for seconds in (412.87654321, 0.0031415926535, 1837.1234567):
            child.observe(seconds)


def fill(service: str, centers: int) -> kit.ServiceMetrics:
    """``service``'s registry in this process, filled as ``centers`` centers would fill it."""
    m = kit.for_service(service)
    for name, entry in entrypoints(service):
        for outcome in ("ok", "rejected", "error"):
            m.calls.labels(name, outcome).inc(12345)
        m.latency.labels(name).observe(0.0031415926535)
        event_type = getattr(entry, "event_type", None)
        if event_type:
            m.deduplicated.labels(str(event_type)).inc(12)
            m.dead_letters.labels(str(event_type)).inc(3)
    for metric, combos in PER_SERVICE.get(service, []):
        for values in combos:
            record(m.get(metric), values)
    for center in center_ids(centers):
        for metric, combos in PER_CENTER[service]:
            recorder = m.get(metric)
            for values in combos:
                record(recorder, (center, *values))
    return m


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(render: Callable[[], bytes]) -> tuple[bytes, list[float], list[float]]:
    """The last body, wall-clock and CPU seconds of each of RUNS renders (CPU apart: on a
    shared machine the wall-clock p99 is mostly the time the process waited for a core)."""
    times, cpu, body = [], [], b""
    for _ in range(RUNS):
        began, began_cpu = time.perf_counter(), time.thread_time()
        body = render()
        times.append(time.perf_counter() - began)
        cpu.append(time.thread_time() - began_cpu)
    return body, times, cpu


def verdict(size: int, p99: float) -> str:
    return "ok" if size <= BUDGET_BYTES and p99 <= BUDGET_SECONDS else "OVER BUDGET"


def in_process(centers: int) -> None:
    print(f"in process, {centers} centers, render p50/p99 of {RUNS} (wall clock; CPU):")
    print(
        f"{'service':<11} {'series':>7} {'bytes':>10} {'gzip':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'CPU p50':>8} {'CPU p99':>8}"
    )
    for service in PER_CENTER:
        m = fill(service, centers)
        body, times, cpu = timed(lambda m=m: kit.render(m))
        lines = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        print(
            f"{service:<11} {lines:>7} {len(body):>10,} {len(gzip.compress(body, compresslevel=1)):>8,} "
            f"{statistics.median(times) * 1000:>7.1f} {p(times, 0.99) * 1000:>7.1f} "
            f"{statistics.median(cpu) * 1000:>8.1f} {p(cpu, 0.99) * 1000:>8.1f}  "
            f"{verdict(len(body), p(cpu, 0.99))} (CPU)"
        )


class MetricsFiller:
    """Run beside a service (``lianxin run tickets bench.metrics_cardinality:MetricsFiller``):
    fills that service's registry in its own process, so its metrics port serves it."""

    name = "metrics_filler"

    @rpc
    def fill(self, service: str, centers: int) -> int:
        m = fill(service, centers)
        return sum(len(f.samples) for f in m.registry.collect())


#: Plain text; and what Prometheus asks for (OpenMetrics first, gzip).
SCRAPES = {
    "text": {"Accept-Encoding": "identity"},
    "openmetrics, gzip": {
        "Accept": "application/openmetrics-text;version=1.0.0,"
        "application/openmetrics-text;version=0.0.1;q=0.75,"
        "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        "Accept-Encoding": "gzip",
    },
}


def live(centers: int) -> None:
    import subprocess

    from nameko.standalone.rpc import ClusterRpcProxy

    from bench.intake import (
        BIN,
        MANAGEMENT,
        cpu_ms,
        create_vhost,
        free_port,
        start,
        stop,
        wait_http,
    )

    vhost = create_vhost()
    workdir = Path(tempfile.mkdtemp(prefix="lianxin-bench-metrics-"))
    port = free_port()
    env = {
        **os.environ,
        "LIANXIN_VAR_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "LIANXIN_SITE_KEY": "bench-" + uuid.uuid4().hex * 2,
        "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
        "TICKETS_METRICS_PORT": str(port),
    }
    procs = []
    try:
        subprocess.run(
            [str(BIN / "lianxin"), "migrate", "tickets"], env=env, check=True, capture_output=True
        )
        procs.append(
            start(
                [str(BIN / "lianxin"), "run", "tickets", "bench.metrics_cardinality:MetricsFiller"],
                env,
                workdir / "tickets.log",
            )
        )
        url = f"http://127.0.0.1:{port}/metrics"
        wait_http(url)
        with ClusterRpcProxy({"AMQP_URI": env["AMQP_URI"]}, timeout=120) as proxy:
            deadline = time.monotonic() + 60
            while True:
                try:
                    samples = proxy.metrics_filler.fill("tickets", centers)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
        print(f"\nlive scrape of `lianxin run tickets` ({centers} centers, {samples} samples):")
        with requests.Session() as http:
            for what, headers in SCRAPES.items():
                sizes, times = [], []
                used = cpu_ms(procs[0].pid)
                for _ in range(RUNS):
                    began = time.perf_counter()
                    answer = http.get(url, headers=headers, stream=True)
                    raw = answer.raw.read(decode_content=False)
                    times.append(time.perf_counter() - began)
                    sizes.append(len(raw))
                used = (cpu_ms(procs[0].pid) - used) / RUNS
                print(
                    f"  {what:<20} {max(sizes):>10,} bytes  p50 "
                    f"{statistics.median(times) * 1000:.1f} ms  p99 {p(times, 0.99) * 1000:.1f} ms"
                    f"  (the service's CPU: {used:.1f} ms a scrape)"
                    f"  {verdict(max(sizes), p(times, 0.99))}"
                )
    finally:
        stop(procs)
        requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10)
        print(f"logs: {workdir}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--centers", type=int, default=500)
    parser.add_argument("--no-live", action="store_true", help="in process only (no broker)")
    args = parser.parse_args()
    in_process(args.centers)
    if not args.no_live:
        live(args.centers)


if __name__ == "__main__":
    main()
