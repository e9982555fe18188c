"""PostgreSQL, the production database: migrations, the services on it, and a green driver."""

import time
from datetime import UTC, datetime

import eventlet
import pytest
from sqlalchemy import event, func, select, text

from lianxin.contracts.tickets.events import TICKET_CREATED
from lianxin.db import make_engine, make_session_factory
from lianxin.testing import wait_for
from services.notify.models import EventRecord
from services.notify.subscriptions import archive_events

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


def test_a_pooled_connection_the_server_ended_is_replaced_without_pinging_busy_ones(
    pg_database,
):
    """A backend ended by the server (a restart, ``pg_terminate_backend``) is never handed
    out: the next checkout gets a live connection, not an error. A connection just
    returned to the pool is handed out again without a ``SELECT 1`` round trip."""
    import psycopg2
    from sqlalchemy.engine import make_url

    url = pg_database()
    engine = make_engine(url)
    pings = []
    real_ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda conn: pings.append(1) or real_ping(conn)  # type: ignore
    with engine.connect() as conn:
        first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with engine.connect() as conn:
        again = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert again == first and len(pings) == 1  # only the new connection's first checkout

    admin = psycopg2.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (first,))
    admin.close()
    time.sleep(0.2)  # the server's goodbye reaches the socket
    with engine.connect() as conn:
        replaced = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert replaced != first
    engine.dispose()


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


@pytest.mark.parametrize("unsavable", ["\x00", "\ud83d"], ids=["nul", "half-an-emoji"])
def test_a_gathered_report_postgresql_could_not_store_is_refused_alone(
    unsavable, container_factory, service_config, pg_database, demo_center, rpc, token
):
    # A NUL character (which no PostgreSQL text holds), or half of a surrogate pair (a
    # client cutting an emoji in two; UTF-8 has no such character), once failed the whole
    # gathered call's INSERT: every report in it answered 502. Now it is that item's 422,
    # the others stored.
    from services.tickets.service import TicketsService

    container_factory(TicketsService, service_config("tickets", db_url=pg_database())).start()
    demo_center()
    staff = token("staff")

    def item(description: str) -> dict:
        payload = {"category": "sanitation", "description": description, "channel": "hotline"}
        return {"center_id": "yanminghu", "payload": payload, "authorization": staff}

    bad, good = rpc().tickets.create_tickets([item(f"垃圾{unsavable}没人清运"), item("楼道灯不亮")])
    assert bad["error"]["code"] == "INVALID_INPUT"
    assert bad["error"]["fields"] == {
        "description": ["文本中含有无法保存的字符（空字符或残缺的表情符号），请删除后重新提交"]
    }
    assert good["ticket"]["description"] == "楼道灯不亮"
    assert rpc(staff).tickets.list_tickets("yanminghu")["total"] == 1


def test_a_value_the_database_refuses_fails_only_its_own_report(
    container_factory, service_config, pg_database, demo_center, rpc, token
):
    # What the contract takes and a column does not (here a column narrowed under the
    # service's feet: "value too long", a DataError) failed every report gathered with it.
    # Now the call is taken in again one report at a time: that one is refused (422, in
    # Chinese), the others are stored, each with its event.
    from sqlalchemy import create_engine, text

    from services.tickets.service import TicketsService

    url = pg_database()
    container_factory(TicketsService, service_config("tickets", db_url=url)).start()
    demo_center()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE tickets ALTER COLUMN address TYPE varchar(12)"))
    staff = token("staff")

    def item(description: str, address: str) -> dict:
        payload = {
            "category": "sanitation",
            "description": description,
            "address": address,
            "channel": "hotline",
        }
        return {"center_id": "yanminghu", "payload": payload, "authorization": staff}

    first, refused, last = rpc().tickets.create_tickets(
        [
            item("楼道灯不亮", "东村3号楼"),
            item("垃圾没人清运", "雁鸣湖镇镇区社区东村3号楼2单元门口"),
            item("路面积水", "西村口"),
        ]
    )
    assert refused["error"]["code"] == "INVALID_INPUT"
    assert "无法保存" in refused["error"]["detail"]
    assert first["ticket"]["address"] == "东村3号楼" and last["ticket"]["address"] == "西村口"
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT description FROM tickets ORDER BY created_at")
        ).scalars().all() == [
            "楼道灯不亮",
            "路面积水",
        ]
        assert (
            conn.execute(
                text(
                    "SELECT count(*) FROM outbox WHERE type = 'cn.lianxin.tickets.ticket.created.v1'"
                )
            ).scalar()
            == 2
        )
    engine.dispose()


@pytest.mark.parametrize("engine_kind", ["postgresql", "sqlite"])
def test_tickets_upgrade_keeps_data_and_lists_merged_reports(engine_kind, pg_database, sqlite_url):
    """Issue 14's revision on a database holding a center, a category and merged reports:
    the center's foreign keys stay whole (SQLite too), and each primary lists the reports
    merged into it before, in merge order."""
    from lianxin import migrate

    url = pg_database() if engine_kind == "postgresql" else sqlite_url("tickets-upgrade")
    migrate.upgrade("tickets", url, "54774e96ef42")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO centers (id, name, address, timezone, fallback_party, auto_assign, "
                "meeting_day, created_at) VALUES ('c1', '中心', '', 'Asia/Shanghai', "
                "'village_committee', true, 25, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO categories (center_id, code, name, party, ack_minutes, "
                "resolve_hours, service_code, description, keywords, attributes, active) "
                "VALUES ('c1', 's', '环境卫生', 'property', 10, 72, 's', '', '[]', '[]', true)"
            )
        )
        for ticket, primary, minute in (("p", None, 0), ("a", "p", 30), ("b", "p", 20)):
            conn.execute(
                text(
                    "INSERT INTO tickets (id, center_id, category, party, state, channel, "
                    "description, address, attributes, follow_code, created_at, updated_at, "
                    "ack_due_at, resolve_due_at, reopen_count, ack_breach_level, "
                    "resolve_breached, primary_id) VALUES (:id, 'c1', 's', 'property', :state, "
                    "'web', '垃圾没人清运', '', '{}', 'code', :at, :at, :at, :at, 0, 0, false, :p)"
                ),
                {
                    "id": ticket,
                    "p": primary,
                    "state": "merged" if primary else "reported",
                    "at": f"2026-11-30 01:{minute:02d}:00+00:00",
                },
            )
    engine.dispose()
    migrate.upgrade("tickets", url)
    from sqlalchemy import JSON, column, select, table

    tickets = table("tickets", column("id"), column("merged_ids", JSON), column("photo_ids", JSON))
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = {r.id: (r.merged_ids, r.photo_ids) for r in conn.execute(select(tickets))}
        centers = conn.execute(text("SELECT public_photos FROM centers")).scalars().all()
    engine.dispose()
    assert rows == {"p": (["b", "a"], []), "a": ([], []), "b": ([], [])}
    assert [bool(c) for c in centers] == [False]


def test_notify_keeps_each_event_once_on_postgresql_in_one_statement(pg_database, migrated):
    # A redelivered batch (and a copy within one batch) is kept once; the batch is one
    # INSERT, sent with the transaction's other deferred ones at its commit — as
    # executemany, psycopg2 sent one round trip per row.
    engine = make_engine(migrated("notify", pg_database()))
    statements: list[tuple[str, object]] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, sql, params, ctx, many: statements.append((sql, params)),
    )
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

    def body(n: int) -> dict:
        return {
            "id": f"00000000-0000-4000-8000-{n:012d}",
            "type": "lianxin.tickets.ticket.created",
            "time": now.isoformat(),
            "centerid": "yanminghu",
            "data": {"n": n},
        }

    with make_session_factory(engine)() as db:
        archive_events(db_session=db, bodies=[body(n) for n in range(5)], now=now)
        db.commit()
        assert db.scalar(select(func.count()).select_from(EventRecord)) == 5
        del statements[:]
        archive_events(db_session=db, bodies=[body(n) for n in (3, 4, 5, 6, 6)], now=now)
        assert not [sql for sql, _ in statements if sql.startswith("INSERT")]  # not yet
        db.commit()
        assert db.scalar(select(func.count()).select_from(EventRecord)) == 7
    # one statement with one set of parameters (multi-row VALUES), not a list of sets
    inserts = [params for sql, params in statements if sql.startswith("INSERT")]
    assert len(inserts) == 1 and isinstance(inserts[0], dict)
    engine.dispose()
