"""The care file of one beneficiary through the gateway, on the real broker: the record,
visits, the next planned visit (volunteers), the person's tickets (tickets) and activity
registrations (events), joined by the directory's person (notify) once a staff member linked
it; only social workers and admins of the center; every opening logged for the admin."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from lianxin.testing import free_port

pytestmark = pytest.mark.integration

CENTER, OTHER = "yanminghu", "fenghuangtai"
PHONE = "13912345678"
PERSON = "resident-liu-1"


class Api:
    def __init__(self, base, token):
        self.base, self.token = base, token

    def __call__(self, method, path, who="admin", center=CENTER, sub=None, party=None, **kw):
        bearer = self.token(who, center=center, sub=sub, party=party)
        return requests.request(
            method,
            self.base + path,
            timeout=30,
            headers={"Authorization": f"Bearer {bearer}"},
            **kw,
        )


@pytest.fixture
def api(container_factory, service_config, token, center_registry, rpc, tmp_path):
    from gateway.service import GatewayService
    from services.events.service import EventsService
    from services.notify.service import NotifyService
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
        NotifyService,
        service_config("notify", QUIET_HOURS="off", SANDBOX_DIR=str(tmp_path / "sandbox")),
    ).start()
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()
    seed(rpc(token("admin")))
    return Api(f"http://127.0.0.1:{port}", token)


def seed(admin):
    now = datetime.now(UTC)
    admin.notify.upsert_contact(
        CENTER, {"person_id": PERSON, "name": "刘敬州", "role": "resident", "phone": PHONE}
    )
    admin.tickets.add_category(
        CENTER, {"code": "elderly_care", "name": "养老服务", "party": "social_work"}
    )
    admin.tickets.add_category(
        CENTER, {"code": "sanitation", "name": "环境卫生", "party": "property"}
    )
    for category, text in (("elderly_care", "家中需要打扫整理"), ("sanitation", "楼道垃圾没人清")):
        admin.tickets.create_ticket(
            CENTER,
            {
                "category": category,
                "description": text,
                "channel": "hotline",
                "reporter_id": PERSON,
            },
        )
    admin.tickets.create_ticket(
        CENTER, {"category": "sanitation", "description": "别人的诉求", "channel": "hotline"}
    )
    v = admin.volunteers
    v.register_volunteer(CENTER, {"name": "张志强", "person_id": "vol-1"})
    v.register_beneficiary(
        CENTER,
        {
            "file_no": "YM-001",
            "name": "刘敬州",
            "category": "elderly_alone",
            "care_needs": ["life_care", "emotional_support"],
            "address": "东村 6 号楼 1 单元 101",
            "guardian": {"name": "刘建国", "relation": "儿子"},
        },
    )
    v.record_visit(
        CENTER,
        "YM-001",
        {
            "visited_at": (now - timedelta(days=3)).isoformat(),
            "volunteers": [{"volunteer_id": "vol-1", "hours": 2}],
            "tasks": ["打扫卫生"],
        },
    )
    starts = now + timedelta(days=4)
    v.publish_shift(
        CENTER,
        {
            "title": "刘敬州家打扫卫生",
            "kind": "cleaning",
            "capacity": 1,
            "place": "东村 6 号楼",
            "beneficiary_id": "YM-001",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
        },
    )
    e = admin.events
    e.add_room(CENTER, {"code": "sports", "name": "文体活动室", "capacity": 80})
    e.add_programme(CENTER, {"code": "yuedong", "name": "悦动耄耋", "audience": "elderly"})
    begins = now + timedelta(days=2)
    activity = e.create_activity(
        CENTER,
        {
            "title": "趣味益智 健康生活",
            "programme": "yuedong",
            "audience": "elderly",
            "starts_at": begins.isoformat(),
            "ends_at": (begins + timedelta(hours=1)).isoformat(),
            "room": "sports",
            "capacity": 20,
            "description": "益智游戏",
        },
    )
    e.register_for_activity(CENTER, activity["id"], {"person_id": PERSON})


def link(api):
    suggested = api("POST", "/api/v1/beneficiaries/YM-001/person-suggestion", json={"phone": PHONE})
    assert suggested.status_code == 200, suggested.text
    assert suggested.json() == {"person_id": PERSON, "role": "resident"}
    linked = api(
        "POST", "/api/v1/beneficiaries/YM-001/person", json={"person_id": PERSON, "confirmed": True}
    )
    assert linked.status_code == 200, linked.text
    return linked.json()


def test_the_file_joins_record_visits_tickets_registrations_and_next_visit(api):
    before = api("GET", "/api/v1/beneficiaries/YM-001/care-file")
    assert before.status_code == 200, before.text
    assert before.json()["person_id"] is None and before.json()["tickets"] == []

    linked = link(api)
    assert linked["person_id"] == PERSON and linked["person_linked_by"] == "admin-1"

    got = api("GET", "/api/v1/beneficiaries/YM-001/care-file")
    assert got.status_code == 200, got.text
    file = got.json()
    assert file["beneficiary"]["care_needs"] == ["life_care", "emotional_support"]
    assert file["beneficiary"]["guardian"]["name"] == "刘建国"
    assert [v["tasks"] for v in file["visits"]] == [["打扫卫生"]]
    assert file["next_visit"]["title"] == "刘敬州家打扫卫生"
    assert sorted(t["description"] for t in file["tickets"]) == [
        "家中需要打扫整理",
        "楼道垃圾没人清",
    ]
    assert file["tickets_scope"] == "全部"
    assert [r["activity_title"] for r in file["registrations"]] == ["趣味益智 健康生活"]
    assert "13912345678" not in got.text


def test_a_social_worker_sees_the_file_with_the_social_work_partys_tickets_only(api):
    link(api)
    got = api(
        "GET",
        "/api/v1/beneficiaries/YM-001/care-file",
        who="staff",
        sub="sw-1",
        party="social_work",
    )
    assert got.status_code == 200, got.text
    assert [t["description"] for t in got.json()["tickets"]] == ["家中需要打扫整理"]
    assert got.json()["tickets_scope"] == "社工组织"


def test_only_social_workers_and_admins_of_the_center_open_it_and_each_opening_is_logged(api):
    path = "/api/v1/beneficiaries/YM-001/care-file"
    assert api("GET", path, who="staff", sub="cadre-1").status_code == 403
    assert api("GET", path, who="staff", sub="wy-1", party="property").status_code == 403
    assert api("GET", path, who="department", center=[CENTER]).status_code == 403
    assert api("GET", path, center=OTHER).status_code == 404  # no such file there
    assert api("GET", path, who="staff", sub="sw-1", party="social_work").status_code == 200
    assert api("GET", path).status_code == 200

    log = api("GET", "/api/v1/care-file-access", params={"beneficiary_id": "YM-001"})
    assert log.status_code == 200, log.text
    entries = log.json()["items"]
    assert [(e["reader_id"], e["reader_duty"]) for e in entries] == [
        ("admin-1", "admin"),
        ("sw-1", "social_worker"),
    ]
    assert entries[0]["beneficiary_name"] == "刘敬州" and entries[0]["opened_at"]
    refused = api("GET", "/api/v1/care-file-access", who="staff", sub="sw-1", party="social_work")
    assert refused.status_code == 403


def test_linking_needs_a_confirmation_and_an_unknown_phone_suggests_nobody(api):
    unconfirmed = api(
        "POST",
        "/api/v1/beneficiaries/YM-001/person",
        json={"person_id": PERSON, "confirmed": False},
    )
    assert unconfirmed.status_code == 422
    assert "电话核实" in str(unconfirmed.json()["errors"])
    nobody = api(
        "POST", "/api/v1/beneficiaries/YM-001/person-suggestion", json={"phone": "13800009999"}
    )
    assert nobody.status_code == 404 and nobody.json()["code"] == "PERSON_NOT_FOUND"
    bad = api("POST", "/api/v1/beneficiaries/YM-001/person-suggestion", json={"phone": "12"})
    assert bad.status_code == 422
    missing = api("GET", "/api/v1/beneficiaries/NOPE/care-file")
    assert missing.status_code == 404
