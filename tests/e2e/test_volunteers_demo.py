"""Volunteering in the demo center, over HTTP only: the report's figures, a sign-up, a certificate."""

from datetime import UTC, datetime, timedelta

import pytest

from lianxin.clock import SHANGHAI

pytestmark = pytest.mark.e2e


def test_the_seeded_ledger_gives_the_reports_500_hours_245_participations_120_people(system, token):
    # The ledger's visits are three days back and older; up to the day before yesterday
    # leaves out what other tests record "two hours ago" (yesterday, just after midnight).
    before = (datetime.now(SHANGHAI) - timedelta(days=2)).date().isoformat()
    response = system.get(f"/api/v1/volunteers/stats?to={before}", token=token("staff"))
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["verified_hours"] == 500
    assert stats["participations"] == 245
    assert stats["beneficiaries_served"] >= 120 and stats["service_person_times"] >= 120


def test_the_register_holds_the_people_of_the_report(system, token):
    staff = token("staff", party="social_work")
    found = system.get("/api/v1/beneficiaries?q=刘敬州", token=staff).json()["items"]
    assert found[0]["age"] >= 82 and found[0]["category"] == "elderly_alone"
    visits = system.get(f"/api/v1/beneficiaries/{found[0]['id']}/visits", token=staff).json()
    assert visits["items"][0]["tasks"] == ["打扫卫生", "整理客厅", "收拾杂物", "赠送绿植"]
    shifts = system.get(f"/api/v1/shifts?beneficiary_id={found[0]['id']}", token=staff).json()
    assert shifts["items"][0]["title"] == "独居老人刘敬州家打扫卫生"
    profile = system.get("/api/v1/volunteers/vol-1", token=staff).json()
    assert any(
        t["kind"] == "exchange_visit" and "银莺社区党群服务中心" in t["places"]
        for t in profile["trainings"]
    )


def test_a_volunteer_signs_up_for_next_weeks_visit_and_cannot_take_an_overlapping_one(
    system, token
):
    me = token("volunteer", sub="vol-7")
    open_shifts = system.get("/api/v1/shifts?available=true", token=me).json()["items"]
    visit = next(s for s in open_shifts if s["title"] == "探访王素芳老人")
    signed = system.post(f"/api/v1/shifts/{visit['id']}/signups", {}, me)
    assert signed.status_code == 201, signed.text
    assert signed.json()["status"] == "confirmed" and signed.json()["place"] == visit["place"]

    staff = token("staff", party="social_work")
    starts = datetime.fromisoformat(visit["starts_at"])
    clash = system.post(
        "/api/v1/shifts",
        {
            "title": "整理王素芳老人家",
            "kind": "cleaning",
            "place": visit["place"],
            "capacity": 2,
            "starts_at": (starts + timedelta(minutes=30)).isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
        },
        staff,
    ).json()
    refused = system.post(f"/api/v1/shifts/{clash['id']}/signups", {}, me)
    assert refused.status_code == 409 and refused.json()["code"] == "OVERLAPPING_SHIFT"
    mine = system.get("/api/v1/volunteers/me/signups", token=me).json()["items"]
    assert [s["shift_id"] for s in mine] == [visit["id"]]


def test_bad_shift_requests_get_field_errors(system, token):
    staff = token("staff", party="social_work")
    starts = datetime.now(UTC) + timedelta(days=3)
    base = {
        "title": "陪同就医",
        "kind": "escort",
        "place": "雁鸣湖镇卫生院",
        "capacity": 1,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
    }
    too_long = system.post(
        "/api/v1/shifts", {**base, "ends_at": (starts + timedelta(hours=30)).isoformat()}, staff
    )
    assert too_long.status_code == 422 and too_long.json()["errors"] == {
        "ends_at": ["班次不能超过 24 小时"]
    }
    unknown = system.post("/api/v1/shifts", {**base, "required_skills": ["magic"]}, staff)
    assert unknown.status_code == 422 and "required_skills" in unknown.json()["errors"]
    shift = system.post("/api/v1/shifts", base, staff).json()
    me = token("volunteer", sub="vol-3")
    assert system.post(f"/api/v1/shifts/{shift['id']}/signups", {}, me).status_code == 201
    early = system.post(f"/api/v1/shifts/{shift['id']}/check-out", {}, me)
    assert early.status_code == 409 and early.json()["detail"] == "尚未签到，不能签退"
    assert system.get("/api/v1/beneficiaries", token=me).status_code == 403


def test_a_volunteer_downloads_their_own_certificate_only(system, token):
    me = token("volunteer", sub="vol-1")
    reached = system.get("/api/v1/volunteers/me/certificates", token=me).json()
    assert [m["milestone_hours"] for m in reached][:2] == [50, 100]
    pdf = system.get("/api/v1/volunteers/me/certificates/50", token=me)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and "attachment" in pdf.headers["Content-Disposition"]
    someone_else = system.get(
        "/api/v1/volunteers/vol-1/certificates/50", token=token("volunteer", sub="vol-2")
    )
    assert someone_else.status_code == 403
    not_yet = system.get("/api/v1/volunteers/me/certificates/500", token=me)
    assert not_yet.status_code == 404 and "尚未达到 500 小时" in not_yet.json()["detail"]
