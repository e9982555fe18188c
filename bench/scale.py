"""The system at county scale, for benchmarks: every service on PostgreSQL, started the way
``make run`` starts it (its own vhost, var dir and ports), then filled to 500 centers and
1M tickets through SQL (the demo center ``yanminghu`` is one of the 500, with its share).

    with ScaleSystem(tickets=1_000_000) as system:
        session = system.sign_in("staff-duty-1")
        session.get(system.url("/console/board"))

``volunteers=50_000, registrations=200_000`` fill the volunteers database (volunteers with
skills, their approved hours in the ledger, ``verified_minutes`` kept with them) and the events
database (activities of every audience, 20 registrations an activity in every registration
state, the confirmed ones of past activities checked in), shaped as the services write them.
``separate=True`` starts each service as its own process (``lianxin run <service>``, as
compose does) instead of all in one, so that each has its own memory and metrics port
(``pids()``, ``metrics_ports()``). ``mint(...)`` signs a token with the issuer's key.

Databases ``lianxin_scale_<service>`` are dropped and made again each run. Other benchmarks
(bench/console_pages.py, bench/county_scale.py …) use it; it measures nothing itself.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2
import requests
from sqlalchemy import create_engine, text
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lianxin.testing import free_port  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVICES = ("accounts", "tickets", "volunteers", "events", "notify")
DEMO = "yanminghu"

#: 1M tickets: 30% open in the six open states (reported in the last three days, the overdue
#: ones alerted already, as a live system has), the rest closed with a rating over the year;
#: spread over the centers and the demo center's categories and their parties.
FILL_TICKETS = """
INSERT INTO tickets (id, center_id, category, party, state, channel, description, address,
    attributes, follow_code, created_at, updated_at, ack_due_at, resolve_due_at, due_at,
    acknowledged_at, resolved_at, closed_at, rating, reopen_count, ack_breach_level,
    resolve_breached, photo_ids, repeat_candidates, supporter_ids, reporter_id)
SELECT md5(g::text || :salt)::uuid::text,
       CASE WHEN g % :centers = 0 THEN :demo ELSE 'c' || lpad((g % :centers)::text, 3, '0') END,
       c.code, c.party, t.state,
       (ARRAY['web','hotline','walk_in'])[1 + g % 3],
       '东村社区' || (g % 40) || '号楼门口垃圾两天没人清运，居民反映气味很大',
       '东村社区' || (g % 40) || '号楼', '{}', substr(md5(g::text), 1, 10),
       t.created, now(), t.created + interval '10 minutes', t.created + interval '72 hours',
       CASE WHEN t.state = 'closed' THEN NULL
            WHEN t.state = 'reported' THEN t.created + interval '10 minutes'
            ELSE t.created + interval '72 hours' END,
       CASE WHEN t.state = 'reported' THEN NULL ELSE t.created + interval '6 minutes' END,
       CASE WHEN t.state = 'closed' THEN t.created + interval '20 hours' END,
       CASE WHEN t.state = 'closed' THEN t.created + interval '30 hours' END,
       CASE WHEN t.state = 'closed'
            THEN (ARRAY['satisfied','satisfied','basically_satisfied','satisfied','dissatisfied'])[1 + g % 5] END,
       0,
       -- what a live system has done already: the overdue were alerted (no storm of alerts)
       CASE WHEN t.state = 'reported' AND t.created + interval '10 minutes' < now() THEN 3 ELSE 0 END,
       t.state <> 'closed' AND t.created + interval '72 hours' < now(),
       '[]', '[]', '[]',
       'resident-' || md5((g % 90000)::text)
FROM generate_series(:start, :stop) AS g
CROSS JOIN LATERAL (
    SELECT CASE WHEN (g / 500) % 10 < 3
                THEN (ARRAY['reported','acknowledged','assigned','in_progress','returned','escalated'])[1 + (g / 11) % 6]
                ELSE 'closed' END AS state,
           CASE WHEN (g / 500) % 10 < 3
                THEN now() - (g % 4320) * interval '1 minute'   -- open: the last three days
                ELSE now() - (g % 525600) * interval '1 minute' -- closed: over the year
           END AS created
) t
JOIN (SELECT code, party, row_number() OVER (ORDER BY code) - 1 AS n FROM categories
      WHERE center_id = :demo) c ON c.n = g % :categories
"""


#: Volunteers: spread over the centers like the tickets, with one to three skills of the
#: contract's, a quarter Party members, one in ten inactive, registered over three years.
FILL_VOLUNTEERS = """
INSERT INTO volunteers (id, center_id, person_id, name, skills, party_member, status,
    registered_at, availability, note, updated_at, verified_minutes)
SELECT md5('v' || g || :salt)::uuid::text,
       CASE WHEN g % :centers = 0 THEN :demo ELSE 'c' || lpad((g % :centers)::text, 3, '0') END,
       'person-' || md5('v' || g),
       (ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴'])[1 + g % 10]
           || (ARRAY['秀英','建国','桂兰','志强','海燕','卫东','晓梅','国华'])[1 + (g / 10) % 8],
       (CASE g % 3
            WHEN 0 THEN json_build_array(s.skills[1 + g % 8])
            WHEN 1 THEN json_build_array(s.skills[1 + g % 8], s.skills[1 + (g + 3) % 8])
            ELSE json_build_array(s.skills[1 + g % 8], s.skills[1 + (g + 2) % 8],
                                  s.skills[1 + (g + 5) % 8]) END)::json,
       g % 4 = 0,
       CASE WHEN g % 10 = 9 THEN 'inactive' ELSE 'active' END,
       now() - (g % 1095) * interval '1 day',
       '[]', '', NULL, 0
FROM generate_series(:start, :stop) AS g,
     (SELECT ARRAY['life_care','emotional_support','health','cleaning','escort','activity',
                   'children','first_aid'] AS skills) s
"""

#: The hours ledger: four services a volunteer on average over the last year (the volunteer's
#: center), 85 % approved, 10 % waiting for a social worker, 5 % rejected.
FILL_HOURS = """
INSERT INTO hour_entries (id, center_id, volunteer_id, source, shift_id, signup_id, visit_id,
    correction_id, served_at, minutes, status, decided_by, decided_at, note, created_at)
SELECT md5('h' || h || :salt)::uuid::text,
       CASE WHEN v % :centers = 0 THEN :demo ELSE 'c' || lpad((v % :centers)::text, 3, '0') END,
       md5('v' || v || :salt)::uuid::text,
       'attendance', NULL, NULL, NULL, NULL,
       now() - (h % 365) * interval '1 day' - (h % 600) * interval '1 minute',
       (ARRAY[60, 90, 120, 180, 240])[1 + h % 5],
       CASE WHEN h % 20 < 17 THEN 'approved' WHEN h % 20 < 19 THEN 'pending' ELSE 'rejected' END,
       CASE WHEN h % 20 < 17 OR h % 20 = 19 THEN 'staff-social-1' END,
       CASE WHEN h % 20 < 17 OR h % 20 = 19
            THEN now() - (h % 365) * interval '1 day' + interval '1 day' END,
       NULL,
       now() - (h % 365) * interval '1 day'
FROM generate_series(:start, :stop) AS h
CROSS JOIN LATERAL (SELECT 1 + (h * 7919) % :volunteers AS v) pick
"""

#: Activities: 40 a center over the last year and the next month, every audience; the past
#: ones held (published; one in ten recorded as completed with its sign-in sheet, one in
#: twenty cancelled).
FILL_ACTIVITIES = """
INSERT INTO activities (id, center_id, programme, title, description, audience, starts_at,
    ends_at, room, place, capacity, state, created_at, updated_at, created_by,
    registration_opens_at, registration_closes_at, needs_approval, max_party_size, walk_ins,
    booking_id, sequence, cancel_reason, lock_version)
SELECT md5('a' || a || :salt)::uuid::text,
       CASE WHEN a % :centers = 0 THEN :demo ELSE 'c' || lpad((a % :centers)::text, 3, '0') END,
       NULL,
       (ARRAY['重阳敬老茶话会','亲子手工课堂','健康义诊进社区','家庭趣味运动会','广场舞展演',
              '防诈骗知识讲座'])[1 + a % 6],
       '欢迎居民报名参加', (ARRAY['children','elderly','families','all'])[1 + a % 4],
       t.starts, t.starts + interval '2 hours', NULL, '党群服务中心多功能厅', 40,
       CASE WHEN t.starts < now() AND a % 20 = 7 THEN 'cancelled'
            WHEN t.starts < now() AND a % 10 = 3 THEN 'completed' ELSE 'published' END,
       t.starts - interval '14 days', NULL, 'staff-social-1', NULL, NULL, a % 5 = 0, 5,
       CASE WHEN t.starts < now() AND a % 10 = 3 THEN 25 ELSE 0 END,
       NULL, 0,
       CASE WHEN t.starts < now() AND a % 20 = 7 THEN '天气原因取消' END,
       :per_activity
FROM generate_series(1, :activities) AS a
CROSS JOIN LATERAL (SELECT date_trunc('hour', now()) + interval '30 days'
                           - (a * 13 % 395) * interval '1 day' AS starts) t
"""

#: Registrations: ``per_activity`` an activity, a person once each; every state the contract
#: names (confirmed the most), the confirmed ones of past held activities checked in.
FILL_REGISTRATIONS = """
INSERT INTO registrations (id, center_id, activity_id, person_id, members, party_size, state,
    code, note, registered_by, created_at, seq, confirmed_at, cancelled_at, decided_by, reason,
    checked_in_at, checked_in_by, attended)
SELECT md5('r' || r || :salt)::uuid::text, act.center_id, act.id, p.person,
       CASE WHEN r % 3 = 2 THEN '["孩子"]' ELSE '[]' END::json, 1 + r % 3 / 2, st.state,
       upper(substr(md5('r' || r), 1, 8)), '', p.person,
       act.starts_at - interval '7 days' + (r % 600) * interval '1 minute',
       r / :activities + 1,
       CASE WHEN st.state = 'confirmed' THEN act.starts_at - interval '6 days' END,
       CASE WHEN st.state = 'cancelled' THEN act.starts_at - interval '2 days' END,
       CASE WHEN st.state IN ('confirmed','rejected') AND act.needs_approval
            THEN 'staff-social-1' END,
       CASE WHEN st.state = 'rejected' THEN '名额已满' END,
       CASE WHEN held THEN act.starts_at + interval '5 minutes' END,
       CASE WHEN held THEN 'staff-social-1' END,
       CASE WHEN held THEN 1 + r % 3 / 2 ELSE 0 END
FROM generate_series(:start, :stop) AS r
CROSS JOIN LATERAL (SELECT 'resident-' || md5((r * 31 % 90000)::text || '-' || r / :activities) AS person) p
JOIN activities act ON act.id = md5('a' || (r % :activities + 1) || :salt)::uuid::text
CROSS JOIN LATERAL (
    SELECT CASE WHEN act.state = 'cancelled' THEN 'cancelled'
                WHEN r % 20 < 14 THEN 'confirmed'
                WHEN r % 20 < 16 THEN 'cancelled'
                WHEN r % 20 = 16 THEN 'rejected'
                WHEN r % 20 = 17 THEN 'waitlisted'
                ELSE CASE WHEN act.needs_approval THEN 'pending' ELSE 'confirmed' END
           END AS state
) st
CROSS JOIN LATERAL (SELECT st.state = 'confirmed' AND act.starts_at < now()
                           AND act.state <> 'cancelled' AS held) h
"""


def _databases() -> dict[str, str]:
    return {s: f"postgresql+psycopg2://postgres@127.0.0.1:5432/lianxin_scale_{s}" for s in SERVICES}


def reset_databases() -> None:
    conn = psycopg2.connect(ADMIN)
    conn.autocommit = True
    with conn.cursor() as cur:
        for service in SERVICES:
            cur.execute(f'DROP DATABASE IF EXISTS "lianxin_scale_{service}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "lianxin_scale_{service}"')
    conn.close()


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


class ScaleSystem:
    """The whole system on PostgreSQL, filled to ``centers`` and ``tickets``."""

    def __init__(
        self,
        *,
        centers: int = 500,
        tickets: int = 1_000_000,
        quiet: bool = False,
        volunteers: int = 0,
        registrations: int = 0,
        separate: bool = False,
    ):
        self.centers, self.tickets, self.quiet = centers, tickets, quiet
        self.volunteers, self.registrations, self.separate = volunteers, registrations, separate
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._env: dict[str, str] | None = None
        self.db = _databases()
        self.var = Path(tempfile.mkdtemp(prefix="lianxin-scale-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.vhost = "scale_" + uuid.uuid4().hex[:8]
        self.proc: subprocess.Popen[bytes] | None = None

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, flush=True)

    def url(self, path: str) -> str:
        return self.base + path

    # -- starting -------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The system's environment (made once: the metrics ports stay the same)."""
        if self._env is not None:
            return self._env
        env = {
            **os.environ,
            "LIANXIN_VAR_DIR": str(self.var),
            "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{self.vhost}",
            "GATEWAY_ADDRESS": f"127.0.0.1:{self.port}",
            "PUBLIC_BURST": "100000",
            "PUBLIC_RATE": "100000",
        }
        env.pop("LIANXIN_JWKS_FILE", None)
        for service, url in self.db.items():
            env[f"{service.upper()}_DB_URL"] = url
        for name in (*SERVICES, "gateway", "reports"):
            env[f"{name.upper()}_METRICS_PORT"] = str(free_port())
        self._env = env
        return env

    def metrics_ports(self) -> dict[str, int]:
        env = self.env()
        return {n: int(env[f"{n.upper()}_METRICS_PORT"]) for n in (*SERVICES, "reports", "gateway")}

    def pids(self) -> dict[str, int]:
        """Each service's process (``separate``), or the one process of them all."""
        if self.separate:
            return {name: proc.pid for name, proc in self.procs.items()}
        assert self.proc is not None
        return {"all services": self.proc.pid}

    def mint(self, **claims: Any) -> str:
        """A token signed with the issuer's current key, from the scale accounts database
        (an hour long unless ``ttl`` says)."""
        from services.accounts.commands import mint as issue

        claims.setdefault("ttl", 3600)
        return issue(url=self.db["accounts"], **claims)

    def __enter__(self) -> ScaleSystem:
        # A bench stopped with SIGTERM (kill, timeout) cleans up as at a normal end: left
        # running, its services kept timers going on the shared databases and its scratch
        # vhost stayed on the broker.
        self._previous_sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        subprocess.run(["rabbitmqctl", "add_vhost", self.vhost], check=True, capture_output=True)
        subprocess.run(
            ["rabbitmqctl", "set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*"],
            check=True,
            capture_output=True,
        )
        reset_databases()
        env = self.env()
        # as `make run` does: migrate, then run
        subprocess.run(
            [str(ROOT / ".venv/bin/lianxin"), "migrate"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        self.log = self.var / "system.log"
        try:
            if self.separate:
                self._start_separately(env)
            else:
                with open(self.log, "wb") as out:
                    self.proc = subprocess.Popen(
                        [str(ROOT / ".venv/bin/lianxin"), "run", "--seed"],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline and self.proc.poll() is None:
                    if f"演示中心 {DEMO}" in self.log.read_text(errors="replace"):
                        break
                    time.sleep(0.5)
                else:
                    raise RuntimeError(f"the system did not start: see {self.log}")
            self.say(f"system up on PostgreSQL at {self.base} (log {self.log})")
            began = time.monotonic()
            self.fill_tickets()
            self.say(
                f"filled {self.tickets:,} tickets over {self.centers} centers "
                f"in {time.monotonic() - began:.0f} s"
            )
            if self.volunteers:
                began = time.monotonic()
                self.fill_volunteers()
                self.say(
                    f"filled {self.volunteers:,} volunteers in {time.monotonic() - began:.0f} s"
                )
            if self.registrations:
                began = time.monotonic()
                self.fill_events()
                self.say(
                    f"filled {self.registrations:,} registrations in "
                    f"{time.monotonic() - began:.0f} s"
                )
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start_separately(self, env: dict[str, str]) -> None:
        """Each service its own ``lianxin run <service>`` process (the gateway last), then
        ``lianxin seed`` once they all answer."""
        from nameko.standalone.rpc import ClusterRpcProxy

        lianxin = str(ROOT / ".venv/bin/lianxin")
        for name in (*SERVICES, "reports", "gateway"):
            with open(self.var / f"{name}.log", "wb") as out:
                self.procs[name] = subprocess.Popen(
                    [lianxin, "run", name],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        deadline = time.monotonic() + 180
        with ClusterRpcProxy({"AMQP_URI": env["AMQP_URI"]}, timeout=5) as rpc:
            for name in (*SERVICES, "reports"):
                while True:
                    try:
                        getattr(rpc, name).health()
                        break
                    except Exception:
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"{name} did not start: see {self.var}") from None
                        time.sleep(0.5)
        while True:
            try:
                requests.get(self.url("/healthz"), timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the gateway did not start: see {self.var}") from None
                time.sleep(0.5)
        with open(self.log, "wb") as out:
            subprocess.run(
                [lianxin, "seed"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=600,
            )

    def __exit__(self, *exc: Any) -> None:
        running = [p for p in (self.proc, *self.procs.values()) if p is not None]
        for proc in running:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in running:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run(["rabbitmqctl", "delete_vhost", self.vhost], capture_output=True)
        signal.signal(signal.SIGTERM, self._previous_sigterm)

    # -- filling --------------------------------------------------------------------------

    def fill_tickets(self) -> None:
        """The other centers (copies of the demo center's record and categories), then the
        tickets, 200k rows a statement, then ``VACUUM ANALYZE`` as a live database has."""
        engine = create_engine(self.db["tickets"].replace("+psycopg2", "+psycopg2"))
        with engine.begin() as conn:
            columns = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'centers' AND column_name NOT IN ('id', 'name')"
                    )
                )
            ]
            listed = ", ".join(columns)
            conn.execute(
                text(
                    f"INSERT INTO centers (id, name, {listed}) SELECT 'c' || lpad(g::text, 3, '0'), "
                    f"'第' || g || '党群服务中心', {listed} FROM centers, generate_series(1, :n) g "
                    "WHERE centers.id = :demo"
                ),
                {"n": self.centers - 1, "demo": DEMO},
            )
            cat_columns = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'categories' AND column_name <> 'center_id'"
                    )
                )
            ]
            listed = ", ".join(cat_columns)
            qualified = ", ".join(f"categories.{c}" for c in cat_columns)
            conn.execute(
                text(
                    f"INSERT INTO categories (center_id, {listed}) SELECT c.id, {qualified} "
                    "FROM categories, centers c WHERE categories.center_id = :demo "
                    "AND c.id <> :demo"
                ),
                {"demo": DEMO},
            )
            categories = conn.execute(
                text("SELECT count(*) FROM categories WHERE center_id = :demo"), {"demo": DEMO}
            ).scalar_one()
        step = 100_000
        bar = tqdm(total=self.tickets, desc="tickets", unit="row", disable=self.quiet)
        for start in range(1, self.tickets + 1, step):
            with engine.begin() as conn:
                conn.execute(
                    text(FILL_TICKETS),
                    {
                        "start": start,
                        "stop": min(self.tickets, start + step - 1),
                        "centers": self.centers,
                        "categories": categories,
                        "demo": DEMO,
                        "salt": "scale",
                    },
                )
            bar.update(min(self.tickets, start + step - 1) - start + 1)
        bar.close()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE tickets"))
        engine.dispose()

    def _fill(self, engine: Any, sql: str, total: int, desc: str, **params: Any) -> None:
        """``sql`` over ``:start``–``:stop`` in steps of 50k rows, with a progress bar."""
        step = 50_000
        bar = tqdm(total=total, desc=desc, unit="row", disable=self.quiet)
        for start in range(1, total + 1, step):
            stop = min(total, start + step - 1)
            with engine.begin() as conn:
                conn.execute(
                    text(sql),
                    {
                        "start": start,
                        "stop": stop,
                        "centers": self.centers,
                        "demo": DEMO,
                        "salt": "scale",
                        **params,
                    },
                )
            bar.update(stop - start + 1)
        bar.close()

    def fill_volunteers(self) -> None:
        """``volunteers`` over the centers, four hour entries each on average, and each
        volunteer's ``verified_minutes`` from the approved ones (as an approval keeps it)."""
        engine = create_engine(self.db["volunteers"])
        self._fill(engine, FILL_VOLUNTEERS, self.volunteers, "volunteers")
        self._fill(
            engine, FILL_HOURS, self.volunteers * 4, "hour entries", volunteers=self.volunteers
        )
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE volunteers v SET verified_minutes = v.verified_minutes + s.m FROM "
                    "(SELECT volunteer_id, sum(minutes) AS m FROM hour_entries "
                    "WHERE status = 'approved' AND decided_by = 'staff-social-1' "
                    "AND source = 'attendance' AND shift_id IS NULL GROUP BY volunteer_id) s "
                    "WHERE v.id = s.volunteer_id"
                )
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE volunteers"))
            conn.execute(text("VACUUM ANALYZE hour_entries"))
        engine.dispose()

    def fill_events(self) -> None:
        """Activities (40 a center), then ``registrations`` over them."""
        engine = create_engine(self.db["events"])
        activities = max(self.centers * 40, 1)
        per_activity = max(self.registrations // activities, 1)
        with engine.begin() as conn:
            conn.execute(
                text(FILL_ACTIVITIES),
                {
                    "activities": activities,
                    "centers": self.centers,
                    "demo": DEMO,
                    "salt": "scale",
                    "per_activity": per_activity,
                },
            )
        self._fill(
            engine, FILL_REGISTRATIONS, self.registrations, "registrations", activities=activities
        )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE activities"))
            conn.execute(text("VACUUM ANALYZE registrations"))
        engine.dispose()

    # -- people ---------------------------------------------------------------------------

    def password(self) -> str:
        found = re.search(r"开发密码 (\S+?)，", self.log.read_text(errors="replace"))
        assert found, "the system printed no development password"
        return found.group(1)

    def sign_in(self, account: str) -> requests.Session:
        """A browser's session (the cookie) of a seeded staff account; ``.csrf`` its secret."""
        session = requests.Session()
        page = session.get(self.url("/login"), timeout=10)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        done = session.post(
            self.url("/login"),
            data={
                "kind": "password",
                "center": DEMO,
                "account": account,
                "password": self.password(),
                "csrf_token": csrf.group(1),
            },
            timeout=30,
        )
        done.raise_for_status()
        found = re.search(r'name="csrf_token" value="([^"]+)"', done.text)
        session.csrf = found.group(1) if found else ""  # type: ignore[attr-defined]
        return session
