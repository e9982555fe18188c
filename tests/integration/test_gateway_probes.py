"""The gateway's probes: /livez is about the gateway alone, /healthz about everything behind it."""

import pytest
import requests

from lianxin.testing import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def lone_gateway(container_factory, service_config):
    """A gateway with no service behind it."""
    from gateway.service import GatewayService

    port = free_port()
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()
    return f"http://127.0.0.1:{port}"


def test_a_gateway_without_backends_is_alive_but_not_healthy(lone_gateway):
    base = lone_gateway

    live = requests.get(f"{base}/livez", timeout=5)
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    # Ready: its RPC reply consumer consumes from the broker (no backend is asked).
    ready = requests.get(f"{base}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}
    health = requests.get(f"{base}/healthz", timeout=15)
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    assert all(v.startswith("error") for v in health.json()["services"].values())


def test_intake_with_the_tickets_service_down_is_a_clear_503_for_every_gathered_request(
    lone_gateway, token
):
    import eventlet

    staff = {"Authorization": f"Bearer {token('staff')}"}

    def post(i):
        return requests.post(
            f"{lone_gateway}/api/v1/tickets",
            headers=staff,
            timeout=20,
            json={"category": "sanitation", "description": f"第{i}件", "channel": "hotline"},
        )

    answers = list(eventlet.GreenPool(8).imap(post, range(8)))
    assert [r.status_code for r in answers] == [503] * 8
    assert {r.json()["code"] for r in answers} == {"SERVICE_UNAVAILABLE"}
