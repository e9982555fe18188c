"""Benchmark: ticket intake through the gateway until notify has recorded the staff
notification, against the trivial ``@http`` → ``@rpc`` echo, in the same run.

    .venv/bin/python bench/intake.py [--seconds 20] [--connections 32]

Starts, as separate processes on a scratch vhost and scratch SQLite files, what compose
runs in separate containers: accounts (the issuer, whose public keys the others verify
tokens with), tickets, notify and the gateway (``lianxin run <name>``), and the echo pair
(``bench/echo.py``). The bench's tokens are minted with the issuer's key in the scratch
accounts database (``services.accounts.commands.mint``). Load comes from ``wrk`` (apt-get install wrk).
Prints throughput and latency of both and their ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
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
CENTER = "yanminghu"
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
    gateway_port: int
    echo_port: int
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def echo_url(self) -> str:
        return f"http://127.0.0.1:{self.echo_port}/echo"

    @property
    def intake_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}/api/v1/tickets"

    def notified(self, staff: str) -> int:
        """Notifications in the staff member's inbox, as the gateway counts them."""
        return requests.get(
            f"http://127.0.0.1:{self.gateway_port}/api/v1/notifications?limit=1",
            headers={"Authorization": f"Bearer {staff}"},
            timeout=10,
        ).json()["total"]


@dataclass
class Measured:
    echo: dict
    intake: dict
    sustained: float  # tickets notified per second, from the first POST until notify caught up
    caught_up: float  # seconds from the last POST until notify had them all
    notified: int
    cpu: list[dict[str, float]]  # before echo, after echo, after intake


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    return parser.parse_args()


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


def make_stack(vhost: str) -> Stack:
    workdir = Path(tempfile.mkdtemp(prefix="lianxin-bench-"))
    gateway_port, echo_port = free_port(), free_port()
    env = {
        # Keys from the issuer over the bus, as deployed (not a test's JWKS file).
        **{k: v for k, v in os.environ.items() if k != "LIANXIN_JWKS_FILE"},
        "LIANXIN_VAR_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "LIANXIN_SITE_KEY": "bench-" + uuid.uuid4().hex * 2,
        "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
        "GATEWAY_ADDRESS": f"127.0.0.1:{gateway_port}",
        "ECHO_ADDRESS": f"127.0.0.1:{echo_port}",
        **{
            f"{n}_METRICS_PORT": "0"
            for n in ("ACCOUNTS", "TICKETS", "VOLUNTEERS", "EVENTS", "NOTIFY", "GATEWAY")
        },
    }
    # This process mints the tokens (accounts database) and calls the services over the
    # same broker.
    os.environ.update({k: env[k] for k in ("AMQP_URI", "LIANXIN_VAR_DIR", "LIANXIN_SITE_KEY")})
    os.environ.pop("LIANXIN_JWKS_FILE", None)
    subprocess.run(
        [str(BIN / "lianxin"), "migrate", "accounts", "tickets", "notify"],
        env=env,
        check=True,
        capture_output=True,
    )
    return Stack(workdir, env, gateway_port, echo_port)


def start_stack(stack: Stack) -> None:
    """Start every process and wait until each answers."""
    lianxin = str(BIN / "lianxin")
    for target in TARGETS:
        log = stack.workdir / f"{target.replace(':', '_')}.log"
        stack.procs.append(start([lianxin, "run", target], stack.env, log))
    wait_http(f"http://127.0.0.1:{stack.gateway_port}/healthz")
    wait_http(f"http://127.0.0.1:{stack.echo_port}/")

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

    return issue(url=f"sqlite:///{stack.workdir}/accounts.db", ttl=3600, **claims)


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
    wrk(stack.echo_url, TICKET, {}, 3, connections, stack.workdir)
    wrk(
        stack.intake_url,
        TICKET,
        {"Authorization": f"Bearer {staff}"},
        3,
        connections,
        stack.workdir,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and stack.notified(staff) < 1:
        time.sleep(0.2)
    time.sleep(3)
    return stack.notified(staff)


def process_pids(stack: Stack) -> dict[str, int]:
    pids = dict(zip(NAMES, (p.pid for p in stack.procs), strict=True))
    broker = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True)
    if broker.stdout.split():
        pids["broker"] = int(broker.stdout.split()[0])
    return pids


def cpu(pids: dict[str, int]) -> dict[str, float]:
    wrk_ms = sum(os.times()[2:4]) * 1000  # finished children: wrk
    return {**{n: cpu_ms(pid) for n, pid in pids.items()}, "wrk": wrk_ms}


def measure(stack: Stack, staff: str, before: int, seconds: int, connections: int) -> Measured:
    """Load the echo, then intake until notify has caught up, with CPU read in between."""
    pids = process_pids(stack)
    cpu0 = cpu(pids)
    echo = wrk(stack.echo_url, TICKET, {}, seconds, connections, stack.workdir)
    cpu1 = cpu(pids)
    began = time.monotonic()
    intake = wrk(
        stack.intake_url,
        TICKET,
        {"Authorization": f"Bearer {staff}"},
        seconds,
        connections,
        stack.workdir,
    )
    posted_done = time.monotonic()
    target = before + intake["ok"]
    seen = stack.notified(staff)
    while seen < target and time.monotonic() < posted_done + 120:
        time.sleep(0.05)
        seen = stack.notified(staff)
    finished = time.monotonic()
    sustained = (seen - before) / (finished - began)
    cpu2 = cpu(pids)
    return Measured(
        echo, intake, sustained, finished - posted_done, seen - before, [cpu0, cpu1, cpu2]
    )


def report(m: Measured) -> None:
    echo, intake = m.echo, m.intake
    cpu0, cpu1, cpu2 = m.cpu
    print(
        f"echo   (@http → @rpc):   {echo['rps']:7.1f} req/s   p50 {echo['p50']:6.1f} ms   "
        f"p99 {echo['p99']:6.1f} ms   ({echo['ok']} ok, {echo['non2xx']} non-2xx)"
    )
    print(
        f"intake (POST → notify):  {m.sustained:7.1f} tickets/s sustained "
        f"({intake['rps']:.1f} req/s accepted; notifications caught up "
        f"{m.caught_up:.1f}s after the last POST)   p50 {intake['p50']:6.1f} ms   "
        f"p99 {intake['p99']:6.1f} ms   ({intake['ok']} ok, {intake['non2xx']} non-2xx, "
        f"{m.notified} notified)"
    )
    shared = [n for n in ("broker", "wrk") if n in cpu0]
    print(
        "CPU per request: echo "
        + ", ".join(
            f"{n} {(cpu1[n] - cpu0[n]) / max(echo['ok'], 1):.2f} ms" for n in [*ECHO_NAMES, *shared]
        )
        + "; intake "
        + ", ".join(
            f"{n} {(cpu2[n] - cpu1[n]) / max(m.notified, 1):.2f} ms"
            for n in [*INTAKE_NAMES, *shared]
        )
    )
    print(
        f"ratio: throughput {m.sustained / echo['rps']:.2f} (target ≥ 0.8)   "
        f"p99 {intake['p99'] / echo['p99']:.2f}x (target ≤ 2)"
    )


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
    stack = make_stack(vhost)
    try:
        start_stack(stack)
        staff = seed_center(stack)
        before = warm_up(stack, staff, args.connections)
        report(measure(stack, staff, before, args.seconds, args.connections))
    finally:
        stop(stack.procs)
        requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10)
        print(f"logs: {stack.workdir}")


if __name__ == "__main__":
    main()
