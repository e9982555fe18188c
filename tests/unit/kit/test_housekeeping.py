"""Housekeeping of the kit's tables on SQLite: sent outbox rows and processed marks past their
keep go, a chunk at a time; what the relay still owes and what is recent stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, insert, select

from lianxin.db import make_engine
from lianxin.housekeeping import prune
from lianxin.outbox import kit_tables

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _outbox_row(n: int, created: datetime, sent: datetime | None) -> dict:
    return dict(
        event_id=f"00000000-0000-4000-8000-{n:012d}",
        center_id="yanminghu",
        type="cn.lianxin.tickets.ticket.created.v1",
        body={"id": n},
        created_at=created,
        sent_at=sent,
    )


@pytest.fixture
def kit(sqlite_url):
    metadata = MetaData()
    outbox, processed = kit_tables(metadata)
    engine = make_engine(sqlite_url("kit"))
    metadata.create_all(engine)
    yield engine, outbox, processed
    engine.dispose()


def fill(engine, outbox, processed) -> None:
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(
            insert(outbox),
            [_outbox_row(n, old, old) for n in range(5)]  # sent long ago: go
            + [_outbox_row(5, old, None)]  # never sent, however old: stays
            + [_outbox_row(6, recent, recent)],  # sent yesterday: stays
        )
        conn.execute(
            insert(processed),
            [
                dict(event_id=f"e{n}", handler=h, center_id="yanminghu", processed_at=old)
                for n in range(3)
                for h in ("notify.handle_tickets_ticket_created", "notify.other")
            ]
            + [
                dict(event_id="new", handler="notify.x", center_id="yanminghu", processed_at=recent)
            ],
        )


def test_sent_rows_and_marks_past_their_keep_go_in_chunks_and_nothing_owed_goes(kit):
    engine, outbox, processed = kit
    fill(engine, outbox, processed)
    deleted = prune(
        engine,
        outbox=outbox,
        processed=processed,
        now=NOW,
        outbox_keep=timedelta(days=7),
        processed_keep=timedelta(days=30),
        chunk=2,  # 5 and 6 rows: three and four chunks, the last short
    )
    assert deleted == {"outbox": 5, "processed_events": 6}
    with engine.connect() as conn:
        left = conn.execute(select(outbox.c.event_id, outbox.c.sent_at).order_by(outbox.c.id)).all()
        assert [(e[-1], s is None) for e, s in left] == [("5", True), ("6", False)]
        assert conn.execute(select(processed.c.event_id)).scalars().all() == ["new"]


def test_a_second_round_finds_nothing_more(kit):
    engine, outbox, processed = kit
    fill(engine, outbox, processed)
    keep = dict(outbox_keep=timedelta(days=7), processed_keep=timedelta(days=30))
    prune(engine, outbox=outbox, processed=processed, now=NOW, **keep)
    again = prune(engine, outbox=outbox, processed=processed, now=NOW, **keep)
    assert again == {"outbox": 0, "processed_events": 0}


@pytest.mark.parametrize("keep", [0, "0", -1, "seven"])
def test_a_keep_that_is_not_above_zero_stops_the_service_naming_the_setting(keep, sqlite_url):
    # 0 days would delete every processed mark as it is made: redeliveries handled twice.
    from nameko.containers import ServiceContainer
    from nameko.testing.utils import get_extension

    from lianxin.db import Database
    from lianxin.housekeeping import Housekeeping

    metadata = MetaData()
    kit_tables(metadata)

    class Kept:
        name = "kept"
        db = Database(metadata)
        housekeeping = Housekeeping()

    container = ServiceContainer(
        Kept,
        {"AMQP_URI": "memory://", "DB_URL": sqlite_url("kept"), "PROCESSED_EVENTS_KEEP_DAYS": keep},
    )
    with pytest.raises(ValueError, match="PROCESSED_EVENTS_KEEP_DAYS must be a number above zero"):
        get_extension(container, Housekeeping).setup()
