"""The volunteers' REST API through the gateway, on the real broker: what users send and get."""

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
import requests

from lianxin.testing import free_port

pytestmark = pytest.mark.integration

CENTER = "yanminghu"


@pytest.fixture
def api(container_factory, service_config, token, center_registry):
    from gateway.service import GatewayService
    from services.volunteers.service import VolunteersService

    port = free_port()
    container_factory(VolunteersService, service_config("volunteers")).start()
    center_registry(CENTER, "fenghuangtai")
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()
    base = f"http://127.0.0.1:{port}/api/v1"

    class Api:
        def __call__(self, method, path, bearer, json=None, **kw):
            return requests.request(
                method,
                base + path,
                json=json,
                timeout=15,
                headers={"Authorization": f"Bearer {bearer}"},
                **kw,
            )

    return Api()


@pytest.fixture
def staff(api, token):
    bearer = token("staff", sub="sw-1", party="social_work")
    for person_id, name in (("vol-1", "张志强"), ("vol-2", "刘慧")):
        created = api(
            "POST",
            "/volunteers",
            bearer,
            {"name": name, "person_id": person_id, "skills": ["cleaning", "life_care"]},
        )
        assert created.status_code == 201, created.text
    created = api(
        "POST",
        "/beneficiaries",
        bearer,
        {
            "file_no": "YM-001",
            "name": "刘敬州",
            "category": "elderly_alone",
            "birth_year": 1944,
            "care_needs": ["life_care"],
            "address": "雁鸣湖镇东村社区 6 号楼 1 单元 101 室",
        },
    )
    assert created.status_code == 201, created.text
    return bearer


def shift(**extra):
    starts = datetime.now(UTC) + timedelta(days=2)
    return {
        "title": "刘敬州家打扫卫生",
        "kind": "cleaning",
        "capacity": 1,
        "place": "雁鸣湖镇东村社区 6 号楼 1 单元 101 室",
        "beneficiary_id": "YM-001",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "required_skills": ["cleaning"],
        "tasks": ["打扫卫生", "整理客厅", "赠送绿植"],
        **extra,
    }


def test_a_volunteer_signs_up_and_the_next_one_waits(api, staff, token):
    published = api("POST", "/shifts", staff, shift(ref="liu-cleaning"))
    assert published.status_code == 201, published.text
    me, other = token("volunteer", sub="vol-1"), token("volunteer", sub="vol-2")
    mine = api("POST", "/shifts/liu-cleaning/signups", me, {})
    assert mine.status_code == 201 and mine.json()["status"] == "confirmed"
    theirs = api("POST", f"/shifts/{published.json()['id']}/signups", other, {}).json()
    assert (theirs["status"], theirs["waitlist_position"]) == ("waitlisted", 1)
    cancelled = api("POST", f"/signups/{mine.json()['id']}/cancel", me, {"reason": "临时有事"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    roster = api("GET", "/shifts/liu-cleaning/signups", staff).json()["items"]
    assert [(s["volunteer_name"], s["status"]) for s in roster] == [
        ("张志强", "cancelled"),
        ("刘慧", "confirmed"),
    ]
    assert api("GET", "/volunteers/me/signups", other).json()["items"][0]["promoted"] is True


def test_bad_requests_get_a_clear_4xx_and_change_nothing(api, staff, token):
    long = shift(ends_at=(datetime.now(UTC) + timedelta(days=3, hours=1)).isoformat())
    refused = api("POST", "/shifts", staff, {**long, "required_skills": ["juggling"]})
    assert refused.status_code == 422
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["errors"]["ends_at"] == ["班次不能超过 24 小时"]
    assert "required_skills" in refused.json()["errors"]
    assert api("GET", "/shifts", staff).json()["total"] == 0

    me = token("volunteer", sub="vol-1")
    assert api("GET", "/beneficiaries", me).status_code == 403
    assert api("GET", "/volunteers/vol-2", me).status_code == 403
    assert api("POST", "/shifts", me, shift()).status_code == 403
    elsewhere = api(
        "POST",
        "/shifts",
        token("staff", center="fenghuangtai", party="social_work"),
        shift(beneficiary_id=None),
    ).json()
    assert api("POST", f"/shifts/{elsewhere['id']}/signups", me, {}).status_code == 404
    first = api("POST", "/shifts", staff, shift()).json()
    clash = api("POST", "/shifts", staff, shift(title="探访王素芳", beneficiary_id=None)).json()
    assert api("POST", f"/shifts/{first['id']}/signups", me, {}).status_code == 201
    overlap = api("POST", f"/shifts/{clash['id']}/signups", me, {})
    assert overlap.status_code == 409 and overlap.json()["code"] == "OVERLAPPING_SHIFT"
    early = api("POST", f"/shifts/{first['id']}/check-out", me, {})
    assert early.status_code == 409 and early.json()["detail"] == "尚未签到，不能签退"
    unknown_field = api("POST", f"/shifts/{first['id']}/check-in", me, {"when": "now"})
    assert unknown_field.status_code == 422 and unknown_field.json()["errors"] == {
        "when": ["未知字段"]
    }


def test_recorded_visits_earn_a_certificate_the_volunteer_downloads(api, staff, token):
    for days in (3, 2, 1):
        recorded = api(
            "POST",
            "/beneficiaries/YM-001/visits",
            staff,
            {
                "visited_at": (datetime.now(UTC) - timedelta(days=days)).isoformat(),
                "volunteers": [{"volunteer_id": "vol-1", "hours": 20}],
                "tasks": ["打扫卫生", "整理客厅", "赠送绿植"],
                "notes": "老人很高兴",
            },
        )
        assert recorded.status_code == 201, recorded.text
    me = token("volunteer", sub="vol-1")
    pdf = api("GET", "/volunteers/me/certificates/50", me)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    disposition = pdf.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("UTF-8''")[1]) == "志愿服务证书-张志强-50小时.pdf"
    assert (
        api("GET", "/volunteers/vol-1/certificates/50", token("volunteer", sub="vol-2")).status_code
        == 403
    )
    assert api("GET", "/volunteers/me/certificates/100", me).status_code == 404
    assert api("GET", "/volunteers/me/certificates/fifty", me).status_code == 422

    stats = api("GET", "/volunteers/stats", staff).json()
    assert (stats["verified_hours"], stats["participations"], stats["beneficiaries_served"]) == (
        60,
        3,
        1,
    )
    department = token("department", center=[CENTER, "fenghuangtai"])
    assert api("GET", f"/volunteers/stats?center={CENTER}", department).json() == stats
    assert api("GET", "/volunteers/stats?from=2026-12-31&to=2026-01-01", staff).status_code == 422
    log = api("GET", "/beneficiaries/YM-001/visits", staff).json()
    assert log["total"] == 3 and log["items"][0]["volunteers"][0]["volunteer_name"] == "张志强"
