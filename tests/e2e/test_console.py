"""The staff console (/console/), as the cadre on duty, a party's handler and the admin use
it: over HTTP with the session cookie a browser has, and in headless Chromium."""

import json
import re
import subprocess
import sys
from pathlib import Path

import requests

from tests.e2e.test_sign_in import dev_password

CENTER = "yanminghu"


def new_ticket(system, token, category="elderly_care", description=None):
    answer = system.post(
        "/api/v1/tickets",
        {
            "category": category,
            "description": description or "西村独居的李奶奶最近腿脚不便，需要有人帮忙买菜",
            "channel": "hotline",
        },
        token("staff", sub="staff-duty-1"),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_opening_the_site_leads_to_sign_in_then_to_the_console(system, signed_in):
    bare = requests.get(system.url("/"), allow_redirects=False, timeout=10)
    assert bare.status_code == 302 and bare.headers["Location"] == "/login"
    page = requests.get(system.url("/console/board"), allow_redirects=False, timeout=10)
    assert page.status_code == 303
    assert page.headers["Location"].startswith("/login?next=/console/board")
    cadre = signed_in("staff-duty-1")
    landing = cadre.get(system.url("/"), timeout=10)
    assert landing.url.endswith("/console/board")
    assert "值班看板" in landing.text and "雁鸣湖镇镇区社区党群服务中心" in landing.text
    # the layout's header on every page: the unread count and sign-out
    assert re.search(r"data-unread>\d+<", landing.text) and 'action="/logout"' in landing.text


def test_a_resident_signed_in_is_told_the_console_is_for_staff(system, token):
    session = requests.Session()
    session.cookies.set("lx_access", token("resident", sub="resident-1"))
    page = session.get(system.url("/console/board"), timeout=10)
    assert page.status_code == 403
    assert "工作台仅供服务中心工作人员使用" in page.text
    assert "/m/yanminghu/" in page.text


def test_a_form_without_its_session_secret_changes_nothing(system, token, signed_in):
    ticket = new_ticket(system, token)
    cadre = signed_in("staff-duty-1")
    refused = cadre.post(system.url(f"/console/tickets/{ticket['id']}/acknowledge"), timeout=10)
    assert refused.status_code == 403 and "页面已过期" in refused.text
    after = system.get(f"/api/v1/tickets/{ticket['id']}", token("admin"))
    assert after.json()["state"] == "reported"


def test_a_page_refuses_what_the_api_refuses_and_says_why(system, token, signed_in):
    """A party's handler may not acknowledge (the cadres do): the console's form is refused
    exactly as the API's route is, in Chinese, and the ticket stays as it was."""
    ticket = new_ticket(system, token, category="sanitation", description="南村广场的垃圾桶满了")
    handler = signed_in("wy-1")
    page = handler.post(
        system.url(f"/console/tickets/{ticket['id']}/acknowledge"),
        data={"csrf_token": handler.csrf},
        timeout=10,
    )
    api = system.post(
        f"/api/v1/tickets/{ticket['id']}/acknowledge", {}, token("staff", party="property")
    )
    assert page.status_code == api.status_code == 403
    assert api.json()["detail"] in page.text
    after = system.get(f"/api/v1/tickets/{ticket['id']}", token("admin"))
    assert after.json()["state"] == "reported"


def test_the_board_rows_answer_304_while_nothing_changed(system, signed_in):
    cadre = signed_in("staff-duty-2")
    first = cadre.get(system.url("/console/board/rows"), timeout=10)
    assert first.status_code == 200 and "data-ticket-id" in first.text
    again = cadre.get(
        system.url("/console/board/rows"), headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304


def test_the_intake_form_keeps_what_was_typed_and_shows_the_reason_beside_the_field(
    system, signed_in
):
    clerk = signed_in("staff-duty-3")
    form = {
        "csrf_token": clerk.csrf,
        "kind": "save",
        "channel": "hotline",
        "phone": "1380000",
        "name": "王阿姨",
        "category": "",
        "description": "东村社区3号楼门口垃圾两天没人清运",
    }
    refused = clerk.post(system.url("/console/intake"), data=form, timeout=10)
    assert refused.status_code == 422
    assert "东村社区3号楼门口垃圾两天没人清运" in refused.text and 'value="王阿姨"' in refused.text
    assert re.search(r'id="category-error">[^<]*必填', refused.text)
    form.update(category="sanitation", phone="13800001111", form_key="k-1")
    saved = clerk.post(system.url("/console/intake"), data=form, timeout=10)
    assert saved.status_code == 200 and "诉求已登记" in saved.text
    again = clerk.post(system.url("/console/intake"), data=form, timeout=10)  # sent twice
    assert again.url == saved.url  # the same ticket, not a second one
    caller = clerk.get(system.url("/console/intake/caller"), params={"phone": "13800001111"})
    assert "王阿姨" in caller.text and "此前反映过 1 件" in caller.text


def test_in_a_real_browser_the_board_takes_a_new_report_and_the_party_resolves_it(
    system, token, tmp_path
):
    """The cadre's board shows a web report within 2 s without a reload (alert, chime),
    acknowledges and dispatches it in one click; the property company's handler resolves it
    in its queue and sees no other party's ticket and no admin menu; the resident's rating
    shows on the satisfaction page."""
    other = new_ticket(system, token)  # routed to the social workers
    script = Path(__file__).parent / "browser" / "console_flow.py"
    run = subprocess.run(
        [
            sys.executable,
            str(script),
            system.base,
            dev_password(system),
            str(tmp_path),
            other["id"],
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["cadre_landing"].endswith("/console/board")
    assert seen["alert_visible"] and seen["alert"].startswith("新诉求 1 件：环境卫生")
    assert seen["chimes"] >= 1 and seen["title"].startswith("【新诉求】")
    assert seen["row_state"] == "待签收" and seen["preselected"] == "property"
    assert seen["countdown"].startswith("剩余 9分")
    assert seen["board_notice"] == "已派单" and seen["row_state_after"] == "已派单"
    assert seen["handler_landing"].endswith("/console/queue")
    assert seen["handler_queue_has_it"] == 1 and seen["handler_queue_has_other"] == 0
    assert "中心设置" not in seen["handler_menu"] and "值班看板" not in seen["handler_menu"]
    assert seen["resolve_kept"] == "好" and "2" in seen["resolve_refused"]
    assert seen["resolved_notice"].startswith("已办结") and seen["resolved_state"] == "已办结"
    assert seen["handler_other_status"] == 404 and seen["handler_settings_status"] == 403
    assert seen["ratings_after"] == seen["ratings_before"] + 1
    assert seen["charts"] >= 3
    assert (tmp_path / "console-board.png").stat().st_size > 20_000


def test_the_months_report_is_a_console_page_with_its_pdf_and_workbook(system, signed_in):
    cadre = signed_in("staff-duty-1")
    page = cadre.get(system.url("/console/reports"), timeout=60)
    assert page.status_code == 200 and "月度工作报告" in page.text
    month = re.search(r'href="/api/v1/reports/monthly/(\d{4}-\d{2})\.pdf"', page.text).group(1)
    assert "群众满意率" in page.text and "按责任方与类别" in page.text
    pdf = cadre.get(system.url(f"/api/v1/reports/monthly/{month}.pdf"), timeout=60)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    future = cadre.get(system.url("/console/reports?month=2099-01"), timeout=30)
    assert future.status_code >= 400 and "月" in future.text
