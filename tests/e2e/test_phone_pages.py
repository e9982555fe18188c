"""The residents' and volunteers' phone pages of the system `make run` started: over HTTP
(what a page answers, with and without JavaScript) and in Chromium on a phone profile
(tests/e2e/browser/phone_flows.py, in a process of its own)."""

import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

CENTER = "yanminghu"
BROWSER = Path(__file__).parent / "browser" / "phone_flows.py"
#: A seeded volunteer no other test signs in as (skills: health, activity).
VOLUNTEER_PHONE = "13900000018"
#: Seconds from the setup to the test shift's start: the browser signs up and checks in
#: first, runs the other flows, and checks out once the shift has begun.
SHIFT_STARTS_IN = 45


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (180, 150, 60)).save(out, "JPEG", quality=80)
    return out.getvalue()


def browser_setup(system, token, shots: Path) -> dict:
    """What the browser flows need made beforehand, over the API as staff would: an activity
    of two places, both taken by another resident and a family member; a shift starting in a moment with a code to check in by."""
    now = datetime.now(UTC)
    staff, sw = token("staff", sub="staff-duty-1"), token("staff", sub="sw-1", party="social_work")
    activity = system.post(
        "/api/v1/activities",
        {
            "title": "手机页面测试：剪纸课",
            "place": "东村社区活动室",
            "capacity": 2,
            "max_party_size": 3,
            "starts_at": (now + timedelta(days=2)).isoformat(),
            "ends_at": (now + timedelta(days=2, hours=2)).isoformat(),
        },
        staff,
    )
    assert activity.status_code == 201, activity.text
    other = token("resident", sub="resident-phone-test-other")
    taken = system.post(
        f"/api/v1/activities/{activity.json()['id']}/registrations", {"members": ["李四"]}, other
    )
    assert taken.status_code == 201 and taken.json()["state"] == "confirmed", taken.text
    code = "PHONE-" + now.strftime("%H%M%S")
    # Signed up for before it starts, checked in early, checked out once it has started.
    starts = now + timedelta(seconds=SHIFT_STARTS_IN)
    shift = system.post(
        "/api/v1/shifts",
        {
            "title": "手机页面测试：活动协助",
            "kind": "activity",
            "place": "党群服务中心",
            "capacity": 2,
            "required_skills": ["activity"],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "ref": code,
        },
        sw,
    )
    assert shift.status_code == 201, shift.text
    return {
        "base": system.base,
        "center": CENTER,
        "sms": str(Path(system.env["LIANXIN_VAR_DIR"]) / "notify-sandbox" / "sms.jsonl"),
        "cadre": staff,
        "handler": token("staff", sub="wy-1", party="property"),
        "other_resident": other,
        "activity": activity.json()["id"],
        "other_registration": taken.json()["id"],
        "shift_code": code,
        "shift_title": "手机页面测试：活动协助",
        "shift_starts": starts.timestamp(),
        "volunteer_phone": VOLUNTEER_PHONE,
        "photo_hex": jpeg().hex(),
    }


#: The browser flows' findings, by system: run once, asserted on by several tests.
_SEEN: dict[int, dict] = {}


@pytest.fixture
def flows(system, token, tmp_path_factory):
    """The browser flows, run once per system (``token`` is per test, so not a module
    fixture): what each showed."""
    if id(system) in _SEEN:
        return _SEEN[id(system)]
    shots = tmp_path_factory.mktemp("phone-shots")
    setup = shots / "setup.json"
    setup.write_text(json.dumps(browser_setup(system, token, shots)))
    done = subprocess.run(
        [sys.executable, str(BROWSER), str(setup), str(shots)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    seen["shots"] = str(shots)
    _SEEN[id(system)] = seen
    return seen


def test_a_resident_reports_with_a_photo_and_the_location_and_sees_the_follow_page(flows):
    assert "failed_report_and_rate" not in flows, flows.get("failed_report_and_rate")
    assert flows["home_has_button"]
    assert flows["sent"] == "提交成功" and "值班干部将在10分钟内签收" in flows["sent_text"]
    assert "查询码" in flows["sent_text"]
    assert flows["ticket_has_location"] and flows["ticket_photos"] == 1
    assert flows["on_the_board"]  # the cadre's board shows it


def test_after_resolution_the_resident_rates_it_on_the_follow_page(flows):
    assert "failed_report_and_rate" not in flows, flows.get("failed_report_and_rate")
    assert "已办结" in flows["resolved_state"] and "路灯已更换" in flows["answer"]
    assert flows["rated_notice"] == "感谢您的评价！" and "满意" in flows["rating_shown"]


def test_past_capacity_a_resident_is_waitlisted_then_promoted_when_someone_cancels(flows):
    assert "failed_waitlist" not in flows, flows.get("failed_waitlist")
    assert "候补" in flows["waitlisted_notice"] and "候补中" in flows["waitlisted"]
    assert flows["position"] == "1"
    assert "报名成功" in flows["promoted"]
    assert flows["door_qr"] == 1 and re.fullmatch(r"[A-Z3-9]{6}", flows["door_code"])
    assert flows["messages_title"] == "我的消息"


def test_the_age_friendly_mode_enlarges_text_and_every_control_works_at_200_percent(flows):
    assert "failed_elder_mode" not in flows, flows.get("failed_elder_mode")
    assert flows["base_px"] >= 18
    assert flows["elder_px"] >= 22 and flows["elder_after_reload_px"] == flows["elder_px"]
    assert flows["zoom_problems"] == []


def test_a_report_sent_offline_is_kept_and_sent_once_when_the_network_returns(flows, system, token):
    assert "failed_offline" not in flows, flows.get("failed_offline")
    assert "网络已断开" in flows["offline_note"]
    assert flows["draft_kept"] == flows["offline_text"]
    assert flows["sent_after_online"] == "提交成功" and flows["draft_after"] is None
    found = system.get("/api/v1/tickets?limit=100", token=token("admin")).json()["items"]
    assert [t["description"] for t in found].count(flows["offline_text"]) == 1


def test_a_volunteer_signs_up_checks_in_and_out_by_the_code_and_sees_pending_hours(flows):
    assert "failed_volunteer" not in flows, flows.get("failed_volunteer")
    assert flows["signed_up_notice"] == "报名成功，请按时到岗。"
    assert flows["code_prefilled"].startswith("PHONE-")
    assert flows["checked_in"] == "签到成功，感谢您的服务！"
    assert flows["checked_out"] == "签退成功，服务时长待社工审核。"
    assert flows["wrong_code"]
    assert "待审核" in flows["hours"]


# -- over HTTP: the pages without a browser's script ------------------------------------------


def test_the_home_page_names_the_center_its_hours_and_hotline_and_this_weeks_activities(system):
    page = system.get(f"/m/{CENTER}/")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    for words in ("雁鸣湖镇镇区社区党群服务中心", "开放时间", "服务热线", "本周活动", "反映诉求"):
        assert words in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.text  # no inline script: the CSP refuses it


# These post as a signed-in resident (a bearer token): the public throttle of this client is
# left to test_system's burst test.


def test_a_report_without_javascript_answers_the_form_again_with_the_reason_by_the_field(
    system, token
):
    answer = requests.post(
        system.url(f"/m/{CENTER}/report"),
        data={"description": "灯", "idempotency_key": "k-short-1"},
        headers={"Authorization": f"Bearer {token('resident', sub='resident-phone-form')}"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 422
    assert 'class="field-error"' in answer.text and "灯</textarea>" in answer.text


def test_the_same_form_sent_twice_is_one_ticket(system, token):
    resident = {"Authorization": f"Bearer {token('resident', sub='resident-phone-form')}"}
    form = {
        "description": "两次提交测试：东村社区2号楼电梯停运",
        "category": "repairs",
        "attr.repairs.facility": "lift",
        "idempotency_key": "same-form-twice-1",
    }
    first, again = (
        requests.post(
            system.url(f"/m/{CENTER}/report"),
            data=form,
            headers=resident,
            allow_redirects=False,
            timeout=10,
        )
        for _ in range(2)
    )
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert first.headers["Location"].startswith(f"/m/{CENTER}/mine/")


def test_an_unknown_center_and_an_unknown_page_are_chinese_404s(system):
    unknown = system.get("/m/nowhere/")
    assert unknown.status_code == 404 and "没有这个服务中心" in unknown.text
    missing = system.get(f"/m/{CENTER}/no-such-page")
    assert missing.status_code == 404 and "没有这个页面" in missing.text


def test_a_signed_in_page_sends_the_visitor_to_the_phone_sign_in_and_back(system):
    answer = system.get(f"/m/{CENTER}/volunteer/hours", allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/login?as=phone&role=volunteer")
    assert "next=/m/yanminghu/volunteer/hours" in answer.headers["Location"]


def test_the_first_visit_of_the_home_page_stays_under_150_kb(system):
    session = requests.Session()
    home = session.get(system.url(f"/m/{CENTER}/"), timeout=10)
    total = len(home.content)
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', home.text):
        total += len(session.get(system.url(asset), timeout=10).content)
    assert total < 150 * 1024
