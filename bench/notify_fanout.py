"""Benchmark: notify turning events into people's messages and department webhooks.

    .venv/bin/python bench/notify_fanout.py [--events 500] [--subscribers 4] [--directory seed]

Starts notify as its own process (``lianxin run notify``) on a scratch vhost and a
scratch SQLite file -- beside it accounts, whose public keys verify the bench's tokens
(minted with the issuer's key in the scratch accounts database), and tickets, which knows
the center -- and fills its directory: ``seed``, the demo center's as ``lianxin seed``
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
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.intake import MANAGEMENT, create_vhost, start  # noqa: E402

if TYPE_CHECKING:
    from lianxin.outbox import Publisher
    from services.notify.testing import WebhookReceiver

CENTER = "yanminghu"


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


@dataclass
class Measured:
    """Seconds from the first publish, and notify's CPU seconds from then."""

    handled: float  # every event committed with its processed mark
    cpu_handled: float
    rows: int  # deliveries, all channels
    pushes: int  # deliveries by e-mail or WeChat
    pushed: float  # every push sent or failed
    hooked: float  # every healthy subscriber has had every event
    total: float
    cpu_total: float


def parse_args() -> argparse.Namespace:
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
    return parser.parse_args()


def notify_env(vhost: str, var: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "LIANXIN_VAR_DIR": str(var),
        "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
        "NOTIFY_METRICS_PORT": "0",
        "ACCOUNTS_METRICS_PORT": "0",
        "TICKETS_METRICS_PORT": "0",
        "NOTIFY_QUIET_HOURS": "off",
        # The webhook receivers listen on 127.0.0.1, which notify refuses unless named.
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("LIANXIN_JWKS_FILE", None)  # keys from the issuer over the bus, as deployed
    # This process mints the tokens (accounts database) and publishes over the same
    # broker as notify.
    os.environ.update({k: env[k] for k in ("AMQP_URI", "LIANXIN_VAR_DIR")})
    os.environ.pop("LIANXIN_JWKS_FILE", None)
    return env


def mint(var: Path, **claims: object) -> str:
    """A token signed with the issuer's current key, from the bench's accounts database."""
    from services.accounts.commands import mint as issue

    return issue(url=f"sqlite:///{var}/accounts.db", ttl=3600, **claims)


def start_services(env: dict[str, str], var: Path) -> list[subprocess.Popen]:
    """accounts, tickets and notify, each its own process; notify last (``[-1]``)."""
    lianxin = str(Path(sys.executable).parent / "lianxin")
    subprocess.run(
        [lianxin, "migrate", "accounts", "tickets", "notify"],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return [start([lianxin, "run", n], env, var / f"{n}.log") for n in SERVICES]


SERVICES = ("accounts", "tickets", "notify")


def create_center(amqp_uri: str, deadline: float, var: Path) -> None:
    """The center, in tickets (which notify asks whether a center exists)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from lianxin import auth

    ops = mint(var, sub="bench", role="ops", centers=["*"])
    while True:
        try:
            with ClusterRpcProxy(
                {"AMQP_URI": amqp_uri}, timeout=5, context_data={auth.CONTEXT_KEY: ops}
            ) as rpc:
                rpc.tickets.create_center({"id": CENTER, "name": "雁鸣湖镇镇区社区党群服务中心"})
            return
        except Exception:
            if time.monotonic() > deadline:
                raise SystemExit(f"tickets did not come up; see {var / 'tickets.log'}") from None
            time.sleep(0.5)


def fill_directory(amqp_uri: str, directory: str, deadline: float, var: Path) -> None:
    """The contacts ``--directory`` names, retried until notify answers."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from lianxin import auth
    from lianxin.seed import notify_steps

    admin = mint(var, sub="bench", role="admin", centers=[CENTER])
    address = {"phone": "13800000001"} if directory == "intake" else {"email": "duty@example.cn"}
    while True:
        try:
            with ClusterRpcProxy(
                {"AMQP_URI": amqp_uri}, timeout=5, context_data={auth.CONTEXT_KEY: admin}
            ) as rpc:
                rpc.notify.upsert_contact(
                    CENTER,
                    {"person_id": "staff-duty-1", "name": "李卫东", "role": "staff", **address},
                )
                if directory == "seed":
                    for _label, _service, method, call in notify_steps(datetime.now(UTC)):
                        getattr(rpc.notify, method)(*call)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise SystemExit(f"notify did not come up; see {var / 'notify.log'}") from None
            time.sleep(0.5)


def subscribe(amqp_uri: str, receivers: list[WebhookReceiver], var: Path) -> None:
    """A department webhook on tickets' events for each receiver."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from lianxin import auth

    dept = mint(var, sub="bench-dept", role="department", centers=[CENTER])
    with ClusterRpcProxy(
        {"AMQP_URI": amqp_uri}, timeout=5, context_data={auth.CONTEXT_KEY: dept}
    ) as rpc:
        for r in receivers:
            rpc.notify.create_subscription(
                {"url": r.url, "types": ["cn.lianxin.tickets.*"], "centers": [CENTER]}
            )


def wait_for_consumer(vhost: str, deadline: float) -> None:
    """Until notify consumes ticket.created.

    The RPC answering does not mean the event consumer is up: an event published before
    its queue is bound would be dropped by the broker (confirmed all the same).
    """
    from lianxin.contracts.tickets import events as tk

    queue = f"evt-tickets-{tk.TICKET_CREATED}--notify.handle_tickets_ticket_created"
    while (
        requests.get(f"{MANAGEMENT}/queues/{vhost}/{queue}", timeout=10).json().get("consumers", 0)
        < 1
    ):
        if time.monotonic() > deadline:
            raise SystemExit(f"notify is not consuming {queue}")
        time.sleep(0.2)


def ticket_created(count: int) -> list[dict]:
    from lianxin.contracts import make_event
    from lianxin.contracts.tickets import events as tk

    now = datetime.now(UTC)
    return [
        make_event(
            tk.TICKET_CREATED,
            center_id=CENTER,
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
        for n in range(count)
    ]


def start_py_spy(output: str, pid: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "-r",
            "100",
            "-f",
            "raw",
            "-o",
            output,
            "-p",
            str(pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def measure(
    publisher: Publisher,
    bodies: list[dict],
    pid: int,
    db: Path,
    receivers: list[WebhookReceiver],
    subscribers: int,
    vhost: str,
    var: Path,
) -> Measured:
    """Publish every event at once, then time notify until it has handled, pushed and
    delivered to the webhooks all of them."""
    cpu_before = cpu_seconds(pid)
    began = time.monotonic()
    confirmed = 0
    for i in range(0, len(bodies), 100):
        confirmed += sum(publisher.publish(bodies[i : i + 100]))
    publisher.close()
    n = len(bodies)
    if confirmed < n:
        raise SystemExit(f"the broker confirmed only {confirmed} of {n} events")
    handled = wait_until(
        lambda: count(db, "SELECT count(*) FROM processed_events") >= n, began, 300
    )
    cpu_handled = cpu_seconds(pid) - cpu_before
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
        lambda: sum(len(r.requests) for r in receivers) >= n * subscribers, began, 300
    )
    total = time.monotonic() - began
    cpu_total = cpu_seconds(pid) - cpu_before
    return Measured(handled, cpu_handled, rows, pushes, pushed, hooked, total, cpu_total)


def report(args: argparse.Namespace, m: Measured, db: Path, hanging: WebhookReceiver) -> None:
    n = args.events
    subscribers = f"{args.subscribers} + 1 hanging" if args.subscribers else "none"
    print(
        f"events published: {n} ticket.created, directory: {args.directory}, "
        f"subscribers: {subscribers}; {m.rows / n:.0f} deliveries per event ({m.pushes / n:.0f} push)"
    )
    print(
        f"events handled      {n / m.handled:8.1f} /s  (all in {m.handled:.1f} s; notify's CPU "
        f"{m.cpu_handled / n * 1000:.2f} ms per event until then, sending included)"
    )
    if m.pushes:
        print(
            f"push messages sent  {m.pushes / m.pushed:8.1f} /s  (e-mail and WeChat sandboxes, "
            f"all in {m.pushed:.1f} s)"
        )
    print(f"notify CPU per event, everything done: {m.cpu_total / n * 1000:.2f} ms")
    if args.subscribers:
        print(
            f"webhooks delivered  {n * args.subscribers / m.hooked:8.1f} /s  "
            f"(healthy subscribers, all in {m.hooked:.1f} s; run {m.total:.1f} s)"
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


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):  # py-spy first: it writes its file on SIGINT/TERM
        try:
            os.killpg(
                proc.pid, signal.SIGINT if proc.args[0].endswith("py-spy") else signal.SIGTERM
            )
            proc.wait(timeout=20)
        except Exception:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    import logging

    import eventlet

    eventlet.monkey_patch()
    logging.basicConfig(level=logging.ERROR)
    from lianxin.outbox import Publisher
    from services.notify.testing import WebhookReceiver

    args = parse_args()
    vhost = create_vhost()
    var = Path(tempfile.mkdtemp(prefix="lianxin-bench-"))
    env = notify_env(vhost, var)
    procs: list[subprocess.Popen] = []
    try:
        procs += start_services(env, var)
        notify = procs[-1]
        receivers = [WebhookReceiver().__enter__() for _ in range(args.subscribers)]
        hanging = WebhookReceiver(lambda _r: (204, 60)).__enter__()
        # One minute in all: for the services to answer RPCs, then to consume events.
        deadline = time.monotonic() + 60
        create_center(env["AMQP_URI"], deadline, var)
        fill_directory(env["AMQP_URI"], args.directory, deadline, var)
        subscribe(env["AMQP_URI"], [*receivers, hanging] if args.subscribers else [], var)
        wait_for_consumer(vhost, deadline)

        bodies = ticket_created(args.events)
        db = var / "notify.db"
        publisher = Publisher(env["AMQP_URI"], "tickets.events")
        if args.py_spy:
            procs.append(start_py_spy(args.py_spy, notify.pid))
        measured = measure(
            publisher, bodies, notify.pid, db, receivers, args.subscribers, vhost, var
        )
        report(args, measured, db, hanging)
    finally:
        stop(procs)
        requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10)


if __name__ == "__main__":
    main()
