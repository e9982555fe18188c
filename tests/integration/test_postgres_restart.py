"""PostgreSQL restarted under load (tickets and notify on a private server): every ticket
answered 201 is stored and its staff notification recorded exactly once; meanwhile the
gateway answers 503 with Retry-After, never a 500, and no service process dies
(issue 17, item 6)."""

import os
import signal
import threading
import time
from collections import Counter

import psycopg2
import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from lianxin import auth
from lianxin.testing import free_port
from tests.integration.test_sigterm_drain import CENTER, TICKET, seed, start_system, wait_up
from tests.pgserver import PrivatePostgres

pytestmark = pytest.mark.integration

OUTAGE = 4.0  # seconds the server is down


def test_a_postgres_restart_under_load_loses_nothing_and_answers_503(rabbit_config, _var_dir):
    from services.accounts.commands import mint as issue

    var = _var_dir
    var.mkdir(parents=True, exist_ok=True)
    port = free_port()
    amqp = {"AMQP_URI": rabbit_config["AMQP_URI"]}
    with PrivatePostgres() as pg:
        env = {
            **{k: v for k, v in os.environ.items() if k != "LIANXIN_JWKS_FILE"},
            "LIANXIN_VAR_DIR": str(var),
            "AMQP_URI": rabbit_config["AMQP_URI"],
            "GATEWAY_ADDRESS": f"127.0.0.1:{port}",
            "TICKETS_DB_URL": pg.create_database("tickets"),
            "NOTIFY_DB_URL": pg.create_database("notify"),
            "LOG_LEVEL": "INFO",
            **{f"{n}_METRICS_PORT": "0" for n in ("ACCOUNTS", "TICKETS", "NOTIFY", "GATEWAY")},
        }
        base = f"http://127.0.0.1:{port}"
        log = var / "system.log"
        proc = start_system(env, log)
        try:
            wait_up(proc, base, amqp, log)

            def mint(role, centers, sub="pg-restart"):
                url = f"sqlite:///{var}/accounts.db"
                return issue(url=url, sub=sub, role=role, centers=centers, ttl=3600)

            staff = seed(amqp, mint)
            admin = {auth.CONTEXT_KEY: mint("admin", [CENTER])}
            with ClusterRpcProxy(amqp, context_data=admin) as rpc:
                rpc.notify.upsert_contact(
                    CENTER,
                    {
                        "person_id": "staff-duty-1",
                        "name": "李卫东",
                        "role": "staff",
                        "phone": "13800000001",
                    },
                )
            answers: list[tuple[float, int, str | None, str | None]] = []
            done = threading.Event()

            def post(n: int) -> None:
                session = requests.Session()
                headers = {"Authorization": f"Bearer {staff}"}
                i = 0
                while not done.is_set():
                    i += 1
                    body = {**TICKET, "description": f"{TICKET['description']}（{n}-{i}）"}
                    try:
                        r = session.post(
                            base + "/api/v1/tickets", json=body, headers=headers, timeout=30
                        )
                    except requests.RequestException:
                        answers.append((time.monotonic(), 0, None, None))
                        continue
                    got = r.json() if "json" in r.headers.get("content-type", "") else {}
                    answers.append(
                        (
                            time.monotonic(),
                            r.status_code,
                            got.get("id"),
                            r.headers.get("Retry-After"),
                        )
                    )
                    time.sleep(0.02)

            threads = [threading.Thread(target=post, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            time.sleep(3)
            stopped = time.monotonic()
            pg.stop("fast")
            time.sleep(OUTAGE)
            pg.start()
            restarted = time.monotonic()
            time.sleep(6)
            done.set()
            for t in threads:
                t.join(timeout=35)

            accepted = [ticket for _at, status, ticket, _r in answers if status == 201]
            # every accepted ticket's staff notification, however long the relay backs off
            deadline = time.monotonic() + 120
            while True:
                with psycopg2.connect(pg.dsn("notify")) as conn:
                    with conn.cursor() as cur:
                        cur.execute(
                            "SELECT ref_id, recipient FROM deliveries "
                            "WHERE message_type = 'ticket.created'"
                        )
                        deliveries = cur.fetchall()
                if {ref for ref, _who in deliveries} >= set(accepted):
                    break
                assert time.monotonic() < deadline, "staff notifications missing after 120 s"
                time.sleep(1)
            with psycopg2.connect(pg.dsn("tickets")) as conn:
                with conn.cursor() as cur:
                    cur.execute("SELECT id FROM tickets")
                    stored = [row[0] for row in cur.fetchall()]
            alive = proc.poll() is None
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except Exception:
                    os.killpg(proc.pid, signal.SIGKILL)
    output = log.read_text(errors="replace")
    statuses = Counter(status for _at, status, _t, _r in answers)
    assert alive and "crashed" not in output, output[-4000:]
    assert set(statuses) <= {201, 503}, (statuses, output[-4000:])
    assert statuses[201] > 0 and statuses[503] > 0, statuses  # the outage was seen, and lived
    assert all(r == "5" for _at, s, _t, r in answers if s == 503)
    assert len(set(accepted)) == len(accepted) and set(accepted) <= set(stored)
    assert len(stored) == len(set(stored))
    per_ticket = Counter((ref, who) for ref, who in deliveries if ref in set(accepted))
    assert set(per_ticket.values()) == {1}, "a staff notification recorded twice"
    first_ok = min(at for at, s, _t, _r in answers if s == 201 and at > restarted)
    print(
        f"\nPostgreSQL down {OUTAGE:.0f} s under load: {statuses[201]} answered 201 (all stored, "
        f"each notified once), {statuses[503]} answered 503 with Retry-After, 0 other; "
        f"first 201 {first_ok - restarted:.1f} s after the restart "
        f"({restarted - stopped:.1f} s after the stop)"
    )
