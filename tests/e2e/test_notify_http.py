"""Notify as people use it, over HTTP only: a ticket posted to the running system reaches the
duty cadre's inbox and e-mail, and a department's signed CloudEvents webhook; bad input is
refused with the field named; the bus is documented in AsyncAPI 3."""

import json
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from lianxin.contracts import load_catalogue
from lianxin.contracts.tickets import events as tk
from lianxin.testing import wait_for
from services.notify.testing import WebhookReceiver

pytestmark = pytest.mark.e2e


def put(system, path, body, token):
    import requests

    return requests.put(
        system.url(path), json=body, timeout=10, headers={"Authorization": f"Bearer {token}"}
    )


def test_posted_ticket_reaches_inbox_email_and_a_signed_webhook(system, token, on_duty):
    department = token("department", ["yanminghu", "fenghuang"], sub="civil-affairs")
    duty = token("staff", sub="staff-duty-1")
    on_duty("staff-duty-1")
    with WebhookReceiver() as hooks:
        answer = system.post(
            "/api/v1/subscriptions",
            {
                "url": hooks.url,
                "types": ["cn.lianxin.tickets.ticket.created.v1"],
                "centers": ["yanminghu"],
                "description": "县民政局",
            },
            department,
        )
        assert answer.status_code == 201, answer.text
        subscription = answer.json()
        # whatever the hour, the duty cadre wants e-mail now
        quiet = put(
            system,
            "/api/v1/preferences/quiet-hours",
            {"start": "22:00", "end": "07:00", "enabled": False},
            duty,
        )
        assert quiet.status_code == 200, quiet.text

        created = system.post(
            "/api/v1/tickets",
            {
                "category": "sanitation",
                "channel": "hotline",
                "description": "东村社区5号楼路灯不亮",
            },
            duty,
        )
        assert created.status_code == 201, created.text
        ticket = created.json()

        def in_inbox():
            items = system.get("/api/v1/notifications", token=duty).json()["items"]
            return [n for n in items if n["ref_id"] == ticket["id"]]

        note = wait_for(in_inbox, timeout=15)[0]
        assert note["title"] == "新诉求待签收" and note["audience"] == "person"

        received = wait_for(
            lambda: [r for r in hooks.requests if ticket["id"].encode() in r.body], timeout=15
        )[0]
        event = Webhook(subscription["secret"]).verify(received.body, received.headers)
        assert event["type"] == tk.TICKET_CREATED and event["data"]["ticket_id"] == ticket["id"]

    # no SMTP server configured in this run: the sandbox shows the e-mail that would have gone
    sandbox = Path(system.env["LIANXIN_VAR_DIR"]) / "notify-sandbox" / "email.jsonl"

    def emailed():
        if not sandbox.exists():
            return []
        lines = [json.loads(x) for x in sandbox.read_text(encoding="utf-8").splitlines()]
        return [x for x in lines if "东村社区5号楼路灯不亮" in x["request"]["body"]]

    mail = wait_for(emailed, timeout=15)[0]["request"]
    assert "duty@yanminghu.example.cn" in mail["to"] and mail["subject"] == "新诉求待签收"

    log = system.get(f"/api/v1/deliveries?event_id={event['id']}", token=duty).json()["items"]
    assert {d["channel"] for d in log if d["person_id"] == "staff-duty-1"} >= {"in_app", "email"}


@pytest.mark.parametrize(
    "body, status, field",
    [
        (
            {
                "url": "http://127.0.0.1:9/h",
                "types": ["cn.lianxin.parking.*"],
                "centers": ["yanminghu"],
            },
            422,
            "types",
        ),
        (
            {"url": "ftp://mz.example.cn/h", "types": ["cn.lianxin.*"], "centers": ["yanminghu"]},
            422,
            "url",
        ),
        (
            {"url": "http://127.0.0.1:9/h", "types": ["cn.lianxin.*"], "centers": ["baisha"]},
            403,
            "centers",
        ),
    ],
)
def test_bad_subscriptions_are_refused_naming_the_field(system, token, body, status, field):
    response = system.post(
        "/api/v1/subscriptions", body, token("department", ["yanminghu"], sub="d-1")
    )
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert field in response.json().get("errors", {})


def test_a_template_that_does_not_render_is_refused_and_a_good_one_used(system, token):
    admin = token("admin", sub="admin-1")
    bad = put(
        system,
        "/api/v1/templates/ticket.created/sms",
        {"title": "新诉求", "body": "{{ plcae }}"},
        admin,
    )
    assert bad.status_code == 422 and "plcae" in bad.json()["errors"]["body"][0]
    good = put(
        system,
        "/api/v1/templates/ticket.created/sms",
        {"title": "新诉求", "body": "请签收：{{ summary }}"},
        admin,
    )
    assert good.status_code == 200 and good.json()["overridden"] is True
    preview = system.post(
        "/api/v1/templates/preview", {"message_type": "ticket.created", "channel": "sms"}, admin
    )
    assert preview.json()["body"].startswith("请签收：")


def test_asyncapi_documents_every_event_type(system):
    response = system.get("/api/v1/asyncapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == set(load_catalogue())
    channel = document["channels"]["tickets.ticket.created.v1"]
    assert channel["bindings"]["amqp"]["exchange"]["name"] == "tickets.events"
