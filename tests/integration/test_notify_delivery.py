"""Reliable delivery on the real broker: redelivered events, retried and slow webhooks,
410, critical alerts in quiet hours, and scheduled messages across a restart."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from lianxin import metrics as kit_metrics
from lianxin.contracts import make_event
from lianxin.contracts.tickets import events as tk
from lianxin.outbox import Publisher
from lianxin.testing import wait_for
from services.notify.testing import WebhookReceiver

pytestmark = pytest.mark.integration

CENTER = "yanminghu"
FAST = {
    "SEND_CONNECT_TIMEOUT": 1,
    "SEND_READ_TIMEOUT": 1,
    "WEBHOOK_RETRY_BASE_SECONDS": 0.2,
    "DELIVERY_RETRY_BASE_SECONDS": 0.2,
    "QUIET_HOURS": "off",
}


@pytest.fixture
def notify_config(service_config, tmp_path):
    return service_config(
        "notify",
        SANDBOX_DIR=str(tmp_path / "sandbox"),
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",  # the tests' own receivers
        **FAST,
    )


@pytest.fixture
def notify(container_factory, notify_config, center_registry):
    from services.notify.service import NotifyService

    center_registry()
    container = container_factory(NotifyService, notify_config)
    container.start()
    return container


@pytest.fixture
def publish(rabbit_config):
    """``publish(body)``: put an envelope on tickets.events, as the tickets relay does."""
    publisher = Publisher(rabbit_config["AMQP_URI"], "tickets.events")
    yield lambda body: publisher.publish([body])
    publisher.close()


def created(ticket_id="t-1"):
    now = datetime.now(UTC)
    return make_event(
        tk.TICKET_CREATED,
        center_id=CENTER,
        subject=ticket_id,
        data={
            "ticket_id": ticket_id,
            "category": "sanitation",
            "category_name": "环境卫生",
            "party": "property",
            "channel": "hotline",
            "summary": "垃圾没人清运",
            "ack_due_at": now + timedelta(minutes=10),
            "resolve_due_at": now + timedelta(hours=24),
            "duty_person_ids": ["staff-duty-1"],
        },
    )


def subscribe(rpc, token, url, sub="civil-affairs"):
    return rpc(token("department", CENTER, sub=sub)).notify.create_subscription(
        {"url": url, "types": ["cn.lianxin.tickets.ticket.*"], "centers": [CENTER]}
    )


def deliveries(rpc, token, subscription, sub="civil-affairs"):
    return rpc(token("department", CENTER, sub=sub)).notify.list_subscription_deliveries(
        subscription["id"], {"limit": 100}
    )["items"]


def test_a_redelivered_event_is_told_once_and_forwarded_once(notify, publish, rpc, token):
    admin = rpc(token("admin"))
    admin.notify.upsert_contact(
        CENTER,
        {
            "person_id": "staff-duty-1",
            "name": "李卫东",
            "role": "staff",
            "email": "duty@example.cn",
        },
    )
    with WebhookReceiver() as hooks:
        subscribe(rpc, token, hooks.url)
        event = created()
        dedupes = kit_metrics.for_service("notify").deduplicated.labels(tk.TICKET_CREATED)
        before = dedupes._value.get()
        publish(event)
        wait_for(lambda: hooks.requests)
        publish(event)
        wait_for(lambda: dedupes._value.get() > before)
        log = admin.notify.list_deliveries(CENTER, {"event_id": event["id"]})["items"]
        assert sorted(d["channel"] for d in log) == ["email", "in_app"]
        assert len(hooks.requests) == 1


def test_a_failing_endpoint_is_retried_until_it_answers(notify, publish, rpc, token):
    answers = iter([500, 503])
    with WebhookReceiver(lambda _r: next(answers, 204)) as hooks:
        subscription = subscribe(rpc, token, hooks.url)
        publish(created())
        [row] = wait_for(
            lambda: [d for d in deliveries(rpc, token, subscription) if d["state"] == "delivered"]
        )
    assert row["attempts"] == 3 and row["last_status"] == 204
    ids = {r.headers["webhook-id"] for r in hooks.requests}
    assert len(hooks.requests) == 3 and ids == {row["id"]}  # the same webhook-id on each retry


def test_a_hanging_endpoint_never_delays_another_subscriber(notify, publish, rpc, token):
    with WebhookReceiver(lambda _r: (204, 30)) as slow, WebhookReceiver() as fast:
        hanging = subscribe(rpc, token, slow.url, sub="county-office")
        subscribe(rpc, token, fast.url)
        for n in range(6):
            publish(created(f"t-{n}"))
        wait_for(lambda: len(fast.requests) == 6, timeout=15)
        # the hanging endpoint still has its events pending, none given up nor delivered
        states = {d["state"] for d in deliveries(rpc, token, hanging, sub="county-office")}
        assert states <= {"pending", "sending"}
        timed_out = wait_for(
            lambda: [
                d for d in deliveries(rpc, token, hanging, sub="county-office") if d["last_error"]
            ],
            timeout=15,
        )
        assert "超时" in timed_out[0]["last_error"] or "Timeout" in timed_out[0]["last_error"]


def test_410_disables_the_subscription(notify, publish, rpc, token):
    with WebhookReceiver(lambda _r: 410) as gone:
        subscription = subscribe(rpc, token, gone.url)
        publish(created())
        department = rpc(token("department", CENTER, sub="civil-affairs"))
        disabled = wait_for(
            lambda: department.notify.get_subscription(subscription["id"])["state"] == "disabled"
        )
        assert disabled
        publish(created("t-2"))
        assert [d["state"] for d in deliveries(rpc, token, subscription)] == ["failed"]


def _window_around_now() -> dict:
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    fmt = lambda t: t.strftime("%H:%M")  # noqa: E731
    return {"start": fmt(local - timedelta(hours=1)), "end": fmt(local + timedelta(hours=1))}


def test_in_quiet_hours_a_breach_alert_is_sent_and_an_ordinary_message_waits(
    notify, notify_config, publish, rpc, token
):
    admin = rpc(token("admin"))
    admin.notify.upsert_contact(
        CENTER,
        {
            "person_id": "staff-duty-1",
            "name": "李卫东",
            "role": "staff",
            "phone": "13800000001",
            "email": "duty@example.cn",
        },
    )
    duty = rpc(token("staff", sub="staff-duty-1"))
    duty.notify.set_quiet_hours(CENTER, _window_around_now())
    duty.notify.set_preference(CENTER, "*", {"muted": True})  # critical alerts ignore this
    duty.notify.set_preference(CENTER, "ticket.returned", {"channels": ["email"], "muted": False})
    ordinary = make_event(
        tk.TICKET_RETURNED,
        center_id=CENTER,
        subject="t-1",
        data={
            "ticket_id": "t-1",
            "category": "sanitation",
            "party": "property",
            "actor_id": "wy-1",
            "person_id": None,
            "reason": "不属于物业服务范围",
        },
    )
    breach = make_event(
        tk.TICKET_SLA_BREACHED,
        center_id=CENTER,
        subject="t-1",
        data={
            "ticket_id": "t-1",
            "category": "sanitation",
            "party": "property",
            "actor_id": None,
            "person_id": None,
            "kind": "acknowledge",
            "level": 1,
            "due_at": datetime.now(UTC),
            "duty_person_id": "staff-duty-1",
        },
    )
    publish(ordinary)
    publish(breach)
    sms = Path(notify_config["SANDBOX_DIR"]) / "sms.jsonl"
    wait_for(sms.exists)
    [line] = [json.loads(x) for x in sms.read_text(encoding="utf-8").splitlines()]
    assert line["request"]["phone"] == "13800000001" and "超时未签收" in line["request"]["text"]
    assert line["message_type"] == "ticket.sla_breached" and line["provider"] == "sandbox"
    log = admin.notify.list_deliveries(CENTER, {"person_id": "staff-duty-1"})["items"]
    pushed = {(d["message_type"], d["channel"]): d for d in log}
    waiting = pushed[("ticket.returned", "email")]
    assert waiting["state"] == "pending" and waiting["deferred_until"] is not None
    assert datetime.fromisoformat(waiting["deferred_until"]) > datetime.now(UTC) + timedelta(
        minutes=30
    )
    assert pushed[("ticket.sla_breached", "email")]["deferred_until"] is None
    assert ("ticket.returned", "sms") not in pushed


def test_a_scheduled_message_survives_a_restart_and_is_sent_at_its_time(
    container_factory, notify, notify_config, rpc, token
):
    from services.notify.service import NotifyService

    staff = rpc(token("staff"))
    send_at = datetime.now(UTC) + timedelta(seconds=4)
    staff.notify.schedule_message(
        CENTER,
        {
            "key": "shift:s-1:vol-1:today",
            "person_id": "vol-1",
            "kind": "reminder.shift_today",
            "send_at": send_at.isoformat(),
            "data": {
                "shift_title": "独居老人家打扫卫生",
                "starts_at": (send_at + timedelta(hours=2)).isoformat(),
                "place": "东村社区5号楼",
            },
        },
    )
    cancelled = staff.notify.schedule_message(
        CENTER,
        {
            "key": "shift:s-1:vol-1:day_before",
            "person_id": "vol-1",
            "kind": "reminder.shift_day_before",
            "send_at": send_at.isoformat(),
            "data": {"shift_title": "x", "starts_at": send_at.isoformat(), "place": "y"},
        },
    )
    staff.notify.cancel_scheduled(CENTER, cancelled["key"])
    notify.stop()
    engine = create_engine(notify_config["DB_URL"])
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT key, state FROM scheduled_messages")).all())
    engine.dispose()
    assert states == {
        "shift:s-1:vol-1:today": "scheduled",
        "shift:s-1:vol-1:day_before": "cancelled",
    }

    container_factory(NotifyService, notify_config).start()
    volunteer = rpc(token("volunteer", sub="vol-1"))
    [note] = wait_for(lambda: volunteer.notify.list_notifications(CENTER)["items"], timeout=15)
    assert note["title"] == "今日志愿服务提醒" and "东村社区5号楼" in note["body"]
    listed = staff.notify.list_scheduled(CENTER, {"person_id": "vol-1"})["items"]
    assert {s["key"]: s["state"] for s in listed} == {
        "shift:s-1:vol-1:today": "sent",
        "shift:s-1:vol-1:day_before": "cancelled",
    }
