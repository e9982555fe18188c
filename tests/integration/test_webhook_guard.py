"""Where department webhooks may go, on the real broker (gateway + notify + tickets): a URL
on the machine itself is refused (InvalidInput on field ``url``: 422, as every invalid
field is in this gateway) and nothing stored, unless WEBHOOK_ALLOWED_HOSTS
names it; then the subscription works, and what it delivers has its phone numbers masked."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from lianxin.contracts import make_event
from lianxin.contracts.tickets import events as tk
from lianxin.outbox import Publisher
from lianxin.testing import free_port, wait_for
from services.notify.testing import WebhookReceiver

pytestmark = pytest.mark.integration

CENTER = "yanminghu"


@pytest.fixture
def start(container_factory, service_config, token, rpc, tmp_path):
    """``start(allowed)`` runs the three services, notify with WEBHOOK_ALLOWED_HOSTS=allowed,
    and answers ``call(method, path, bearer, **kw)`` over HTTP."""
    from gateway.service import GatewayService
    from services.notify.service import NotifyService
    from services.tickets.service import TicketsService

    def run(allowed: str):
        port = free_port()
        container_factory(TicketsService, service_config("tickets")).start()
        notify = service_config(
            "notify",
            QUIET_HOURS="off",
            SANDBOX_DIR=str(tmp_path / "sandbox"),
            WEBHOOK_ALLOWED_HOSTS=allowed,
            NOTIFY_SEND_WEBHOOKS_SECONDS=0.1,
        )
        container_factory(NotifyService, notify).start()
        container_factory(
            GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
        ).start()
        rpc(token("ops", "*")).tickets.create_center(
            {"id": CENTER, "name": "雁鸣湖镇镇区社区党群服务中心"}
        )

        def call(method, path, bearer=None, **kwargs):
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
            url = f"http://127.0.0.1:{port}{path}"
            return requests.request(method, url, headers=headers, timeout=15, **kwargs)

        return call

    return run


def subscription(url):
    return {"url": url, "types": ["cn.lianxin.tickets.*"], "centers": [CENTER]}


def test_a_local_url_is_refused_on_its_field_and_nothing_is_stored(start, token):
    http = start(allowed="")
    department = token("department", [CENTER], sub="civil-affairs")
    with WebhookReceiver() as hook:
        for url in (hook.url, hook.url.replace("127.0.0.1", "2130706433")):
            answer = http("POST", "/api/v1/subscriptions", department, json=subscription(url))
            assert answer.status_code == 422, answer.text
            problem = answer.json()
            assert problem["code"] == "WEBHOOK_URL_REFUSED"
            assert "本机回环地址" in problem["errors"]["url"][0]
    listed = http("GET", "/api/v1/subscriptions", department).json()
    assert listed["items"] == [] and listed["total"] == 0


def test_a_local_url_named_in_the_setting_is_subscribed_and_delivered_masked(
    start, token, rabbit_config
):
    department = token("department", [CENTER], sub="civil-affairs")
    with WebhookReceiver() as hook:
        http = start(allowed=f"127.0.0.1:{hook.port}")
        answer = http("POST", "/api/v1/subscriptions", department, json=subscription(hook.url))
        assert answer.status_code == 201, answer.text
        now = datetime.now(UTC)
        event = make_event(
            tk.TICKET_CREATED,
            center_id=CENTER,
            subject="t-1",
            data={
                "ticket_id": "t-1",
                "category": "sanitation",
                "category_name": "环境卫生",
                "party": "property",
                "channel": "hotline",
                # as an older tickets service (or a replay of the event log) sent it
                "summary": "3号楼门口垃圾没人清，电话13812345678",
                "ack_due_at": now + timedelta(minutes=10),
                "resolve_due_at": now + timedelta(hours=24),
            },
        )
        publisher = Publisher(rabbit_config["AMQP_URI"], "tickets.events")
        try:
            publisher.publish([event])
        finally:
            publisher.close()
        [received] = wait_for(lambda: hook.requests, timeout=15)
    body = received.body.decode() if isinstance(received.body, bytes) else received.body
    assert "138****5678" in body and "13812345678" not in body
