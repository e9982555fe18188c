"""Signing in to the system `make run` started, as its people do: the demo center's staff
with the development password `make run` prints, a resident with a code the sandbox SMS
shows, and a browser on the /login page."""

import json
import re
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

CENTER = "yanminghu"


def dev_password(system) -> str:
    output = system.log.read_text(errors="replace")
    found = re.search(r"开发密码 (\S+?)，", output)
    assert found, "make run does not print the development password"
    return found.group(1)


def test_make_run_prints_the_demo_accounts_and_their_password_which_signs_in(system):
    password = dev_password(system)
    output = system.log.read_text(errors="replace")
    assert "admin-1" in output and "staff-duty-1" in output and "sw-1" in output
    answer = system.post(
        "/api/v1/auth/token", {"center": CENTER, "account": "staff-duty-1", "password": password}
    )
    assert answer.status_code == 200, answer.text
    pair = answer.json()
    assert pair["token_type"] == "Bearer" and pair["duty"] == "cadre"
    board = system.get("/api/v1/board", token=pair["access_token"])
    assert board.status_code == 200
    wrong = system.post(
        "/api/v1/auth/token", {"center": CENTER, "account": "staff-duty-1", "password": "x" * 12}
    )
    assert wrong.status_code == 401 and wrong.json()["detail"] == "账号或密码错误"


def test_a_resident_signs_in_with_the_code_the_sandbox_sms_shows(system):
    phone = "13700001111"
    sent = system.post("/api/v1/auth/codes", {"center": CENTER, "phone": phone})
    assert sent.status_code == 202, sent.text
    sms = Path(system.env["LIANXIN_VAR_DIR"]) / "notify-sandbox" / "sms.jsonl"
    code = None
    deadline = time.monotonic() + 10
    while code is None and time.monotonic() < deadline:
        if sms.exists():
            for line in sms.read_text(encoding="utf-8").splitlines():
                text = json.dumps(json.loads(line), ensure_ascii=False)
                if "sign_in_code" in text:
                    code = re.search(r"验证码是 (\d{6})", text).group(1)
        time.sleep(0.2)
    assert code, "no sign-in code in the sandbox SMS"
    answer = system.post("/api/v1/auth/token", {"center": CENTER, "phone": phone, "code": code})
    assert answer.status_code == 200, answer.text
    resident = answer.json()
    assert resident["role"] == "resident"
    mine = system.get("/api/v1/tickets", token=resident["access_token"])
    assert mine.status_code == 200 and mine.json()["total"] == 0
    out = requests.post(
        system.url("/api/v1/auth/logout"),
        headers={"Authorization": f"Bearer {resident['access_token']}"},
        timeout=10,
    )
    assert out.status_code == 200
    after = system.get("/api/v1/tickets", token=resident["access_token"])
    assert after.status_code == 401


def test_the_login_page_signs_a_cadre_in_with_a_cookie_and_out_again(system):
    password = dev_password(system)
    browser = requests.Session()
    page = browser.get(system.url("/login"), timeout=10)
    assert page.status_code == 200
    assert "雁鸣湖" in page.text and "账号" in page.text and "密码" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = browser.post(
        system.url("/login"),
        data={
            "kind": "password",
            "center": CENTER,
            "account": "sw-1",
            "password": password,
            "csrf_token": csrf,
        },
        timeout=10,
    )
    # "/" leads a social worker to the console: their party's queue first.
    assert done.status_code == 200 and "本单位待办" in done.text and "社工" in done.text
    session_csrf = re.search(r'name="csrf_token" value="([^"]+)"', done.text).group(1)
    gone = browser.post(
        system.url("/logout"), data={"csrf_token": session_csrf, "center": CENTER}, timeout=10
    )
    assert gone.status_code == 200 and "登录" in gone.text and "您已登录" not in gone.text
    assert browser.get(system.url("/api/v1/auth/me"), timeout=10).status_code == 401


def test_in_a_real_browser_a_cadre_signs_in_and_out_and_a_resident_asks_for_a_code(
    system, tmp_path
):
    """Headless Chromium on /login (a phone-sized window): the labels people read, the
    error on a wrong password, the HttpOnly session, the code notice."""
    import subprocess
    import sys

    script = Path(__file__).parent / "browser" / "login_flow.py"
    run = subprocess.run(
        [sys.executable, str(script), system.base, dev_password(system), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["wrong"] == "账号或密码错误"
    # Signed in with no page named, the admin lands on the console (its duty in the header).
    assert "值班看板" in seen["signed_in"] and "中心管理员" in seen["header"]
    assert seen["access_cookie_http_only"] is True and seen["me"] == "admin"
    assert seen["signed_out"] == "登录"
    assert seen["code_notice"].startswith("验证码已发送至 137****2222")
    assert seen["code_label"] == 1
    assert (tmp_path / "login-staff.png").stat().st_size > 10_000
