"""A department binds its own queue to a service's event exchange with a plain kombu consumer
(no nameko, no Lianxin code on its side but the contract check) and receives ticket.created —
the way docs/departments.md tells it to — with the phone numbers of its summary masked."""

import contextlib
import json

import kombu
import pytest

from lianxin.contracts import parse_event
from lianxin.contracts.tickets import events as tk
from lianxin.testing import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def tickets(container_factory, service_config):
    from services.tickets.service import TicketsService

    container = container_factory(TicketsService, service_config("tickets"))
    container.start()
    return container


def test_a_department_queue_bound_to_the_tickets_exchange_receives_ticket_created_masked(
    tickets, rabbit_config, rpc, token
):
    received = []
    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        # What the department runs: its own durable queue, bound with the event type as key.
        exchange = kombu.Exchange("tickets.events", type="topic", durable=True)
        queue = kombu.Queue(
            "civil-affairs.tickets", exchange=exchange, routing_key=tk.TICKET_CREATED, durable=True
        )

        def on_message(body, message):
            received.append(json.loads(body) if isinstance(body, str | bytes) else body)
            message.ack()

        with conn.Consumer(queue, callbacks=[on_message], accept=["json"]):
            rpc(token("ops", "*")).tickets.create_center(
                {"id": "yanminghu", "name": "雁鸣湖镇镇区社区党群服务中心"}
            )
            rpc(token("admin")).tickets.add_category(
                "yanminghu", {"code": "sanitation", "name": "环境卫生", "party": "property"}
            )
            ticket = rpc(token("staff")).tickets.create_ticket(
                "yanminghu",
                {
                    "category": "sanitation",
                    "description": "3号楼门口垃圾两天没人清运，电话13812345678",
                    "channel": "hotline",
                },
            )

            def drained():
                with contextlib.suppress(TimeoutError):  # nothing yet: look again
                    conn.drain_events(timeout=0.2)
                return received

            wait_for(drained, timeout=15)
        queue.bind(conn.default_channel).delete()

    [body] = received
    event = parse_event(body, expected=tk.TICKET_CREATED)  # the contract holds on the wire
    assert event["centerid"] == "yanminghu" and event["subject"] == ticket["id"]
    assert event["data"]["category_name"] == "环境卫生" and event["data"]["party"] == "property"
    # The resident's words leave the center without their phone number.
    assert event["data"]["summary"] == "3号楼门口垃圾两天没人清运，电话138****5678"
