"""Sign-in on the real broker: the accounts service issuing, notify sending the code, the
gateway and the services verifying with the issuer's public keys (``JWKS_FILE`` empty: no
test key is trusted here) and the gateway refusing revoked sessions.

invite → first sign-in → act → disable → the next request refused; the phone-code flow with
the sandbox SMS (a resident sees the ticket a clerk registered from their call); lockout;
the browser's cookie session with CSRF; refresh rotation; key rotation with its overlap.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from lianxin.testing import free_port

pytestmark = pytest.mark.integration

CENTER = "yanminghu"
PASSWORD = "Lianxin2026ok"
PHONE = "13812345678"


@dataclass
class System:
    base: str
    sandbox: Path
    ops: str
    admin: str
    accounts_db: str = ""

    def url(self, path: str) -> str:
        return self.base + path

    def call(self, method: str, path: str, token: str | None = None, **kw: Any):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url(path), headers=headers, timeout=15, **kw)

    def sign_in(self, account: str, password: str, center: str = CENTER):
        return self.call(
            "POST",
            "/api/v1/auth/token",
            json={"center": center, "account": account, "password": password},
        )

    def codes(self) -> list[str]:
        path = self.sandbox / "sms.jsonl"
        if not path.exists():
            return []
        lines = [json.loads(line) for line in path.read_text().splitlines() if line]
        texts = [json.dumps(line, ensure_ascii=False) for line in lines]
        return [re.search(r"验证码是 (\d{6})", text).group(1) for text in texts]


@pytest.fixture
def system(container_factory, service_config, rpc, tmp_path):
    """accounts, tickets, notify and the gateway on the issuer's keys; the demo center with
    one category; its first admin signed in with a password."""
    from gateway.service import GatewayService
    from lianxin.services import load_class
    from services.accounts.commands import mint

    sandbox = tmp_path / "sandbox"
    keys = {"JWKS_FILE": "", "JWKS_REFRESH_SECONDS": 1}
    accounts = service_config("accounts", KEY_OVERLAP_SECONDS=3, **keys)
    container_factory(load_class("accounts"), accounts).start()
    for name, extra in (("tickets", {}), ("notify", {"SANDBOX_DIR": str(sandbox)})):
        container_factory(load_class(name), service_config(name, **keys, **extra)).start()
    port = free_port()
    container_factory(
        GatewayService,
        service_config(
            "gateway",
            WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
            PUBLIC_RATE=1000,
            PUBLIC_BURST=1000,
            REVOCATION_POLL_SECONDS=0.5,
            **keys,
        ),
    ).start()
    ops = mint(url=accounts["DB_URL"], sub="ops-1", role="ops", centers=["*"])
    rpc(ops).tickets.create_center({"id": CENTER, "name": "雁鸣湖镇镇区社区党群服务中心"})
    system = System(f"http://127.0.0.1:{port}", sandbox, ops, "", accounts["DB_URL"])
    made = system.call(
        "POST",
        f"/api/v1/accounts?center={CENTER}",
        ops,
        json={"person_id": "admin-1", "role": "admin", "password": PASSWORD},
    )
    assert made.status_code == 201, made.text
    signed_in = system.sign_in("admin-1", PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    system.admin = signed_in.json()["access_token"]
    answer = system.call(
        "POST",
        "/api/v1/categories",
        system.admin,
        json={"code": "sanitation", "name": "环境卫生", "party": "property"},
    )
    assert answer.status_code == 201, answer.text
    return system


def wait_until(check, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_invite_first_sign_in_act_disable_then_refused(system):
    invited = system.call(
        "POST",
        "/api/v1/accounts",
        system.admin,
        json={"person_id": "wy-1", "role": "staff", "party": "property", "login": "wangwei"},
    )
    assert invited.status_code == 201, invited.text
    account = invited.json()
    assert account["status"] == "invited" and account["duty_name"] == "责任单位经办人"
    token = account["invitation_url"].rsplit("/", 1)[1]
    # not yet: an invited account has no password
    assert system.sign_in("wangwei", PASSWORD).status_code == 401
    weak = system.call("POST", f"/api/v1/auth/invitations/{token}", json={"password": "12345"})
    assert weak.status_code == 422 and weak.json()["code"] == "WEAK_PASSWORD"
    accepted = system.call("POST", f"/api/v1/auth/invitations/{token}", json={"password": PASSWORD})
    assert accepted.status_code == 200 and accepted.json()["status"] == "active"
    again = system.call("POST", f"/api/v1/auth/invitations/{token}", json={"password": PASSWORD})
    assert again.status_code == 404  # a link works once

    pair = system.sign_in("wangwei", PASSWORD).json()
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 600
    handler = pair["access_token"]
    me = system.call("GET", "/api/v1/auth/me", handler).json()
    assert (me["role"], me["party"], me["duty_name"]) == ("staff", "property", "责任单位经办人")
    assert system.call("GET", "/api/v1/tickets", handler).status_code == 200
    # a handler configures nothing
    assert system.call("GET", "/api/v1/accounts", handler).status_code == 403

    disabled = system.call("POST", f"/api/v1/accounts/{account['id']}/disable", system.admin)
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    refused = wait_until(
        lambda: system.call("GET", "/api/v1/tickets", handler).status_code == 401, seconds=5
    )
    assert refused, "a disabled account's session still works after 5 s"
    assert system.sign_in("wangwei", PASSWORD).status_code == 401
    refreshed = system.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refreshed.status_code == 401

    enabled = system.call("POST", f"/api/v1/accounts/{account['id']}/enable", system.admin)
    assert enabled.json()["status"] == "active"
    assert system.sign_in("wangwei", PASSWORD).status_code == 200

    log = system.call("GET", "/api/v1/audit?limit=50", system.admin).json()["items"]
    actions = [entry["action"] for entry in log]
    for action in (
        "account_invited",
        "invitation_accepted",
        "sign_in",
        "sign_in_failed",
        "account_disabled",
        "account_enabled",
    ):
        assert action in actions, action
    assert all(entry["action_name"] for entry in log)


def test_a_resident_signs_in_by_phone_code_and_sees_the_ticket_registered_from_their_call(
    system,
):
    # a clerk registers the resident's hotline call, with their phone
    clerk = system.call(
        "POST",
        "/api/v1/accounts",
        system.admin,
        json={"person_id": "staff-duty-1", "role": "staff", "password": PASSWORD},
    )
    assert clerk.status_code == 201
    cadre = system.sign_in("staff-duty-1", PASSWORD).json()["access_token"]
    ticket = system.call(
        "POST",
        "/api/v1/tickets",
        cadre,
        json={
            "category": "sanitation",
            "channel": "hotline",
            "description": "3号楼门口的垃圾两天没人清运了",
            "address": "雁鸣湖镇镇区社区3号楼",
            "contact": {"name": "李大爷", "phone": PHONE},
        },
    )
    assert ticket.status_code == 201, ticket.text

    sent = system.call("POST", "/api/v1/auth/codes", json={"center": CENTER, "phone": PHONE})
    assert sent.status_code == 202, sent.text
    [code] = wait_until(system.codes)
    wrong = "000000" if code != "000000" else "111111"
    bad = system.call(
        "POST", "/api/v1/auth/token", json={"center": CENTER, "phone": PHONE, "code": wrong}
    )
    assert bad.status_code == 401 and bad.json()["code"] == "CODE_INVALID"
    good = system.call(
        "POST", "/api/v1/auth/token", json={"center": CENTER, "phone": PHONE, "code": code}
    )
    assert good.status_code == 200, good.text
    resident = good.json()
    assert resident["role"] == "resident"
    mine = system.call("GET", "/api/v1/tickets", resident["access_token"]).json()
    assert [t["id"] for t in mine["items"]] == [ticket.json()["id"]]
    # the code was used: a second sign-in with it is refused the same way as a wrong one
    reused = system.call(
        "POST", "/api/v1/auth/token", json={"center": CENTER, "phone": PHONE, "code": code}
    )
    assert reused.status_code == 401 and reused.json()["code"] == "CODE_INVALID"


def test_five_codes_an_hour_per_client_and_a_volunteers_code_only_for_a_volunteer(system):
    """(Five an hour per phone is the unit test's: here every request comes from one client.)"""
    other = "13912345678"
    volunteer = system.call(
        "POST", "/api/v1/auth/codes", json={"center": CENTER, "phone": other, "role": "volunteer"}
    )
    assert volunteer.status_code == 202  # the same answer, but nothing was sent: no volunteer
    for _ in range(4):
        answer = system.call("POST", "/api/v1/auth/codes", json={"center": CENTER, "phone": PHONE})
        assert answer.status_code == 202
    sixth = system.call("POST", "/api/v1/auth/codes", json={"center": CENTER, "phone": PHONE})
    assert sixth.status_code == 429 and "一小时" in sixth.json()["detail"]
    assert len(wait_until(lambda: len(system.codes()) >= 4 and system.codes())) == 4


def test_lockout_after_five_failures_the_same_answer_for_an_unknown_account(system):
    unknown = system.sign_in("nobody", "Whatever2026x")
    wrong = system.sign_in("admin-1", "Whatever2026x")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"] == "账号或密码错误"
    for _ in range(4):
        assert system.sign_in("admin-1", "Whatever2026x").status_code == 401
    locked = system.sign_in("admin-1", PASSWORD)  # even the right password, while locked
    assert locked.status_code == 429 and locked.json()["code"] == "SIGN_IN_LOCKED"
    assert int(locked.headers.get("Retry-After", "0")) > 0 or "分钟" in locked.json()["detail"]
    log = system.call("GET", "/api/v1/audit?action=locked", system.admin).json()
    assert log["total"] >= 1


def test_the_browser_session_cookie_needs_its_csrf_secret_to_write_and_sign_out_ends_it(system):
    browser = requests.Session()
    page = browser.get(system.url("/login"))
    assert page.status_code == 200 and "账号" in page.text and "密码" in page.text
    form_csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    forged = browser.post(
        system.url("/login"),
        data={
            "kind": "password",
            "center": CENTER,
            "account": "admin-1",
            "password": PASSWORD,
            "csrf_token": "forged",
        },
        allow_redirects=False,
    )
    assert forged.status_code == 403
    signed_in = browser.post(
        system.url("/login"),
        data={
            "kind": "password",
            "center": CENTER,
            "account": "admin-1",
            "password": PASSWORD,
            "csrf_token": form_csrf,
            "next": "/api/v1/auth/me",
        },
        allow_redirects=False,
    )
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/api/v1/auth/me"
    cookie = next(c for c in browser.cookies if c.name == "lx_access")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert "SameSite=Lax" in signed_in.headers["Set-Cookie"]
    assert browser.get(system.url("/api/v1/auth/me")).json()["role"] == "admin"
    body = {"code": "parking", "name": "小区停车", "party": "owners_committee"}
    without = browser.post(system.url("/api/v1/categories"), json=body)
    assert without.status_code == 403 and without.json()["code"] == "CSRF_FAILED"
    csrf = browser.cookies.get("lx_csrf")
    with_secret = browser.post(
        system.url("/api/v1/categories"), json=body, headers={"X-CSRF-Token": csrf}
    )
    assert with_secret.status_code == 201, with_secret.text
    out = browser.post(system.url("/api/v1/auth/logout"), headers={"X-CSRF-Token": csrf})
    assert out.status_code == 200
    access = cookie.value
    gone = system.call("GET", "/api/v1/auth/me", access)
    assert gone.status_code == 401 and gone.json()["code"] == "SESSION_REVOKED"


def test_a_refresh_token_works_once_and_its_reuse_ends_the_session(system):
    first = system.sign_in("admin-1", PASSWORD).json()
    second = system.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200
    renewed = second.json()
    assert renewed["refresh_token"] != first["refresh_token"]
    assert system.call("GET", "/api/v1/auth/me", renewed["access_token"]).status_code == 200
    stolen = system.call(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert stolen.status_code == 401 and stolen.json()["code"] == "REFRESH_REUSED"
    # the thief's replay ended the session: the rightful holder must sign in again
    assert wait_until(
        lambda: system.call("GET", "/api/v1/auth/me", renewed["access_token"]).status_code == 401
    )


def test_a_key_rotation_keeps_old_tokens_for_the_overlap_only(system):
    old = system.sign_in("admin-1", PASSWORD).json()["access_token"]
    rotated = system.call("POST", "/api/v1/auth/keys/rotate", system.ops)
    assert rotated.status_code == 200, rotated.text
    assert len(rotated.json()["published"]) == 2
    new = system.sign_in("admin-1", PASSWORD).json()["access_token"]
    me = system.call("GET", "/api/v1/auth/me", new)
    assert me.status_code == 200, me.text
    assert system.call("GET", "/api/v1/auth/me", old).status_code == 200  # within the overlap
    jwks = system.call("GET", "/api/v1/auth/jwks").json()
    assert all("d" not in key for key in jwks["keys"])  # public halves only
    # KEY_OVERLAP_SECONDS=3 here; the gateway refreshes its keys every second
    assert wait_until(
        lambda: system.call("GET", "/api/v1/auth/me", old).status_code == 401, seconds=8
    )
    assert system.call("GET", "/api/v1/auth/me", new).status_code == 200


def test_an_admin_of_a_center_the_tickets_service_doesnt_know_is_refused(system):
    """Accounts asks the center registry too: a token naming a made-up center gets 404 and
    no account is made there."""
    from services.accounts.commands import mint

    stranger = mint(url=system.accounts_db, sub="admin-x", role="admin", centers=["newtown"])
    listed = system.call("GET", "/api/v1/accounts", stranger)
    assert listed.status_code == 404 and listed.json()["code"] == "CENTER_NOT_FOUND"
    made = system.call(
        "POST",
        "/api/v1/accounts",
        stranger,
        json={"person_id": "x-1", "role": "staff", "password": PASSWORD},
    )
    assert made.status_code == 404
    ops_view = system.call("GET", "/api/v1/accounts?center=newtown", system.ops)
    assert ops_view.status_code == 200 and ops_view.json()["total"] == 0
