"""Issue 17 on the real broker (tickets, events and the gateway in containers): a read
carries an ETag; a PATCH of shared configuration needs it as If-Match (428 without), and
one made from a state someone else has since saved is refused with 412, changing nothing."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from lianxin.concurrency import etag_of
from lianxin.testing import free_port

pytestmark = pytest.mark.integration

CENTER = "yanminghu"
STALE = "该记录已被他人修改，请刷新后再保存"


@pytest.fixture
def api(container_factory, service_config, pg_database, demo_center, token):
    from gateway.service import GatewayService
    from services.events.service import EventsService
    from services.tickets.service import TicketsService

    port = free_port()
    container_factory(TicketsService, service_config("tickets")).start()
    container_factory(EventsService, service_config("events", db_url=pg_database())).start()
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()
    demo_center()
    base = f"http://127.0.0.1:{port}/api/v1"
    admin = token("admin")

    def call(method: str, path: str, if_match: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {admin}"}
        if if_match is not None:
            headers["If-Match"] = if_match
        return requests.request(method, base + path, headers=headers, timeout=15, **kwargs)

    return call


def item(listed: requests.Response, code: str) -> dict:
    [found] = [x for x in listed.json() if x["code"] == code]
    return found


def test_two_admins_editing_a_category(api):
    read = api("GET", "/categories/sanitation")
    assert read.status_code == 200 and read.headers["ETag"] == etag_of(read.json())
    etag = read.headers["ETag"]
    assert etag == etag_of(item(api("GET", "/categories"), "sanitation"))  # the list's item too

    first = api("PATCH", "/categories/sanitation", etag, json={"resolve_hours": 48})
    assert first.status_code == 200, first.text
    assert first.json()["resolve_hours"] == 48
    assert first.headers["ETag"] == etag_of(first.json()) != etag

    second = api("PATCH", "/categories/sanitation", etag, json={"resolve_hours": 24})
    assert second.status_code == 412, second.text
    assert second.json()["code"] == "STALE_WRITE" and second.json()["detail"] == STALE
    assert item(api("GET", "/categories"), "sanitation")["resolve_hours"] == 48

    bare = api("PATCH", "/categories/sanitation", json={"resolve_hours": 24})
    assert bare.status_code == 428 and bare.json()["code"] == "IF_MATCH_REQUIRED"

    again = api("PATCH", "/categories/sanitation", first.headers["ETag"], json={"name": "环卫"})
    assert again.status_code == 200 and again.json()["resolve_hours"] == 48
    assert api("PATCH", "/categories/sanitation", "*", json={"active": True}).status_code == 200


def test_two_admins_editing_the_center(api):
    read = api("GET", f"/public/centers/{CENTER}")
    assert read.status_code == 200 and read.headers["ETag"] == etag_of(read.json())
    etag = read.headers["ETag"]
    first = api("PATCH", "/center", etag, json={"meeting_day": 20})
    assert first.status_code == 200, first.text
    stale = api("PATCH", "/center", etag, json={"meeting_day": 10})
    assert stale.status_code == 412 and stale.json()["detail"] == STALE
    assert api("GET", f"/public/centers/{CENTER}").headers["ETag"] == first.headers["ETag"]
    assert api("PATCH", "/center", json={"meeting_day": 10}).status_code == 428


def test_two_admins_editing_a_room(api):
    room = {"code": "sports", "name": "文体活动室", "capacity": 80, "equipment": ["音响"]}
    assert api("POST", "/rooms", json=room).status_code == 201
    etag = api("GET", "/rooms/sports").headers["ETag"]
    assert etag == etag_of(item(api("GET", "/rooms"), "sports"))

    first = api("PATCH", "/rooms/sports", etag, json={"capacity": 60})
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == etag_of(first.json()) != etag

    second = api("PATCH", "/rooms/sports", etag, json={"name": "文体室"})
    assert second.status_code == 412 and second.json()["detail"] == STALE
    after = api("GET", "/rooms/sports").json()
    assert after["name"] == "文体活动室" and after["capacity"] == 60
    assert api("GET", "/rooms/nowhere").status_code == 404

    bare = api("PATCH", "/rooms/sports", json={"name": "文体室"})
    assert bare.status_code == 428, bare.text
    assert bare.json()["detail"] == "修改前须先读取该记录（请求缺少 If-Match）"


def test_the_openapi_document_names_if_match_and_the_etag(api):
    doc = api("GET", "/openapi.json")
    assert doc.status_code == 200
    operation = doc.json()["paths"]["/api/v1/rooms/{code}"]["patch"]
    assert any(p.get("name") == "If-Match" and p["required"] for p in operation["parameters"])
    assert {"412", "428"} <= operation["responses"].keys()
    assert "ETag" in operation["responses"]["200"]["headers"]


@pytest.fixture
def social_work(container_factory, service_config, rpc, token):
    """The gateway with volunteers behind it; a social worker's requests."""
    from gateway.service import GatewayService
    from services.tickets.service import TicketsService
    from services.volunteers.service import VolunteersService

    port = free_port()
    container_factory(VolunteersService, service_config("volunteers")).start()
    container_factory(TicketsService, service_config("tickets")).start()
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()
    rpc(token("ops", "*")).tickets.create_center({"id": CENTER, "name": "雁鸣湖镇党群服务中心"})
    base = f"http://127.0.0.1:{port}/api/v1"
    bearer = token("staff", sub="sw-1", party="social_work")

    def call(method: str, path: str, if_match: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {bearer}"}
        if if_match is not None:
            headers["If-Match"] = if_match
        return requests.request(method, base + path, headers=headers, timeout=15, **kwargs)

    return call


def test_a_volunteers_record_and_a_shift_are_edited_from_what_was_read(social_work):
    api = social_work
    created = api("POST", "/volunteers", json={"name": "张志强", "person_id": "vol-1"})
    assert created.status_code == 201, created.text
    path = f"/volunteers/{created.json()['id']}"
    read = api("GET", path)  # the detail's ETag is its record's (not the totals')
    first = api("PATCH", path, read.headers["ETag"], json={"note": "周末有空"})
    assert first.status_code == 200, first.text
    assert api("GET", path).headers["ETag"] == first.headers["ETag"]
    stale = api("PATCH", path, read.headers["ETag"], json={"note": "工作日有空"})
    assert stale.status_code == 412 and stale.json()["detail"] == STALE
    assert api("GET", path).json()["note"] == "周末有空"

    starts = datetime.now(UTC) + timedelta(days=2)
    body = {
        "title": "社区打扫卫生",
        "kind": "cleaning",
        "capacity": 2,
        "place": "雁鸣湖镇东村社区",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
    }
    shift = api("POST", "/shifts", json=body)
    assert shift.status_code == 201, shift.text
    path = f"/shifts/{shift.json()['id']}"
    etag = api("GET", path).headers["ETag"]
    moved = api("PATCH", path, etag, json={"capacity": 3})
    assert moved.status_code == 200, moved.text
    assert api("PATCH", path, etag, json={"capacity": 4}).status_code == 412
    assert api("PATCH", path, json={"capacity": 4}).status_code == 428
    assert api("GET", path).json()["capacity"] == 3
