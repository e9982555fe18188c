"""``lianxin.bulk.insert_rows`` stores exactly what SQLAlchemy's own INSERT stores — on
PostgreSQL, where the rows travel as one JSON parameter, and on SQLite — for the tables
intake and notify write with it (real migrations, a real server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from lianxin.bulk import insert_rows
from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as ops
from lianxin.db import make_engine, make_session_factory
from services.notify.models import Delivery
from services.tickets import configuration
from services.tickets.models import IntakeClaim, Ticket, TicketLog

pytestmark = pytest.mark.integration

BEIJING = timezone(timedelta(hours=8))


def _ticket(**changes) -> dict:
    at = datetime(2026, 12, 3, 20, 15, 30, 123456, tzinfo=BEIJING)  # stored as 12:15:30 UTC
    row = dict(
        id=str(uuid.uuid4()),
        center_id="yanminghu",
        category="sanitation",
        party="property",
        state="reported",
        channel="hotline",
        description='东村社区3号楼门口垃圾两天没人清运，"急"\\n',
        address="东村社区3号楼",
        lat=31.9871,
        long=None,
        attributes={"楼层": 3, "nested": {"a": [1, None, "二"]}},
        media_url=None,
        reporter_id=None,
        follow_code="abc-DEF_123",
        created_at=at,
        updated_at=at,
        ack_due_at=at + timedelta(minutes=10),
        resolve_due_at=at + timedelta(hours=72),
        due_at=at + timedelta(minutes=10),
        acknowledged_at=None,
        resolved_at=None,
        closed_at=None,
        answer=None,
        primary_id=None,
        reopen_count=0,
        rating=None,
        ack_breach_level=0,
        resolve_breached=False,
        intake_key=None,
        photo_ids=["p1", "p2"],
        repeat_candidates=[{"ticket_id": "t0", "score": 0.75}],
        supporter_ids=[],
        merged_ids=[],
    )
    row.update(changes)
    return row


@pytest.fixture(params=["sqlite", "postgres"])
def engines(request, sqlite_url, pg_database, migrated):
    """Two fresh tickets databases and two notify ones of one kind: one written by
    ``insert_rows``, one by SQLAlchemy's ``insert``."""
    made = []
    for service in ("tickets", "tickets", "notify", "notify"):
        url = sqlite_url(uuid.uuid4().hex) if request.param == "sqlite" else pg_database()
        made.append(make_engine(migrated(service, url)))
    for engine in made[:2]:  # what a ticket refers to: its center and category
        with make_session_factory(engine)() as session:
            configuration.create_center(
                db_session=session,
                data=load(ops.CenterCreate, {"id": "yanminghu", "name": "雁鸣湖"}),
            )
            category = {"code": "sanitation", "name": "环境卫生"}
            configuration.add_category(
                db_session=session, center_id="yanminghu", data=load(ops.CategoryCreate, category)
            )
            session.commit()
    yield made
    for engine in made:
        engine.dispose()


def _stored(engine, model, order) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(model).order_by(order))]


def test_stored_rows_match_sqlalchemys_insert(engines):
    ours, theirs, _, _ = engines
    rows = [_ticket(), _ticket(lat=None, attributes={}, photo_ids=[], answer="已当场办结")]
    logs = [
        dict(
            center_id="yanminghu",
            ticket_id=r["id"],
            action="report",
            from_state=None,
            to_state="reported",
            actor_id=None,
            actor_role=None,
            reason=None,
            party=None,
            at=r["created_at"],
        )
        for r in rows
    ]
    with ours.begin() as conn:
        assert insert_rows(conn, Ticket, rows) is None
        insert_rows(conn, TicketLog, logs)
    with theirs.begin() as conn:
        conn.execute(insert(Ticket), rows)
        conn.execute(insert(TicketLog), logs)

    mine = _stored(ours, Ticket, Ticket.id)
    assert mine == _stored(theirs, Ticket, Ticket.id)
    assert mine[0]["created_at"] == datetime(2026, 12, 3, 12, 15, 30, 123456, tzinfo=UTC)
    assert {r["description"] for r in mine} == {rows[0]["description"]}
    assert [r["attributes"] for r in sorted(mine, key=lambda r: r["answer"] or "")] == [
        rows[0]["attributes"],
        {},
    ]
    strip = lambda r: {k: v for k, v in r.items() if k != "id"}  # noqa: E731 - ids are serial
    assert [strip(r) for r in _stored(ours, TicketLog, TicketLog.ticket_id)] == [
        strip(r) for r in _stored(theirs, TicketLog, TicketLog.ticket_id)
    ]


def test_left_out_columns_take_their_python_defaults(engines):
    ours, theirs, _, _ = engines
    row = _ticket()
    for name in ("state", "address", "attributes", "reopen_count", "photo_ids"):
        del row[name]
    with ours.begin() as conn:
        insert_rows(conn, Ticket, [row])
    with theirs.begin() as conn:
        conn.execute(insert(Ticket), [row])
    stored = _stored(ours, Ticket, Ticket.id)
    assert stored == _stored(theirs, Ticket, Ticket.id)
    assert (stored[0]["state"], stored[0]["attributes"], stored[0]["photo_ids"]) == (
        "reported",
        {},
        [],
    )


def test_conflicts_are_skipped_and_only_new_rows_returned(engines):
    engine = engines[0]
    at = datetime.now(UTC)
    claims = [
        dict(request_key=f"k{i}", center_id="yanminghu", ticket_id=None, at=at) for i in (1, 2)
    ]
    with engine.begin() as conn:
        first = insert_rows(
            conn, IntakeClaim, claims[:1], on_conflict=["request_key"], returning="request_key"
        )
        assert first == ["k1"]
        again = insert_rows(
            conn, IntakeClaim, claims, on_conflict=["request_key"], returning="request_key"
        )
    assert again == ["k2"]
    assert [c["request_key"] for c in _stored(engine, IntakeClaim, IntakeClaim.request_key)] == [
        "k1",
        "k2",
    ]


def test_any_unique_constraint_skips_a_repeated_delivery(engines):
    _, _, ours, theirs = engines
    now = datetime.now(UTC)

    def delivery(recipient: str) -> dict:
        return dict(
            id=str(uuid.uuid4()),
            center_id="yanminghu",
            source_id="event-1",
            event_type="tickets.ticket.created",
            message_type="ticket.created",
            recipient=recipient,
            person_id=None if recipient.startswith("@") else recipient,
            audience="staff" if recipient.startswith("@") else None,
            channel="in_app",
            critical=False,
            title="新诉求：垃圾清运",
            body="东村社区3号楼门口垃圾两天没人清运",
            ref_type="ticket",
            ref_id="ticket-1",
            once_key=None,
            state="sent",
            attempts=0,
            next_attempt_at=None,
            lease_until=None,
            deferred_until=None,
            last_error=None,
            created_at=now,
            sent_at=now,
            read_at=None,
        )

    first = [delivery("@staff"), delivery("person-7")]
    with ours.begin() as conn:
        assert len(insert_rows(conn, Delivery, first, on_conflict=True, returning="id") or []) == 2
        repeat = [delivery("@staff"), delivery("person-8")]  # the same (source, type, recipient)
        assert insert_rows(conn, Delivery, repeat, on_conflict=True, returning="id") == [
            repeat[1]["id"]
        ]
    with theirs.begin() as conn:
        conn.execute(insert(Delivery), [first[0], first[1], repeat[1]])
    strip = lambda r: {k: v for k, v in r.items() if k != "id"}  # noqa: E731
    assert sorted(map(strip, _stored(ours, Delivery, Delivery.recipient)), key=str) == sorted(
        map(strip, _stored(theirs, Delivery, Delivery.recipient)), key=str
    )


def test_rows_of_different_columns_are_refused(engines):
    engine = engines[0]
    with engine.begin() as conn, pytest.raises(ValueError, match="same columns"):
        insert_rows(conn, Ticket, [_ticket(), {k: v for k, v in _ticket().items() if k != "lat"}])


def test_deferred_rows_go_in_one_round_trip_at_the_commit_and_a_rollback_drops_them(engines):
    from sqlalchemy import event

    from lianxin.bulk import defer_rows, flush_rows

    engine = engines[0]
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, sql, *a: sent.append(sql))
    rows = [_ticket(), _ticket()]
    at = datetime.now(UTC)
    claims = [dict(request_key="k1", center_id="yanminghu", ticket_id=rows[0]["id"], at=at)]
    with make_session_factory(engine)() as db:
        defer_rows(db, Ticket, rows)
        defer_rows(db, IntakeClaim, claims, on_conflict=["request_key"])
        db.rollback()  # dropped: nothing is sent, nothing stored
        defer_rows(db, Ticket, rows)
        defer_rows(db, IntakeClaim, claims + claims, on_conflict=["request_key"])
        with db.begin_nested():  # in a savepoint: at once, so that its rollback takes it
            defer_rows(db, IntakeClaim, [{**claims[0], "request_key": "k2"}])
        inserts_before_commit = [s for s in sent if "INSERT" in s]
        db.commit()
    inserts = [s for s in sent if "INSERT" in s]
    assert len(_stored(engine, Ticket, Ticket.id)) == 2
    assert [c["request_key"] for c in _stored(engine, IntakeClaim, IntakeClaim.request_key)] == [
        "k1",
        "k2",
    ]
    if engine.dialect.name == "postgresql":
        assert len(inserts_before_commit) == 1  # the savepoint's
        assert len(inserts) == 2 and inserts[1].count("INSERT INTO") == 2  # one round trip
    with make_session_factory(engine)() as db:
        flush_rows(db)  # nothing deferred: nothing sent
    assert [s for s in sent if "INSERT" in s] == inserts
