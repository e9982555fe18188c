"""Who may do what, tried against the whole system: every gateway route × every kind of caller
(resident, volunteer, cadre, social worker, two parties' handlers, admin, department, ops) ×
their own center or another — generated from the routes and the operation table, so a route
added tomorrow is in the matrix without a line here.

All four services and the gateway run as nameko containers on the test's vhost (real broker,
SQLite), with two centers (雁鸣湖 and 凤凰台) holding the same objects: a ticket per party,
a volunteer and their sign-up, a beneficiary, a shift, a room and a booking, an activity and a
registration, contacts. Each request names 雁鸣湖's objects (its path ids; ``?center=`` for
the multi-center tokens of departments and ops). Then:

- a cell the operation refuses — ``op.permits`` is false, a target rule says no (another
  party's ticket, another person's contact or booking), or the caller's token is for the
  other center — answers 401, 403 or 404 and changes nothing of 雁鸣湖's (every refused cell
  runs first, and each service's rows of the center are compared before and after each route);
- an allowed cell does not answer 401 or 403;
- no answer carries what the caller may not see: the other center's ids, another party's
  tickets for a handler, another resident's tickets, a beneficiary's file or a resident's
  phone number for a handler.

Every failing cell is collected and reported at once; the matrix's size is printed.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from lianxin.contracts.notify.operations import sees_anyone
from lianxin.contracts.tickets.operations import sees_ticket
from lianxin.roles import Principal
from lianxin.testing import free_port

pytestmark = pytest.mark.integration

OWN, OTHER = "yanminghu", "fenghuangtai"
CENTER_NAMES = {OWN: "雁鸣湖镇镇区社区党群服务中心", OTHER: "凤凰台社区党群服务中心"}
#: A category per party (the ticket of each is routed to that party).
CATEGORIES = {
    "property": ("sanitation", "环境卫生"),
    "social_work": ("elderly_care", "养老服务"),
    "owners_committee": ("parking", "小区停车"),
    "village_committee": ("roads", "道路维修"),
}
#: Phone numbers a party's handler must never read (the directory is the center staff's).
PHONES = {OWN: "13812340001", OTHER: "13912340002"}
SERVICES = ("accounts", "tickets", "volunteers", "events", "notify")
#: Rows that move by themselves (the outbox relay, event bookkeeping), not by a request.
RESTLESS = re.compile(r"outbox|processed|consumed|seen|lease|alembic", re.I)


@dataclass(frozen=True)
class Caller:
    """One column of the matrix: who calls, with a token for which center."""

    name: str
    role: str
    sub: str
    party: str | None = None

    def principal(self, center: str) -> Principal:
        return Principal(self.sub, self.role, (center,), self.party)


CALLERS = (
    Caller("resident", "resident", "resident-1"),
    Caller("volunteer", "volunteer", "volunteer-1"),
    Caller("cadre", "staff", "cadre-1"),
    Caller("social_worker", "staff", "sw-1", "social_work"),
    Caller("handler_property", "staff", "wy-1", "property"),
    Caller("handler_owners_committee", "staff", "yw-1", "owners_committee"),
    Caller("admin", "admin", "admin-1"),
    Caller("department", "department", "department-1"),
    Caller("ops", "ops", "ops-1"),
)


@dataclass
class Objects:
    """What one center holds, by kind, and the texts only some callers may read."""

    center: str
    tickets: dict[str, str] = field(default_factory=dict)  # party → ticket id
    ids: dict[str, str] = field(default_factory=dict)  # path parameter → value

    def all_ids(self) -> set[str]:
        return {*self.tickets.values(), *(v for k, v in self.ids.items() if k in _SECRET_IDS)}


#: The path values that are a center's own (generated) ids: never in another center's answers.
#: (A room's code, a person id or a message type may name the same thing in both centers.)
_SECRET_IDS = (
    "volunteer_id",
    "beneficiary_id",
    "shift_id",
    "signup_id",
    "activity_id",
    "registration_id",
    "booking_id",
    "account_id",
)


#: Path values that only the own center has: another center's caller naming one finds nothing.
_OWN_ONLY = ("ticket_id", "request_id", *_SECRET_IDS)


def _soon(days: int, hours: int = 10) -> datetime:
    day = datetime.now(UTC).replace(hour=hours, minute=0, second=0, microsecond=0)
    return day + timedelta(days=days)


def _seed(rpc: Any, token: Any, center: str) -> Objects:
    """The same objects in ``center``, made through the services as their owners would."""
    found = Objects(center)
    rpc(token("ops", "*")).tickets.create_center({"id": center, "name": CENTER_NAMES[center]})
    admin = rpc(token("admin", center, sub="admin-1"))
    for party, (code, name) in CATEGORIES.items():
        admin.tickets.add_category(center, {"code": code, "name": name, "party": party})
    cadre = rpc(token("staff", center, sub="cadre-1"))
    for person, phone in (
        ("resident-1", PHONES[center]),
        ("resident-2", PHONES[center][:-1] + "9"),
    ):
        cadre.notify.upsert_contact(
            center, {"person_id": person, "name": "居民", "role": "resident", "phone": phone}
        )
    resident = rpc(token("resident", center, sub="resident-1"))
    neighbour = rpc(token("resident", center, sub="resident-2"))
    for party, (code, _) in CATEGORIES.items():
        who = resident if party == "property" else neighbour
        made = who.tickets.create_ticket(
            center, {"category": code, "description": f"{center}的{party}诉求，请尽快处理"}
        )
        found.tickets[party] = made["id"]
    social = rpc(token("staff", center, sub="sw-1", party="social_work"))
    volunteer = social.volunteers.register_volunteer(
        center, {"name": "张志强", "person_id": "volunteer-1", "skills": ["cleaning"]}
    )
    beneficiary = social.volunteers.register_beneficiary(
        center,
        {
            "file_no": f"{center[:2].upper()}-001",
            "name": f"{center}帮扶对象",
            "category": "elderly_alone",
            "birth_year": 1944,
            "care_needs": ["life_care"],
            "address": "6 号楼 1 单元 101 室",
        },
    )
    starts = _soon(3)
    shift = social.volunteers.publish_shift(
        center,
        {
            "title": "打扫卫生",
            "kind": "cleaning",
            "capacity": 3,
            "place": "6 号楼",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
        },
    )
    signup = rpc(token("volunteer", center, sub="volunteer-1")).volunteers.sign_up(
        center, shift["id"], {}
    )
    admin.events.add_room(center, {"code": "hall", "name": "多功能厅", "capacity": 50})
    activity = cadre.events.create_activity(
        center,
        {
            "title": "重阳节包饺子",
            "starts_at": _soon(5).isoformat(),
            "ends_at": _soon(5, 12).isoformat(),
            "capacity": 30,
            "place": "二楼活动室",
        },
    )
    registration = resident.events.register_for_activity(center, activity["id"], {})
    [booking, *_] = resident.events.book_room(
        center,
        "hall",
        {
            "starts_at": _soon(6, 14).isoformat(),
            "ends_at": _soon(6, 16).isoformat(),
            "purpose": "楼栋议事会",
        },
    )["items"]
    account = admin.accounts.create_account(
        center, {"person_id": "wy-1", "role": "staff", "party": "property", "login": "wy-1"}
    )
    found.ids = {
        "account_id": account["id"],
        "token": "no-such-invitation",
        "center_id": OWN,
        "ticket_id": found.tickets["property"],
        "request_id": found.tickets["property"],
        "jurisdiction_id": OWN,
        "service_code": "sanitation",
        "photo_id": "0" * 32,
        "volunteer_id": volunteer["id"],
        "milestone": "50h",
        "beneficiary_id": beneficiary["id"],
        "shift_id": shift["id"],
        "signup_id": signup["id"],
        "entry_id": "1",
        "correction_id": "1",
        "activity_id": activity["id"],
        "registration_id": registration["id"],
        "code": "hall",
        "booking_id": booking["id"],
        "month": _soon(0).strftime("%Y-%m"),
        "item_id": "no-such-item",
        "notification_id": "1",
        "person_id": "resident-1",
        "message_type": "ticket.created",
        "channel": "sms",
        "key": "no-such-key",
        "subscription_id": "no-such-subscription",
    }
    return found


def _payloads(own: Objects) -> dict[str, Any]:
    """A plausible body per operation (by its name), naming the own center's objects."""
    at = _soon(4)
    span = {"starts_at": at.isoformat(), "ends_at": (at + timedelta(hours=2)).isoformat()}
    return {
        "public_create_ticket": {
            "center_id": OWN,
            "category": "sanitation",
            "description": "路灯坏了好几天了",
        },
        "create_ticket": {"category": "sanitation", "description": "楼道里堆满了杂物没人清"},
        "support_ticket": {"center_id": OWN},
        "rate_public_ticket": {"rating": "satisfied", "follow_code": "NOPE"},
        "suggest": {"description": "垃圾没人清"},
        "assign_ticket": {"party": "property"},
        "return_ticket": {"reason": "不属于本单位职责"},
        "resolve_ticket": {"answer": "已安排人员处理"},
        "escalate_ticket": {"reason": "需要联席会协调"},
        "merge_ticket": {"primary_id": own.tickets["social_work"]},
        "urge_ticket": {"note": "请尽快办理"},
        "close_ticket": {"reason": "多次联系不上"},
        "reopen_ticket": {"reason": "问题又出现了"},
        "rate_ticket": {"rating": "satisfied"},
        "suggest_beneficiary_person": {"phone": PHONES[OWN]},
        "link_beneficiary_person": {"person_id": "resident-1", "confirmed": True},
        "decide_agenda_item": {"decision": "resolve", "note": "已协调"},
        "add_category": {"code": "noise", "name": "噪音扰民", "party": "property"},
        "add_duty_shift": {"person_id": "cadre-1", "name": "值班", **span},
        "create_api_key": {"name": "市热线"},
        "register_volunteer": {"name": "新志愿者"},
        "record_training": {
            "kind": "training",
            "title": "急救培训",
            "occurred_on": at.date().isoformat(),
            "volunteer_ids": [own.ids["volunteer_id"]],
        },
        "register_beneficiary": {
            "name": "新对象",
            "category": "elderly_alone",
            "care_needs": ["life_care"],
            "address": "1 号楼",
        },
        "import_beneficiaries": {"items": []},
        "record_visit": {
            "visited_at": _soon(-1).isoformat(),
            "volunteers": [{"volunteer_id": own.ids["volunteer_id"], "hours": 1}],
        },
        "import_visits": {"items": []},
        "publish_shift": {
            "title": "陪同就医",
            "kind": "cleaning",
            "capacity": 1,
            "place": "社区医院",
            **span,
        },
        "cancel_shift": {"reason": "天气原因"},
        "mark_no_show": {"volunteer_id": own.ids["volunteer_id"]},
        "sign_up": {"volunteer_id": own.ids["volunteer_id"]},
        "check_in": {"volunteer_id": own.ids["volunteer_id"]},
        "check_out": {"volunteer_id": own.ids["volunteer_id"]},
        "reject_hours": {"note": "时长不符"},
        "reject_correction": {"note": "时长不符"},
        "request_correction": {
            "signup_id": own.ids["signup_id"],
            "checked_in_at": _soon(-2).isoformat(),
            "checked_out_at": (_soon(-2) + timedelta(hours=1)).isoformat(),
            "reason": "忘记签到",
        },
        "add_programme": {"code": "elderly", "name": "为老服务"},
        "create_activity": {"title": "健康讲座", "capacity": 20, "place": "二楼", **span},
        "record_activities": {"items": []},
        "cancel_activity": {"reason": "场地维修"},
        "update_activity": {"description": "改在二楼"},
        "register_for_activity": {"person_id": "resident-1"},
        "check_in_registration": {"registration_id": own.ids["registration_id"]},
        "record_walk_ins": {"count": 3},
        "reject_registration": {"reason": "名额已满"},
        "reject_booking": {"reason": "场地冲突"},
        "add_room": {"code": "library", "name": "图书室", "capacity": 20},
        "book_room": {**span, "purpose": "居民议事"},
        "upsert_contact": {"person_id": "new-1", "name": "新居民", "role": "resident"},
        "update_alerting": {"fallback_person_ids": [], "leadership_person_ids": []},
        "save_template": {"title": "标题", "body": "内容"},
        "preview_template": {"message_type": "ticket.created"},
        "set_quiet_hours": {"start": "22:00", "end": "07:00"},
        "schedule_message": {
            "key": "matrix-1",
            "person_id": "resident-1",
            "kind": "reminder",
            "send_at": _soon(2).isoformat(),
        },
        "create_subscription": {
            "url": "https://dept.example.cn/hook",
            "types": ["cn.lianxin.tickets.*"],
            "centers": [OWN],
        },
        "replay_subscription": {"start": span["starts_at"], "end": span["ends_at"]},
        "send_code": {"center": OWN, "phone": PHONES[OWN]},
        "sign_in": {"center": OWN, "account": "wy-1", "password": "Wrong-password-1"},
        "accept_invitation": {"password": "Lianxin2026ok"},
        "create_account": {"person_id": "new-staff", "role": "staff"},
        "update_account": {"party": "village_committee"},
    }


def _target_refuses(route: Any, who: Principal, own: Objects) -> bool:
    """Whether a rule on the object acted upon refuses ``who`` (the objects are the own
    center's: the property party's ticket of resident-1, resident-1's contact and booking,
    volunteer-1's record and sign-up)."""
    names = re.findall(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", route.path)
    op = route.op
    if "ticket_id" in names and op.roles is not None:
        return not sees_ticket(who, _Ticket("property", "resident-1"))
    rules = {r.name for r in op.rules}
    if "own_person" in rules and "person_id" in names:
        return not sees_anyone(who) and who.id != "resident-1"
    if op.name == "cancel_booking":
        return not who.admitted_by(("cadre", "social_worker", "admin")) and who.id != "resident-1"
    return False


@dataclass(frozen=True)
class _Ticket:
    party: str
    reporter_id: str


def _forbidden_texts(caller: Caller, center: str, objects: dict[str, Objects]) -> set[str]:
    """What an answer to ``caller`` (token for ``center``) must never contain."""
    other = objects[OTHER if center == OWN else OWN]
    mine = objects[center]
    texts = other.all_ids() | {PHONES[other.center], f"{other.center}帮扶对象"}
    who = caller.principal(center)
    for party, ticket_id in mine.tickets.items():
        reporter = "resident-1" if party == "property" else "resident-2"
        if who.role in ("resident", "staff") and not sees_ticket(who, _Ticket(party, reporter)):
            texts.add(ticket_id)
    if who.role == "staff" and not sees_anyone(who):
        texts |= {PHONES[center], f"{center}帮扶对象", mine.ids["beneficiary_id"]}
    return texts


def _short(answer: requests.Response) -> str:
    return " ".join(answer.text.split())[:160]


def _digest(db_files: dict[str, str], center: str) -> dict[str, str]:
    """A digest of each table's rows of ``center`` (tables with a ``center_id``)."""
    digests = {}
    for service, path in db_files.items():
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [
                r[0] for r in conn.execute("select name from sqlite_master where type='table'")
            ]
            for table in tables:
                if RESTLESS.search(table):
                    continue
                columns = [r[1] for r in conn.execute(f'pragma table_info("{table}")')]
                if "center_id" not in columns:
                    continue
                rows = conn.execute(
                    f'select * from "{table}" where center_id = ? order by 1', (center,)
                ).fetchall()
                digests[f"{service}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
        finally:
            conn.close()
    return digests


def _settled(db_files: dict[str, str], center: str) -> dict[str, str]:
    """The digest once nothing moves any more (events still being handled, say)."""
    last = _digest(db_files, center)
    for _ in range(40):
        time.sleep(0.25)
        now = _digest(db_files, center)
        if now == last:
            return now
        last = now
    return last


@pytest.fixture
def system(container_factory, service_config, sqlite_url, rpc, token):
    """All four services and the gateway; both centers seeded; the DB files by service."""
    from gateway.service import GatewayService
    from lianxin.services import load_class

    db_files = {}
    for name in SERVICES:
        url = sqlite_url(f"matrix-{name}")
        db_files[name] = url.removeprefix("sqlite:///")
        container_factory(load_class(name), service_config(name, db_url=url)).start()
    # The read side across the others (reports, care files): no database of its own.
    container_factory(load_class("reports"), service_config("reports")).start()
    port = free_port()
    container_factory(
        GatewayService,
        service_config(
            "gateway",
            WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
            PUBLIC_RATE=10000,
            PUBLIC_BURST=10000,
        ),
    ).start()
    objects = {center: _seed(rpc, token, center) for center in (OWN, OTHER)}
    return f"http://127.0.0.1:{port}", objects, db_files


@dataclass(frozen=True)
class Cell:
    """One cell: a route, a caller, the center of their token, and whether it is refused
    (``None``: either may be right — a public route asked with another center's token)."""

    route: Any
    caller: Caller
    center: str
    refused: bool | None

    @property
    def label(self) -> str:
        return f"{self.route.method} {self.route.path} × {self.caller.name} @{self.center}"

    @property
    def guarded(self) -> bool:
        """Run in the first pass, where nothing of the own center may change: refused, or
        an id-free route asked by another center's caller (acting on their own center)."""
        return self.route.op.roles is not None and (bool(self.refused) or self.center == OTHER)


def _cells(routes: list[Any], own: Objects) -> list[Cell]:
    """Every route × caller × center, with what the operation table says of it."""
    cells = []
    for route in routes:
        has_ids = any(f"<{name}>" in route.path for name in _OWN_ONLY)
        for caller in CALLERS:
            for center in (OWN, OTHER):
                who = caller.principal(center)
                refused: bool | None
                if route.op.roles is None:
                    # Public: anyone may, for the center the path names; a token of another
                    # center may be refused (a resident joining another center's ticket).
                    refused = False if center == OWN else None
                elif center == OTHER:
                    names_own = has_ids or route.op.name == "create_subscription"
                    refused = not route.op.permits(who) or names_own
                else:
                    refused = not route.op.permits(who) or _target_refuses(route, who, own)
                cells.append(Cell(route, caller, center, refused))
    return cells


class Matrix:
    """Sends the cells' requests and collects what is wrong with the answers."""

    def __init__(self, base: str, objects: dict[str, Objects], tokens: dict[Any, str]):
        self.base, self.objects, self.tokens = base, objects, tokens
        self.own = objects[OWN]
        self.payloads = _payloads(self.own)
        self.session = requests.Session()
        self.failures: list[str] = []
        self.errors: list[str] = []

    def send(self, cell: Cell) -> requests.Response:
        route = cell.route
        path = re.sub(
            r"<(?:[a-z]+:)?([a-zA-Z_]+)>", lambda m: str(self.own.ids[m.group(1)]), route.path
        )
        headers = {"Authorization": f"Bearer {self.tokens[cell.caller.name, cell.center]}"}
        if route.op.if_match:
            headers["If-Match"] = "*"
        writes = route.method in ("POST", "PUT", "PATCH")
        answer = self.session.request(
            route.method,
            self.base + path,
            params={"center": OWN},
            json=self.payloads.get(route.op.name, {}) if writes else None,
            headers=headers,
            timeout=30,
        )
        self.check_body(cell, answer)
        return answer

    def check_body(self, cell: Cell, answer: requests.Response) -> None:
        if answer.status_code >= 300 or not answer.content:
            return
        # A public route answers for the center its path names, whoever asks.
        center = OWN if cell.route.op.roles is None else cell.center
        text = answer.content.decode("utf-8", "replace")
        forbidden = _forbidden_texts(cell.caller, center, self.objects)
        leaked = sorted(t for t in forbidden if t in text)
        if leaked:
            self.failures.append(f"LEAK {cell.label}: {answer.status_code} carries {leaked}")

    def guarded_pass(self, cells: list[Cell], db_files: dict[str, str]) -> None:
        """Refused cells (and other centers' callers): answered 401/403/404, and the own
        center's rows are the same after each route's cells as before."""
        before = _settled(db_files, OWN)
        by_route: dict[int, list[Cell]] = {}
        for cell in cells:
            by_route.setdefault(id(cell.route), []).append(cell)
        for mine in by_route.values():
            route = mine[0].route
            for cell in mine:
                answer = self.send(cell)
                if cell.refused and answer.status_code not in (401, 403, 404):
                    self.failures.append(f"NOT REFUSED {cell.label}: {_short(answer)}")
            if route.method != "GET":
                after = _digest(db_files, OWN)
                if after != before:
                    changed = sorted(k for k in after if after.get(k) != before.get(k))
                    self.failures.append(f"CHANGED by {route.method} {route.path}: {changed}")
                    before = _settled(db_files, OWN)

    def allowed_pass(self, cells: list[Cell]) -> None:
        """Allowed cells: never 401/403 (a 5xx is noted, not a permission failure)."""
        for cell in cells:
            answer = self.send(cell)
            if cell.refused is None:
                continue
            if answer.status_code in (401, 403) and not _about_credentials(answer):
                self.failures.append(f"REFUSED ALLOWED {cell.label}: {_short(answer)}")
            elif answer.status_code >= 500:
                self.errors.append(f"{cell.label}: {_short(answer)}")


#: A sign-in route's 401 judges the credentials in its body (a password, a refresh token),
#: not the caller: the body's, whoever sends it.
CREDENTIAL_CODES = (
    "SIGN_IN_FAILED",
    "CODE_INVALID",
    "REFRESH_MISSING",
    "REFRESH_INVALID",
    "REFRESH_REUSED",
)


def _about_credentials(answer: requests.Response) -> bool:
    try:
        return answer.status_code == 401 and answer.json().get("code") in CREDENTIAL_CODES
    except ValueError:
        return False


def test_every_route_refuses_whom_the_operation_table_refuses_and_nothing_leaks(system, token):
    from gateway.api import ROUTES

    base, objects, db_files = system
    tokens = {
        (c.name, center): token(c.role, center, sub=c.sub, party=c.party)
        for c in CALLERS
        for center in (OWN, OTHER)
    }
    cells = _cells(ROUTES, objects[OWN])
    matrix = Matrix(base, objects, tokens)
    started = time.perf_counter()
    matrix.guarded_pass([c for c in cells if c.guarded], db_files)
    matrix.allowed_pass([c for c in cells if not c.guarded])
    elapsed = time.perf_counter() - started
    size = f"{len(ROUTES)} routes × {len(CALLERS)} callers × 2 centers = {len(cells)} cells"
    print(f"\npermission matrix: {size}, {elapsed:.1f} s; {len(matrix.failures)} failures")
    for line in matrix.errors:
        print("5xx (not a permission failure):", line)
    assert not matrix.failures, "\n".join([size, *matrix.failures])
