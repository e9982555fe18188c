"""The console's 志愿服务, 活动与功能室 and 中心设置 pages on the system `make run` started:
over HTTP as a browser sends its forms (cookie session, CSRF field), and in headless
Chromium for the two things people do end to end — a social worker approving a volunteer's
hours, an admin adding a staff member who then signs in."""

import html
import json
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

pytestmark = pytest.mark.e2e

CENTER = "yanminghu"
BEIJING = ZoneInfo("Asia/Shanghai")
TITLE = "页面审核时长测试班次"
BROWSER = Path(__file__).parent / "browser" / "console_areas.py"


def dev_password(system) -> str:
    found = re.search(r"开发密码 (\S+?)，", system.log.read_text(errors="replace"))
    assert found, "make run does not print the development password"
    return found.group(1)


class Staff:
    """A signed-in browser session (cookies), posting forms as the console's pages do."""

    def __init__(self, system, account: str):
        self.system, self.http = system, requests.Session()
        page = self.http.get(system.url("/login"), timeout=10)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        done = self.http.post(
            system.url("/login"),
            data={
                "kind": "password",
                "center": CENTER,
                "account": account,
                "password": dev_password(system),
                "csrf_token": csrf,
            },
            timeout=10,
        )
        assert done.status_code == 200, done.text[-2000:]
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', done.text).group(1)

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.system.url(path), timeout=10, allow_redirects=False)

    def post(self, path: str, **data) -> requests.Response:
        return self.http.post(
            self.system.url(path),
            data={"csrf_token": self.csrf, **data},
            timeout=20,
            allow_redirects=False,
        )


def local(moment: datetime) -> str:
    """What a datetime-local field holds: Beijing wall time to the minute."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")


def field_value(page: str, name: str) -> str:
    found = re.search(rf'<input id="f-{name}" name="{name}"[^>]*value="([^"]*)"', page)
    assert found, f"no field {name}"
    return html.unescape(found.group(1))


def reason_beside(page: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else ""


def browse(system, tmp_path, flow: str, arg: str) -> dict:
    run = subprocess.run(
        [sys.executable, str(BROWSER), flow, system.base, dev_password(system), str(tmp_path), arg],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def started_shift(system):
    """A shift starting a few seconds from now that a volunteer has signed up for and been
    checked in to (by the social worker, as at the door): once it has run a minute, checking
    out counts hours that wait in the approval queue. Made first, so the minute passes while
    the other tests run."""
    sw = Staff(system, "sw-1")
    volunteers = sw.http.get(
        system.url("/api/v1/volunteers"), params={"status": "active", "limit": 100}, timeout=10
    ).json()["items"]
    starts = datetime.now(BEIJING) + timedelta(seconds=5)
    published = sw.post(
        "/console/volunteers/shifts",
        title=TITLE,
        kind="other",
        place="服务中心一楼",
        starts_at=starts.strftime("%Y-%m-%dT%H:%M:%S"),
        ends_at=local(starts + timedelta(hours=3)),
        capacity="1",
    )
    assert published.status_code == 303, published.text[-2000:]
    shift_id = re.search(r"/shifts/([^?]+)\?done=published", published.headers["Location"])[1]
    shift = sw.http.get(system.url(f"/api/v1/shifts/{shift_id}"), timeout=10).json()
    assert shift["title"] == TITLE
    volunteer = None
    for candidate in volunteers:  # one whose other shifts don't overlap this one
        signed = sw.post(
            f"/console/volunteers/shifts/{shift['id']}/signup", volunteer_id=candidate["id"]
        )
        if signed.status_code == 303:
            volunteer = candidate
            break
    assert volunteer is not None, "no volunteer could sign up"
    checked_in = sw.post(
        f"/console/volunteers/shifts/{shift['id']}/check-in", volunteer_id=volunteer["id"]
    )
    assert checked_in.status_code == 303, checked_in.text[-2000:]
    return {"shift": shift, "volunteer": volunteer, "starts": starts}


def test_a_social_worker_registers_a_beneficiary_and_records_a_visit_on_their_page(system):
    sw = Staff(system, "sw-1")
    missing = sw.post(
        "/console/volunteers/beneficiaries",
        name="赵桂兰",
        category="elderly_alone",
        address="雁鸣湖东村社区 9 号楼 2 单元 301 室",
        birth_year="1941",
    )
    assert missing.status_code == 422
    assert reason_beside(missing.text, "care_needs")  # the one thing not given
    assert field_value(missing.text, "name") == "赵桂兰"
    assert field_value(missing.text, "birth_year") == "1941"
    made = sw.http.post(
        system.url("/console/volunteers/beneficiaries"),
        data={
            "csrf_token": sw.csrf,
            "name": "赵桂兰",
            "category": "elderly_alone",
            "address": "雁鸣湖东村社区 9 号楼 2 单元 301 室",
            "birth_year": "1941",
            "care_needs": ["life_care", "emotional_support"],
            "guardian_name": "赵强",
            "guardian_relation": "儿子",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert made.status_code == 303 and "done=registered_person" in made.headers["Location"]
    page_path = made.headers["Location"].split("?")[0]
    page = sw.get(made.headers["Location"]).text
    assert "帮扶对象已登记" in page and "赵强（儿子）" in page and "还没有探访记录" in page
    beneficiary_id = page_path.rsplit("/", 1)[1]

    volunteers = sw.http.get(
        system.url("/api/v1/volunteers"), params={"status": "active", "limit": 2}, timeout=10
    ).json()["items"]
    before = {v["id"]: v["verified_hours"] for v in volunteers}
    visited = datetime.now(BEIJING) - timedelta(hours=2)
    recorded = sw.http.post(
        system.url(f"{page_path}/visits"),
        data={
            "csrf_token": sw.csrf,
            "visited_at": local(visited),
            "volunteer_ids": [v["id"] for v in volunteers],
            "hours": "1.5",
            "care_types": ["life_care"],
            "tasks": "打扫卫生\n陪同聊天",
            "notes": "老人精神不错",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert recorded.status_code == 303, reason_beside(recorded.text, "volunteers")
    log = sw.get(recorded.headers["Location"]).text
    assert "探访记录已登记" in log and "打扫卫生、陪同聊天" in log
    assert all(f"{v['name']}（1.5 小时）" in log for v in volunteers)
    after = sw.http.get(system.url(f"/api/v1/beneficiaries/{beneficiary_id}"), timeout=10).json()
    assert after["visits"] == 1
    for v in volunteers:  # the visit's hours count at once (approved by the recorder)
        now = sw.http.get(system.url(f"/api/v1/volunteers/{v['id']}"), timeout=10).json()
        assert now["verified_hours"] == before[v["id"]] + 1.5
    nobody = sw.post(f"{page_path}/visits", visited_at=local(visited), hours="1")
    assert nobody.status_code == 422 and reason_beside(nobody.text, "volunteers")


def test_a_party_handler_gets_403_from_settings_and_never_sees_the_admin_menu(
    system, started_shift
):
    handler = Staff(system, "wy-1")
    queue = handler.get("/console/queue")
    assert queue.status_code == 200
    assert "中心设置" not in queue.text and "/console/settings" not in queue.text
    for path in ("/console/settings", "/console/settings/accounts", "/console/settings/keys"):
        refused = handler.get(path)
        assert refused.status_code == 403, path
        assert "中心设置仅限中心管理员使用" in refused.text
    # Nor can a handler's form post add a category (the page's guard and the operation's).
    posted = handler.post("/console/settings/categories", code="wy_added", name="物业自加类别")
    assert posted.status_code == 403
    admin = Staff(system, "admin-1")
    codes = [c["code"] for c in admin.http.get(system.url("/api/v1/categories")).json()]
    assert "wy_added" not in codes
    # And the admin sees the settings, with their menu item.
    page = admin.get("/console/settings")
    assert page.status_code == 200 and 'href="/console/settings"' in page.text


def test_a_room_booking_overlapping_another_is_refused_beside_the_field_keeping_the_typed_values(
    system,
):
    cadre = Staff(system, "staff-duty-1")
    day = (datetime.now(BEIJING) + timedelta(days=9)).replace(
        hour=6, minute=30, second=0, microsecond=0
    )
    first = cadre.post(
        "/console/activities/bookings",
        room="rehab",
        purpose="康复操（每周）",
        starts_at=local(day),
        ends_at=local(day + timedelta(hours=1)),
        repeat_weeks="2",
    )
    assert first.status_code == 303, first.text[-2000:]
    assert "done=booked" in first.headers["Location"]
    week_page = cadre.get(first.headers["Location"])
    assert "康复操（每周）" in week_page.text  # a slot in the rooms' week

    clash = day + timedelta(weeks=1, minutes=30)
    refused = cadre.post(
        "/console/activities/bookings",
        room="rehab",
        purpose="临时借用康复理疗室",
        starts_at=local(clash),
        ends_at=local(clash + timedelta(hours=1)),
        attendees="8",
        repeat_weeks="1",
    )
    assert refused.status_code == 409, reason_beside(refused.text, "attendees")
    reason = reason_beside(refused.text, "starts_at")
    assert reason.startswith("该功能室在以下时段已被占用") and "康复操（每周）" in reason
    assert field_value(refused.text, "purpose") == "临时借用康复理疗室"
    assert field_value(refused.text, "starts_at") == local(clash)
    assert field_value(refused.text, "attendees") == "8"
    assert 'value="rehab" selected' in refused.text
    # The service kept one booking in that week's slot: the weekly one, not the clash.
    start = (clash - timedelta(hours=2)).isoformat()
    end = (clash + timedelta(hours=2)).isoformat()
    held = cadre.http.get(
        system.url("/api/v1/rooms/rehab/bookings"),
        params={"start": start, "end": end},
        timeout=10,
    ).json()["items"]
    assert [b["purpose"] for b in held if b["state"] != "cancelled"] == ["康复操（每周）"]


def test_in_a_browser_an_overlapping_booking_is_refused_beside_the_start_keeping_the_form(
    system, tmp_path
):
    day = (datetime.now(BEIJING) + timedelta(days=10)).replace(
        hour=6, minute=0, second=0, microsecond=0
    )
    seen = browse(system, tmp_path, "booking", f"{local(day)}|{local(day + timedelta(minutes=30))}")
    assert seen["first"] == "已预约" and seen["slot"] == 1
    assert seen["reason"].startswith("该功能室在以下时段已被占用")
    assert "社工督导会" in seen["reason"]
    assert seen["described_by"] == "starts_at-error"  # read out with the field
    assert seen["kept"] == {
        "room": "social_work",
        "purpose": "临时借用",
        "starts_at": local(day + timedelta(minutes=30)),
    }


def test_a_booking_of_a_room_that_needs_approval_waits_in_the_queue_for_the_admin(system):
    cadre, admin = Staff(system, "staff-duty-1"), Staff(system, "admin-1")
    day = (datetime.now(BEIJING) + timedelta(days=11)).replace(
        hour=7, minute=0, second=0, microsecond=0
    )
    asked = cadre.post(
        "/console/activities/bookings",
        room="meeting",  # 多功能会议室: its bookings are the admin's to approve
        purpose="楼栋长例会",
        starts_at=local(day),
        ends_at=local(day + timedelta(hours=1)),
    )
    assert asked.status_code == 303 and "done=booking_requested" in asked.headers["Location"]
    assert "预约已提交，等待审批" in cadre.get(asked.headers["Location"]).text
    queue = cadre.get("/console/activities/bookings").text
    assert "楼栋长例会" in queue and "须由中心管理员审批" in queue  # no buttons for the cadre
    booking = next(
        b
        for b in admin.http.get(
            system.url("/api/v1/bookings"), params={"state": "pending"}, timeout=10
        ).json()["items"]
        if b["purpose"] == "楼栋长例会"
    )
    refused = cadre.post(f"/console/activities/bookings/{booking['id']}/approve")
    assert refused.status_code == 403 and "该功能室的预约须由中心管理员审批" in refused.text
    approved = admin.post(f"/console/activities/bookings/{booking['id']}/approve")
    assert approved.status_code == 303 and "done=approved" in approved.headers["Location"]
    assert "楼栋长例会" not in admin.get("/console/activities/bookings").text
    held = admin.http.get(system.url("/api/v1/bookings"), params={"room": "meeting"}).json()
    assert [b["state"] for b in held["items"] if b["id"] == booking["id"]] == ["confirmed"]


def test_the_roster_links_each_certificate_a_volunteer_reached_as_a_pdf(system):
    sw = Staff(system, "sw-1")
    roster = sw.get("/console/volunteers/roster").text
    links = re.findall(r'href="(/api/v1/volunteers/[^"]+/certificates/(\d+))"', roster)
    assert links, "the seeded 100-hour volunteer has certificates"
    for href, hours in links[:2]:
        pdf = sw.get(href)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), hours
        assert pdf.headers["Content-Type"] == "application/pdf"


def test_an_activity_published_on_its_page_is_registered_for_approved_and_checked_in_at_the_door(
    system, token
):
    cadre = Staff(system, "staff-duty-1")
    starts = datetime.now(BEIJING) + timedelta(minutes=40)
    published = cadre.post(
        "/console/activities/list",
        title="社区读书会",
        starts_at=local(starts),
        ends_at=local(starts + timedelta(hours=1)),
        place="中心二楼阅读角",
        capacity="10",
        audience="all",
        max_party_size="3",
        needs_approval="on",
        publish="on",
    )
    assert published.status_code == 303, published.text[-2000:]
    assert "done=published" in published.headers["Location"]
    activity_id = published.headers["Location"].split("/")[-1].split("?")[0]
    resident = token("resident", sub="resident-reader-1")
    asked = system.post(
        f"/api/v1/activities/{activity_id}/registrations", {"members": ["小林"]}, resident
    )
    assert asked.status_code == 201 and asked.json()["state"] == "pending", asked.text
    registration = asked.json()

    page = cadre.get(f"/console/activities/{activity_id}").text
    assert "待审核的报名（1）" in page and "2 人（含 小林）" in page
    approved = cadre.post(
        f"/console/activities/{activity_id}/approve", registration_id=registration["id"]
    )
    assert approved.status_code == 303 and "done=approved" in approved.headers["Location"]
    page = cadre.get(f"/console/activities/{activity_id}").text
    assert "报名名单（1）" in page and registration["code"] in page

    door = cadre.get(f"/console/activities/door?activity={activity_id}").text
    assert f'value="{activity_id}" selected' in door
    # The code as a volunteer at the door types it: lower case, a space in it.
    typed = f"{registration['code'][:3].lower()} {registration['code'][3:].lower()}"
    checked = cadre.post("/console/activities/door", activity_id=activity_id, code=typed)
    assert checked.status_code == 200
    assert f"签到成功：2 人的报名，已到 2 人（签到码 {registration['code']}）" in checked.text
    wrong = cadre.post("/console/activities/door", activity_id=activity_id, code="ab")
    assert wrong.status_code == 422 and "签到码为 6 位字母和数字" in reason_beside(
        wrong.text, "code"
    )
    assert field_value(wrong.text, "code") == "ab"
    mine = system.get(f"/api/v1/registrations/{registration['id']}", token=resident).json()
    assert mine["checked_in_at"] and mine["attended"] == 2


def test_an_admin_editing_a_category_another_admin_just_saved_is_told_and_keeps_the_typed_values(
    system,
):
    first, second = Staff(system, "admin-1"), Staff(system, "admin-1")
    code = "elevator_page"
    added = first.post(
        "/console/settings/categories",
        code=code,
        name="电梯故障",
        party="property",
        ack_minutes="5",
        resolve_hours="24",
        keywords="电梯，困人",
    )
    assert added.status_code == 303 and "done=category_added" in added.headers["Location"]
    listed = first.get("/console/settings").text
    assert "电梯故障" in listed and f"/console/settings/categories/{code}" in listed
    form_a = first.get(f"/console/settings/categories/{code}").text
    form_b = second.get(f"/console/settings/categories/{code}").text
    etag = html.unescape(re.search(r'name="etag" value="([^"]+)"', form_a).group(1))
    assert etag == html.unescape(re.search(r'name="etag" value="([^"]+)"', form_b).group(1))
    saved = first.post(
        f"/console/settings/categories/{code}",
        etag=etag,
        name=field_value(form_a, "name"),
        party="property",
        keywords=field_value(form_a, "keywords"),
        ack_minutes="15",
        resolve_hours="48",
        active="on",
    )
    assert saved.status_code == 303 and "done=category_saved" in saved.headers["Location"]
    stale = second.post(
        f"/console/settings/categories/{code}",
        etag=etag,
        name=field_value(form_b, "name"),
        ack_minutes="30",
        resolve_hours="24",
        active="on",
    )
    assert stale.status_code == 412
    assert "该记录已被他人修改，请刷新后再保存" in stale.text
    assert "其他管理员刚刚修改了这个类别" in stale.text
    assert field_value(stale.text, "ack_minutes") == "30"
    category = first.http.get(system.url(f"/api/v1/categories/{code}")).json()
    assert (category["ack_minutes"], category["resolve_hours"]) == (15, 48)
    assert (category["party"], category["keywords"]) == ("property", ["电梯", "困人"])


def test_an_open311_key_made_in_settings_is_shown_once_and_lets_a_client_report(system):
    admin = Staff(system, "admin-1")
    made = admin.post("/console/settings/keys", name="县12345热线平台")
    assert made.status_code == 201 and "只显示这一次" in made.text
    key = html.unescape(re.search(r"data-api-key>([^<]+)<", made.text).group(1))
    assert key not in admin.get("/console/settings/keys").text  # never shown again
    reported = requests.post(
        system.url("/open311/v2/requests.json"),
        data={
            "api_key": key,
            "jurisdiction_id": CENTER,
            "service_code": "sanitation",
            "address_string": "太平庄社区3号楼",
            "description": "楼道垃圾未清运",
        },
        timeout=10,
    )
    assert reported.status_code == 201, reported.text
    empty = admin.post("/console/settings/keys", name="")
    assert empty.status_code == 422 and reason_beside(empty.text, "name")


def test_a_department_subscription_is_made_with_its_secret_shown_once_and_deleted(system):
    admin = Staff(system, "admin-1")
    made = admin.post(
        "/console/settings/subscriptions",
        url="http://127.0.0.1:9/lianxin-hook",
        types="cn.lianxin.tickets.*",
        description="城管执法局订阅（测试）",
    )
    assert made.status_code == 201, reason_beside(made.text, "url") or made.text[-1500:]
    assert re.search(r"data-secret>whsec_", made.text)
    listed = admin.get("/console/settings/subscriptions").text
    assert "城管执法局订阅（测试）" in listed and "whsec_" not in listed
    subscription_id = re.search(r"/console/settings/subscriptions/([^/]+)/delete", listed)[1]
    bad = admin.post("/console/settings/subscriptions", url="ftp://x", types="nothing.here")
    assert bad.status_code == 422
    assert reason_beside(bad.text, "url") and reason_beside(bad.text, "types")
    assert field_value(bad.text, "url") == "ftp://x"
    gone = admin.post(f"/console/settings/subscriptions/{subscription_id}/delete")
    assert gone.status_code == 303 and "done=unsubscribed" in gone.headers["Location"]
    assert "城管执法局订阅（测试）" not in admin.get("/console/settings/subscriptions").text


def test_a_duty_shift_added_in_settings_shows_in_that_weeks_roster_grid(system):
    admin = Staff(system, "admin-1")
    starts = (datetime.now(BEIJING) + timedelta(days=14)).replace(
        hour=20, minute=0, second=0, microsecond=0
    )
    added = admin.post(
        "/console/settings/duty",
        person_id="staff-duty-2",
        starts_at=local(starts),
        ends_at=local(starts + timedelta(hours=12)),
    )
    assert added.status_code == 303, added.text[-1500:]
    grid = admin.get(added.headers["Location"]).text
    assert "值班已排入" in grid
    assert "20:00–" in grid and re.search(r'role="rowheader">[^<]+</div>', grid)
    too_long = admin.post(
        "/console/settings/duty",
        person_id="staff-duty-2",
        starts_at=local(starts),
        ends_at=local(starts + timedelta(hours=30)),
    )
    assert too_long.status_code == 422
    assert reason_beside(too_long.text, "ends_at") == "一个值班时段不能超过 24 小时"


def test_an_admin_disables_enables_and_resets_a_staff_account_from_its_row(system):
    admin = Staff(system, "admin-1")
    made = admin.post(
        "/console/settings/accounts",
        name="吴临时",
        login="cadre-temp-1",
        person_id="cadre-temp-1",
        duty="cadre",
    )
    assert made.status_code == 201
    link = html.unescape(re.search(r'href="([^"]+)" data-invitation', made.text)[1])
    password = "Wu-lin-shi-2026"
    jar = requests.Session()  # the new staff member's browser, opening the link
    set_page = jar.get(system.url(link), timeout=10).text
    login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', set_page)[1]
    done = jar.post(
        system.url(link),
        data={"csrf_token": login_csrf, "password": password, "again": password},
        timeout=10,
    )
    assert done.status_code == 200 and "密码已设置" in done.text

    def signs_in() -> int:
        return system.post(
            "/api/v1/auth/token",
            {"center": CENTER, "account": "cadre-temp-1", "password": password},
        ).status_code

    assert signs_in() == 200
    page = admin.get("/console/settings/accounts").text
    account_id = re.search(
        r"cadre-temp-1</td>.*?/console/settings/accounts/([^/]+)/disable", page, re.S
    )[1]
    off = admin.post(f"/console/settings/accounts/{account_id}/disable")
    assert off.status_code == 303 and "done=disabled" in off.headers["Location"]
    assert "账号已停用，其登录已全部结束" in admin.get(off.headers["Location"]).text
    assert signs_in() != 200
    on = admin.post(f"/console/settings/accounts/{account_id}/enable")
    assert on.status_code == 303 and signs_in() == 200
    reset = admin.post(f"/console/settings/accounts/{account_id}/reset")
    assert reset.status_code == 200 and "/login/invitation/" in reset.text
    assert "的设置密码链接" in reset.text
    duplicate = admin.post(
        "/console/settings/accounts",
        name="吴临时",
        login="cadre-temp-1",
        person_id="cadre-temp-1",
        duty="cadre",
    )
    assert duplicate.status_code == 409 and field_value(duplicate.text, "login") == "cadre-temp-1"


def test_in_a_browser_an_admin_adds_a_staff_account_who_sets_a_password_and_signs_in(
    system, tmp_path
):
    login = "sw-new-" + str(int(time.time()) % 100000)
    seen = browse(system, tmp_path, "account", login)
    assert f"账号 {login} 的设置密码链接" in seen["invited"]
    assert seen["link"].startswith("/login/invitation/")
    assert "密码已设置" in seen["set"]
    assert "/console/" in seen["url"]
    assert f"社工（社工组织） · {login}" in seen["header"]
    assert "志愿服务" in seen["menu"] and "中心设置" not in seen["menu"]
    assert (tmp_path / "account-invited.png").stat().st_size > 10_000


def test_in_a_browser_a_social_worker_approves_a_volunteers_checked_out_hours(
    system, tmp_path, started_shift
):
    shift, volunteer = started_shift["shift"], started_shift["volunteer"]
    # The hours are the checked-in minutes inside the shift: at least one whole minute.
    wait = (started_shift["starts"] + timedelta(seconds=62) - datetime.now(BEIJING)).total_seconds()
    if wait > 0:
        time.sleep(wait)
    sw = Staff(system, "sw-1")
    out = sw.post(
        f"/console/volunteers/shifts/{shift['id']}/check-out", volunteer_id=volunteer["id"]
    )
    assert out.status_code == 303, out.text[-2000:]
    pending = sw.http.get(
        system.url("/api/v1/hours"), params={"shift_id": shift["id"]}, timeout=10
    ).json()["items"]
    assert [h["status"] for h in pending] == ["pending"]

    seen = browse(system, tmp_path, "hours", f"{volunteer['name']}|{TITLE}")
    assert seen["heading"] == "服务时长审核"
    assert volunteer["name"] in seen["row"] and "班次签到" in seen["row"]
    assert seen["notice"] == "已审核通过"
    assert seen["still_listed"] == 0
    decided = sw.http.get(
        system.url("/api/v1/hours"), params={"shift_id": shift["id"]}, timeout=10
    ).json()["items"]
    assert [h["status"] for h in decided] == ["approved"]
    assert decided[0]["decided_by"] == "sw-1"
