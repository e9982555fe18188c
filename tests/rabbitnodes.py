"""Private RabbitMQ nodes for the tests that stop a broker, and the system under steady intake.

The shared broker (``rabbit@localhost``, port 5672) belongs to every test and every person on
the machine: it is never stopped. A test that stops a broker starts its own nodes here, each
with its own node name, ports, data, log and pid files, an empty plugin list, its own config
file (the machine's ``/etc/rabbitmq/rabbitmq.conf`` listens on 5672) and an Erlang cookie of
its own in a private ``HOME``, the same for the nodes and the ``rabbitmqctl`` that drives
them::

    node = RabbitNode("lianxin-solo", base=tmp_path, port=5690, dist_port=25690)
    node.start()          # returns once the node answers; fails loudly if it can't start
    node.stop(); node.start()
    cluster = Cluster.of(tmp_path, ports=[(5701, 25701), (5702, 25702), (5703, 25703)])

A node that cannot start is an error with its log's tail, never a skip: these tests are the
proof that nothing is lost when a broker goes away.

:class:`System` runs ``lianxin run accounts tickets notify gateway`` as a subprocess on SQLite
against such nodes, with the demo center seeded, and :class:`Intake` posts tickets from a
few threads, recording each answer.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COOKIE = "LIANXINPRIVATETESTNODESCOOKIE"
CENTER = "yanminghu"
STAFF = "staff-duty-1"


def sbin() -> Path:
    """The folder of RabbitMQ's own scripts. ``/usr/sbin/rabbitmq-server`` on Debian is a
    wrapper that switches to the ``rabbitmq`` user (and its ``HOME``, so its cookie) when run
    as root; the scripts it wraps take the environment as given."""
    override = os.environ.get("RABBITMQ_SBIN")
    candidates = [Path(override)] if override else []
    candidates.append(Path("/usr/lib/rabbitmq/bin"))
    found = shutil.which("rabbitmq-server")
    if found:
        candidates.append(Path(found).resolve().parent)
    for folder in candidates:
        if (folder / "rabbitmq-server").exists() and (folder / "rabbitmqctl").exists():
            return folder
    raise RuntimeError(
        "rabbitmq-server and rabbitmqctl are needed for the broker-stop tests and were not "
        "found (apt-get install rabbitmq-server, or set RABBITMQ_SBIN)"
    )


class RabbitNode:
    """One private RabbitMQ node: ``lianxin-<name>@localhost`` on 127.0.0.1:``port``."""

    def __init__(self, name: str, *, base: Path, port: int, dist_port: int) -> None:
        self.name = name
        self.nodename = f"{name}@localhost"
        self.port = port
        self.dist_port = dist_port
        self.dir = base / name
        self.home = base / "home"  # the cookie, shared by the nodes of a cluster and the CLI
        self.proc: subprocess.Popen | None = None
        self.uri = f"amqp://guest:guest@127.0.0.1:{port}//"
        for sub in ("mnesia", "log"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(COOKIE)
            cookie.chmod(0o400)
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")  # not the machine's NODENAME=rabbit@…
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{port}\n"
            "loopback_users = none\n"
            "log.console = false\n"
            "log.file.level = info\n"
        )

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.home),
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def ctl(self, *args: str, check: bool = True, timeout: float = 60) -> str:
        """``rabbitmqctl -n <node> args…``; its output (raises with it when ``check``)."""
        done = subprocess.run(
            [str(sbin() / "rabbitmqctl"), "-q", "-n", self.nodename, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args)} on {self.nodename} failed ({done.returncode}): "
                f"{done.stdout}{done.stderr}"
            )
        return done.stdout

    def start(self, timeout: float = 90) -> None:
        """Start the node and wait until it takes connections."""
        self._stop_leftover()
        with open(self.dir / "server.out", "ab") as out:
            self.proc = subprocess.Popen(
                [str(sbin() / "rabbitmq-server")],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.nodename} exited ({self.proc.returncode}):\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"{self.nodename} did not start in {timeout:g} s:\n{self.log_tail()}"
                )
            done = subprocess.run(
                [
                    str(sbin() / "rabbitmqctl"),
                    "-q",
                    "-n",
                    self.nodename,
                    "await_startup",
                    "--timeout",
                    "30",
                ],
                env=self.env,
                capture_output=True,
                timeout=40,
            )
            if done.returncode == 0:
                return
            time.sleep(0.5)

    def stop_app(self) -> None:
        """Stop the broker but not its Erlang VM (``rabbitmqctl stop_app``): to a client the
        same as a stopped broker — every connection closed, the port refusing, the queues
        stopped and recovered from disk on :meth:`start_app` — in a quarter of the time."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "60", timeout=70)

    def stop(self, timeout: float = 60) -> None:
        """Stop the node gracefully (as an operator or a rolling upgrade would)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.ctl("stop", check=False, timeout=timeout)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def _stop_leftover(self) -> None:
        """A node of this name left running by an interrupted run of these tests (same cookie)."""
        if self.proc is None and self.ctl("ping", check=False, timeout=20).strip():
            self.ctl("stop", check=False)
            time.sleep(1)

    def log_tail(self, chars: int = 4000) -> str:
        parts = []
        for path in [self.dir / "server.out", *sorted((self.dir / "log").glob("*.log"))]:
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    def queues(self, vhost: str = "/") -> list[dict[str, str]]:
        """``list_queues name type durable leader`` on ``vhost``, one dict a queue."""
        columns = ("name", "type", "durable", "leader")
        out = self.ctl("list_queues", "-p", vhost, "--no-table-headers", *columns)
        rows = [line.split("\t") for line in out.splitlines() if line.strip()]
        return [dict(zip(columns, row, strict=False)) for row in rows]


@dataclass
class Cluster:
    nodes: list[RabbitNode]

    @classmethod
    def of(cls, base: Path, ports: list[tuple[int, int]], prefix: str = "lianxin-q") -> Cluster:
        """Start the nodes (together) and join the others to the first."""
        nodes = [
            RabbitNode(f"{prefix}{n}", base=base, port=port, dist_port=dist)
            for n, (port, dist) in enumerate(ports, start=1)
        ]
        cluster = cls(nodes)
        errors: list[BaseException] = []

        def start(node: RabbitNode) -> None:
            try:
                node.start()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            cluster.stop()
            raise errors[0]
        first = nodes[0]
        try:
            for node in nodes[1:]:
                node.ctl("stop_app")
                node.ctl("join_cluster", first.nodename)
                node.ctl("start_app")
            running = first.ctl("eval", "rabbit_nodes:all_running().")
            missing = [n.nodename for n in nodes if n.nodename not in running]
            if missing:
                raise RuntimeError(f"not clustered: {missing} ({running})")
        except BaseException:
            cluster.stop()
            raise
        return cluster

    @property
    def uri(self) -> str:
        """kombu's failover URI naming every node."""
        return ";".join(n.uri for n in self.nodes)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


# -- the system under steady intake ----------------------------------------------------------


@dataclass
class System:
    """``lianxin run accounts tickets notify gateway`` in a subprocess, on SQLite in ``var``."""

    var: Path
    amqp_uri: str
    port: int
    proc: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)
    #: Set on top of the environment (e.g. a service's metrics port, which is 0 otherwise).
    extra_env: dict[str, str] = field(default_factory=dict)

    SERVICES = ("accounts", "tickets", "notify", "gateway")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.var / "system.log"

    def start(self) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "LIANXIN_JWKS_FILE"},
            "LIANXIN_VAR_DIR": str(self.var),
            "AMQP_URI": self.amqp_uri,
            "GATEWAY_ADDRESS": f"127.0.0.1:{self.port}",
            "LOG_LEVEL": "INFO",
            **{f"{n.upper()}_METRICS_PORT": "0" for n in self.SERVICES},
            **self.extra_env,
        }
        subprocess.run(
            [str(BIN / "lianxin"), "migrate", "accounts", "tickets", "notify"],
            env=self.env,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "lianxin"), "run", *self.SERVICES],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_up()

    def output(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def wait_up(self, timeout: float = 90) -> None:
        from nameko.standalone.rpc import ClusterRpcProxy

        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            try:
                requests.get(self.base + "/healthz", timeout=2)
                with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=3) as rpc:
                    for name in ("accounts", "tickets", "notify"):
                        getattr(rpc, name).health()
                return
            except Exception:
                time.sleep(0.5)

    def readiness(self, urls: list[str], ready: bool, timeout: float) -> float | None:
        """Seconds until every ``/readyz`` in ``urls`` answers ready (200) or not (503), as
        ``ready`` asks; ``None`` if that did not happen within ``timeout``."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            try:
                codes = [requests.get(url, timeout=1).status_code for url in urls]
            except requests.RequestException:
                codes = []
            if codes and all((c == 200) == ready and c in (200, 503) for c in codes):
                return time.monotonic() - began
            time.sleep(0.1)
        return None

    def mint(self, role: str, centers: list[str], sub: str = "broker-test") -> str:
        from services.accounts.commands import mint as issue

        url = f"sqlite:///{self.var}/accounts.db"
        return issue(url=url, sub=sub, role=role, centers=centers, ttl=3600)

    def seed(self) -> str:
        """The center, its sanitation category and the duty cadre; the cadre's token."""
        from nameko.standalone.rpc import ClusterRpcProxy

        from lianxin import auth

        config = {"AMQP_URI": self.amqp_uri}
        ops = self.mint("ops", ["*"])
        with ClusterRpcProxy(config, context_data={auth.CONTEXT_KEY: ops}, timeout=30) as rpc:
            rpc.tickets.create_center({"id": CENTER, "name": "雁鸣湖镇镇区社区党群服务中心"})
        admin = self.mint("admin", [CENTER])
        with ClusterRpcProxy(config, context_data={auth.CONTEXT_KEY: admin}, timeout=30) as rpc:
            rpc.tickets.add_category(
                CENTER, {"code": "sanitation", "name": "环境卫生", "party": "property"}
            )
            rpc.notify.upsert_contact(
                CENTER,
                {"person_id": STAFF, "name": "李卫东", "role": "staff", "phone": "13800000001"},
            )
        return self.mint("staff", [CENTER], sub=STAFF)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL what is left; the exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            return None

    # -- what it stored ------------------------------------------------------------------

    def stored(self) -> dict[str, int]:
        """ticket id → rows (exactly one each is the point)."""
        with contextlib.closing(sqlite3.connect(self.var / "tickets.db")) as db:
            return dict(db.execute("SELECT id, count(*) FROM tickets GROUP BY id").fetchall())

    def descriptions(self) -> dict[str, int]:
        """description → tickets with it (each POST's description is unique)."""
        with contextlib.closing(sqlite3.connect(self.var / "tickets.db")) as db:
            return dict(
                db.execute(
                    "SELECT description, count(*) FROM tickets GROUP BY description"
                ).fetchall()
            )

    def unsent_events(self) -> int:
        with contextlib.closing(sqlite3.connect(self.var / "tickets.db")) as db:
            return db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]

    def notified(self) -> dict[str, int]:
        """ticket id → the staff's in-app notifications of its ticket.created (one each)."""
        with contextlib.closing(sqlite3.connect(self.var / "notify.db", timeout=10)) as db:
            return dict(
                db.execute(
                    "SELECT ref_id, count(*) FROM deliveries WHERE ref_type = 'ticket' "
                    "AND message_type = 'ticket.created' AND channel = 'in_app' GROUP BY ref_id"
                ).fetchall()
            )

    def wait_notified(self, tickets: set[str], timeout: float = 60) -> dict[str, int]:
        """Until every ticket of ``tickets`` is notified and the outbox is empty (or timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                notified = self.notified()
                done = tickets <= set(notified) and self.unsent_events() == 0
            except sqlite3.OperationalError:  # busy: a writer holds the database
                notified, done = {}, False
            if done or time.monotonic() > deadline:
                time.sleep(2 if done else 0)  # a repeat would land now: let it
                return self.notified()
            time.sleep(0.5)


@dataclass
class Answer:
    status: int | None  # None: no answer (the connection failed)
    ticket: str | None
    description: str
    retry_after: str | None
    at: float
    code: str | None = None  # the problem's code, for a refusal


class Intake:
    """A few threads posting tickets, each with a description of its own, until stopped."""

    def __init__(self, base: str, token: str, threads: int = 3, pause: float = 0.05) -> None:
        self.base, self.token, self.pause = base, token, pause
        self.answers: list[Answer] = []
        self._done = threading.Event()
        self._seq = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._post, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Intake:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._done.set()
        for t in self._threads:
            t.join(timeout=60)

    def _post(self) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {self.token}"}
        while not self._done.is_set():
            with self._lock:
                self._seq += 1
                description = f"东村社区3号楼门口垃圾两天没人清运（第{self._seq}次）"
            ticket = {
                "category": "sanitation",
                "description": description,
                "address": "东村社区3号楼",
                "channel": "hotline",
            }
            try:
                r = session.post(
                    self.base + "/api/v1/tickets", json=ticket, headers=headers, timeout=40
                )
            except requests.RequestException:
                self.answers.append(Answer(None, None, description, None, time.monotonic()))
                session = requests.Session()
                time.sleep(0.2)
                continue
            body = r.json() if r.headers.get("content-type", "").endswith("json") else {}
            self.answers.append(
                Answer(
                    r.status_code,
                    body.get("id") if r.status_code == 201 else None,
                    description,
                    r.headers.get("Retry-After"),
                    time.monotonic(),
                    None if r.status_code == 201 else body.get("code"),
                )
            )
            time.sleep(self.pause if r.status_code == 201 else 0.3)

    def accepted(self, since: float = 0.0) -> int:
        return sum(1 for a in self.answers if a.status == 201 and a.at >= since)

    def wait_accepting(self, since: float, timeout: float = 90) -> float:
        """Seconds until a ticket posted after ``since`` is answered 201 (raises on timeout)."""
        deadline = time.monotonic() + timeout
        while self.accepted(since) == 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"no ticket accepted within {timeout:g} s")
            time.sleep(0.2)
        return next(a.at for a in self.answers if a.status == 201 and a.at >= since) - since


@dataclass
class Outcome:
    """What a broker-stop run left: the answers, and what the databases hold of them."""

    answers: list[Answer]
    stored: dict[str, int]
    descriptions: dict[str, int]
    notified: dict[str, int]
    unsent: int
    alive: bool
    code: int | None = None
    output: str = ""

    @classmethod
    def of(cls, system: System, answers: list[Answer]) -> Outcome:
        """Read it while ``system`` still runs (its notifications are waited for)."""
        accepted = {a.ticket for a in answers if a.status == 201 and a.ticket}
        return cls(
            answers=answers,
            notified=system.wait_notified(accepted),
            stored=system.stored(),
            descriptions=system.descriptions(),
            unsent=system.unsent_events(),
            alive=system.proc is not None and system.proc.poll() is None,
        )

    @property
    def accepted(self) -> set[str | None]:
        return {a.ticket for a in self.answers if a.status == 201}

    @property
    def statuses(self) -> list[int | None]:
        return [a.status for a in self.answers]

    def check(self) -> None:
        """No process ended or crashed; 503 (with Retry-After) or 504 while the broker was
        away, never another 5xx; every ticket answered 201 stored once and notified once;
        no POST stored twice; no outbox row left unsent."""
        output, accepted, statuses = self.output, self.accepted, self.statuses
        assert self.alive, output
        assert None not in accepted
        assert not [s for s in statuses if s is not None and s >= 500 and s not in (503, 504)], (
            sorted({s for s in statuses if s}),
            output,
        )
        lost = accepted - set(self.stored)
        assert not lost, f"{len(lost)} accepted tickets not stored"
        assert all(self.stored[t] == 1 for t in accepted if t)
        assert all(n <= 1 for n in self.descriptions.values()), "a POST stored twice"
        unnotified = accepted - set(self.notified)
        assert not unnotified, (
            f"{len(unnotified)} accepted tickets never notified: {sorted(map(str, unnotified))[:10]}; "
            f"{self.unsent} events unsent",
            output,
        )
        assert all(self.notified[t] == 1 for t in accepted if t), "a notification recorded twice"
        assert self.unsent == 0, f"{self.unsent} events left unsent"
        assert "crashed" not in output, output
        assert self.code == 0, output
        no_retry_after = sorted(
            {str(a.code) for a in self.answers if a.status == 503 and not a.retry_after}
        )
        assert not no_retry_after, f"503 without Retry-After: {no_retry_after}"
