"""A user's view: the running system over HTTP only."""

import pytest
import requests

from lianxin.testing import wait_for

pytestmark = pytest.mark.e2e

TICKET = {
    "category": "sanitation",
    "description": "东村社区3号楼门口垃圾两天没人清运",
    "address": "东村社区3号楼",
}


def test_health_says_every_service_answers(system):
    response = system.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.json()["services"] == {
        s: "ok" for s in ("accounts", "tickets", "volunteers", "events", "notify", "reports")
    }


def test_posted_ticket_reaches_the_cadre_on_duty(system, token, on_duty):
    staff = token("staff", sub="staff-duty-1")  # a seeded cadre, on duty now
    on_duty("staff-duty-1")
    created = system.post("/api/v1/tickets", {**TICKET, "channel": "hotline"}, staff)
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["party"] == "property" and ticket["state"] == "reported"

    def staff_notified():
        items = system.get("/api/v1/notifications", token=staff).json()["items"]
        return [n for n in items if n["ref_id"] == ticket["id"]]

    note = wait_for(staff_notified, timeout=10)[0]
    assert note["title"] == "新诉求待签收" and "环境卫生" in note["body"]
    assert system.get(f"/api/v1/tickets/{ticket['id']}", token=staff).json()["id"] == ticket["id"]


def test_another_centers_user_gets_404_for_our_ticket(system, token):
    ticket = system.post("/api/v1/tickets", TICKET, token("staff")).json()
    other = token("staff", center="fenghuangtai")
    response = system.get(f"/api/v1/tickets/{ticket['id']}", token=other)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_requests_without_a_valid_token_are_refused(system):
    assert system.get("/api/v1/tickets").status_code == 401
    response = system.get("/api/v1/tickets", token="forged.token.here")
    assert response.status_code == 401 and response.json()["code"] == "TOKEN_INVALID"


@pytest.mark.parametrize(
    "send, status, field",
    [
        (
            lambda s: s.post("/api/v1/public/tickets", {**TICKET, "center_id": "atlantis"}),
            404,
            "center_id",
        ),
        (
            lambda s: s.post(
                "/api/v1/public/tickets", {"center_id": "yanminghu", "description": "无类别"}
            ),
            422,
            "category",
        ),
        (
            lambda s: s.post(
                "/api/v1/public/tickets", {**TICKET, "center_id": "yanminghu", "lat": "北"}
            ),
            422,
            "lat",
        ),
        (
            lambda s: s.post(
                "/api/v1/public/tickets",
                {**TICKET, "center_id": "yanminghu", "description": "很" * 4001},
            ),
            422,
            "description",
        ),
        (
            lambda s: requests.post(
                s.url("/api/v1/public/tickets"),
                data=b'{"center_id": "yanm',
                headers={"Content-Type": "application/json"},
                timeout=10,
            ),
            400,
            None,
        ),
        (
            lambda s: requests.post(
                s.url("/api/v1/public/tickets"),
                data=b"x" * 70000,
                headers={"Content-Type": "application/json"},
                timeout=10,
            ),
            413,
            None,
        ),
    ],
)
def test_bad_public_input_is_a_clear_problem_and_stores_nothing(system, token, send, status, field):
    before = system.get("/api/v1/tickets", token=token("staff")).json()["total"]
    response = send(system)
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert problem["status"] == status and problem["detail"]
    if field:
        assert field in problem["errors"]
    assert system.get("/api/v1/tickets", token=token("staff")).json()["total"] == before


def test_a_burst_from_one_client_is_throttled_and_stored_once_per_accepted_request(system, token):
    before = system.get("/api/v1/tickets", token=token("staff")).json()["total"]
    responses = [
        system.post("/api/v1/public/tickets", {**TICKET, "center_id": "yanminghu"})
        for _ in range(12)
    ]
    codes = [r.status_code for r in responses]
    assert 201 in codes and 429 in codes
    throttled = next(r for r in responses if r.status_code == 429)
    assert int(throttled.headers["Retry-After"]) >= 1
    after = system.get("/api/v1/tickets", token=token("staff")).json()["total"]
    assert after - before == codes.count(201)


def test_demo_center_is_seeded_from_the_report(system, token):
    staff = token("staff")
    rooms = system.get("/api/v1/rooms", token=staff).json()
    assert len(rooms) >= 12 and {"党建活动室", "日间托老室", "文体活动室", "电子阅览室"} <= {
        r["name"] for r in rooms
    }
    programmes = {p["code"] for p in system.get("/api/v1/programmes", token=staff).json()}
    assert {"yilu_growth", "beautiful_yanming", "yuedong_elderly", "our_festivals"} <= programmes
    center = system.get("/api/v1/public/centers/yanminghu").json()
    assert center["name"] == "雁鸣湖镇镇区社区党群服务中心"
    categories = system.get("/api/v1/public/centers/yanminghu/categories").json()
    assert {c["party"] for c in categories} == {
        "property",
        "social_work",
        "owners_committee",
        "village_committee",
    }
    assert system.get("/api/v1/volunteers", token=staff).json()["total"] >= 5


def test_openapi_and_metrics_are_served(system):
    doc = system.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "/api/v1/tickets" in doc["paths"]
    metrics = system.get("/metrics").text
    assert "lianxin_entrypoint_calls_total" in metrics and "lianxin_outbox_backlog" in metrics
    for name in ("TICKETS", "VOLUNTEERS", "EVENTS", "NOTIFY"):
        port = system.env[f"{name}_METRICS_PORT"]
        own = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert f'service="{name.lower()}"' in own


def test_unknown_route_is_a_problem_not_an_html_page(system):
    response = system.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["code"] == "NO_SUCH_ROUTE"
