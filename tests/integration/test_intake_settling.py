"""A ticket POST whose answer the gateway stops waiting for is settled, not guessed: 201
with the ticket if the tickets service stored it, else 503 with Retry-After — and then
nothing is stored, even when the request is processed later, so a client that retries
makes no duplicate (issue 17, item 6)."""

import eventlet
import pytest
import requests

from gateway.intake import SETTLED
from lianxin import metrics as kit_metrics
from lianxin.testing import free_port

pytestmark = pytest.mark.integration

SLOW = 2.0  # seconds the tickets service takes; the gateway waits 0.5 + 0.5


@pytest.fixture
def gateway(container_factory, service_config, demo_center, monkeypatch):
    from gateway.service import GatewayService
    from services.tickets.service import TicketsService

    port = free_port()
    container_factory(TicketsService, service_config("tickets")).start()
    container_factory(
        GatewayService,
        service_config(
            "gateway",
            WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
            INTAKE_TIMEOUT_SECONDS=0.5,
            INTAKE_GRACE_SECONDS=0.5,
        ),
    ).start()
    demo_center()
    original = TicketsService.create_tickets

    def slowly(self, items):
        """Slow before storing (``慢-前``) or after storing, before answering (``慢-后``)."""
        said = " ".join(str(i["payload"].get("description")) for i in items)
        if "慢-前" in said:
            eventlet.sleep(SLOW)
        answers = original(self, items)
        if "慢-后" in said:
            eventlet.sleep(SLOW)
        return answers

    monkeypatch.setattr(TicketsService, "create_tickets", slowly)
    return f"http://127.0.0.1:{port}/api/v1"


def settled(outcome):
    return kit_metrics.for_service("gateway").sample(SETTLED, outcome=outcome)


def listed(gateway, staff, text):
    found = requests.get(f"{gateway}/tickets", params={"limit": 100}, headers=staff).json()
    return [t for t in found["items"] if t["description"] == text]


def hotline(text):
    return {"category": "sanitation", "description": text, "channel": "hotline"}


def test_stored_but_answered_late_is_201_with_the_ticket(gateway, token):
    staff = {"Authorization": f"Bearer {token('staff', sub='duty-1')}"}
    before = settled("stored")
    text = "慢-后：东村社区3号楼门口垃圾两天没人清运"
    answer = requests.post(f"{gateway}/tickets", json=hotline(text), headers=staff, timeout=30)
    assert answer.status_code == 201, answer.text
    assert answer.json()["description"] == text and answer.json()["follow_code"]
    assert settled("stored") - before == 1
    eventlet.sleep(SLOW)
    assert [t["id"] for t in listed(gateway, staff, text)] == [answer.json()["id"]]


def test_not_stored_in_time_is_503_and_stays_unstored_so_a_retry_makes_one(gateway, token):
    staff = {"Authorization": f"Bearer {token('staff', sub='duty-1')}"}
    text = "慢-前：南刘庄路口路灯不亮"
    answer = requests.post(f"{gateway}/tickets", json=hotline(text), headers=staff, timeout=30)
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "5"
    problem = answer.json()
    assert problem["code"] == "INTAKE_NOT_TAKEN" and "未能受理" in problem["detail"]
    eventlet.sleep(SLOW + 0.5)  # the request is processed now: it must store nothing
    assert listed(gateway, staff, text) == []
    retry = hotline(text.replace("慢-前：", ""))
    again = requests.post(f"{gateway}/tickets", json=retry, headers=staff, timeout=30)
    assert again.status_code == 201, again.text
    assert len(listed(gateway, staff, retry["description"])) == 1
