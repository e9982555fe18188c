"""Benchmark: ticket intake through the gateway until notify has recorded the staff
notification, against the trivial ``@http`` → ``@rpc`` echo, in the same run.

    .venv/bin/python bench/intake.py [--seconds 20] [--connections 32]

Starts, as separate processes on a scratch vhost and scratch SQLite files, what compose
runs in separate containers: tickets, notify and the gateway (``lianxin run <name>``), and
the echo pair (``bench/echo.py``). Load comes from ``wrk`` (apt-get install wrk).
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
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


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
    lines = ['wrk.method = "POST"', "wrk.body = [[" + json.dumps(body, ensure_ascii=False) + "]]",
             'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    lines += ["done = function(summary, latency, requests)",
              '  io.write(string.format("JSON {\\"requests\\": %d, \\"seconds\\": %f, '
              '\\"p50\\": %f, \\"p99\\": %f, \\"non2xx\\": %d, \\"errors\\": %d}\\n", '
              "summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, "
              "latency:percentile(99) / 1000, summary.errors.status, "
              "summary.errors.connect + summary.errors.read + summary.errors.write + "
              "summary.errors.timeout))",
              "end"]
    script.write_text("\n".join(lines))
    run = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                          "-s", str(script), url], capture_output=True, text=True)
    found = re.search(r"^JSON (.*)$", run.stdout, re.M)
    if run.returncode or not found:
        raise SystemExit(f"wrk failed on {url}:\n{run.stdout}\n{run.stderr}\n{script.read_text()}")
    result = json.loads(found[1])
    result["ok"] = result["requests"] - result["non2xx"]
    result["rps"] = result["ok"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    vhost = "bench_" + uuid.uuid4().hex[:8]
    requests.put(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10).raise_for_status()
    requests.put(f"{MANAGEMENT}/permissions/{vhost}/guest", timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    workdir = Path(tempfile.mkdtemp(prefix="lianxin-bench-"))
    gateway_port, echo_port = free_port(), free_port()
    env = {**os.environ, "LIANXIN_VAR_DIR": str(workdir), "LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT),
           "LIANXIN_JWT_SECRET": "bench-" + uuid.uuid4().hex * 2,
           "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
           "GATEWAY_ADDRESS": f"127.0.0.1:{gateway_port}", "ECHO_ADDRESS": f"127.0.0.1:{echo_port}",
           **{f"{n}_METRICS_PORT": "0" for n in ("TICKETS", "VOLUNTEERS", "EVENTS", "NOTIFY",
                                                  "GATEWAY")}}
    os.environ.update({k: env[k] for k in ("LIANXIN_JWT_SECRET", "AMQP_URI", "LIANXIN_VAR_DIR")})
    subprocess.run([str(BIN / "lianxin"), "migrate", "tickets", "notify"], env=env, check=True,
                   capture_output=True)
    procs = []
    try:
        lianxin = str(BIN / "lianxin")
        for target in ("tickets", "notify", "gateway", "bench.echo:EchoService",
                       "bench.echo:EchoGateway"):
            log = workdir / f"{target.replace(':', '_')}.log"
            procs.append(start([lianxin, "run", target], env, log))
        wait_http(f"http://127.0.0.1:{gateway_port}/healthz")
        wait_http(f"http://127.0.0.1:{echo_port}/")

        from nameko.standalone.rpc import ClusterRpcProxy

        from lianxin import auth

        with ClusterRpcProxy({"AMQP_URI": env["AMQP_URI"]}, timeout=5) as rpc:
            for name in ("tickets", "notify"):
                deadline = time.monotonic() + 60
                while True:
                    try:
                        getattr(rpc, name).health()
                        break
                    except Exception:
                        if time.monotonic() > deadline:
                            raise SystemExit(f"{name} did not come up; see {workdir}") from None
                        time.sleep(0.3)

        ops = auth.issue(sub="bench", role="ops", centers=["*"])
        admin = auth.issue(sub="bench", role="admin", centers=["yanminghu"])
        config = {"AMQP_URI": env["AMQP_URI"]}
        with ClusterRpcProxy(config, context_data={auth.CONTEXT_KEY: ops}) as rpc:
            rpc.tickets.create_center({"id": "yanminghu", "name": "雁鸣湖镇镇区社区党群服务中心"})
        with ClusterRpcProxy(config, context_data={auth.CONTEXT_KEY: admin}) as rpc:
            rpc.tickets.add_category("yanminghu", {"code": "sanitation", "name": "环境卫生",
                                                   "party": "property"})
            rpc.notify.upsert_contact("yanminghu", {"person_id": "staff-duty-1", "name": "李卫东",
                                                    "role": "staff", "phone": "13800000001"})
        staff = auth.issue(sub="staff-duty-1", role="staff", centers=["yanminghu"])
        ticket = {"category": "sanitation", "description": "东村社区3号楼门口垃圾两天没人清运",
                  "address": "东村社区3号楼", "channel": "hotline"}
        inbox = f"http://127.0.0.1:{gateway_port}/api/v1/notifications?limit=1"

        def notified() -> int:
            return requests.get(inbox, headers={"Authorization": f"Bearer {staff}"},
                                timeout=10).json()["total"]

        # Warm up both paths (connections, caches, JIT-less Python's first calls).
        wrk(f"http://127.0.0.1:{echo_port}/echo", ticket, {}, 3, args.connections, workdir)
        wrk(f"http://127.0.0.1:{gateway_port}/api/v1/tickets", ticket,
            {"Authorization": f"Bearer {staff}"}, 3, args.connections, workdir)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and notified() < 1:
            time.sleep(0.2)
        time.sleep(3)
        before = notified()

        names = ["tickets", "notify", "gateway", "echo service", "echo gateway"]
        pids = dict(zip(names, (p.pid for p in procs), strict=True))
        broker = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True)
        if broker.stdout.split():
            pids["broker"] = int(broker.stdout.split()[0])

        def cpu() -> dict:
            wrk_ms = sum(os.times()[2:4]) * 1000  # finished children: wrk
            return {**{n: cpu_ms(pid) for n, pid in pids.items()}, "wrk": wrk_ms}

        cpu0 = cpu()
        echo = wrk(f"http://127.0.0.1:{echo_port}/echo", ticket, {}, args.seconds,
                   args.connections, workdir)
        cpu1 = cpu()
        began = time.monotonic()
        intake = wrk(f"http://127.0.0.1:{gateway_port}/api/v1/tickets", ticket,
                     {"Authorization": f"Bearer {staff}"}, args.seconds, args.connections, workdir)
        posted_done = time.monotonic()
        target = before + intake["ok"]
        seen = notified()
        while seen < target and time.monotonic() < posted_done + 120:
            time.sleep(0.05)
            seen = notified()
        finished = time.monotonic()
        sustained = (seen - before) / (finished - began)
        cpu2 = cpu()

        print(f"echo   (@http → @rpc):   {echo['rps']:7.1f} req/s   p50 {echo['p50']:6.1f} ms   "
              f"p99 {echo['p99']:6.1f} ms   ({echo['ok']} ok, {echo['non2xx']} non-2xx)")
        print(f"intake (POST → notify):  {sustained:7.1f} tickets/s sustained "
              f"({intake['rps']:.1f} req/s accepted; notifications caught up "
              f"{finished - posted_done:.1f}s after the last POST)   p50 {intake['p50']:6.1f} ms   "
              f"p99 {intake['p99']:6.1f} ms   ({intake['ok']} ok, {intake['non2xx']} non-2xx, "
              f"{seen - before} notified)")
        shared = [n for n in ("broker", "wrk") if n in cpu0]
        print("CPU per request: echo " + ", ".join(
            f"{n} {(cpu1[n] - cpu0[n]) / max(echo['ok'], 1):.2f} ms" for n in names[3:] + shared) +
              "; intake " + ", ".join(
            f"{n} {(cpu2[n] - cpu1[n]) / max(seen - before, 1):.2f} ms"
            for n in names[:3] + shared))
        print(f"ratio: throughput {sustained / echo['rps']:.2f} (target ≥ 0.8)   "
              f"p99 {intake['p99'] / echo['p99']:.2f}x (target ≤ 2)")
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10)
        print(f"logs: {workdir}")


if __name__ == "__main__":
    main()
