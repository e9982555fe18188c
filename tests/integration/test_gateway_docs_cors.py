"""A real gateway on the real broker: the browsable docs (page and assets served from the
installed swagger-ui-bundle) and CORS for the configured origins only."""

import pytest
import requests

from lianxin.testing import free_port

pytestmark = pytest.mark.integration

DESK = "https://desk.example.cn"


@pytest.fixture
def gateway(container_factory, service_config):
    """A gateway with no service behind it, letting the desk's origin in."""
    from gateway.service import GatewayService

    port = free_port()
    container_factory(
        GatewayService,
        service_config(
            "gateway",
            WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
            CORS_ORIGINS=f"{DESK}, https://m.example.cn",
            CORS_MAX_AGE=300,
        ),
    ).start()
    return f"http://127.0.0.1:{port}"


def cors_headers(response: requests.Response) -> set[str]:
    return {h for h in response.headers if h.lower().startswith("access-control-")}


def test_the_docs_page_and_its_assets_are_served_by_the_gateway(gateway):
    page = requests.get(f"{gateway}/api/v1/docs", timeout=15)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "<title>连心桥 API 接口文档</title>" in page.text
    for asset, kind in (
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("swagger-initializer.js", "text/javascript"),
        ("favicon-32x32.png", "image/png"),
    ):
        assert f"/api/v1/docs/{asset}" in page.text
        response = requests.get(f"{gateway}/api/v1/docs/{asset}", timeout=15)
        assert response.status_code == 200, asset
        assert response.headers["Content-Type"].startswith(kind), asset
    assert (
        "/api/v1/openapi.json"
        in requests.get(f"{gateway}/api/v1/docs/swagger-initializer.js", timeout=15).text
    )
    spec = requests.get(f"{gateway}/api/v1/openapi.json", timeout=15)
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.")
    missing = requests.get(f"{gateway}/api/v1/docs/index.j2", timeout=15)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")


def test_an_allowed_origin_gets_its_cors_headers_on_answers_and_refusals(gateway):
    for response in (
        requests.get(f"{gateway}/api/v1/tickets", headers={"Origin": DESK}, timeout=15),  # 401
        requests.get(
            f"{gateway}/api/v1/public/centers/yanminghu", headers={"Origin": DESK}, timeout=15
        ),  # 503: nothing behind the gateway
        requests.put(f"{gateway}/api/v1/tickets", headers={"Origin": DESK}, timeout=15),  # 405
    ):
        assert response.status_code >= 400
        assert response.headers["Access-Control-Allow-Origin"] == DESK
        assert "Origin" in response.headers["Vary"]
        assert "X-Request-Id" in response.headers["Access-Control-Expose-Headers"]


def test_an_origin_not_listed_gets_no_cors_headers(gateway):
    for response in (
        requests.get(
            f"{gateway}/api/v1/tickets", headers={"Origin": "https://evil.example"}, timeout=15
        ),
        requests.options(
            f"{gateway}/api/v1/tickets",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            timeout=15,
        ),
        requests.get(f"{gateway}/api/v1/tickets", timeout=15),
    ):
        assert not cors_headers(response), dict(response.headers)
    assert (
        requests.options(
            f"{gateway}/api/v1/tickets",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            timeout=15,
        ).headers["Allow"]
        == "GET, POST, OPTIONS"
    )


def test_a_preflight_from_an_allowed_origin_is_a_204_naming_methods_and_headers(gateway):
    response = requests.options(
        f"{gateway}/api/v1/tickets/t-1",
        headers={
            "Origin": "https://m.example.cn",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
        timeout=15,
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://m.example.cn"
    methods = set(response.headers["Access-Control-Allow-Methods"].split(", "))
    assert "GET" in methods and "OPTIONS" not in methods
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"authorization", "content-type", "idempotency-key", "x-request-id", "if-match"} <= (
        allowed
    )
    assert response.headers["Access-Control-Max-Age"] == "300"
    assert "Origin" in response.headers["Vary"]


def test_a_milestone_of_superscript_two_is_a_chinese_422_not_a_500(gateway, token):
    response = requests.get(
        f"{gateway}/api/v1/volunteers/vol-1/certificates/%C2%B2",
        headers={"Authorization": f"Bearer {token('staff')}"},
        timeout=15,
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"milestone": ["证书档次应为小时数，如 50"]}
