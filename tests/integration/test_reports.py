"""The monthly report and the county view through the gateway, on the real broker: tickets,
volunteers, events and reports running as services, SQLite each. The report's figures are the
statistics APIs' answers for the same month; the PDF embeds every font; the workbook reads
back; bad months and other centers are refused in Chinese."""

import io
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import requests
from openpyxl import load_workbook

from lianxin.clock import local
from lianxin.testing import free_port

pytestmark = pytest.mark.integration

CENTER, OTHER = "yanminghu", "fenghuangtai"


class Api:
    def __init__(self, base: str, token):
        self.base, self.token = base, token

    def __call__(self, path, who="admin", center=CENTER, sub=None, party=None, **kwargs):
        bearer = self.token(who, center=center, sub=sub, party=party)
        return requests.get(
            self.base + path, timeout=60, headers={"Authorization": f"Bearer {bearer}"}, **kwargs
        )


@pytest.fixture
def api(container_factory, service_config, token, center_registry, rpc):
    from gateway.service import GatewayService
    from services.events.service import EventsService
    from services.reports.service import ReportsService
    from services.volunteers.service import VolunteersService

    port = free_port()
    center_registry(CENTER, OTHER)
    for cls, name in (
        (VolunteersService, "volunteers"),
        (EventsService, "events"),
        (ReportsService, "reports"),
    ):
        container_factory(cls, service_config(name)).start()
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()
    for center in (CENTER, OTHER):
        seed(rpc(token("admin", center=center)), center)
    return Api(f"http://127.0.0.1:{port}", token)


def seed(admin, center):
    """A handful of handled and rated tickets, one on the joint meeting's agenda, a visit."""
    t = admin.tickets
    for code, name, party in (
        ("sanitation", "环境卫生", "property"),
        ("elderly_care", "养老服务", "social_work"),
    ):
        t.add_category(center, {"code": code, "name": name, "party": party})
    ratings = ["satisfied", "satisfied", "basically_satisfied", "dissatisfied"]
    if center == OTHER:
        ratings = ["satisfied", "dissatisfied"]
    for n, rating in enumerate(ratings):
        ticket = t.create_ticket(
            center,
            {
                "category": "sanitation" if n % 2 else "elderly_care",
                "description": f"测试诉求 {n}",
                "channel": "walk_in",
            },
        )
        t.acknowledge_ticket(center, ticket["id"], {})
        t.resolve_ticket(center, ticket["id"], {"answer": "已处理完毕"})
        t.rate_ticket(center, ticket["id"], {"rating": rating, "via": "phone"})
    escalated = t.create_ticket(
        center, {"category": "sanitation", "description": "停车位不足", "channel": "hotline"}
    )
    t.acknowledge_ticket(center, escalated["id"], {})
    t.escalate_ticket(center, escalated["id"], {"reason": "需四方共同商议"})
    v = admin.volunteers
    v.register_volunteer(center, {"name": "张志强", "person_id": "vol-1"})
    v.register_beneficiary(
        center,
        {
            "file_no": "YM-001",
            "name": "刘敬州",
            "category": "elderly_alone",
            "care_needs": ["life_care"],
            "address": "东村 6 号楼",
        },
    )
    v.record_visit(
        center,
        "YM-001",
        {
            "visited_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "volunteers": [{"volunteer_id": "vol-1", "hours": 2.5}],
            "tasks": ["打扫卫生"],
        },
    )
    held = datetime.now(UTC) - timedelta(minutes=30)
    admin.events.record_activities(
        center,
        {
            "items": [
                {
                    "title": "重阳节包饺子",
                    "starts_at": held.isoformat(),
                    "ends_at": (held + timedelta(minutes=25)).isoformat(),
                    "attendance": 30 if center == CENTER else 12,
                    "audience": "elderly",
                    "place": "二楼活动室",
                }
            ]
        },
    )


def this_month() -> str:
    return local(datetime.now(UTC)).strftime("%Y-%m")


def month_days(month: str) -> dict[str, str]:
    first = datetime.strptime(month + "-01", "%Y-%m-%d").date()
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return {"from": first.isoformat(), "to": (following - timedelta(days=1)).isoformat()}


def test_report_figures_equal_what_the_statistics_apis_answer_for_the_month(api):
    month = this_month()
    report = api(f"/api/v1/reports/monthly/{month}")
    assert report.status_code == 200, report.text
    body = report.json()
    days = month_days(month)
    assert body["tickets"] == api("/api/v1/tickets/stats", params=days).json()
    assert body["volunteers"] == api("/api/v1/volunteers/stats", params=days).json()
    assert body["volunteers_to_date"] == (
        api("/api/v1/volunteers/stats", params={"to": days["to"]}).json()
    )
    assert body["activities_by_programme"] == (
        api("/api/v1/attendance/stats", params={**days, "group_by": "programme"}).json()
    )
    start = f"{days['from']}T00:00:00+08:00"
    end_day = datetime.fromisoformat(days["to"]) + timedelta(days=1)
    end = f"{end_day.date().isoformat()}T00:00:00+08:00"
    by_party = api(
        "/api/v1/satisfaction", params={"group_by": "party", "start": start, "end": end}
    ).json()
    assert body["satisfaction_by_party"] == by_party["rows"]
    meeting = api(f"/api/v1/joint-meetings/{month}").json()
    assert body["meeting"] == meeting
    # and the figures are the seeded ones
    assert body["tickets"]["total"]["received"] == 5
    assert body["tickets"]["total"]["resolved"] == 4 and body["tickets"]["total"]["escalated"] == 1
    assert body["satisfaction"] == 75.0 and body["satisfaction_trend"][-1]["month"] == month
    assert body["volunteers"]["verified_hours"] == 2.5
    assert body["meeting"]["items"][0]["ticket"]["description"] == "停车位不足"


def test_the_pdf_embeds_every_font_and_the_workbook_reads_back(api, tmp_path):
    month = this_month()
    got = api(f"/api/v1/reports/monthly/{month}.pdf")
    assert got.status_code == 200, got.text
    assert got.headers["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''" in got.headers["Content-Disposition"]
    path = tmp_path / "report.pdf"
    path.write_bytes(got.content)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in fonts.stdout.splitlines()[2:]]
    assert rows and all(r[-5] == "yes" for r in rows), fonts.stdout
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "月度工作报告" in text and "雁鸣湖镇镇区社区党群服务中心" in text

    sheet = api(f"/api/v1/reports/monthly/{month}.xlsx")
    assert sheet.status_code == 200, sheet.text
    book = load_workbook(io.BytesIO(sheet.content))
    rows = {r[0]: r for r in book["主要指标"].iter_rows(min_row=2, values_only=True)}
    assert rows["受理诉求（件）"][1] == 5 and rows["群众满意率(%)"][1] == 75.0


def test_a_social_worker_reads_the_report_without_the_cadres_agenda(api):
    got = api(
        f"/api/v1/reports/monthly/{this_month()}", who="staff", sub="sw-1", party="social_work"
    )
    assert got.status_code == 200, got.text
    assert got.json()["meeting"] is None and "无权查看" in got.json()["meeting_note"]


def test_bad_months_and_callers_are_refused_in_chinese(api):
    now = local(datetime.now(UTC))
    following = (now.replace(day=28) + timedelta(days=4)).strftime("%Y-%m")
    future = api(f"/api/v1/reports/monthly/{following}")
    assert future.status_code == 422 and future.json()["code"] == "MONTH_IN_FUTURE"
    assert "尚未到来" in future.json()["detail"]
    assert future.headers["Content-Type"].startswith("application/problem+json")
    before = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    early = api(f"/api/v1/reports/monthly/{before}.pdf")
    assert early.status_code == 422 and early.json()["code"] == "MONTH_BEFORE_CENTER"
    malformed = api("/api/v1/reports/monthly/2026-13")
    assert malformed.status_code == 422 and "月份" in malformed.json()["detail"] + str(
        malformed.json().get("errors")
    )
    handler = api(f"/api/v1/reports/monthly/{this_month()}", who="staff", party="property")
    assert handler.status_code == 403
    unknown = api(f"/api/v1/reports/monthly/{this_month()}", center="nowhere")
    assert unknown.status_code == 404 and unknown.json()["code"] == "CENTER_NOT_FOUND"


def test_the_county_view_ranks_the_granted_centers_side_by_side(api):
    month = this_month()
    got = api(f"/api/v1/reports/county/{month}", who="department", center=[CENTER, OTHER])
    assert got.status_code == 200, got.text
    rows = got.json()["centers"]
    assert [(r["center_id"], r["rank"]) for r in rows] == [(CENTER, 1), (OTHER, 2)]
    assert rows[0]["satisfaction"] == 75.0 and rows[1]["satisfaction"] == 50.0
    # each line is the center's own statistics for the month (batched: one RPC a service)
    days = month_days(month)
    start = f"{days['from']}T00:00:00+08:00"
    end_day = datetime.fromisoformat(days["to"]) + timedelta(days=1)
    end = f"{end_day.date().isoformat()}T00:00:00+08:00"

    def own(path, center_id, **params):
        got = api(
            path, who="department", center=[CENTER, OTHER], params={**params, "center": center_id}
        )
        assert got.status_code == 200, got.text
        return got.json()

    figures = ("received", "resolved", "overdue", "returned", "escalated")
    for row in rows:
        cid = row["center_id"]
        tickets = own("/api/v1/tickets/stats", cid, **days)
        volunteers = own("/api/v1/volunteers/stats", cid, **days)
        activities = own("/api/v1/attendance/stats", cid, **days, group_by="programme")
        [rated] = own("/api/v1/satisfaction", cid, group_by="center", start=start, end=end)["rows"]
        total = tickets["total"]
        assert {k: row[k] for k in figures} == {k: total[k] for k in figures}
        assert row["acknowledged_in_10_minutes_rate"] == total["acknowledged_in_10_minutes_rate"]
        assert row["median_resolve_hours"] == tickets["median_resolve_hours"]
        assert (row["ratings"], row["satisfaction"]) == (rated["ratings"], rated["rate"])
        assert row["verified_hours"] == volunteers["verified_hours"] == 2.5
        assert row["participations"] == volunteers["participations"]
        assert row["beneficiaries_served"] == volunteers["beneficiaries_served"] == 1
        assert row["activities"] == activities["activities"] == 1
        assert row["activity_person_times"] == activities["person_times"]
    assert [r["activity_person_times"] for r in rows] == [30, 12]
    only_one = api(f"/api/v1/reports/county/{month}", who="department", center=[OTHER]).json()
    assert [r["center_id"] for r in only_one["centers"]] == [OTHER]
    sheet = api(f"/api/v1/reports/county/{month}.xlsx", who="ops", center="*")
    assert sheet.status_code == 200, sheet.text
    table = load_workbook(io.BytesIO(sheet.content)).active
    assert [c.value for c in table[1]][:2] == ["排名", "服务中心"]
    assert table.max_row == 3
    assert api(f"/api/v1/reports/county/{month}", who="admin").status_code == 403
