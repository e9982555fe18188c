"""Benchmark: notify turning events into people's messages and department webhooks.

    .venv/bin/python bench/notify_fanout.py [--events 500] [--subscribers 4]

Starts notify alone as its own process (``lianxin run notify``) on a scratch vhost and a
scratch SQLite file, registers the duty cadre (in-app + e-mail to the sandbox) and
``--subscribers`` department webhooks on local receivers — one of which hangs on every
request — then publishes ``--events`` ticket.created events at once (pipelined confirms,
as the tickets relay does) and measures:

* events handled per second (each: archive, fan-out rows, per-recipient deliveries);
* e-mails handed to their channel per second (the dispatcher's pool);
* webhooks delivered per second to the healthy subscribers, while the hanging one
  holds its two slots — showing the slow endpoint does not hold the others back.

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


def wait_until(predicate, began: float, timeout: float) -> float:  # noqa: ANN001
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
    from lianxin.contracts import tickets as tk
    from lianxin.outbox import Publisher
    from services.notify.testing import WebhookReceiver

    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--subscribers", type=int, default=4, help="healthy ones; one hanging is added")
    args = parser.parse_args()

    vhost = "bench_" + uuid.uuid4().hex[:8]
    requests.put(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10).raise_for_status()
    requests.put(f"{MANAGEMENT}/permissions/{vhost}/guest", timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    var = Path(tempfile.mkdtemp(prefix="lianxin-bench-"))
    env = {**os.environ, "LIANXIN_VAR_DIR": str(var), "LIANXIN_JWT_SECRET": "bench-" + "x" * 40,
           "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}", "NOTIFY_METRICS_PORT": "0",
           "NOTIFY_QUIET_HOURS": "off", "LOG_LEVEL": "WARNING"}
    os.environ.update({k: env[k] for k in ("LIANXIN_JWT_SECRET", "AMQP_URI", "LIANXIN_VAR_DIR")})
    bin_dir = Path(sys.executable).parent
    subprocess_env = dict(env)
    procs = []
    try:
        import subprocess

        subprocess.run([str(bin_dir / "lianxin"), "migrate", "notify"], env=subprocess_env, check=True,
                       cwd=ROOT, stdout=subprocess.DEVNULL)
        procs.append(start([str(bin_dir / "lianxin"), "run", "notify"], subprocess_env, var / "notify.log"))
        from nameko.standalone.rpc import ClusterRpcProxy

        admin = auth.issue(sub="bench", role="admin", centers=["yanminghu"])
        dept = auth.issue(sub="bench-dept", role="department", centers=["yanminghu"])
        receivers = [WebhookReceiver().__enter__() for _ in range(args.subscribers)]
        hanging = WebhookReceiver(lambda _r: (204, 60)).__enter__()
        deadline = time.monotonic() + 60
        while True:
            try:
                with ClusterRpcProxy({"AMQP_URI": env["AMQP_URI"]}, timeout=5,
                                     context_data={auth.CONTEXT_KEY: admin}) as rpc:
                    rpc.notify.upsert_contact("yanminghu", {"person_id": "staff-duty-1", "name": "李卫东",
                                                            "role": "staff", "email": "duty@example.cn"})
                break
            except Exception:  # noqa: BLE001 - notify still starting
                if time.monotonic() > deadline:
                    raise SystemExit(f"notify did not come up; see {var / 'notify.log'}") from None
                time.sleep(0.5)
        with ClusterRpcProxy({"AMQP_URI": env["AMQP_URI"]}, timeout=5,
                             context_data={auth.CONTEXT_KEY: dept}) as rpc:
            for r in [*receivers, hanging]:
                rpc.notify.create_subscription({"url": r.url, "types": ["cn.lianxin.tickets.*"],
                                                "centers": ["yanminghu"]})

        now = datetime.now(UTC)
        bodies = [make_event(tk.TICKET_CREATED, center_id="yanminghu", subject=f"t-{n}", data={
            "ticket_id": f"t-{n}", "category": "sanitation", "category_name": "环境卫生",
            "party": "property", "channel": "hotline", "summary": f"第{n}条诉求",
            "ack_due_at": now + timedelta(minutes=10), "resolve_due_at": now + timedelta(days=1)})
            for n in range(args.events)]
        db = var / "notify.db"
        publisher = Publisher(env["AMQP_URI"], "tickets.events")
        began = time.monotonic()
        for i in range(0, len(bodies), 100):
            publisher.publish(bodies[i:i + 100])
        publisher.close()
        n = args.events
        handled = wait_until(lambda: count(db, "SELECT count(*) FROM deliveries WHERE channel='in_app'") >= n, began, 300)
        emailed = wait_until(lambda: count(db, "SELECT count(*) FROM deliveries WHERE channel='email' "
                                               "AND state='sent'") >= n, began, 300)
        hooked = wait_until(lambda: sum(len(r.requests) for r in receivers) >= n * args.subscribers, began, 300)
        total = time.monotonic() - began
        slow_taken = len(hanging.requests)
        print(f"events published: {n} (one ticket.created each), subscribers: {args.subscribers} + 1 hanging")
        print(f"events handled      {n / handled:8.1f} /s  (all in {handled:.1f} s)")
        print(f"e-mails sent        {n / emailed:8.1f} /s  (sandbox channel, all in {emailed:.1f} s)")
        print(f"webhooks delivered  {n * args.subscribers / hooked:8.1f} /s  "
              f"(healthy subscribers, all in {hooked:.1f} s; run {total:.1f} s)")
        waiting = count(db, "SELECT count(*) FROM webhook_deliveries w JOIN subscriptions s "
                            "ON s.id = w.subscription_id WHERE w.state IN ('pending', 'sending') "
                            f"AND s.url = '{hanging.url}'")
        print(f"hanging subscriber: {slow_taken} request(s) started, {waiting} deliveries waiting")
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except Exception:  # noqa: BLE001
                os.killpg(proc.pid, signal.SIGKILL)
        requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10)


if __name__ == "__main__":
    main()
