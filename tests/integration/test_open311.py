"""Open311 GeoReport v2 over HTTP, through the gateway and the tickets service on the broker."""

import pytest
import requests

from lianxin.testing import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def open311(container_factory, service_config, demo_center, rpc, token):
    from gateway.service import GatewayService
    from services.tickets.service import TicketsService

    port = free_port()
    container_factory(TicketsService, service_config("tickets")).start()
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()
    demo_center()
    admin = rpc(token("admin"))
    admin.tickets.add_category(
        "yanminghu",
        {
            "code": "repairs",
            "name": "公共设施维修",
            "party": "property",
            "resolve_hours": 48,
            "service_code": "facility_repair",
            "keywords": ["路灯"],
            "attributes": [
                {
                    "code": "facility",
                    "description": "设施类型",
                    "datatype": "singlevaluelist",
                    "required": True,
                    "values": [{"key": "light", "name": "路灯"}, {"key": "lift", "name": "电梯"}],
                }
            ],
        },
    )
    key = admin.tickets.create_api_key("yanminghu", {"name": "县12345热线"})["api_key"]
    return f"http://127.0.0.1:{port}/open311/v2", key


def form(key, **extra):
    return {
        "api_key": key,
        "jurisdiction_id": "yanminghu",
        "service_code": "facility_repair",
        "lat": "34.7",
        "long": "114.1",
        "attribute[facility]": "light",
        "description": "太平庄社区5号楼路灯不亮",
        **extra,
    }


def test_discovery_and_services_describe_the_center(open311):
    base, _ = open311
    assert (
        requests.get(f"{base}/discovery.json")
        .json()["endpoints"][0]["url"]
        .endswith("/open311/v2/")
    )
    services = requests.get(f"{base}/services.json", params={"jurisdiction_id": "yanminghu"}).json()
    repair = next(s for s in services if s["service_code"] == "facility_repair")
    assert repair["service_name"] == "公共设施维修" and repair["metadata"] is True
    assert repair["group"] == "物业公司"
    definition = requests.get(
        f"{base}/services/facility_repair.json", params={"jurisdiction_id": "yanminghu"}
    ).json()
    assert definition["attributes"][0]["code"] == "facility"
    assert definition["attributes"][0]["values"][0] == {"key": "light", "name": "路灯"}


def test_a_request_is_taken_in_and_can_be_followed(open311):
    base, key = open311
    created = requests.post(
        f"{base}/requests.json",
        data=form(key, phone="13812345678", first_name="素芳", last_name="王"),
    )
    assert created.status_code == 201, created.text
    request_id = created.json()[0]["service_request_id"]
    one = requests.get(
        f"{base}/requests/{request_id}.json", params={"jurisdiction_id": "yanminghu"}
    ).json()[0]
    assert one["status"] == "open" and one["service_code"] == "repairs"
    assert one["agency_responsible"] == "物业公司" and one["expected_datetime"].endswith("+08:00")
    assert "13812345678" not in str(one)
    listed = requests.get(
        f"{base}/requests.json",
        params={
            "jurisdiction_id": "yanminghu",
            "status": "open",
            "service_code": "facility_repair",
        },
    ).json()
    assert [r["service_request_id"] for r in listed] == [request_id]
    assert (
        requests.get(
            f"{base}/requests.json", params={"jurisdiction_id": "yanminghu", "status": "closed"}
        ).json()
        == []
    )


@pytest.mark.parametrize(
    "change, status, words",
    [
        ({"api_key": "lx_wrong"}, 403, "API"),
        ({"api_key": ""}, 403, "api_key"),
        ({"jurisdiction_id": "atlantis"}, 404, "服务中心"),
        ({"service_code": "fireworks"}, 404, "类别"),
        ({"lat": "north"}, 400, "lat"),
        ({"lat": "", "long": ""}, 400, "location"),
        ({"description": "很" * 4001}, 400, "description"),
        ({"attribute[facility]": "bridge"}, 400, "facility"),
        ({"phone": "12345"}, 400, "phone"),
    ],
)
def test_bad_requests_get_the_specs_error_list_and_store_nothing(open311, change, status, words):
    base, key = open311
    response = requests.post(f"{base}/requests.json", data={**form(key), **change})
    assert response.status_code == status, response.text
    errors = response.json()
    assert isinstance(errors, list) and errors[0]["code"] == status
    assert any(words in e["description"] for e in errors), errors
    assert (
        requests.get(f"{base}/requests.json", params={"jurisdiction_id": "yanminghu"}).json() == []
    )


def test_unknown_request_is_404_in_the_specs_format(open311):
    base, _ = open311
    response = requests.get(f"{base}/requests/nope.json", params={"jurisdiction_id": "yanminghu"})
    assert response.status_code == 404 and response.json()[0]["code"] == 404


def jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def test_media_url_serves_the_first_photo_only_where_the_center_shows_photos(open311, rpc, token):
    """Open311 clients have no follow code: a request's first photo is served under
    /open311/v2/media/… and named by media_url only once the center makes photos public."""
    base, _ = open311
    api = base.replace("/open311/v2", "/api/v1")
    uploaded = requests.post(
        f"{api}/public/centers/yanminghu/photos",
        data=jpeg(),
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert uploaded.status_code == 201, uploaded.text
    photo = uploaded.json()["photo_id"]
    created = requests.post(
        f"{api}/public/tickets",
        json={
            "center_id": "yanminghu",
            "category": "sanitation",
            "description": "东村社区3号楼门口垃圾两天没人清运",
            "photo_ids": [photo],
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    media = f"{base}/media/yanminghu/{photo}.jpg"

    def listed():
        return requests.get(
            f"{base}/requests/{request_id}.json", params={"jurisdiction_id": "yanminghu"}
        ).json()[0]

    assert "media_url" not in listed()
    hidden = requests.get(media, timeout=30)
    assert hidden.status_code == 404 and hidden.json()[0]["code"] == 404
    rpc(token("admin")).tickets.update_center("yanminghu", {"public_photos": True})
    assert listed()["media_url"] == media
    shown = requests.get(media, timeout=30)
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/jpeg"
    assert shown.content[:3] == b"\xff\xd8\xff"
    other = requests.get(f"{base}/media/yanminghu/{'0' * 32}.jpg", timeout=30)
    assert other.status_code == 404


def test_a_report_naming_a_photo_not_in_the_store_is_refused(open311):
    base, _ = open311
    api = base.replace("/open311/v2", "/api/v1")
    refused = requests.post(
        f"{api}/public/tickets",
        json={
            "center_id": "yanminghu",
            "category": "sanitation",
            "description": "路灯不亮",
            "photo_ids": ["0" * 32],
        },
        timeout=30,
    )
    assert refused.status_code == 422 and "photo_ids" in refused.json()["errors"]
    assert (
        requests.get(f"{base}/requests.json", params={"jurisdiction_id": "yanminghu"}).json() == []
    )
