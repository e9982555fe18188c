"""The phone pages' templates and helpers without a system: every page renders in Chinese
with the age-friendly switch, no inline script, the fields' reasons beside the fields; a
form's key makes the same submission key as the API's header; QR codes are inline SVG."""

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from gateway.web import ASSETS, render
from gateway.web.m.base import NOTICES, qr_svg
from gateway.web.m.resident import PLAIN_STATES, _answers, intake_key
from gateway.web.m.volunteer import local_input
from gateway.web.views import Viewer, field_errors
from lianxin.contracts.tickets.operations import STATES
from lianxin.errors import InvalidInput
from lianxin.roles import Principal

CENTER = {"id": "yanminghu", "name": "雁鸣湖镇镇区社区党群服务中心", "address": "东村社区"}
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
RESIDENT = Viewer(Principal("resident-1", "resident", ("yanminghu",)), "csrf-1", "yanminghu")
VOLUNTEER = Viewer(Principal("vol-1", "volunteer", ("yanminghu",)), "csrf-2", "yanminghu")
#: Latin words a page may show: none but the product's own codes.
LATIN = re.compile(r">[^<]*[A-Za-z]{3,}[^<]*<")
#: What a page shows as it is: codes people copy, the PDF of a certificate.
CODES = ("PDF", "ABCDEF", "YM-1", "abcdefgh")


def layout(**values):
    return {
        "center": CENTER,
        "center_id": "yanminghu",
        "viewer": None,
        "unread": 0,
        "elder": False,
        "notice": None,
        "here": "/m/yanminghu/",
        **values,
    }


def activity(**extra):
    return {
        "id": "a-1",
        "title": "趣味益智 健康生活",
        "starts_at": NOW.isoformat(),
        "ends_at": (NOW + timedelta(hours=1)).isoformat(),
        "room_name": "文体活动室",
        "place": "",
        "audience": "elderly",
        "capacity": 20,
        "places_left": 0,
        "waitlisted": 2,
        "registration_closes_at": NOW.isoformat(),
        "state": "published",
        "description": "",
        "max_party_size": 3,
        **extra,
    }


def ticket(**extra):
    return {
        "id": "t-1",
        "state": "resolved",
        "description": "路灯坏了",
        "address": "3号楼",
        "created_at": NOW.isoformat(),
        "party": "property",
        "answer": "已更换",
        "rating": None,
        "contact_left": False,
        **extra,
    }


PAGES = {
    "home": ("m/home.html", layout(week=[activity()], today=[activity()])),
    "report": (
        "m/report.html",
        layout(
            categories=[
                {
                    "code": "repairs",
                    "name": "公共设施维修",
                    "attributes": [
                        {
                            "code": "facility",
                            "description": "设施类型",
                            "datatype": "singlevaluelist",
                            "required": True,
                            "order": 1,
                            "values": [{"key": "light", "name": "路灯"}],
                        }
                    ],
                }
            ],
            form=MultiDict({"description": "灯", "category": "repairs"}),
            key="k-1",
            error=InvalidInput(
                fields={
                    "description": ["长度应为 2 到 2000"],
                    "attributes": {"facility": ["必填：设施类型"]},
                }
            ),
            errors=field_errors(
                InvalidInput(
                    fields={
                        "description": ["长度应为 2 到 2000"],
                        "attributes": {"facility": ["必填：设施类型"]},
                    }
                )
            ),
            kept=[],
            max_photos=3,
        ),
    ),
    "follow": (
        "m/follow.html",
        layout(
            ticket=ticket(),
            timeline=[{"action": "acknowledge", "at": NOW.isoformat(), "party": None}],
            code="abcdefgh",
            mine=False,
            plain_state=PLAIN_STATES["resolved"],
            plain_actions={"acknowledge": "值班干部签收"},
            parties={"property": "物业"},
            ratings={
                "satisfied": "满意",
                "basically_satisfied": "基本满意",
                "dissatisfied": "不满意",
            },
            may_rate=True,
            may_reopen=False,
            reported=True,
            follow_link="/m/yanminghu/follow/t-1?code=abcdefgh",
            follow_qr=qr_svg("http://x/m/yanminghu/follow/t-1?code=abcdefgh", "二维码"),
            error=None,
            errors={},
            form=MultiDict(),
        ),
    ),
    "mine": ("m/mine.html", layout(viewer=RESIDENT, tickets=[ticket()], total=1)),
    "activities": (
        "m/activities.html",
        layout(
            viewer=RESIDENT,
            coming=[activity()],
            failed=None,
            mine={"a-1": {"state": "waitlisted", "position": 2}},
            states={"waitlisted": "候补中"},
            audiences={"elderly": "老年人"},
        ),
    ),
    "activity": (
        "m/activity.html",
        layout(
            viewer=RESIDENT,
            activity=activity(),
            registration={
                "id": "r-1",
                "state": "confirmed",
                "code": "ABCDEF",
                "members": [],
                "party_size": 1,
                "position": None,
            },
            qr=qr_svg("ABCDEF", "签到码 ABCDEF"),
            states={"confirmed": "报名成功"},
            audiences={"elderly": "老年人"},
            member_fields=2,
            error=None,
            errors={},
            form=MultiDict(),
        ),
    ),
    "messages": (
        "m/messages.html",
        layout(
            viewer=RESIDENT,
            messages={
                "items": [
                    {
                        "title": "报名成功",
                        "body": "您已报名",
                        "created_at": NOW.isoformat(),
                        "read_at": None,
                    }
                ],
                "unread": 1,
            },
        ),
    ),
    "volunteer": (
        "m/volunteer.html",
        layout(
            viewer=VOLUNTEER,
            me={
                "name": "何雪",
                "skills": ["health"],
                "totals": {"verified_hours": 16.0, "pending_hours": 2.0, "next_milestone": 50},
                "trainings": [],
            },
            active=[
                {
                    "id": "s-1",
                    "shift_title": "活动协助",
                    "starts_at": NOW.isoformat(),
                    "ends_at": NOW.isoformat(),
                    "place": "中心",
                    "status": "waitlisted",
                    "waitlist_position": 1,
                }
            ],
            done_signups=[],
            open_shifts=[],
            certificates=[],
            states={"waitlisted": "候补中"},
            skills={"health": "健康维护"},
            kinds={},
            error=None,
        ),
    ),
    "check": (
        "m/check.html",
        layout(viewer=VOLUNTEER, code="YM-1", shift=None, error=None, errors={}),
    ),
    "hours": (
        "m/hours.html",
        layout(
            viewer=VOLUNTEER,
            hours=[{"hours": 2.0, "status": "pending", "served_at": NOW.isoformat(), "note": None}],
            totals={"verified_hours": 16.0, "pending_hours": 2.0},
            pending=2.0,
            signups=[{"id": "s-1", "starts_at": NOW.isoformat(), "shift_title": "活动协助"}],
            corrections=[],
            states={"pending": "待审核"},
            correction_states={},
            titles={},
            error=None,
            errors={},
            form=MultiDict(),
        ),
    ),
    "status": ("m/status.html", layout(title="没有这个页面", lines=["您访问的页面不存在。"])),
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_renders_in_chinese_with_the_age_friendly_switch_and_no_inline_script(name):
    template, values = PAGES[name]
    html = render(template, **values)
    assert 'lang="zh-CN"' in html and "大字模式" in html
    assert "<script>" not in html and " on" + "click=" not in html
    assert not [m for m in LATIN.findall(html) if not any(c in m for c in CODES)], name


def test_the_age_friendly_mode_is_rendered_by_the_server_from_its_cookie():
    template, values = PAGES["home"]
    html = render(template, **{**values, "elder": True})
    assert '<html lang="zh-CN" class="elder">' in html and "标准字号" in html


def test_a_refused_report_shows_each_reason_beside_its_field_and_keeps_what_was_typed():
    template, values = PAGES["report"]
    html = render(template, **values)
    assert '<p class="field-error" id="description-error">长度应为 2 到 2000</p>' in html
    assert "必填：设施类型" in html
    assert ">灯</textarea>" in html and 'value="k-1"' in html


def test_the_form_key_makes_the_same_submission_key_as_the_api_header():
    # gateway.routes.tickets.TicketRoutes.intake_key with an Idempotency-Key header
    material = "client:1.2.3.4|yanminghu|key|k-1"
    assert (
        intake_key("client:1.2.3.4", "yanminghu", "k-1")
        == hashlib.sha256(material.encode()).hexdigest()
    )


def test_only_the_chosen_categorys_answers_are_sent():
    form = MultiDict(
        [
            ("attr.repairs.facility", "light"),
            ("attr.sanitation.building", "3号楼"),
            ("attr.repairs.floors[]", "1"),
            ("attr.repairs.floors[]", "2"),
        ]
    )
    assert _answers(form, "repairs") == {"facility": "light", "floors": ["1", "2"]}
    assert _answers(form, "") == {}


def test_a_datetime_field_is_read_in_beijing_time():
    assert local_input("2026-12-02T09:30") == "2026-12-02T09:30:00+08:00"
    assert local_input("昨天") == "昨天"  # the schema refuses it by field


def test_a_qr_code_is_an_inline_svg_scaled_by_its_viewbox():
    svg = qr_svg("https://example.cn/m/yanminghu/", "中心首页二维码")
    assert svg.startswith('<svg role="img" aria-label="中心首页二维码" viewBox=')
    assert "width=" not in svg.split(">")[0]


def test_every_state_and_notice_has_plain_words():
    assert set(PLAIN_STATES) == set(STATES)
    assert all(re.search(r"[\u4e00-\u9fff]", text) for text in NOTICES.values())


def test_the_phone_assets_are_small():
    assert len(ASSETS["phone.css"].zipped) + len(ASSETS["phone.js"].zipped) < 12 * 1024
