"""Events are never lost: written with the change, published when the broker can be reached."""

import pytest
from sqlalchemy import create_engine, select

from lianxin.contracts.tickets.events import TICKET_CREATED
from lianxin.testing import TcpProxy, free_port, wait_for
from services.tickets.models import outbox_table

pytestmark = pytest.mark.integration


def test_requests_succeed_while_the_relay_cannot_reach_the_broker_and_events_follow(
    container_factory, service_config, rabbit_config, demo_center, rpc, token, bus
):
    from services.tickets.service import TicketsService

    proxy = TcpProxy(target_port=5672, port=free_port())  # not started: the broker is "down"
    relay_uri = rabbit_config["AMQP_URI"].replace(":5672/", f":{proxy.port}/")
    config = service_config("tickets", OUTBOX_AMQP_URI=relay_uri)
    container_factory(TicketsService, config).start()
    received = bus.bind("tickets", TICKET_CREATED)

    demo_center()
    staff = rpc(token("staff"))
    tickets = [
        staff.tickets.create_ticket(
            "yanminghu", {"category": "sanitation", "description": f"第{i}条：垃圾未清运"}
        )
        for i in range(3)
    ]
    assert staff.tickets.list_tickets("yanminghu")["total"] == 3

    engine = create_engine(config["DB_URL"])

    def unsent() -> list:
        with engine.connect() as connection:
            return connection.execute(
                select(outbox_table.c.event_id).where(outbox_table.c.sent_at.is_(None))
            ).all()

    assert len(unsent()) == 3
    assert bus.get(received) is None

    proxy.start()  # the broker is back
    try:
        bodies = [wait_for(lambda: bus.get(received)) for _ in range(3)]
        assert [b["subject"] for b in bodies] == [t["id"] for t in tickets]  # in order
        wait_for(lambda: not unsent())
    finally:
        proxy.stop()
        engine.dispose()


def test_relay_publishes_a_large_backlog_in_confirmed_batches(
    container_factory, service_config, demo_center, rpc, token, bus
):
    from services.tickets.service import TicketsService

    container_factory(TicketsService, service_config("tickets", OUTBOX_BATCH=50)).start()
    received = bus.bind("tickets", TICKET_CREATED)
    demo_center()
    staff = rpc(token("staff"))
    ids = {
        staff.tickets.create_ticket(
            "yanminghu", {"category": "sanitation", "description": f"批量第{i}条"}
        )["id"]
        for i in range(120)
    }
    got = set()
    wait_for(
        lambda: (
            got.update(b["subject"] for b in iter(lambda: bus.get(received), None)) or got == ids
        ),
        timeout=20,
    )
    assert got == ids
