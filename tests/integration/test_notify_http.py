"""Notify's routes over HTTP (gateway + notify + tickets on the real broker): a ticket posted
over HTTP reaches the inbox and a department's webhook; subscriptions, templates, preferences
and the delivery log answer with clear errors; the AsyncAPI document is served."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from standardwebhooks import Webhook

from lianxin.contracts import load_catalogue
from lianxin.contracts.tickets import events as tk
from lianxin.testing import free_port, wait_for
from services.notify.testing import WebhookReceiver

pytestmark = pytest.mark.integration

CENTER = "yanminghu"


@pytest.fixture
def http(container_factory, service_config, token, rpc, tmp_path):
    from gateway.service import GatewayService
    from services.notify.service import NotifyService
    from services.tickets.service import TicketsService

    port = free_port()
    container_factory(TicketsService, service_config("tickets")).start()
    container_factory(
        NotifyService,
        service_config(
            "notify",
            QUIET_HOURS="off",
            SANDBOX_DIR=str(tmp_path / "sandbox"),
            WEBHOOK_ALLOWED_HOSTS="127.0.0.1",  # the tests' own receivers
        ),
    ).start()
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()
    rpc(token("ops", "*")).tickets.create_center(
        {"id": CENTER, "name": "雁鸣湖镇镇区社区党群服务中心"}
    )
    rpc(token("admin")).tickets.add_category(
        CENTER, {"code": "sanitation", "name": "环境卫生", "party": "property"}
    )
    base = f"http://127.0.0.1:{port}"

    def call(method, path, bearer=None, **kwargs):
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return requests.request(method, base + path, headers=headers, timeout=15, **kwargs)

    return call


def test_ticket_posted_over_http_reaches_inbox_and_webhook(http, token):
    admin, duty = token("admin"), token("staff", sub="staff-duty-1")
    department = token("department", [CENTER, "fenghuang"], sub="civil-affairs")
    contact = {
        "person_id": "staff-duty-1",
        "name": "李卫东",
        "role": "staff",
        "email": "duty@example.cn",
    }
    assert http("POST", "/api/v1/contacts", admin, json=contact).status_code == 201
    now = datetime.now(UTC)
    shift = {
        "person_id": "staff-duty-1",
        "name": "李卫东",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=8)).isoformat(),
    }
    on_duty = http("POST", "/api/v1/duty", admin, json=shift)
    assert on_duty.status_code == 201, on_duty.text
    with WebhookReceiver() as hooks:
        created = http(
            "POST",
            "/api/v1/subscriptions",
            department,
            json={"url": hooks.url, "types": ["cn.lianxin.tickets.*"], "centers": [CENTER]},
        )
        assert created.status_code == 201, created.text
        subscription = created.json()
        ticket = http(
            "POST",
            "/api/v1/tickets",
            duty,
            json={"category": "sanitation", "description": "路灯不亮", "channel": "hotline"},
        ).json()
        inbox = wait_for(lambda: http("GET", "/api/v1/notifications", duty).json()["items"])
        assert inbox[0]["ref_id"] == ticket["id"]
        assert http("GET", "/api/v1/notifications/unread-count", duty).json() == {"unread": 1}
        assert http("POST", "/api/v1/notifications/read-all", duty).json() == {"marked": 1}
        received = wait_for(lambda: hooks.requests)[0]
        event = Webhook(subscription["secret"]).verify(received.body, received.headers)
        assert event["type"] == tk.TICKET_CREATED
    listed = http("GET", "/api/v1/subscriptions", department).json()
    assert [s["id"] for s in listed["items"]] == [subscription["id"]] and "secret" not in listed[
        "items"
    ][0]
    log = wait_for(
        lambda: http("GET", f"/api/v1/deliveries?event_id={event['id']}", admin).json()["items"]
    )
    assert {d["channel"] for d in log} == {"in_app", "email"}
    rotated = http(
        "POST", f"/api/v1/subscriptions/{subscription['id']}/rotate-secret", department
    ).json()
    assert rotated["secret"] != subscription["secret"]


@pytest.mark.parametrize(
    "role, body, status, field",
    [
        (
            "department",
            {"url": "http://127.0.0.1:9/h", "types": ["cn.lianxin.parking.*"], "centers": [CENTER]},
            422,
            "types",
        ),
        (
            "department",
            {"url": "mailto:x@y.cn", "types": ["cn.lianxin.*"], "centers": [CENTER]},
            422,
            "url",
        ),
        (
            "department",
            {"url": "http://127.0.0.1:9/h", "types": ["cn.lianxin.*"], "centers": ["baisha"]},
            403,
            "centers",
        ),
        (
            "resident",
            {"url": "http://127.0.0.1:9/h", "types": ["cn.lianxin.*"], "centers": [CENTER]},
            403,
            None,
        ),
    ],
)
def test_bad_subscriptions_are_refused(http, token, role, body, status, field):
    response = http("POST", "/api/v1/subscriptions", token(role, [CENTER]), json=body)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    if field:
        assert field in response.json()["errors"]


def test_subscriptions_need_a_token(http):
    assert http("GET", "/api/v1/subscriptions").status_code == 401


def test_templates_and_preferences_refuse_what_would_break(http, token):
    admin, resident = token("admin"), token("resident", sub="res-1")
    bad = http(
        "PUT",
        "/api/v1/templates/ticket.survey/sms",
        admin,
        json={"title": "评价", "body": "{{ answr }}"},
    )
    assert bad.status_code == 422 and "answr" in bad.json()["errors"]["body"][0]
    unknown = http(
        "PUT", "/api/v1/templates/ticket.nothing/sms", admin, json={"title": "a", "body": "b"}
    )
    assert unknown.status_code == 404
    saved = http(
        "PUT",
        "/api/v1/templates/ticket.survey/sms",
        admin,
        json={"title": "评价", "body": "请评价：{{ answer }}"},
    )
    assert saved.status_code == 200 and saved.json()["overridden"]
    assert (
        http(
            "PUT", "/api/v1/templates/ticket.survey/sms", resident, json={"title": "a", "body": "b"}
        ).status_code
        == 403
    )
    muted = http("PUT", "/api/v1/preferences/ticket.sla_breached", resident, json={"muted": True})
    assert muted.status_code == 422 and "muted" in muted.json()["errors"]
    quiet = http(
        "PUT", "/api/v1/preferences/quiet-hours", resident, json={"start": "25:00", "end": "07:00"}
    )
    assert quiet.status_code == 422 and "start" in quiet.json()["errors"]
    prefs = http("GET", "/api/v1/preferences", resident).json()
    assert prefs["quiet_hours"]["timezone"] == "Asia/Shanghai"


def test_contacts_are_staff_business_and_bad_ones_refused(http, token):
    admin = token("admin")
    bad = http(
        "POST",
        "/api/v1/contacts",
        admin,
        json={
            "person_id": "p",
            "name": "张",
            "role": "resident",
            "phone": "12345",
            "email": "not-an-email",
        },
    )
    assert bad.status_code == 422 and {"phone", "email"} <= set(bad.json()["errors"])
    assert (
        http(
            "POST",
            "/api/v1/contacts",
            token("resident"),
            json={"person_id": "p", "name": "张", "role": "resident"},
        ).status_code
        == 403
    )
    assert http("GET", "/api/v1/contacts/nobody", admin).status_code == 404


def test_the_alerting_chain_is_the_admins_to_set_and_names_only_known_people(http, token):
    admin, staff = token("admin"), token("staff", sub="sw-1")
    for person, phone in (("fb-1", "13800000021"), ("lead-1", None)):
        contact = {"person_id": person, "name": person, "role": "staff", "phone": phone}
        assert http("POST", "/api/v1/contacts", admin, json=contact).status_code == 201
    assert http("GET", "/api/v1/alerting", admin).json() == {
        "fallback_person_ids": [],
        "leadership_person_ids": [],
        "updated_by": None,
        "updated_at": None,
    }
    unknown = http(
        "PUT",
        "/api/v1/alerting",
        admin,
        json={"fallback_person_ids": ["fb-1", "ghost-1"], "leadership_person_ids": []},
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"]["fallback_person_ids"] == ["通讯录中没有这些人员：ghost-1"]
    assert http("GET", "/api/v1/alerting", admin).json()["fallback_person_ids"] == []
    chain = {"fallback_person_ids": ["fb-1"], "leadership_person_ids": ["lead-1"]}
    saved = http("PUT", "/api/v1/alerting", admin, json=chain)
    assert saved.status_code == 200 and saved.json()["updated_by"] == "admin-1"
    assert {k: saved.json()[k] for k in chain} == chain
    assert http("PUT", "/api/v1/alerting", staff, json=chain).status_code == 403
    assert http("GET", "/api/v1/alerting", staff).status_code == 403

    assert http("GET", "/api/v1/contacts/fb-1/reachability", staff).json() == {
        "person_id": "fb-1",
        "known": True,
        "reachable": True,
        "channels": ["sms"],
    }
    lead = http("GET", "/api/v1/contacts/lead-1/reachability", staff).json()
    assert lead["known"] and not lead["reachable"] and lead["channels"] == []
    assert not http("GET", "/api/v1/contacts/ghost/reachability", staff).json()["known"]
    resident = token("resident", sub="res-1")
    assert http("GET", "/api/v1/contacts/fb-1/reachability", resident).status_code == 403


def test_asyncapi_document_is_served_next_to_openapi(http):
    document = http("GET", "/api/v1/asyncapi.json").json()
    assert document["asyncapi"] == "3.0.0"
    assert {c["address"] for c in document["channels"].values()} == set(load_catalogue())
    openapi = http("GET", "/api/v1/openapi.json").json()
    assert openapi["paths"]["/api/v1/subscriptions"]["post"]["security"] == [{"bearer": []}]
