"""Benchmark: notify turning events into people's messages and department webhooks.

    .venv/bin/python bench/notify_fanout.py [--events 500] [--subscribers 4] [--directory seed]

Starts notify alone as its own process (``lianxin run notify``) on a scratch vhost and a
scratch SQLite file and fills its directory: ``seed``, the demo center's as ``lianxin seed``
does (7 staff, 1 admin, 20 volunteers: a ticket.created tells the 7 staff in-app, 3 of them
by e-mail and 1 by WeChat too); ``duty``, only the duty cadre (in-app and e-mail); or
``intake``, only the duty cadre with a phone, as ``bench/intake.py`` has it (in-app only).
It adds ``--subscribers`` department webhooks on local receivers, plus one that hangs on
every request (none at all with ``--subscribers 0``), then publishes ``--events``
ticket.created events at once (pipelined confirms, as the tickets relay does) and measures:

* events handled per second (each: archive, fan-out rows, per-recipient deliveries,
  committed with the kit's processed mark);
* push messages (e-mail, WeChat) handed to their channel per second (the dispatcher's pool);
* webhooks delivered per second to the healthy subscribers, while the hanging one
  holds its two slots — showing the slow endpoint does not hold the others back;
* notify's CPU time per event (``/proc``), which other engineers' load hardly changes.

``--py-spy FILE`` samples notify meanwhile (collapsed stacks: where that CPU time goes).

Prints numbers and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.intake import MANAGEMENT, start  # noqa: E402


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db, timeout=5) as conn:
        return conn.execute(sql).fetchone()[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until(predicate, began: float, timeout: float) -> float:
    """Seconds from ``began`` until ``predicate()`` holds (nan if it never did)."""
    while time.monotonic() - began < timeout:
        if predicate():
            return time.monotonic() - began
        time.sleep(0.05)
    return float("nan")


def main() -> None:
    import logging

    import eventlet

    eventlet.monkey_patch()
    logging.basicConfig(level=logging.ERROR)
    from lianxin import auth
    from lianxin.contracts import make_event
    from lianxin.contracts.tickets import events as tk
    from lianxin.outbox import Publisher
    from lianxin.seed import notify_steps
    from services.notify.testing import WebhookReceiver

    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument(
        "--subscribers", type=int, default=4, help="healthy ones; one hanging is added unless 0"
    )
    parser.add_argument(
        "--directory",
        choices=("seed", "duty", "intake"),
        default="seed",
        help="the seeded demo directory, or only the duty cadre (with e-mail, "
        "or only a phone as in bench/intake.py)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="sample notify with py-spy while it works "
        "(collapsed stacks, for speedscope or flamegraph.pl)",
    )
    args = parser.parse_args()

    vhost = "bench_" + uuid.uuid4().hex[:8]
    requests.put(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10).raise_for_status()
    requests.put(
        f"{MANAGEMENT}/permissions/{vhost}/guest",
        timeout=10,
        json={"configure": ".*", "write": ".*", "read": ".*"},
    ).raise_for_status()
    var = Path(tempfile.mkdtemp(prefix="lianxin-bench-"))
    env = {
        **os.environ,
        "LIANXIN_VAR_DIR": str(var),
        "LIANXIN_JWT_SECRET": "bench-" + "x" * 40,
        "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
        "NOTIFY_METRICS_PORT": "0",
        "NOTIFY_QUIET_HOURS": "off",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update({k: env[k] for k in ("LIANXIN_JWT_SECRET", "AMQP_URI", "LIANXIN_VAR_DIR")})
    bin_dir = Path(sys.executable).parent
    subprocess_env = dict(env)
    procs = []
    try:
        import subprocess

        subprocess.run(
            [str(bin_dir / "lianxin"), "migrate", "notify"],
            env=subprocess_env,
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        procs.append(
            start([str(bin_dir / "lianxin"), "run", "notify"], subprocess_env, var / "notify.log")
        )
        from nameko.standalone.rpc import ClusterRpcProxy

        admin = auth.issue(sub="bench", role="admin", centers=["yanminghu"])
        dept = auth.issue(sub="bench-dept", role="department", centers=["yanminghu"])
        receivers = [WebhookReceiver().__enter__() for _ in range(args.subscribers)]
        hanging = WebhookReceiver(lambda _r: (204, 60)).__enter__()
        deadline = time.monotonic() + 60
        while True:
            try:
                with ClusterRpcProxy(
                    {"AMQP_URI": env["AMQP_URI"]}, timeout=5, context_data={auth.CONTEXT_KEY: admin}
                ) as rpc:
                    address = (
                        {"phone": "13800000001"}
                        if args.directory == "intake"
                        else {"email": "duty@example.cn"}
                    )
                    rpc.notify.upsert_contact(
                        "yanminghu",
                        {"person_id": "staff-duty-1", "name": "李卫东", "role": "staff", **address},
                    )
                    if args.directory == "seed":
                        for _label, _service, method, call in notify_steps(datetime.now(UTC)):
                            getattr(rpc.notify, method)(*call)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise SystemExit(f"notify did not come up; see {var / 'notify.log'}") from None
                time.sleep(0.5)
        with ClusterRpcProxy(
            {"AMQP_URI": env["AMQP_URI"]}, timeout=5, context_data={auth.CONTEXT_KEY: dept}
        ) as rpc:
            for r in [*receivers, hanging] if args.subscribers else []:
                rpc.notify.create_subscription(
                    {"url": r.url, "types": ["cn.lianxin.tickets.*"], "centers": ["yanminghu"]}
                )

        # The RPC answering does not mean the event consumer is up: an event published before
        # its queue is bound would be dropped by the broker (confirmed all the same).
        queue = f"evt-tickets-{tk.TICKET_CREATED}--notify.handle_tickets_ticket_created"
        while (
            requests.get(f"{MANAGEMENT}/queues/{vhost}/{queue}", timeout=10)
            .json()
            .get("consumers", 0)
            < 1
        ):
            if time.monotonic() > deadline:
                raise SystemExit(f"notify is not consuming {queue}")
            time.sleep(0.2)

        now = datetime.now(UTC)
        bodies = [
            make_event(
                tk.TICKET_CREATED,
                center_id="yanminghu",
                subject=f"t-{n}",
                data={
                    "ticket_id": f"t-{n}",
                    "category": "sanitation",
                    "category_name": "环境卫生",
                    "party": "property",
                    "channel": "hotline",
                    "summary": f"第{n}条诉求",
                    "ack_due_at": now + timedelta(minutes=10),
                    "resolve_due_at": now + timedelta(days=1),
                },
            )
            for n in range(args.events)
        ]
        db = var / "notify.db"
        publisher = Publisher(env["AMQP_URI"], "tickets.events")
        if args.py_spy:
            procs.append(
                subprocess.Popen(
                    [
                        str(bin_dir / "py-spy"),
                        "record",
                        "-r",
                        "100",
                        "-f",
                        "raw",
                        "-o",
                        args.py_spy,
                        "-p",
                        str(procs[0].pid),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        cpu_before = cpu_seconds(procs[0].pid)
        began = time.monotonic()
        confirmed = 0
        for i in range(0, len(bodies), 100):
            confirmed += sum(publisher.publish(bodies[i : i + 100]))
        publisher.close()
        n = args.events
        if confirmed < n:
            raise SystemExit(f"the broker confirmed only {confirmed} of {n} events")
        handled = wait_until(
            lambda: count(db, "SELECT count(*) FROM processed_events") >= n, began, 300
        )
        cpu_handled = cpu_seconds(procs[0].pid) - cpu_before
        if handled != handled:  # nan: never got there
            queues = requests.get(f"{MANAGEMENT}/queues/{vhost}", timeout=10).json()
            raise SystemExit(
                f"only {count(db, 'SELECT count(*) FROM processed_events')} of {n} events "
                f"handled; queues: {[(q['name'], q.get('messages')) for q in queues]}; "
                f"see {var / 'notify.log'}"
            )
        pushes = count(db, "SELECT count(*) FROM deliveries WHERE channel != 'in_app'")
        rows = count(db, "SELECT count(*) FROM deliveries")
        pushed = wait_until(
            lambda: (
                count(
                    db,
                    "SELECT count(*) FROM deliveries WHERE channel != 'in_app' "
                    "AND state IN ('sent', 'failed')",
                )
                >= pushes
            ),
            began,
            300,
        )
        hooked = wait_until(
            lambda: sum(len(r.requests) for r in receivers) >= n * args.subscribers, began, 300
        )
        total = time.monotonic() - began
        cpu_total = cpu_seconds(procs[0].pid) - cpu_before
        subscribers = f"{args.subscribers} + 1 hanging" if args.subscribers else "none"
        print(
            f"events published: {n} ticket.created, directory: {args.directory}, "
            f"subscribers: {subscribers}; {rows / n:.0f} deliveries per event ({pushes / n:.0f} push)"
        )
        print(
            f"events handled      {n / handled:8.1f} /s  (all in {handled:.1f} s; notify's CPU "
            f"{cpu_handled / n * 1000:.2f} ms per event until then, sending included)"
        )
        if pushes:
            print(
                f"push messages sent  {pushes / pushed:8.1f} /s  (e-mail and WeChat sandboxes, "
                f"all in {pushed:.1f} s)"
            )
        print(f"notify CPU per event, everything done: {cpu_total / n * 1000:.2f} ms")
        if args.subscribers:
            print(
                f"webhooks delivered  {n * args.subscribers / hooked:8.1f} /s  "
                f"(healthy subscribers, all in {hooked:.1f} s; run {total:.1f} s)"
            )
            waiting = count(
                db,
                "SELECT count(*) FROM webhook_deliveries w JOIN subscriptions s "
                "ON s.id = w.subscription_id WHERE w.state IN ('pending', 'sending') "
                f"AND s.url = '{hanging.url}'",
            )
            print(
                f"hanging subscriber: {len(hanging.requests)} request(s) started, "
                f"{waiting} deliveries waiting"
            )
    finally:
        for proc in reversed(procs):  # py-spy first: it writes its file on SIGINT/TERM
            try:
                os.killpg(
                    proc.pid, signal.SIGINT if proc.args[0].endswith("py-spy") else signal.SIGTERM
                )
                proc.wait(timeout=20)
            except Exception:
                os.killpg(proc.pid, signal.SIGKILL)
        requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10)


if __name__ == "__main__":
    main()
