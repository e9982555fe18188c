"""The pure parts of the console's 志愿服务, 活动与功能室 and 中心设置 pages: times typed in a
form as the API takes them, ISO weeks, the week grids, the reasons shown beside fields, the
ETag a category's form carries, and every template of the three areas compiling."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from gateway.api import Route, _etag
from gateway.web import TEMPLATES
from gateway.web.console.activities import booking_errors, choices, room_grid
from gateway.web.console.forms import (
    aware_form,
    aware_text,
    local_input,
    on_day,
    typed_values,
    week_of,
)
from gateway.web.console.settings import DUTY_CHOICES, account_body, duty_rows, etag_for, path_of
from gateway.web.console.volunteers import _lines, in_period
from lianxin.contracts.tickets import operations as ticket_ops
from lianxin.errors import Conflict, InvalidInput

CONSOLE = Path(__file__).resolve().parents[3] / "gateway" / "web" / "console"


def test_a_time_typed_in_a_datetime_local_field_is_beijing_time_for_the_api():
    assert aware_text("2026-12-03T14:00") == "2026-12-03T14:00:00+08:00"
    assert aware_text("2026-12-03T14:00:30") == "2026-12-03T14:00:30+08:00"
    # Anything else goes to the schema as typed, which refuses it with its reason.
    assert aware_text("明天下午") == "明天下午"
    assert aware_text("2026-13-03T14:00") == "2026-13-03T14:00"
    form = aware_form(MultiDict({"starts_at": "2026-12-03T09:30", "purpose": "排练"}), "starts_at")
    assert form["starts_at"] == "2026-12-03T09:30:00+08:00" and form["purpose"] == "排练"


def test_a_stored_time_fills_a_datetime_local_field_in_beijing_time():
    assert local_input("2026-12-03T06:00:00Z") == "2026-12-03T14:00"
    assert local_input(datetime(2026, 12, 3, 16, 30, tzinfo=UTC)) == "2026-12-04T00:30"
    assert local_input(None) == ""


def test_a_week_is_an_iso_week_of_beijing_days_with_its_neighbours():
    week = week_of("2026-W49")
    assert week.days[0] == date(2026, 11, 30) and week.days[-1] == date(2026, 12, 6)
    assert (week.previous, week.next) == ("2026-W48", "2026-W50")
    assert week.starts_at.isoformat() == "2026-11-30T00:00:00+08:00"
    assert week.title == "2026年11月30日 – 12月6日"
    # Over the new year, and a week that doesn't exist or a bad label: this week.
    assert week_of("2026-W53").label == "2026-W53" and week_of("2026-W53").next == "2027-W01"
    assert week_of("2025-W53", today=date(2026, 12, 2)).label == "2026-W49"
    assert week_of("<script>", today=date(2026, 12, 2)).label == "2026-W49"


def test_shifts_fall_on_the_beijing_day_and_part_of_day_they_start():
    shifts = [
        {"id": "late", "starts_at": "2026-12-02T17:00:00Z"},  # 01:00 on the 3rd in Beijing
        {"id": "morning", "starts_at": "2026-12-03T01:00:00Z"},  # 09:00
        {"id": "afternoon", "starts_at": "2026-12-03T07:00:00Z"},  # 15:00
    ]
    assert [s["id"] for s in on_day(shifts, date(2026, 12, 3))] == ["late", "morning", "afternoon"]
    assert [s["id"] for s in in_period(shifts, date(2026, 12, 3), 0, 12)] == ["late", "morning"]
    assert [s["id"] for s in in_period(shifts, date(2026, 12, 3), 12, 18)] == ["afternoon"]
    assert on_day(None, date(2026, 12, 3)) == []


def test_the_rooms_week_puts_each_booking_and_activity_in_its_room_and_day():
    rooms = [{"code": "dance", "name": "舞蹈室"}, {"code": "party", "name": "党建活动室"}]
    items = [
        {"kind": "booking", "room": "dance", "starts_at": "2026-12-01T11:00:00Z"},
        {"kind": "activity", "room": "dance", "starts_at": "2026-12-01T02:00:00Z"},
        {"kind": "activity", "room": None, "starts_at": "2026-12-01T02:00:00Z"},  # at a place
    ]
    grid = room_grid(rooms, items, week_of("2026-W49").days)
    assert [row["room"]["code"] for row in grid] == ["dance", "party"]
    tuesday = grid[0]["cells"][1]
    assert [e["kind"] for e in tuesday] == ["activity", "booking"]  # by start time
    assert all(cell == [] for cell in grid[1]["cells"])
    assert room_grid(Conflict(), items, week_of("2026-W49").days) == []
    assert choices(rooms) == [("dance", "舞蹈室"), ("party", "党建活动室")]


def test_a_booking_clash_is_told_beside_the_start_time_in_the_services_words():
    clash = Conflict(
        "该功能室在以下时段已被占用：2026-12-09 10:00–11:00（合唱团排练）",
        fields={"starts_at": ["与已有预约时间重叠"]},
    )
    assert booking_errors(clash)["starts_at"].startswith("该功能室在以下时段已被占用")
    invalid = InvalidInput(fields={"ends_at": ["结束时间须晚于开始时间"]})
    assert booking_errors(invalid) == {"ends_at": "结束时间须晚于开始时间"}
    assert booking_errors(None) == {}


def test_a_category_form_carries_the_etag_the_api_gives_the_record():
    category = {"code": "repairs", "name": "公共设施维修", "party": "property", "ack_minutes": 10}
    route = Route("GET", "/api/v1/categories/<code>", ticket_ops.get_category, "configuration")
    answered = _etag(route, category)
    assert answered is not None
    assert etag_for(ticket_ops.get_category, category) == answered["ETag"]
    changed = {**category, "ack_minutes": 15}
    assert etag_for(ticket_ops.get_category, changed) != etag_for(ticket_ops.get_category, category)


def test_a_new_staff_members_duty_stands_for_an_accounts_role_and_party():
    form = MultiDict({"person_id": "sw-9", "login": "sw-9", "duty": "social_worker"})
    assert account_body(form) == {
        "person_id": "sw-9",
        "login": "sw-9",
        "role": "staff",
        "party": "social_work",
    }
    handler = account_body(MultiDict({"person_id": "wy-9", "duty": "handler:property"}))
    assert (handler["role"], handler["party"]) == ("staff", "property")
    assert account_body(MultiDict({"person_id": "a-9", "duty": "admin"}))["role"] == "admin"
    assert DUTY_CHOICES["cadre"][1:] == ("staff", None)
    with pytest.raises(InvalidInput) as refused:  # every reason at once
        account_body(MultiDict({"person_id": "", "login": "!", "duty": ""}))
    assert set(refused.value.fields) >= {"duty", "person_id", "login"}


def test_an_invitation_link_made_for_another_host_is_followed_here():
    assert path_of("http://127.0.0.1:8000/login/invitation/abc") == "/login/invitation/abc"
    assert path_of("/login/invitation/abc?x=1") == "/login/invitation/abc?x=1"


def test_the_roster_grid_has_a_row_per_person_with_their_shifts_by_day():
    duty = [
        {"person_id": "b", "name": "马丽娟", "starts_at": "2026-12-01T00:00:00Z"},
        {"person_id": "a", "name": "李卫东", "starts_at": "2026-12-02T00:00:00Z"},
        {"person_id": "a", "name": "李卫东", "starts_at": "2026-12-02T12:00:00Z"},
    ]
    rows = duty_rows(duty, week_of("2026-W49").days)
    assert [r["name"] for r in rows] == ["李卫东", "马丽娟"]
    assert [len(c) for c in rows[0]["cells"]] == [0, 0, 2, 0, 0, 0, 0]
    assert duty_rows(InvalidInput(), week_of("2026-W49").days) == []


def test_what_was_typed_is_kept_and_a_textarea_is_one_item_a_line():
    form = MultiDict([("care_needs", "health"), ("care_needs", "life_care"), ("name", "王素芳")])
    assert typed_values(form) == {"care_needs": ["health", "life_care"], "name": "王素芳"}
    assert _lines("聊天\n打扫卫生、 买菜，\n\n") == ["聊天", "打扫卫生", "买菜"]


@pytest.mark.parametrize(
    "name",
    sorted(
        p.name
        for pattern in ("volunteers*.html", "activities*.html", "settings*.html")
        for p in CONSOLE.glob(pattern)
    ),
)
def test_every_template_of_the_three_areas_compiles(name):
    TEMPLATES.get_template(f"console/{name}")
