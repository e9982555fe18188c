"""Onboarding a second center on the real broker (issue 16's "Done when"): every service and
the gateway in-process, the accounts service issuing (``JWKS_FILE`` empty: real sign-in).

Ops onboard 银莺社区 from the demo center through the API; its first admin accepts the
invitation and signs in; the copied categories, rooms, programmes and wording are there; a
resident reports an issue there and the tickets service's /metrics counts it for that
center; the demo center's staff see nothing of it. Bad input is refused with nothing made,
a failure midway leaves nothing in any service, and a disabled center refuses writes, keeps
its data and shows its residents a Chinese page.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from lianxin.testing import free_port

pytestmark = pytest.mark.integration

TEMPLATE, NEW = "yanminghu", "yinying"
PASSWORD = "Lianxin2026ok"
SERVICES = ("accounts", "tickets", "volunteers", "events", "notify")
ONBOARD = {
    "id": NEW,
    "name": "银莺社区党群服务中心",
    "address": "银莺路 18 号",
    "from": TEMPLATE,
    "admin": {"person_id": "yy-admin", "name": "王主任", "phone": "13800001111", "login": "wangzr"},
}


@dataclass
class System:
    base: str
    metrics: str
    ops: str
    admin: str  # the template center's admin
    db_files: dict[str, str]

    def call(self, method: str, path: str, token: str | None = None, **kw: Any):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.base + path, headers=headers, timeout=60, **kw)

    def sign_in(self, center: str, account: str, password: str = PASSWORD) -> str:
        answer = self.call(
            "POST",
            "/api/v1/auth/token",
            json={"center": center, "account": account, "password": password},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def rows_of(self, center: str) -> dict[str, int]:
        """Rows naming ``center`` in each service's database (the kit's bookkeeping aside)."""
        found = {}
        for service, path in self.db_files.items():
            with sqlite3.connect(path) as db:
                tables = [
                    name
                    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                    if not re.search(r"outbox|processed|alembic", name)
                ]
                for table in tables:
                    columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
                    key = (
                        "center_id"
                        if "center_id" in columns
                        else "id"
                        if table == "centers"
                        else None
                    )
                    if key is None:
                        continue
                    (n,) = db.execute(
                        f"SELECT count(*) FROM {table} WHERE {key} = ?", (center,)
                    ).fetchone()
                    if n:
                        found[f"{service}.{table}"] = n
        return found


def wait_until(check, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


@pytest.fixture
def system(container_factory, service_config, sqlite_url, tmp_path):
    """Every service and the gateway; the demo center as template: two categories, a room,
    a programme and one reworded message, its admin signed in with a password."""
    from gateway.service import GatewayService
    from lianxin.services import load_class
    from services.accounts.commands import mint

    keys = {"JWKS_FILE": "", "JWKS_REFRESH_SECONDS": 1}
    metrics_port = free_port()
    extra = {
        "tickets": {"METRICS_PORT": metrics_port},
        "notify": {"SANDBOX_DIR": str(tmp_path / "sandbox")},
    }
    db_files, configs = {}, {}
    for name in SERVICES:
        url = sqlite_url(f"onboarding-{name}")
        db_files[name] = url.removeprefix("sqlite:///")
        configs[name] = service_config(name, db_url=url, **keys, **extra.get(name, {}))
        container_factory(load_class(name), configs[name]).start()
    port = free_port()
    container_factory(
        GatewayService,
        service_config(
            "gateway",
            WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
            PUBLIC_RATE=1000,
            PUBLIC_BURST=1000,
            **keys,
        ),
    ).start()
    ops = mint(url=configs["accounts"]["DB_URL"], sub="ops-1", role="ops", centers=["*"])
    system = System(
        f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics", ops, "", db_files
    )
    from nameko.standalone.rpc import ClusterRpcProxy

    from lianxin import auth

    with ClusterRpcProxy(
        {"AMQP_URI": configs["tickets"]["AMQP_URI"]}, context_data={auth.CONTEXT_KEY: ops}
    ) as rpc:
        rpc.tickets.create_center({"id": TEMPLATE, "name": "雁鸣湖镇镇区社区党群服务中心"})
    made = system.call(
        "POST",
        f"/api/v1/accounts?center={TEMPLATE}",
        ops,
        json={"person_id": "admin-1", "role": "admin", "password": PASSWORD},
    )
    assert made.status_code == 201, made.text
    system.admin = admin = system.sign_in(TEMPLATE, "admin-1")
    for body, path in (
        ({"code": "sanitation", "name": "环境卫生", "party": "property"}, "/api/v1/categories"),
        (
            {
                "code": "elderly_care",
                "name": "独居老人帮扶",
                "party": "social_work",
                "keywords": ["独居", "老人"],
            },
            "/api/v1/categories",
        ),
        ({"code": "library", "name": "图书室", "capacity": 20}, "/api/v1/rooms"),
        ({"code": "yuedong", "name": "悦动耄耋"}, "/api/v1/programmes"),
    ):
        answer = system.call("POST", path, admin, json=body)
        assert answer.status_code == 201, answer.text
    reworded = system.call(
        "PUT",
        "/api/v1/templates/ticket.created/sms",
        admin,
        json={"title": "新诉求", "body": "新诉求（{{ category_name }}）待签收：{{ summary }}"},
    )
    assert reworded.status_code == 200, reworded.text
    return system


def _onboard(system: System, body: dict[str, Any] | None = None, token: str | None = None):
    return system.call("POST", "/api/v1/centers", token or system.ops, json=body or ONBOARD)


def _scraped(system: System, name: str, center: str) -> float:
    text = requests.get(system.metrics, timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and f'center="{center}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_second_center_onboarded_from_the_template_serves_its_own_people_only(system):
    made = _onboard(system)
    assert made.status_code == 201, made.text
    answer = made.json()
    assert answer["center"]["id"] == NEW and answer["center"]["status"] == "active"
    assert answer["copied"] == {
        "categories": 2,
        "rooms": 1,
        "programmes": 1,
        "templates": 1,
        "contacts": 1,
    }
    assert answer["admin_login"] == "wangzr"

    # the first admin accepts the invitation and signs in
    token = answer["invitation_url"].rsplit("/", 1)[1]
    accepted = system.call("POST", f"/api/v1/auth/invitations/{token}", json={"password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    admin = system.sign_in(NEW, "wangzr")
    me = system.call("GET", "/api/v1/auth/me", admin).json()
    assert me["role"] == "admin" and NEW in str(me)

    # what the template had, the new center has
    categories = system.call("GET", "/api/v1/categories", admin).json()
    assert sorted(c["code"] for c in categories) == ["elderly_care", "sanitation"]
    elderly = next(c for c in categories if c["code"] == "elderly_care")
    assert elderly["party"] == "social_work" and elderly["keywords"] == ["独居", "老人"]
    assert [r["code"] for r in system.call("GET", "/api/v1/rooms", admin).json()] == ["library"]
    programmes = system.call("GET", "/api/v1/programmes", admin).json()
    assert [p["code"] for p in programmes] == ["yuedong"]
    wording = system.call("GET", "/api/v1/templates?message_type=ticket.created", admin).json()
    sms = [t for t in wording if t["channel"] == "sms"]
    assert sms and sms[0]["overridden"] and sms[0]["title"] == "新诉求"
    # ... and every service knows the center: its admin configures there
    room = system.call(
        "POST", "/api/v1/rooms", admin, json={"code": "hall", "name": "议事厅", "capacity": 40}
    )
    assert room.status_code == 201, room.text

    # a resident reports an issue at the new center
    # (the registry is the process's: earlier tests counted too, so compare before and after)
    before = _scraped(system, "lianxin_tickets_received_total", NEW)
    template_before = _scraped(system, "lianxin_tickets_received_total", TEMPLATE)
    report = system.call(
        "POST",
        "/api/v1/public/tickets",
        json={"center_id": NEW, "category": "sanitation", "description": "银莺路口的垃圾没人清"},
    )
    assert report.status_code == 201, report.text
    ticket_id = report.json()["id"]
    mine = system.call("GET", "/api/v1/tickets", admin).json()
    assert [t["id"] for t in mine["items"]] == [ticket_id]
    # on that center's metrics (the tickets service's own /metrics port)
    assert wait_until(lambda: _scraped(system, "lianxin_tickets_received_total", NEW) > before)
    assert _scraped(system, "lianxin_tickets_received_total", TEMPLATE) == template_before

    # the first center's staff see nothing of it
    theirs = system.call("GET", "/api/v1/tickets", system.admin).json()
    assert ticket_id not in [t["id"] for t in theirs["items"]]
    assert system.call("GET", f"/api/v1/tickets/{ticket_id}", system.admin).status_code == 404
    assert system.call("GET", f"/api/v1/centers/{NEW}", system.admin).status_code == 403
    other = system.call("GET", f"/api/v1/tickets?center={NEW}", system.admin).json()
    assert ticket_id not in [t["id"] for t in other["items"]]

    # ops see both centers; the new one by itself
    listed = system.call("GET", "/api/v1/centers", system.ops).json()
    assert [(c["id"], c["status"]) for c in listed] == [(TEMPLATE, "active"), (NEW, "active")]
    renamed = system.call(
        "PATCH", f"/api/v1/centers/{NEW}", system.ops, json={"name": "银莺社区党群服务中心（新）"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"].endswith("（新）")


def test_bad_input_is_refused_and_nothing_is_half_created(system):
    cases = [
        ({**ONBOARD, "id": "Bad_Id"}, None, 422),
        ({**ONBOARD, "from": "nowhere"}, None, 422),
        ({**ONBOARD, "id": TEMPLATE}, None, 409),
        ({k: v for k, v in ONBOARD.items() if k != "admin"}, None, 422),
        (ONBOARD, system.admin, 403),
    ]
    for body, token, status in cases:
        answer = _onboard(system, body, token)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["Content-Type"].startswith("application/problem+json")
    unknown = _onboard(system, {**ONBOARD, "from": "nowhere"}).json()
    assert unknown["code"] == "TEMPLATE_NOT_FOUND" and "模板中心" in unknown["detail"]
    assert system.call("POST", "/api/v1/centers", json=ONBOARD).status_code == 401
    assert system.rows_of(NEW) == {}
    # an id in use: the existing center is untouched
    assert system.call("GET", f"/api/v1/centers/{TEMPLATE}", system.ops).json()["name"] == (
        "雁鸣湖镇镇区社区党群服务中心"
    )
    assert _onboard(system).status_code == 201
    again = _onboard(system)
    assert again.status_code == 409 and again.json()["code"] == "CENTER_EXISTS"


def test_a_failure_midway_leaves_no_part_of_the_center_in_any_service(system, monkeypatch):
    from services.notify import copying

    def broken(**_: Any) -> None:
        raise RuntimeError("the directory's disk is full")

    # notify fails after events copied the rooms and programmes, and after notify itself
    # copied the wording in its transaction
    monkeypatch.setattr(copying, "upsert_contact", broken)
    failed = _onboard(system)
    assert failed.status_code >= 500, failed.text
    assert failed.headers["Content-Type"].startswith("application/problem+json")
    assert system.rows_of(NEW) == {}
    assert system.call("GET", f"/api/v1/centers/{NEW}", system.ops).status_code == 404
    assert system.call("GET", f"/api/v1/public/centers/{NEW}").status_code == 404

    # accounts fails (after events and notify did their part): all undone as well
    monkeypatch.undo()
    from services.accounts import registry

    def refused(*_: Any, **__: Any) -> None:
        raise RuntimeError("the accounts database is down")

    monkeypatch.setattr(registry, "create", refused)
    assert _onboard(system).status_code >= 500
    assert system.rows_of(NEW) == {}

    # and once all is well again, the same onboarding succeeds
    monkeypatch.undo()
    assert _onboard(system).status_code == 201
    assert {k.split(".")[0] for k in system.rows_of(NEW)} == {
        "tickets",
        "events",
        "notify",
        "accounts",
    }


def test_a_disabled_center_refuses_writes_keeps_its_data_and_tells_its_residents(system):
    made = _onboard(system).json()
    token = made["invitation_url"].rsplit("/", 1)[1]
    system.call("POST", f"/api/v1/auth/invitations/{token}", json={"password": PASSWORD})
    admin = system.sign_in(NEW, "wangzr")
    report = {"center_id": NEW, "category": "sanitation", "description": "银莺路口的垃圾没人清"}
    assert system.call("POST", "/api/v1/public/tickets", json=report).status_code == 201

    disabled = system.call("POST", f"/api/v1/centers/{NEW}/disable", system.ops)
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"

    # intake and the center's configuration: refused, in Chinese
    later = {**report, "description": "银莺路的路灯坏了三天了"}
    refused = system.call("POST", "/api/v1/public/tickets", json=later)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "CENTER_DISABLED" and "已停用" in refused.json()["detail"]
    listing = system.call("GET", f"/api/v1/public/centers/{NEW}/categories")
    assert listing.status_code == 409 and "已停用" in listing.json()["detail"]
    category = {"code": "noise", "name": "噪音扰民", "party": "property"}
    assert system.call("POST", "/api/v1/categories", admin, json=category).status_code == 409

    # every service learns it from center.updated
    def room_refused() -> bool:
        room = {"code": "gym", "name": "健身房", "capacity": 10}
        answer = system.call("POST", "/api/v1/rooms", admin, json=room)
        return answer.status_code == 409 and answer.json()["code"] == "CENTER_DISABLED"

    assert wait_until(room_refused), "events still takes rooms of a disabled center"
    contact = {"person_id": "yy-2", "name": "李四", "role": "staff"}
    assert system.call("POST", "/api/v1/contacts", admin, json=contact).status_code == 409
    staff = {"person_id": "yy-3", "role": "staff"}
    assert system.call("POST", "/api/v1/accounts", admin, json=staff).status_code == 409

    # its data stays readable
    assert len(system.call("GET", "/api/v1/tickets", admin).json()["items"]) == 1
    assert [r["code"] for r in system.call("GET", "/api/v1/rooms", admin).json()] == ["library"]
    assert system.call("GET", f"/api/v1/centers/{NEW}", system.ops).json()["status"] == "disabled"

    # its residents' pages say so; an unknown center's are a Chinese 404
    page = system.call("GET", f"/m/{NEW}/report")
    assert page.status_code == 503 and "text/html" in page.headers["Content-Type"]
    assert "该服务中心已暂停线上服务" in page.text and "12345" in page.text
    assert system.call("GET", f"/m/{NEW}").status_code == 503
    unknown = system.call("GET", "/m/nowhere/report")
    assert unknown.status_code == 404 and "没有这个服务中心" in unknown.text
    assert system.call("GET", f"/m/{TEMPLATE}/").status_code == 200  # a center in service

    # enabled again: all goes on
    assert system.call("POST", f"/api/v1/centers/{NEW}/enable", system.ops).status_code == 200
    assert system.call("POST", "/api/v1/public/tickets", json=later).status_code == 201
    assert wait_until(
        lambda: (
            system.call(
                "POST",
                "/api/v1/rooms",
                admin,
                json={"code": "gym", "name": "健身房", "capacity": 10},
            ).status_code
            == 201
        )
    )
