"""SIGTERM under load: ``lianxin run`` drains — every POST answered 201 is stored, no 5xx is
answered, and the process exits 0 within the grace period."""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from nameko.standalone.rpc import ClusterRpcProxy

from lianxin import auth
from lianxin.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CENTER = "yanminghu"
GRACE = 20
TICKET = {
    "category": "sanitation",
    "description": "东村社区3号楼门口垃圾两天没人清运",
    "address": "东村社区3号楼",
    "channel": "hotline",
}


def start_system(env: dict, log: Path) -> subprocess.Popen:
    subprocess.run(
        [str(BIN / "lianxin"), "migrate", "accounts", "tickets", "notify"],
        env=env,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    with open(log, "wb") as out:
        return subprocess.Popen(
            [str(BIN / "lianxin"), "run", "accounts", "tickets", "notify", "gateway"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_up(proc: subprocess.Popen, base: str, amqp: dict, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")[-4000:]
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
        try:
            requests.get(base + "/healthz", timeout=1)
            with ClusterRpcProxy(amqp, timeout=2) as rpc:
                for name in ("accounts", "tickets", "notify"):
                    getattr(rpc, name).health()
            return
        except Exception:
            time.sleep(0.3)


def seed(amqp: dict, mint) -> str:
    with ClusterRpcProxy(amqp, context_data={auth.CONTEXT_KEY: mint("ops", ["*"])}) as rpc:
        rpc.tickets.create_center({"id": CENTER, "name": "雁鸣湖镇镇区社区党群服务中心"})
    with ClusterRpcProxy(amqp, context_data={auth.CONTEXT_KEY: mint("admin", [CENTER])}) as rpc:
        rpc.tickets.add_category(
            CENTER, {"code": "sanitation", "name": "环境卫生", "party": "property"}
        )
    return mint("staff", [CENTER], sub="staff-duty-1")


def test_sigterm_under_load_loses_no_accepted_ticket(rabbit_config, _var_dir):
    from services.accounts.commands import mint as issue

    var = _var_dir
    var.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "LIANXIN_JWKS_FILE"},
        "LIANXIN_VAR_DIR": str(var),
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "GATEWAY_ADDRESS": f"127.0.0.1:{port}",
        "SHUTDOWN_GRACE_SECONDS": str(GRACE),
        "LOG_LEVEL": "INFO",
        **{f"{n}_METRICS_PORT": "0" for n in ("ACCOUNTS", "TICKETS", "NOTIFY", "GATEWAY")},
    }
    base = f"http://127.0.0.1:{port}"
    log = var / "system.log"
    proc = start_system(env, log)
    try:
        wait_up(proc, base, {"AMQP_URI": rabbit_config["AMQP_URI"]}, log)

        def mint(role, centers, sub="drain"):
            url = f"sqlite:///{var}/accounts.db"
            return issue(url=url, sub=sub, role=role, centers=centers, ttl=3600)

        staff = seed({"AMQP_URI": rabbit_config["AMQP_URI"]}, mint)
        answers: list[tuple[int, str | None]] = []
        unanswered = [0]
        done = threading.Event()

        def post() -> None:
            session = requests.Session()  # keep-alive, as a client's pool would
            headers = {"Authorization": f"Bearer {staff}"}
            while not done.is_set():
                try:
                    r = session.post(
                        base + "/api/v1/tickets", json=TICKET, headers=headers, timeout=30
                    )
                except requests.RequestException:
                    unanswered[0] += 1
                    time.sleep(0.05)
                    continue
                body = r.json() if r.headers.get("content-type", "").endswith("json") else {}
                answers.append((r.status_code, body.get("id")))

        threads = [threading.Thread(target=post) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(3)
        accepted_before = sum(1 for status, _ in answers if status == 201)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=GRACE + 10)
        took = time.monotonic() - signalled
        time.sleep(0.5)
        done.set()
        for t in threads:
            t.join(timeout=35)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    output = log.read_text(errors="replace")
    assert code == 0, output[-4000:]
    assert took < GRACE, output[-4000:]
    assert accepted_before > 0, output[-4000:]
    statuses = [status for status, _ in answers]
    assert not [s for s in statuses if s >= 500], (statuses, output[-4000:])
    accepted = {ticket for status, ticket in answers if status == 201}
    assert None not in accepted
    with sqlite3.connect(var / "tickets.db") as db:
        stored = {row[0] for row in db.execute("SELECT id FROM tickets")}
    assert accepted <= stored, f"{len(accepted - stored)} accepted tickets not stored"
    assert "crashed" not in output, output[-4000:]
    print(
        f"\nSIGTERM after {accepted_before} accepted: {len(accepted)} answered 201, all stored; "
        f"{unanswered[0]} unanswered; exit {code} in {took:.1f} s"
    )
    print("\n".join(line for line in output.splitlines() if '"lianxin.runner"' in line))
