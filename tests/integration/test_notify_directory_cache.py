"""The running service caches who is told what, yet every change made through it — the
directory, preferences, templates, subscriptions, a 410 — applies to the very next event.

The cache is given an hour here, so only the service's own invalidation can pass these."""

import pytest

from lianxin.contracts import make_event
from lianxin.contracts.tickets import events as tk
from lianxin.outbox import Publisher
from lianxin.testing import wait_for
from services.notify.testing import WebhookReceiver

pytestmark = pytest.mark.integration

CENTER = "yanminghu"


@pytest.fixture
def notify(container_factory, service_config, tmp_path, center_registry):
    from services.notify.service import NotifyService

    center_registry()
    container = container_factory(
        NotifyService,
        service_config(
            "notify",
            SANDBOX_DIR=str(tmp_path / "sandbox"),
            WEBHOOK_ALLOWED_HOSTS="127.0.0.1",  # the tests' own receivers
            QUIET_HOURS="off",
            DIRECTORY_CACHE_SECONDS=3600,
            SEND_CONNECT_TIMEOUT=1,
            SEND_READ_TIMEOUT=1,
        ),
    )
    container.start()
    return container


@pytest.fixture
def publish(rabbit_config):
    publisher = Publisher(rabbit_config["AMQP_URI"], "tickets.events")
    yield lambda body: publisher.publish([body])
    publisher.close()


def returned(ticket_id):
    """An event every staff member is told of (not critical: preferences apply)."""
    return make_event(
        tk.TICKET_RETURNED,
        center_id=CENTER,
        subject=ticket_id,
        data={
            "ticket_id": ticket_id,
            "category": "sanitation",
            "party": "property",
            "actor_id": "wy-1",
            "person_id": None,
            "reason": "不属于物业服务范围",
        },
    )


def told(rpc, token, person, event):
    """The channels ``person`` was told ``event`` on."""
    log = rpc(token("admin")).notify.list_deliveries(
        CENTER, {"person_id": person, "event_id": event["id"], "limit": 100}
    )
    return sorted(d["channel"] for d in log["items"])


@pytest.fixture
def handled(publish, rpc, token):
    """``handled(ticket_id)``: publish a ticket.returned and wait until notify has recorded it
    (the duty cadre, on the staff, is always told); returns the event."""

    def publish_and_wait(ticket_id):
        event = returned(ticket_id)
        publish(event)
        wait_for(lambda: told(rpc, token, "staff-duty-1", event))
        return event

    return publish_and_wait


def test_directory_and_preference_changes_apply_to_the_next_event(notify, handled, rpc, token):
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
    handled("t-1")  # the directory is cached now

    admin.notify.upsert_contact(
        CENTER, {"person_id": "sw-1", "name": "赵晓雯", "role": "staff", "email": "sw1@example.cn"}
    )
    assert told(rpc, token, "sw-1", handled("t-2")) == ["email", "in_app"]

    rpc(token("staff", sub="sw-1")).notify.set_preference(
        CENTER, "ticket.returned", {"muted": True}
    )
    admin.notify.save_template(
        CENTER,
        "ticket.returned",
        "in_app",
        {"title": "请重新派单：{{ ticket_ref }}", "body": "{{ reason }}"},
    )
    assert told(rpc, token, "sw-1", handled("t-3")) == ["in_app"]
    inbox = rpc(token("staff", sub="sw-1")).notify.list_notifications(CENTER)["items"]
    assert inbox[0]["ref_id"] == "t-3" and inbox[0]["title"] == "请重新派单：t-3"

    admin.notify.delete_contact(CENTER, "sw-1")
    assert told(rpc, token, "sw-1", handled("t-4")) == []


def test_subscriptions_made_disabled_or_gone_apply_to_the_next_event(
    notify, handled, publish, rpc, token
):
    rpc(token("admin")).notify.upsert_contact(
        CENTER, {"person_id": "staff-duty-1", "name": "李卫东", "role": "staff"}
    )
    department = rpc(token("department", CENTER, sub="civil-affairs"))
    handled("t-1")  # no subscription yet, and that is cached

    with WebhookReceiver(lambda r: 410 if b'"t-3"' in r.body else 204) as hooks:
        sub = department.notify.create_subscription(
            {"url": hooks.url, "types": ["cn.lianxin.tickets.*"], "centers": [CENTER]}
        )
        handled("t-2")
        wait_for(lambda: len(hooks.requests) == 1)

        publish(returned("t-3"))  # answered 410: the dispatcher disables the subscription
        wait_for(lambda: department.notify.get_subscription(sub["id"])["state"] == "disabled")
        handled("t-4")
        items = department.notify.list_subscription_deliveries(sub["id"], {"limit": 10})["items"]
        assert sorted(d["state"] for d in items) == ["delivered", "failed"]
        assert len(hooks.requests) == 2
