"""PostgreSQL, the production database: migrations, the services on it, and a green driver."""

import time

import eventlet
import pytest
from sqlalchemy import text

from lianxin.contracts.tickets.events import TICKET_CREATED
from lianxin.db import make_engine
from lianxin.testing import wait_for

pytestmark = pytest.mark.integration


def test_queries_yield_to_other_green_threads(pg_database):
    """psycopg2 under eventlet must not stall the hub: four 0.3 s queries overlap."""
    engine = make_engine(pg_database())
    spans = []

    def slow_query():
        with engine.connect() as conn:
            began = time.monotonic()
            conn.execute(text("SELECT pg_sleep(0.3)"))
            spans.append((began, time.monotonic()))

    pool = eventlet.GreenPool()
    for _ in range(4):
        pool.spawn(slow_query)
    pool.waitall()
    engine.dispose()
    assert len(spans) == 4
    # Every query started before any finished: they ran at the same time.
    assert max(start for start, _ in spans) < min(end for _, end in spans)


@pytest.mark.parametrize("service", ["tickets", "volunteers", "events", "notify"])
def test_migrations_apply_on_postgresql(service, pg_database, migrated):
    from lianxin.migrate import current_heads

    url = migrated(service, pg_database())
    applied, heads = current_heads(service, url)
    assert applied == heads and heads


def test_ticket_intake_on_postgresql_reaches_the_bus(
    container_factory, service_config, pg_database, demo_center, rpc, token, bus
):
    from services.tickets.service import TicketsService

    container_factory(TicketsService, service_config("tickets", db_url=pg_database())).start()
    received = bus.bind("tickets", TICKET_CREATED)
    demo_center()
    ticket = rpc(token("staff")).tickets.create_ticket(
        "yanminghu", {"category": "sanitation", "description": "楼道灯不亮", "channel": "walk_in"}
    )
    assert wait_for(lambda: bus.get(received))["subject"] == ticket["id"]
