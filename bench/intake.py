"""Benchmark: ticket intake through the gateway until notify has recorded the staff
notification, against the trivial ``@http`` → ``@rpc`` echo, in the same run.

    .venv/bin/python bench/intake.py [--seconds 20] [--rounds 3] [--connections 32[,64…]]
        [--db sqlite|postgres] [--replicas 1] [--paced-seconds 15]

Starts, as separate processes on a scratch vhost and scratch databases (SQLite files, or
``--db postgres``: databases ``lianxin_bench_<vhost>_<service>`` on 127.0.0.1:5432, dropped
at the end), what compose runs in separate containers: accounts (the issuer, whose public
keys the others verify tokens with), tickets, notify and the gateway (``lianxin run
<name>``), and the echo pair (``bench/echo.py``). ``--replicas 2`` starts two of tickets,
notify, the gateway and of the echo pair (the replicas share their queues) and splits the
load over both gateways (one ``wrk`` each, half the connections each). The bench's tokens
are minted with the issuer's key in the scratch accounts database
(``services.accounts.commands.mint``). Load comes from ``wrk`` (apt-get install wrk).

Prints throughput and latency of both and their ratio, measured in turns (``--rounds``,
default 3: echo for half its share, intake until notify has caught up, echo's other half;
each path ``--seconds`` in all): the shared machine's speed moves within seconds, and in
turns both paths meet the same moments on average. With several ``--connections`` (the
closed loop's concurrency, in all), each level is measured so, and the maxima compared —
each path at the load where it does best: the most either can take is what "its maximum"
means, and gathered intake calls grow with the requests waiting while the echo has
nothing to gather. Then it counts, in the databases, the
tickets made against the POSTs accepted and the staff notifications recorded per ticket
(exactly once each?); then posts at a fixed rate (half the highest intake rate measured, paced
by Python threads from a schedule, wrk2-like: a late request's wait counts from when it was
due) for ``--paced-seconds`` and prints the latency from each ticket's POST to its staff
notification (notify's delivery row, ``created_at``). Asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
MANAGEMENT = "http://guest:guest@127.0.0.1:15672/api"


def free_port() -> int:
    from lianxin.testing import free_port as pick

    return pick()


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    out = open(log, "wb")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) a process has used, in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def wrk(url: str, body: dict, headers: dict, seconds: int, connections: int, workdir: Path) -> dict:
    script = workdir / f"post-{uuid.uuid4().hex[:6]}.lua"
    lines = [
        'wrk.method = "POST"',
        "wrk.body = [[" + json.dumps(body, ensure_ascii=False) + "]]",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    lines += [
        "done = function(summary, latency, requests)",
        '  io.write(string.format("JSON {\\"requests\\": %d, \\"seconds\\": %f, '
        '\\"p50\\": %f, \\"p99\\": %f, \\"non2xx\\": %d, \\"errors\\": %d}\\n", '
        "summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, "
        "latency:percentile(99) / 1000, summary.errors.status, "
        "summary.errors.connect + summary.errors.read + summary.errors.write + "
        "summary.errors.timeout))",
        "end",
    ]
    script.write_text("\n".join(lines))
    run = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
    )
    found = re.search(r"^JSON (.*)$", run.stdout, re.M)
    if run.returncode or not found:
        raise SystemExit(f"wrk failed on {url}:\n{run.stdout}\n{run.stderr}\n{script.read_text()}")
    result = json.loads(found[1])
    result["ok"] = result["requests"] - result["non2xx"]
    result["rps"] = result["ok"] / result["seconds"]
    return result


# What ``lianxin run`` starts, in order, and what the report calls each.
TARGETS = (
    "accounts",
    "tickets",
    "notify",
    "gateway",
    "bench.echo:EchoService",
    "bench.echo:EchoGateway",
)
NAMES = ("accounts", "tickets", "notify", "gateway", "echo service", "echo gateway")
#: The processes of the intake path and of the echo pair.
INTAKE_NAMES, ECHO_NAMES = NAMES[:4], NAMES[4:]
#: What has replicas with ``--replicas`` (accounts, the issuer, stays one).
REPLICATED = {"tickets", "notify", "gateway", "bench.echo:EchoService", "bench.echo:EchoGateway"}
WITH_DB = ("accounts", "tickets", "notify")
ADMIN_DB = "postgresql://postgres@127.0.0.1:5432/postgres"
CENTER = "yanminghu"
#: Client threads of the paced run (each sends one POST at a time).
PACED_THREADS = 96
TICKET = {
    "category": "sanitation",
    "description": "东村社区3号楼门口垃圾两天没人清运",
    "address": "东村社区3号楼",
    "channel": "hotline",
}


@dataclass
class Stack:
    """The processes under load and where to reach them."""

    workdir: Path
    env: dict[str, str]
    gateway_ports: list[int]
    echo_ports: list[int]
    db_urls: dict[str, str]
    procs: list[subprocess.Popen] = field(default_factory=list)
    #: name of each process in ``procs`` (``tickets 2`` for a second replica)
    names: list[str] = field(default_factory=list)
    #: POSTs the gateways accepted, warm-ups included
    accepted: int = 0

    @property
    def gateway_port(self) -> int:
        return self.gateway_ports[0]

    @property
    def echo_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}/echo" for p in self.echo_ports]

    @property
    def intake_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}/api/v1/tickets" for p in self.gateway_ports]

    def notified(self, staff: str) -> int:
        """Notifications in the staff member's inbox, as the gateway counts them."""
        return requests.get(
            f"http://127.0.0.1:{self.gateway_port}/api/v1/notifications?limit=1",
            headers={"Authorization": f"Bearer {staff}"},
            timeout=10,
        ).json()["total"]


@dataclass
class Measured:
    echo: dict  # the echo's rounds together (combine_rounds)
    intake: dict  # the intake's rounds together
    #: tickets notified per second, from each round's first POST until notify caught up
    sustained: float
    caught_up: float  # seconds from a round's last POST until notify had them all (the longest)
    notified: int
    echo_cpu: dict[str, float]  # CPU ms each process used during the echo's rounds
    intake_cpu: dict[str, float]  # … and during the intake's (until notify caught up)
    #: each round's echo (its two halves) and intake throughput, in order
    rounds: list[tuple[float, float]] = field(default_factory=list)


def connection_levels(text: str) -> list[int]:
    """``32`` or ``32,64,96``: each a number of connections above zero."""
    try:
        levels = [int(n) for n in text.split(",")]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: connections as 32 or 32,64,96")
    return levels


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20, help="of each path, all rounds")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="echo, intake, echo again: the machine's speed moves within seconds",
    )
    parser.add_argument(
        "--connections",
        type=connection_levels,
        default=[32],
        help="in all (split over the gateways); several (32,64): each measured, maxima compared",
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument(
        "--paced-seconds", type=int, default=15, help="0: no paced run (POST → notification)"
    )
    parser.add_argument("--rate", type=float, default=0, help="paced rate (0: half the intake's)")
    return parser.parse_args()


def wrk_all(
    urls: list[str], body: dict, headers: dict, seconds: int, connections: int, workdir: Path
) -> dict:
    """One ``wrk`` per URL at once, the connections split; their sums (the worst p99)."""
    if len(urls) == 1:
        return wrk(urls[0], body, headers, seconds, connections, workdir)
    results: list[dict] = []
    share = max(connections // len(urls), 1)

    def one(url: str) -> None:
        results.append(wrk(url, body, headers, seconds, share, workdir))

    threads = [threading.Thread(target=one, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(results) != len(urls):
        raise SystemExit("a wrk failed")
    total = {k: sum(r[k] for r in results) for k in ("requests", "non2xx", "errors", "ok", "rps")}
    total["seconds"] = max(r["seconds"] for r in results)
    total["p50"] = statistics.median(r["p50"] for r in results)
    total["p99"] = max(r["p99"] for r in results)
    total["each"] = [round(r["rps"], 1) for r in results]
    return total


def create_vhost() -> str:
    """A scratch vhost the guest user may use, so that runs never share queues."""
    vhost = "bench_" + uuid.uuid4().hex[:8]
    requests.put(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10).raise_for_status()
    requests.put(
        f"{MANAGEMENT}/permissions/{vhost}/guest",
        timeout=10,
        json={"configure": ".*", "write": ".*", "read": ".*"},
    ).raise_for_status()
    return vhost


def create_databases(vhost: str) -> dict[str, str]:
    import psycopg2

    conn = psycopg2.connect(ADMIN_DB)
    conn.autocommit = True
    urls = {}
    with conn.cursor() as cur:
        for name in WITH_DB:
            db = f"lianxin_bench_{vhost.removeprefix('bench_')}_{name}"
            cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{db}"')
            urls[name] = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"
    conn.close()
    return urls


def drop_databases(urls: dict[str, str]) -> None:
    import psycopg2

    conn = psycopg2.connect(ADMIN_DB)
    conn.autocommit = True
    with conn.cursor() as cur:
        for url in urls.values():
            cur.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    conn.close()


def make_stack(vhost: str, db: str = "sqlite", replicas: int = 1) -> Stack:
    workdir = Path(tempfile.mkdtemp(prefix="lianxin-bench-"))
    gateway_ports = [free_port() for _ in range(replicas)]
    echo_ports = [free_port() for _ in range(replicas)]
    if db == "postgres":
        db_urls = create_databases(vhost)
    else:
        db_urls = {n: f"sqlite:///{workdir}/{n}.db" for n in WITH_DB}
    env = {
        # Keys from the issuer over the bus, as deployed (not a test's JWKS file).
        **{k: v for k, v in os.environ.items() if k != "LIANXIN_JWKS_FILE"},
        "LIANXIN_VAR_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "LIANXIN_SITE_KEY": "bench-" + uuid.uuid4().hex * 2,
        "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
        "GATEWAY_ADDRESS": f"127.0.0.1:{gateway_ports[0]}",
        "ECHO_ADDRESS": f"127.0.0.1:{echo_ports[0]}",
        **{
            f"{n}_METRICS_PORT": "0"
            for n in ("ACCOUNTS", "TICKETS", "VOLUNTEERS", "EVENTS", "NOTIFY", "GATEWAY")
        },
    }
    if db == "postgres":
        env.update({f"{n.upper()}_DB_URL": url for n, url in db_urls.items()})
    # This process mints the tokens (accounts database) and calls the services over the
    # same broker.
    os.environ.update({k: env[k] for k in ("AMQP_URI", "LIANXIN_VAR_DIR", "LIANXIN_SITE_KEY")})
    os.environ.update({k: v for k, v in env.items() if k.endswith("_DB_URL")})
    os.environ.pop("LIANXIN_JWKS_FILE", None)
    subprocess.run(
        [str(BIN / "lianxin"), "migrate", "accounts", "tickets", "notify"],
        env=env,
        check=True,
        capture_output=True,
    )
    return Stack(workdir, env, gateway_ports, echo_ports, db_urls)


def start_stack(stack: Stack) -> None:
    """Start every process and wait until each answers."""
    lianxin = str(BIN / "lianxin")
    replicas = len(stack.gateway_ports)
    for target, name in zip(TARGETS, NAMES, strict=True):
        for n in range(replicas if target in REPLICATED else 1):
            env = {
                **stack.env,
                "GATEWAY_ADDRESS": f"127.0.0.1:{stack.gateway_ports[n]}",
                "ECHO_ADDRESS": f"127.0.0.1:{stack.echo_ports[n]}",
            }
            log = stack.workdir / f"{target.replace(':', '_')}-{n + 1}.log"
            stack.procs.append(start([lianxin, "run", target], env, log))
            stack.names.append(name if n == 0 else f"{name} {n + 1}")
    for port in stack.gateway_ports:
        wait_http(f"http://127.0.0.1:{port}/healthz")
    for port in stack.echo_ports:
        wait_http(f"http://127.0.0.1:{port}/")

    from nameko.standalone.rpc import ClusterRpcProxy

    # The gateway answering does not mean the services behind it are consuming yet.
    with ClusterRpcProxy({"AMQP_URI": stack.env["AMQP_URI"]}, timeout=5) as rpc:
        for name in ("accounts", "tickets", "notify"):
            deadline = time.monotonic() + 60
            while True:
                try:
                    getattr(rpc, name).health()
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{name} did not come up; see {stack.workdir}") from None
                    time.sleep(0.3)


def mint(stack: Stack, **claims: object) -> str:
    """A token signed with the issuer's current key, from the bench's accounts database
    (an hour long: the run outlasts an access token's ten minutes)."""
    from services.accounts.commands import mint as issue

    return issue(url=stack.db_urls["accounts"], ttl=3600, **claims)


def seed_center(stack: Stack) -> str:
    """The center, its sanitation category and the duty cadre; returns the cadre's token."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from lianxin import auth

    ops = mint(stack, sub="bench", role="ops", centers=["*"])
    admin = mint(stack, sub="bench", role="admin", centers=[CENTER])
    config = {"AMQP_URI": stack.env["AMQP_URI"]}
    with ClusterRpcProxy(config, context_data={auth.CONTEXT_KEY: ops}) as rpc:
        rpc.tickets.create_center({"id": CENTER, "name": "雁鸣湖镇镇区社区党群服务中心"})
    with ClusterRpcProxy(config, context_data={auth.CONTEXT_KEY: admin}) as rpc:
        rpc.tickets.add_category(
            CENTER, {"code": "sanitation", "name": "环境卫生", "party": "property"}
        )
        rpc.notify.upsert_contact(
            CENTER,
            {
                "person_id": "staff-duty-1",
                "name": "李卫东",
                "role": "staff",
                "phone": "13800000001",
            },
        )
    return mint(stack, sub="staff-duty-1", role="staff", centers=[CENTER])


def warm_up(stack: Stack, staff: str, connections: int) -> int:
    """Warm up both paths (connections, caches, JIT-less Python's first calls); returns the
    notifications counted once the warm-up's have settled."""
    wrk_all(stack.echo_urls, TICKET, {}, 3, connections, stack.workdir)
    warm = wrk_all(
        stack.intake_urls,
        TICKET,
        {"Authorization": f"Bearer {staff}"},
        3,
        connections,
        stack.workdir,
    )
    stack.accepted += warm["ok"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and stack.notified(staff) < 1:
        time.sleep(0.2)
    time.sleep(3)
    return stack.notified(staff)


def analyze(stack: Stack) -> None:
    """ANALYZE the scratch PostgreSQL databases once the warm-up's rows are in, as a
    deployment's autovacuum would have by then. This machine's PostgreSQL runs with
    autovacuum off: without statistics the planner takes a new table for empty and may
    sort a center's every open ticket where an index scan stops at its LIMIT."""
    import psycopg2

    for url in stack.db_urls.values():
        conn = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
        conn.close()


def process_pids(stack: Stack) -> dict[str, int]:
    pids = dict(zip(stack.names, (p.pid for p in stack.procs), strict=True))
    broker = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True)
    if broker.stdout.split():
        pids["broker"] = int(broker.stdout.split()[0])
    return pids


def cpu(pids: dict[str, int]) -> dict[str, float]:
    wrk_ms = sum(os.times()[2:4]) * 1000  # finished children: wrk
    return {**{n: cpu_ms(pid) for n, pid in pids.items()}, "wrk": wrk_ms, **postgres_cpu()}


def postgres_cpu() -> dict[str, float]:
    """PostgreSQL's processes (its backends, the WAL writer …) together, if it runs here: on
    two cores its work is taken from the services'. A backend that ends between two readings
    takes its time with it; the services' pooled connections last the whole run."""
    found = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True)
    total = 0.0
    for pid in found.stdout.split():
        with contextlib.suppress(OSError):  # ended since pgrep listed it
            total += cpu_ms(int(pid))
    return {"postgres": total} if found.stdout.split() else {}


def combine_rounds(results: list[dict]) -> dict:
    """wrk results of one path in several rounds, as one: the sums, the rate over all the
    rounds' time, the median p50 and the worst p99."""
    total = {k: sum(r[k] for r in results) for k in ("requests", "non2xx", "errors", "ok")}
    total["seconds"] = sum(r["seconds"] for r in results)
    total["rps"] = total["ok"] / total["seconds"]
    total["p50"] = statistics.median(r["p50"] for r in results)
    total["p99"] = max(r["p99"] for r in results)
    if all("each" in r for r in results):
        total["each"] = [
            round(sum(e) / len(results), 1) for e in zip(*(r["each"] for r in results), strict=True)
        ]
    return total


def measure(
    stack: Stack, staff: str, before: int, seconds: int, connections: int, rounds: int = 3
) -> Measured:
    """Interleave the two paths, ``rounds`` times: the echo for half its share, the intake
    until notify has caught up, the echo's other half. On this machine (a shared VM) the
    speed moves up to 2x from one second to the next; in turns, each path meets the same
    moments on average, where one long run of each compared two different minutes."""
    pids = process_pids(stack)
    share = max(seconds // rounds, 2)
    half = max(share // 2, 1)
    echoes: list[dict] = []
    intakes: list[dict] = []
    echo_cpu = dict.fromkeys(cpu(pids), 0.0)
    intake_cpu = dict(echo_cpu)
    elapsed = caught_up = 0.0
    seen = before
    per_round: list[tuple[float, float]] = []

    def add(into: dict[str, float], start: dict[str, float], end: dict[str, float]) -> None:
        for name in into:
            into[name] += end[name] - start[name]

    def echo_half() -> dict:
        cpu0 = cpu(pids)
        result = wrk_all(stack.echo_urls, TICKET, {}, half, connections, stack.workdir)
        add(echo_cpu, cpu0, cpu(pids))
        echoes.append(result)
        return result

    def intake_until_notified() -> float:
        """One round's intake, until notify has caught up; its tickets notified a second."""
        nonlocal seen, elapsed, caught_up
        began, cpu0 = time.monotonic(), cpu(pids)
        posted = wrk_all(
            stack.intake_urls,
            TICKET,
            {"Authorization": f"Bearer {staff}"},
            share,
            connections,
            stack.workdir,
        )
        posted_done = time.monotonic()
        stack.accepted += posted["ok"]
        target, start = seen + posted["ok"], seen
        while seen < target and time.monotonic() < posted_done + 120:
            time.sleep(0.05)
            seen = stack.notified(staff)
        finished = time.monotonic()
        add(intake_cpu, cpu0, cpu(pids))
        intakes.append(posted)
        elapsed += finished - began
        caught_up = max(caught_up, finished - posted_done)
        return (seen - start) / (finished - began)

    for _ in range(rounds):
        first = echo_half()
        rate = intake_until_notified()
        second = echo_half()
        per_round.append((combine_rounds([first, second])["rps"], rate))
    return Measured(
        combine_rounds(echoes),
        combine_rounds(intakes),
        (seen - before) / elapsed,
        caught_up,
        seen - before,
        echo_cpu,
        intake_cpu,
        per_round,
    )


def report(m: Measured) -> None:
    echo, intake = m.echo, m.intake
    echo_names = [n for n in m.echo_cpu if n.startswith(ECHO_NAMES)]
    intake_names = [n for n in m.echo_cpu if n.startswith(INTAKE_NAMES)]
    print(
        f"echo   (@http → @rpc):   {echo['rps']:7.1f} req/s   p50 {echo['p50']:6.1f} ms   "
        f"p99 {echo['p99']:6.1f} ms   ({echo['ok']} ok, {echo['non2xx']} non-2xx)"
    )
    print(
        f"intake (POST → notify):  {m.sustained:7.1f} tickets/s sustained "
        f"({intake['rps']:.1f} req/s accepted; notifications caught up at most "
        f"{m.caught_up:.1f}s after a round's last POST)   p50 {intake['p50']:6.1f} ms   "
        f"p99 {intake['p99']:6.1f} ms   ({intake['ok']} ok, {intake['non2xx']} non-2xx, "
        f"{m.notified} notified)"
    )
    print(
        "rounds (echo req/s, intake tickets/s, ratio): "
        + "; ".join(f"{e:.0f}, {i:.0f}, {i / e:.2f}" for e, i in m.rounds)
    )
    shared = [n for n in ("broker", "wrk", "postgres") if n in m.echo_cpu]
    echo_ms = {n: m.echo_cpu[n] / max(echo["ok"], 1) for n in [*echo_names, *shared]}
    intake_ms = {n: m.intake_cpu[n] / max(m.notified, 1) for n in [*intake_names, *shared]}
    print(
        "CPU per request: echo "
        + ", ".join(f"{n} {v:.2f} ms" for n, v in echo_ms.items())
        + f" (all {sum(echo_ms.values()):.2f} ms); intake "
        + ", ".join(f"{n} {v:.2f} ms" for n, v in intake_ms.items())
        + f" (all {sum(intake_ms.values()):.2f} ms)"
    )
    if "each" in intake:
        print(f"per gateway: echo {echo['each']} req/s, intake {intake['each']} req/s")
    print(
        f"ratio: throughput {m.sustained / echo['rps']:.2f} (target ≥ 0.8)   "
        f"p99 {intake['p99'] / echo['p99']:.2f}x (target ≤ 2)"
    )


def exactly_once(stack: Stack) -> int:
    """Tickets in the database against POSTs accepted; staff notifications per ticket."""
    from sqlalchemy import create_engine, text

    notify = create_engine(stack.db_urls["notify"])
    settled, seen, deadline = 0, -1, time.monotonic() + 30
    while settled < 3 and time.monotonic() < deadline:  # until the last handled are in
        with notify.connect() as conn:
            count = conn.execute(
                text("SELECT count(*) FROM deliveries WHERE message_type = 'ticket.created'")
            ).scalar_one()
        settled, seen = (settled + 1, seen) if count == seen else (0, count)
        time.sleep(0.5)
    tickets = create_engine(stack.db_urls["tickets"])
    with tickets.connect() as conn:
        made = conn.execute(
            text("SELECT count(*) FROM tickets WHERE center_id = :c"), {"c": CENTER}
        ).scalar_one()
    tickets.dispose()
    with notify.connect() as conn:
        per_ticket = dict(
            conn.execute(
                text(
                    "SELECT n, count(*) FROM (SELECT ref_id, count(*) AS n FROM deliveries "
                    "WHERE ref_type = 'ticket' AND message_type = 'ticket.created' "
                    "AND channel = 'in_app' GROUP BY ref_id) x GROUP BY n"
                )
            ).all()
        )
        recipients = conn.execute(
            text(
                "SELECT string_agg(DISTINCT recipient, ',') FROM deliveries "
                "WHERE message_type = 'ticket.created'"
            )
            if notify.dialect.name == "postgresql"
            else text(
                "SELECT group_concat(DISTINCT recipient) FROM deliveries "
                "WHERE message_type = 'ticket.created'"
            )
        ).scalar_one()
    notify.dispose()
    notified = sum(per_ticket.values())
    print(
        f"exactly once: {stack.accepted} POSTs answered 201 (wrk leaves up to one request per "
        f"connection unanswered when it stops), {made} tickets in the database; staff "
        f"notifications (in-app, to {recipients}) per ticket {dict(sorted(per_ticket.items()))}, "
        f"{made - notified} tickets without one"
    )
    return made


def post_paced(stack: Stack, staff: str, rate: float, seconds: int) -> tuple[list, int]:
    """POST at ``rate`` a second from a schedule (threads take the next due slot; a late
    request counts from when it was due), alternating the gateways. Returns (ticket id,
    due, sent, answered) of each accepted POST (epoch seconds) and the failures."""
    total = int(rate * seconds)
    slots = itertools.count()
    lock = threading.Lock()
    begin = time.time() + 0.5
    sent: list[tuple[str, float, float, float]] = []
    failures = [0]
    body = json.dumps(TICKET, ensure_ascii=False).encode()
    headers = {"Authorization": f"Bearer {staff}", "Content-Type": "application/json"}

    def worker() -> None:
        conns = [
            http.client.HTTPConnection("127.0.0.1", p, timeout=30) for p in stack.gateway_ports
        ]
        while True:
            with lock:
                i = next(slots)
            if i >= total:
                return
            due = begin + i / rate
            time.sleep(max(0.0, due - time.time()))
            conn = conns[i % len(conns)]
            at = time.time()
            try:
                conn.request("POST", "/api/v1/tickets", body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                failures[0] += 1
                continue
            if answer.status == 201:
                sent.append((json.loads(data)["id"], due, at, time.time()))
            else:
                failures[0] += 1

    # Enough threads that the schedule never waits for a free one (open loop) until latency
    # passes PACED_THREADS ÷ rate: with 32, 262/s at ~150 ms a POST fell behind.
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(PACED_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sent, failures[0]


def notified_at(stack: Stack, ids: list[str], wait: float = 60) -> dict[str, float]:
    """When notify recorded each ticket's staff notification (epoch seconds)."""
    from sqlalchemy import create_engine, select

    from services.notify.models import Delivery

    engine = create_engine(stack.db_urls["notify"])
    recorded: dict[str, float] = {}
    deadline = time.monotonic() + wait
    while len(recorded) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.5)
        with engine.connect() as conn:
            for chunk in range(0, len(ids), 500):
                rows = conn.execute(
                    select(Delivery.ref_id, Delivery.created_at).where(
                        Delivery.ref_id.in_(ids[chunk : chunk + 500]),
                        Delivery.message_type == "ticket.created",
                        Delivery.channel == "in_app",
                    )
                ).all()
                for ticket_id, when in rows:
                    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
                    recorded[ticket_id] = aware.timestamp()
    engine.dispose()
    return recorded


def paced(stack: Stack, staff: str, rate: float, seconds: int) -> int:
    """Post at a fixed rate, then print the time from each POST to its staff notification."""
    sent, failures = post_paced(stack, staff, rate, seconds)
    stack.accepted += len(sent)
    recorded = notified_at(stack, [s[0] for s in sent])
    due_to, sent_to, answered = [], [], []
    for ticket_id, due, at, done in sent:
        if ticket_id in recorded:
            due_to.append((recorded[ticket_id] - due) * 1000)
            sent_to.append((recorded[ticket_id] - at) * 1000)
            answered.append((done - due) * 1000)
    span = (sent[-1][2] - sent[0][2]) if len(sent) > 1 else float("nan")

    def p(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1]

    print(
        f"paced at {rate:.0f} tickets/s for {seconds} s: {len(sent)} accepted "
        f"({len(sent) / span:.0f}/s achieved), {failures} failed, "
        f"{len(due_to)} notifications found"
    )
    if len(due_to) > 2:
        print(
            f"  POST (when due) → staff notification recorded: p50 {p(due_to, 50):.0f} ms  "
            f"p90 {p(due_to, 90):.0f} ms  p99 {p(due_to, 99):.0f} ms  "
            f"max {max(due_to):.0f} ms (target p99 ≤ 250 ms)\n"
            f"  POST (when sent) → notification: p50 {p(sent_to, 50):.0f} ms  "
            f"p99 {p(sent_to, 99):.0f} ms;  POST answered: p50 {p(answered, 50):.0f} ms  "
            f"p99 {p(answered, 99):.0f} ms"
        )
    return len(sent)


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    vhost = create_vhost()
    stack = make_stack(vhost, args.db, args.replicas)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}  db {args.db}, replicas {args.replicas}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    try:
        start_stack(stack)
        staff = seed_center(stack)
        before = warm_up(stack, staff, max(args.connections))
        if args.db == "postgres":
            analyze(stack)
        levels = []
        for connections in args.connections:
            if len(args.connections) > 1:
                share = max(connections // args.replicas, 1)
                print(f"-- {connections} connections ({share} a gateway)", flush=True)
            measured = measure(stack, staff, before, args.seconds, connections, args.rounds)
            before += measured.notified
            report(measured)
            levels.append((connections, measured))
        if len(levels) > 1:
            echo_at, echo = max(levels, key=lambda lm: lm[1].echo["rps"])
            intake_at, best = max(levels, key=lambda lm: lm[1].sustained)
            print(
                f"maxima: echo {echo.echo['rps']:.1f} req/s (at {echo_at} connections), "
                f"intake {best.sustained:.1f} tickets/s (at {intake_at}): "
                f"ratio {best.sustained / echo.echo['rps']:.2f} (target ≥ 0.8)"
            )
        made = exactly_once(stack)
        if args.paced_seconds:
            rate = args.rate or max(m.sustained for _c, m in levels) / 2
            accepted = paced(stack, staff, rate, args.paced_seconds)
            now = exactly_once(stack)
            print(f"paced run: {accepted} POSTs answered 201, {now - made} tickets made")
    finally:
        stop(stack.procs)
        requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10)
        if args.db == "postgres":
            drop_databases(stack.db_urls)
        print(f"logs: {stack.workdir}")


if __name__ == "__main__":
    main()
