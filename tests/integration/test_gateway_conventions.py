"""HTTP conventions of the one door: request ids, an access line per request, and problem+json
for every refusal — also for a method or path no route has."""

import logging

import pytest
import requests

from lianxin.testing import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(container_factory, service_config):
    """A gateway with no service behind it."""
    from gateway.service import GatewayService

    port = free_port()
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()
    return f"http://127.0.0.1:{port}"


def test_a_callers_request_id_is_echoed_and_one_is_made_when_missing(gateway):
    given = requests.get(
        f"{gateway}/api/v1/public/centers/yanminghu",
        timeout=15,
        headers={"X-Request-Id": "hotline-desk-42"},
    )
    assert given.headers["X-Request-Id"] == "hotline-desk-42"
    made = requests.get(f"{gateway}/api/v1/public/centers/yanminghu", timeout=15)
    assert len(made.headers["X-Request-Id"]) == 32
    odd = requests.get(
        f"{gateway}/api/v1/public/centers/yanminghu",
        timeout=15,
        headers={"X-Request-Id": "has spaces; and=signs"},
    )
    assert len(odd.headers["X-Request-Id"]) == 32  # only a sane token is kept


def test_every_request_leaves_one_access_line_without_codes_or_tokens(gateway, token, caplog):
    caplog.set_level(logging.INFO, logger="lianxin.access")
    bearer = token("staff")
    requests.get(
        f"{gateway}/api/v1/public/centers/yanminghu/tickets/t-1?code=SECRETCODE",
        headers={"X-Request-Id": "trace-me"},
        timeout=15,
    )
    requests.get(
        f"{gateway}/api/v1/board", headers={"Authorization": f"Bearer {bearer}"}, timeout=15
    )
    lines = [r for r in caplog.records if r.name == "lianxin.access"]
    assert len(lines) == 2
    follow, board = (r.fields for r in lines)
    assert follow["route"] == "/api/v1/public/centers/<center_id>/tickets/<ticket_id>"
    assert follow["center"] == "yanminghu" and follow["status"] == 503
    assert board["center"] == "yanminghu" and board["method"] == "GET"
    assert follow["request_id"] == "trace-me" and len(board["request_id"]) == 32
    text = " ".join(f"{r.getMessage()} {r.fields}" for r in lines)
    assert "SECRETCODE" not in text and bearer not in text


def test_a_method_a_path_does_not_have_is_405_naming_the_ones_it_has(gateway):
    response = requests.put(f"{gateway}/api/v1/tickets", json={}, timeout=5)
    assert response.status_code == 405
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.headers["Allow"] == "GET, POST"
    assert response.json()["code"] == "METHOD_NOT_ALLOWED" and "支持" in response.json()["detail"]


def test_options_names_the_methods_and_unknown_paths_are_problem_json(gateway):
    options = requests.options(f"{gateway}/api/v1/tickets", timeout=5)
    assert options.status_code == 204 and options.headers["Allow"] == "GET, POST, OPTIONS"
    for response in (
        requests.get(f"{gateway}/api/v1/nothing-here", timeout=5),
        requests.options(f"{gateway}/api/v1/nothing-here", timeout=5),
        requests.post(f"{gateway}/", timeout=5),
    ):
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert response.json()["code"] == "NO_SUCH_ROUTE"
    # A person opening the site is led to a page (the sign-in page, signed out).
    home = requests.get(f"{gateway}/", allow_redirects=False, timeout=5)
    assert home.status_code == 302 and home.headers["Location"] == "/login"
