"""The whole system, started the way the README says (`make run`), driven only over HTTP."""

import os
import random
import signal
import string
import subprocess
import time
from pathlib import Path

import pytest
import requests

from lianxin.testing import free_port

ROOT = Path(__file__).resolve().parents[2]


class System:
    def __init__(self, base: str, env: dict, log: Path):
        self.base, self.env, self.log = base, env, log

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path, token=None, **kw):
        return requests.get(self.url(path), headers=self._auth(token), timeout=10, **kw)

    def post(self, path, json=None, token=None, **kw):
        return requests.post(self.url(path), json=json, headers=self._auth(token), timeout=10, **kw)

    @staticmethod
    def _auth(token):
        return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture(scope="session")
def system(rabbit_manager, tmp_path_factory):
    vhost = "e2e_" + "".join(random.choices(string.ascii_lowercase, k=8))
    rabbit_manager.create_vhost(vhost)
    rabbit_manager.set_vhost_permissions(vhost, "guest", ".*", ".*", ".*")
    var = tmp_path_factory.mktemp("var")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "LIANXIN_JWKS_FILE"},
        "LIANXIN_VAR_DIR": str(var),
        "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
        "GATEWAY_ADDRESS": f"127.0.0.1:{port}",
        "PUBLIC_BURST": "5",
        # the department's receiver of test_notify_http runs on this machine
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "PUBLIC_RATE": "0.2",
    }
    for name in ("ACCOUNTS", "TICKETS", "VOLUNTEERS", "EVENTS", "NOTIFY", "REPORTS", "GATEWAY"):
        env[f"{name}_METRICS_PORT"] = str(free_port())
    log = var / "system.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    seeded = False
    while time.monotonic() < deadline and proc.poll() is None:
        output = log.read_text(errors="replace")
        seeded = "演示中心 yanminghu" in output
        if seeded or "Traceback" in output:
            break
        time.sleep(0.3)
    if not seeded:
        os.killpg(proc.pid, signal.SIGTERM)
        pytest.fail(
            f"`make run` did not come up; its output:\n{log.read_text(errors='replace')[-4000:]}"
        )
    yield System(base, env, log)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    rabbit_manager.delete_vhost(vhost)


@pytest.fixture
def token(system):
    """``token(role, center="yanminghu", sub=None, party=None)`` → a token the running
    system's issuer signed (as ``lianxin token`` makes one on the server: from the accounts
    database, where the private keys are) — the system trusts no test key."""
    from services.accounts.commands import mint

    url = f"sqlite:///{system.env['LIANXIN_VAR_DIR']}/accounts.db"
    made: dict[tuple, str] = {}

    def make(role, center="yanminghu", sub=None, party=None, ttl=3600):
        centers = [center] if isinstance(center, str) else list(center)
        key = (role, tuple(centers), sub, party)
        if key not in made:
            made[key] = mint(
                url=url, sub=sub or f"{role}-1", role=role, centers=centers, party=party, ttl=ttl
            )
        return made[key]

    return make


@pytest.fixture
def on_duty(system, token):
    """``on_duty(person_id)`` puts a seeded cadre on the duty roster from a minute ago for an
    hour (the seed's roster covers 08:00–20:00 Beijing time, and a test may run at night):
    a new ticket alerts whoever is on duty at that moment."""
    from datetime import timedelta

    from lianxin.clock import now_utc

    def put(person_id: str) -> None:
        now = now_utc()
        shift = {
            "person_id": person_id,
            "name": person_id,
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        }
        answer = system.post("/api/v1/duty", shift, token("admin"))
        assert answer.status_code == 201, answer.text

    return put


@pytest.fixture
def signed_in(system):
    """``signed_in(account)`` → a ``requests.Session`` signed in on /login with the account's
    development password, as a browser is (the session cookie); ``.csrf`` is its session's
    CSRF secret, which every form carries."""
    import re

    password = re.search(r"开发密码 (\S+?)，", system.log.read_text(errors="replace")).group(1)

    def sign_in(account: str) -> requests.Session:
        session = requests.Session()
        page = session.get(system.url("/login"), timeout=10)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        done = session.post(
            system.url("/login"),
            data={
                "kind": "password",
                "center": "yanminghu",
                "account": account,
                "password": password,
                "csrf_token": csrf,
            },
            timeout=10,
        )
        assert done.status_code == 200, done.text[:500]
        session.csrf = re.search(r'name="csrf_token" value="([^"]+)"', done.text).group(1)
        return session

    return sign_in
