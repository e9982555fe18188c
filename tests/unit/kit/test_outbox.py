"""The outbox writes events inside the caller's transaction — or not at all."""

import pytest
from sqlalchemy import MetaData, select

from lianxin.contracts import parse_event
from lianxin.contracts.volunteers.events import VOLUNTEER_REGISTERED
from lianxin.db import make_engine, make_session_factory
from lianxin.outbox import OutboxWriter, kit_tables


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
