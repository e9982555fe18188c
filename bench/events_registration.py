"""Benchmark: residents registering for activities over HTTP, on PostgreSQL, against the
trivial ``@http`` → ``@rpc`` echo, in the same run.

    .venv/bin/python bench/events_registration.py [--seconds 15] [--connections 32]

Starts, as separate processes on a scratch vhost and a scratch PostgreSQL database
(``lianxin_bench_events``, dropped first), the events service and the gateway
(``lianxin run <name>``), with accounts (the issuer whose public keys verify the tokens)
and tickets (which knows the center) on scratch SQLite files beside them, and the echo
pair (``bench/echo.py``). Every request is a different resident registering (a token
each, signed with the issuer's key from the scratch accounts database), for

* one popular activity: every registration waits for the activity's row lock, the
  worst case of the capacity rule;
* fifty activities: the same work, spread over fifty locks.

Load comes from ``wrk`` (apt-get install wrk). Prints throughput, latency and the
ratios to the echo; checks the places taken add up; asserts nothing on time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.intake import MANAGEMENT, free_port, start, wait_http  # noqa: E402

BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("LIANXIN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = "lianxin_bench_events"
CENTER = "yanminghu"


def wrk_register(
    base: str, paths: list[str], tokens: list[str], seconds: int, connections: int, workdir: Path
) -> dict:
    """POST {} to ``paths`` (cycled), each request as the next resident's token."""
    script = workdir / f"register-{uuid.uuid4().hex[:6]}.lua"
    lua = [
        "tokens = {" + ",".join(f'"{t}"' for t in tokens) + "}",
        "paths = {" + ",".join(f'"{p}"' for p in paths) + "}",
        "local threads = 0",
        "function setup(thread) thread:set('tid', threads); threads = threads + 1 end",
        "function init(args) n = tid end",
        # Two wrk threads: one takes the even residents, the other the odd ones.
        "function request()",
        "  n = n + 2",
        "  local headers = {['Authorization'] = 'Bearer ' .. tokens[(n % #tokens) + 1],",
        "                   ['Content-Type'] = 'application/json'}",
        "  return wrk.format('POST', paths[(n % #paths) + 1], headers, '{}')",
        "end",
        "done = function(summary, latency, requests)",
        '  io.write(string.format("JSON {\\"requests\\": %d, \\"seconds\\": %f, '
        '\\"p50\\": %f, \\"p99\\": %f, \\"non2xx\\": %d, \\"errors\\": %d}\\n", '
        "summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, "
        "latency:percentile(99) / 1000, summary.errors.status, "
        "summary.errors.connect + summary.errors.read + summary.errors.write + "
        "summary.errors.timeout))",
        "end",
    ]
    script.write_text("\n".join(lua))
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
            base,
        ],
        capture_output=True,
        text=True,
    )
    found = re.search(r"^JSON (.*)$", run.stdout, re.M)
    if run.returncode or not found:
        raise SystemExit(f"wrk failed:\n{run.stdout}\n{run.stderr}")
    result = json.loads(found[1])
    result["ok"] = result["requests"] - result["non2xx"]
    result["rps"] = result["ok"] / result["seconds"]
    return result


def signer(url: str) -> Any:
    """``sign(sub=..., role=..., centers=[...])`` → a token signed with the issuer's current
    key in the accounts database at ``url``: the first by ``services.accounts.commands.mint``
    (which makes the key), the rest with that same key read once, since a scenario needs
    thousands of residents' tokens (a ``mint`` opens the database each time, ~4 ms)."""
    from lianxin import auth
    from lianxin.clock import now_utc
    from services.accounts import keyring
    from services.accounts.commands import accounts_db, mint

    mint(url=url, sub="bench", role="ops", centers=["*"])
    with accounts_db(url) as session:
        key = keyring.published(session, now=now_utc())[0]  # the newest: the one mint used

    def sign(**claims: Any) -> str:
        return auth.issue(key, ttl=3600, **claims)

    return sign


def reset_database() -> str:
    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{DB}"')
    conn.close()
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN).set(drivername="postgresql+psycopg2", database=DB)
    return url.render_as_string(hide_password=False)


def create_center(amqp_uri: str, ops: str, workdir: Path) -> None:
    """The center, in tickets (which every other service asks whether a center exists)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from lianxin.auth import CONTEXT_KEY

    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, context_data={CONTEXT_KEY: ops}) as rpc:
        deadline = time.monotonic() + 60
        while True:
            try:
                rpc.tickets.create_center({"id": CENTER, "name": "雁鸣湖镇镇区社区党群服务中心"})
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise SystemExit(f"tickets did not come up; see {workdir}") from None
                time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--residents", type=int, default=8000, help="distinct residents (tokens) per scenario"
    )
    args = parser.parse_args()

    vhost = "bench_" + uuid.uuid4().hex[:8]
    requests.put(f"{MANAGEMENT}/vhosts/{vhost}", timeout=10).raise_for_status()
    requests.put(
        f"{MANAGEMENT}/permissions/{vhost}/guest",
        timeout=10,
        json={"configure": ".*", "write": ".*", "read": ".*"},
    ).raise_for_status()
    workdir = Path(tempfile.mkdtemp(prefix="lianxin-bench-events-"))
    db_url = reset_database()
    gateway_port, echo_port = free_port(), free_port()
    env = {
        # Keys from the issuer over the bus, as deployed (not a test's JWKS file).
        **{k: v for k, v in os.environ.items() if k != "LIANXIN_JWKS_FILE"},
        "LIANXIN_VAR_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "EVENTS_DB_URL": db_url,
        "LIANXIN_SITE_KEY": "bench-" + uuid.uuid4().hex * 2,
        "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
        "GATEWAY_ADDRESS": f"127.0.0.1:{gateway_port}",
        "ECHO_ADDRESS": f"127.0.0.1:{echo_port}",
        **{
            f"{n}_METRICS_PORT": "0"
            for n in ("ACCOUNTS", "TICKETS", "VOLUNTEERS", "EVENTS", "NOTIFY", "GATEWAY")
        },
    }
    os.environ.update({k: env[k] for k in ("AMQP_URI", "LIANXIN_VAR_DIR", "LIANXIN_SITE_KEY")})
    os.environ.pop("LIANXIN_JWKS_FILE", None)
    subprocess.run(
        [str(BIN / "lianxin"), "migrate", "accounts", "tickets", "events"],
        env=env,
        check=True,
        capture_output=True,
    )
    procs = []
    try:
        lianxin = str(BIN / "lianxin")
        targets = (
            "accounts",
            "tickets",
            "events",
            "gateway",
            "bench.echo:EchoService",
            "bench.echo:EchoGateway",
        )
        for target in targets:
            procs.append(
                start([lianxin, "run", target], env, workdir / f"{target.replace(':', '_')}.log")
            )
        gateway = f"http://127.0.0.1:{gateway_port}"
        wait_http(f"{gateway}/healthz")
        wait_http(f"http://127.0.0.1:{echo_port}/")

        sign = signer(f"sqlite:///{workdir}/accounts.db")
        create_center(env["AMQP_URI"], sign(sub="bench", role="ops", centers=["*"]), workdir)
        staff = {"Authorization": "Bearer " + sign(sub="sw-1", role="staff", centers=[CENTER])}
        deadline = time.monotonic() + 60
        while (
            requests.get(f"{gateway}/api/v1/programmes", headers=staff, timeout=10).status_code
            != 200
        ):
            if time.monotonic() > deadline:
                raise SystemExit(f"events did not come up; see {workdir}")
            time.sleep(0.3)

        starts = datetime.now(UTC) + timedelta(days=7)

        def activity(title: str) -> str:
            body = {
                "title": title,
                "audience": "all",
                "place": "东村社区文化广场",
                "capacity": 5000,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
                "max_party_size": 1,
            }
            made = requests.post(
                f"{gateway}/api/v1/activities", json=body, headers=staff, timeout=10
            )
            made.raise_for_status()
            return made.json()["id"]

        def residents(prefix: str) -> list[str]:
            return [
                sign(sub=f"{prefix}-{n}", role="resident", centers=[CENTER])
                for n in range(args.residents)
            ]

        warm = activity("预热")
        wrk_register(
            gateway,
            [f"/api/v1/activities/{warm}/registrations"],
            residents("warm"),
            3,
            args.connections,
            workdir,
        )
        echo = wrk_register(
            f"http://127.0.0.1:{echo_port}",
            ["/echo"],
            ["x"],
            args.seconds,
            args.connections,
            workdir,
        )
        popular = activity("国庆晚会")
        one = wrk_register(
            gateway,
            [f"/api/v1/activities/{popular}/registrations"],
            residents("one"),
            args.seconds,
            args.connections,
            workdir,
        )
        spread_ids = [activity(f"活动 {k}") for k in range(50)]
        spread = wrk_register(
            gateway,
            [f"/api/v1/activities/{a}/registrations" for a in spread_ids],
            residents("spread"),
            args.seconds,
            args.connections,
            workdir,
        )

        def taken(activity_id: str) -> int:
            return requests.get(
                f"{gateway}/api/v1/activities/{activity_id}", headers=staff, timeout=10
            ).json()["places_taken"]

        for name, result in (
            ("echo (@http → @rpc)", echo),
            ("register, one activity", one),
            ("register, 50 activities", spread),
        ):
            print(
                f"{name:26s} {result['rps']:7.1f} req/s   p50 {result['p50']:6.1f} ms   "
                f"p99 {result['p99']:6.1f} ms   ({result['ok']} ok, {result['non2xx']} non-2xx)"
            )
        print(
            f"ratio to echo: one activity {one['rps'] / echo['rps']:.2f}, "
            f"50 activities {spread['rps'] / echo['rps']:.2f}"
        )
        # wrk counts what answered within its time; requests in flight then still land.
        print(
            f"places taken: one activity {taken(popular)} (wrk counted {one['ok']}); "
            f"50 activities {sum(taken(a) for a in spread_ids)} (wrk counted {spread['ok']})"
        )
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
