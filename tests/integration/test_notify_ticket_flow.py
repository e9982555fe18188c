"""A ticket created over RPC reaches, through the real broker: the cadre on duty's in-app
inbox and an e-mail received by a real SMTP server (with the center's name), and a
department's signed CloudEvents webhook."""

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from lianxin.contracts.tickets import events as tk
from lianxin.testing import wait_for
from services.notify.testing import SmtpSink, WebhookReceiver

pytestmark = pytest.mark.integration

CENTER = "yanminghu"


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def hooks():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def running(container_factory, service_config, smtp, tmp_path):
    from services.notify.service import NotifyService
    from services.tickets.service import TicketsService

    containers = [
        container_factory(TicketsService, service_config("tickets")),
        container_factory(
            NotifyService,
            service_config(
                "notify",
                WEBHOOK_ALLOWED_HOSTS="127.0.0.1",  # the tests' own receivers
                EMAIL_SMTP_HOST="127.0.0.1",
                EMAIL_SMTP_PORT=smtp.port,
                QUIET_HOURS="off",
                SANDBOX_DIR=str(tmp_path / "sandbox"),
            ),
        ),
    ]
    for c in containers:
        c.start()
    return containers


@pytest.fixture
def center(rpc, token):
    rpc(token("ops", "*")).tickets.create_center(
        {"id": CENTER, "name": "雁鸣湖镇镇区社区党群服务中心"}
    )
    admin = rpc(token("admin"))
    admin.tickets.add_category(
        CENTER, {"code": "sanitation", "name": "环境卫生", "party": "property"}
    )
    admin.notify.upsert_contact(
        CENTER,
        {
            "person_id": "staff-duty-1",
            "name": "李卫东",
            "role": "staff",
            "phone": "13800000001",
            "email": "duty@yanminghu.example.cn",
        },
    )
    admin.notify.upsert_contact(CENTER, {"person_id": "sw-1", "name": "赵晓雯", "role": "staff"})
    now = datetime.now(UTC)
    admin.tickets.add_duty_shift(
        CENTER,
        {
            "person_id": "staff-duty-1",
            "name": "李卫东",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=8)).isoformat(),
        },
    )
    return admin


def test_created_ticket_reaches_inbox_email_and_signed_webhook(
    running, center, rpc, token, smtp, hooks
):
    department = rpc(token("department", [CENTER, "fenghuang"], sub="civil-affairs"))
    subscription = department.notify.create_subscription(
        {
            "url": hooks.url,
            "types": ["cn.lianxin.tickets.*"],
            "centers": [CENTER],
            "description": "县民政局",
        }
    )
    assert subscription["secret"].startswith("whsec_")

    staff = rpc(token("staff", sub="sw-1"))
    ticket = staff.tickets.create_ticket(
        CENTER,
        {
            "category": "sanitation",
            "description": "3号楼门口垃圾两天没人清运",
            "channel": "hotline",
        },
    )

    # in-app: the cadre on duty is alerted, the clerk who took it in is not
    duty = rpc(token("staff", sub="staff-duty-1"))
    inbox = wait_for(lambda: duty.notify.list_notifications(CENTER)["items"])
    assert [n["ref_id"] for n in inbox] == [ticket["id"]]
    assert inbox[0]["title"] == "新诉求待签收" and "物业公司" in inbox[0]["body"]
    assert inbox[0]["critical"]
    duty.notify.mark_notification_read(CENTER, inbox[0]["id"])
    assert duty.notify.unread_count(CENTER) == {"unread": 0}
    assert staff.notify.unread_count(CENTER) == {"unread": 0}

    # e-mail: over SMTP to the duty cadre's address
    mail = wait_for(lambda: smtp.messages)[0]
    assert mail["Subject"] == "新诉求待签收"
    assert smtp.envelopes[0][1] == ["duty@yanminghu.example.cn"]
    assert "环境卫生" in mail.get_content() and "李卫东，您好" in mail.get_content()
    assert "连心桥 · 雁鸣湖镇镇区社区党群服务中心" in mail.get_content()
    assert "（yanminghu）" not in mail.get_content()

    # webhook: CloudEvents structured mode, verified with the Standard Webhooks algorithm
    received = wait_for(lambda: hooks.requests)[0]
    assert received.headers["content-type"].startswith("application/cloudevents+json")
    event = Webhook(subscription["secret"]).verify(received.body, received.headers)
    assert event["specversion"] == "1.0" and event["type"] == tk.TICKET_CREATED
    assert event["centerid"] == CENTER and event["data"]["ticket_id"] == ticket["id"]
    assert "13800000001" not in received.body.decode() and "duty@" not in received.body.decode()

    # both delivery logs say so
    log = wait_for(
        lambda: [
            d
            for d in department.notify.list_subscription_deliveries(subscription["id"])["items"]
            if d["state"] == "delivered"
        ]
    )
    assert log[0]["event_id"] == event["id"] and log[0]["id"] == received.headers["webhook-id"]
    sent = wait_for(
        lambda: [
            d
            for d in center.notify.list_deliveries(CENTER, {"event_id": event["id"]})["items"]
            if d["channel"] == "email" and d["state"] == "sent"
        ]
    )
    assert sent[0]["person_id"] == "staff-duty-1"


def test_a_department_cannot_subscribe_to_centers_it_is_not_granted(running, rpc, token):
    from nameko.exceptions import RemoteError

    department = rpc(token("department", ["fenghuang"], sub="health-bureau"))
    with pytest.raises(RemoteError) as caught:
        department.notify.create_subscription(
            {"url": "http://127.0.0.1:9/h", "types": ["cn.lianxin.*"], "centers": [CENTER]}
        )
    assert "SUBSCRIPTION_CENTER_FORBIDDEN" in str(caught.value)
