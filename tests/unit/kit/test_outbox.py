"""The outbox writes events inside the caller's transaction — or not at all."""

import pytest
from sqlalchemy import MetaData, select

from lianxin.contracts import parse_event
from lianxin.contracts.volunteers.events import VOLUNTEER_REGISTERED
from lianxin.db import make_engine, make_session_factory
from lianxin.outbox import OutboxWriter, Publisher, kit_tables


@pytest.fixture
def session(sqlite_url):
    metadata = MetaData()
    outbox, _ = kit_tables(metadata)
    engine = make_engine(sqlite_url("outbox"))
    metadata.create_all(engine)
    factory = make_session_factory(engine)
    with factory() as s:
        yield s, outbox
    engine.dispose()


def test_event_is_stored_with_the_transaction(session):
    s, table = session
    body = OutboxWriter(s, table).add(
        VOLUNTEER_REGISTERED,
        center_id="yanminghu",
        subject="v-1",
        data={"volunteer_id": "v-1", "skills": ["life_care"]},
    )
    s.commit()
    row = s.execute(select(table)).one()
    assert row.event_id == body["id"] and row.sent_at is None and row.type == VOLUNTEER_REGISTERED
    assert parse_event(row.body)["data"]["volunteer_id"] == "v-1"


def test_rolled_back_change_leaves_no_event(session):
    s, table = session
    OutboxWriter(s, table).add(
        VOLUNTEER_REGISTERED,
        center_id="yanminghu",
        subject="v-1",
        data={"volunteer_id": "v-1", "skills": []},
    )
    s.rollback()
    assert s.execute(select(table)).all() == []


def test_an_event_that_breaks_its_contract_is_never_written(session):
    s, table = session
    with pytest.raises(ValueError):
        OutboxWriter(s, table).add(
            VOLUNTEER_REGISTERED, center_id="yanminghu", subject="v-1", data={"volunteer_id": "v-1"}
        )
    s.commit()
    assert s.execute(select(table)).all() == []


def test_a_confirm_of_many_settles_only_the_publishes_still_waiting():
    """The broker confirms "everything up to tag N" at once; on a channel that has relayed a
    million events, that is the few publishes still waiting, not a million tags (which had
    made every confirm slower the longer a service ran)."""
    publisher = Publisher("amqp://guest:guest@127.0.0.1:5672//", "tickets.events")
    publisher._outstanding = {1_000_001, 1_000_002, 1_000_003}
    publisher._on_ack(1_000_002, True)
    assert publisher._acked == {1_000_001, 1_000_002}
    publisher._on_nack(1_000_003, False)
    assert publisher._nacked == {1_000_003} and not publisher._outstanding
