"""Ticket intake through the gateway under concurrency: gathered into few calls to the tickets
service on the real broker, yet every request gets its own answer and nothing is lost."""

import eventlet
import pytest
import requests

from gateway.intake import BATCH_SIZE
from lianxin import metrics as kit_metrics
from lianxin.testing import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(container_factory, service_config, demo_center):
    from gateway.service import GatewayService
    from services.tickets.service import TicketsService

    port = free_port()
    container_factory(TicketsService, service_config("tickets")).start()
    container_factory(
        GatewayService,
        service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", PUBLIC_BURST=100),
    ).start()
    demo_center()
    return f"http://127.0.0.1:{port}/api/v1"


def sample(suffix):
    return kit_metrics.for_service("gateway").sample(BATCH_SIZE, suffix)


def test_concurrent_intake_is_gathered_and_each_request_gets_its_own_answer(gateway, token, rpc):
    staff = {"Authorization": f"Bearer {token('staff', sub='duty-1')}"}
    other = {"Authorization": f"Bearer {token('resident', sub='res-9')}"}
    calls0, tickets0 = sample("_count"), sample("_sum")

    def post(i):
        if i % 5 == 4:  # an unknown category: this one alone is refused
            body, headers = {"category": "no_such", "description": f"第{i}件"}, staff
        elif i % 5 == 3:  # a resident may not register hotline calls
            body, headers = (
                {"category": "sanitation", "description": f"第{i}件", "channel": "hotline"},
                other,
            )
        else:
            body, headers = (
                {"category": "sanitation", "description": f"第{i}件", "channel": "hotline"},
                staff,
            )
        return i, requests.post(f"{gateway}/tickets", json=body, headers=headers, timeout=30)

    pool = eventlet.GreenPool(40)
    answers = dict(pool.imap(post, range(60)))
    for i, response in answers.items():
        if i % 5 == 4:
            assert response.status_code == 422, response.text
            assert response.json()["errors"] == {"category": ["该服务中心没有此诉求类别"]}
        elif i % 5 == 3:
            assert response.status_code == 403 and response.json()["code"] == "ROLE_FORBIDDEN"
        else:
            assert response.status_code == 201, response.text
            assert response.json()["description"] == f"第{i}件"  # its own ticket, not a neighbour's
    created = [r.json()["id"] for i, r in answers.items() if i % 5 < 3]
    assert len(set(created)) == 36

    listed = requests.get(f"{gateway}/tickets", params={"limit": 100}, headers=staff).json()
    assert sorted(t["id"] for t in listed["items"]) == sorted(created)
    calls = sample("_count") - calls0
    assert sample("_sum") - tickets0 == 60  # every request went, in fewer calls
    assert calls < 60


def test_public_intake_is_gathered_too_and_keeps_the_follow_code(gateway):
    def post(i):
        return requests.post(
            f"{gateway}/public/tickets",
            timeout=30,
            json={
                "center_id": "yanminghu",
                "category": "sanitation",
                "description": f"公开反映第{i}件",
            },
        )

    pool = eventlet.GreenPool(10)
    answers = list(pool.imap(post, range(10)))
    assert [r.status_code for r in answers] == [201] * 10
    receipts = [r.json() for r in answers]
    assert [r["description"] for r in receipts] == [f"公开反映第{i}件" for i in range(10)]
    follow = requests.get(
        f"{gateway}/public/centers/yanminghu/tickets/{receipts[3]['id']}",
        params={"code": receipts[3]["follow_code"]},
    )
    assert follow.status_code == 200 and follow.json()["description"] == "公开反映第3件"


def test_a_double_submission_is_stored_once(gateway, token):
    """A resident pressing 提交 twice (at once, or again after a timeout) gets the first
    ticket back (200), not a second ticket; a different text is a new one."""
    body = {
        "center_id": "yanminghu",
        "category": "sanitation",
        "description": "东村社区3号楼门口垃圾两天没人清运",
    }

    def post(_):
        return requests.post(f"{gateway}/public/tickets", json=body, timeout=30)

    at_once = list(eventlet.GreenPool(4).imap(post, range(4)))
    assert sorted(r.status_code for r in at_once) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in at_once}) == 1
    again = post(None)
    assert again.status_code == 200 and again.json()["id"] == at_once[0].json()["id"]
    other = requests.post(f"{gateway}/public/tickets", json={**body, "description": "路灯不亮"})
    assert other.status_code == 201 and other.json()["id"] != again.json()["id"]

    staff = {"Authorization": f"Bearer {token('staff', sub='duty-1')}"}
    call = {"category": "sanitation", "description": "两位居民反映同一堆垃圾", "channel": "hotline"}
    first = requests.post(f"{gateway}/tickets", json=call, headers=staff)
    second = requests.post(f"{gateway}/tickets", json=call, headers=staff)
    assert (first.status_code, second.status_code) == (201, 201)  # two callers, two reports
    assert first.json()["id"] != second.json()["id"]
    keyed = {**staff, "Idempotency-Key": "clerk-form-77"}
    retried = [requests.post(f"{gateway}/tickets", json=call, headers=keyed) for _ in range(2)]
    assert [r.status_code for r in retried] == [201, 200]
    assert retried[0].json()["id"] == retried[1].json()["id"]

    listed = requests.get(f"{gateway}/tickets", params={"limit": 100}, headers=staff).json()
    assert listed["total"] == 5
