"""Housekeeping in a running service on PostgreSQL: a tickets container deletes its sent
outbox rows and processed marks past their keep and counts them on its metrics; recent ones
stay (that an unsent row stays however old: tests/unit/kit/test_housekeeping.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, insert, select

from lianxin import metrics as kit_metrics
from lianxin.clock import now_utc
from lianxin.housekeeping import PRUNED
from lianxin.testing import wait_for
from services.tickets.models import outbox_table, processed_table

pytestmark = pytest.mark.integration


def test_a_service_prunes_its_kit_tables_and_keeps_what_is_recent(
    container_factory, service_config, pg_database
):
    from services.tickets.service import TicketsService

    url = pg_database()
    config = service_config("tickets", db_url=url, HOUSEKEEPING_SECONDS=0.3)
    engine = create_engine(url)
    old, recent = now_utc() - timedelta(days=45), now_utc() - timedelta(hours=1)
    rows = [
        (f"00000000-0000-4000-8000-{n:012d}", created, sent)
        for n, (created, sent) in enumerate([(old, old), (old, old), (recent, recent)])
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(outbox_table),
            [
                dict(
                    event_id=event_id,
                    center_id="yanminghu",
                    type="cn.lianxin.tickets.center.updated.v1",
                    body={"id": event_id},
                    created_at=created,
                    sent_at=sent,
                )
                for event_id, created, sent in rows
            ],
        )
        conn.execute(
            insert(processed_table),
            [
                dict(event_id="gone", handler="tickets.h", center_id="yanminghu", processed_at=old),
                dict(
                    event_id="kept", handler="tickets.h", center_id="yanminghu", processed_at=recent
                ),
            ],
        )
    container = container_factory(TicketsService, config)
    container.start()

    def left() -> tuple[list, list]:
        with engine.connect() as conn:
            return (
                conn.execute(select(outbox_table.c.event_id).order_by(outbox_table.c.id))
                .scalars()
                .all(),
                conn.execute(select(processed_table.c.event_id)).scalars().all(),
            )

    wait_for(lambda: left() == ([rows[2][0]], ["kept"]), timeout=15)
    metrics = kit_metrics.for_service("tickets")
    assert metrics.sample(PRUNED, table="outbox") >= 2
    assert metrics.sample(PRUNED, table="processed_events") >= 1
    engine.dispose()
