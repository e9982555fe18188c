"""The gateway's probes: /livez is about the gateway alone, /healthz about everything behind it."""

import pytest
import requests

from lianxin.testing import free_port

pytestmark = pytest.mark.integration


def test_a_gateway_without_backends_is_alive_but_not_healthy(container_factory, service_config):
    from gateway.service import GatewayService

    port = free_port()
    container_factory(GatewayService, service_config(
        "gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")).start()
    base = f"http://127.0.0.1:{port}"

    live = requests.get(f"{base}/livez", timeout=5)
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    health = requests.get(f"{base}/healthz", timeout=15)
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    assert all(v.startswith("error") for v in health.json()["services"].values())
