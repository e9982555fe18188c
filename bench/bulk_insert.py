"""Benchmark: a batch of new tickets' rows into PostgreSQL — ``lianxin.bulk.insert_rows``
(one JSON parameter) against SQLAlchemy's ``insert`` (a multi-row VALUES psycopg2 fills in).

    .venv/bin/python bench/bulk_insert.py [--rows 30] [--batches 300]

A scratch database ``lianxin_bench_bulk_<random>`` on 127.0.0.1:5432 with the tickets
service's real migrations (dropped at the end). Each way stores the same batches of rows as
intake makes them (``services.tickets.intake.prepare_ticket``'s columns), in turns; prints
the client's CPU per batch (this process: what the tickets service spends; the rows are made
by ``prepare_ticket`` before the clock starts) and the time per
batch (the server's work and the round trip included). Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
from sqlalchemy import delete, insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.intake import TICKET  # noqa: E402 - the report bench/intake.py posts
from lianxin import migrate  # noqa: E402
from lianxin.bulk import insert_rows  # noqa: E402
from lianxin.contracts.schema import load  # noqa: E402
from lianxin.contracts.tickets import operations as ops  # noqa: E402
from lianxin.db import make_engine, make_session_factory  # noqa: E402
from services.tickets import configuration  # noqa: E402
from services.tickets.intake import ROW_COLUMNS, prepare_ticket  # noqa: E402
from services.tickets.models import Ticket  # noqa: E402
from services.tickets.routing import RoutingCache  # noqa: E402

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def add_center(session) -> None:
    """The demo center with the category the bench's reports are in, as an admin adds them."""
    configuration.create_center(
        db_session=session, data=load(ops.CenterCreate, {"id": "yanminghu", "name": "雁鸣湖镇"})
    )
    configuration.add_category(
        db_session=session,
        center_id="yanminghu",
        data=load(ops.CategoryCreate, {"code": "sanitation", "name": "环境卫生"}),
    )
    session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30, help="rows per batch")
    parser.add_argument("--batches", type=int, default=300, help="batches per way and turn")
    args = parser.parse_args()

    name = f"lianxin_bench_bulk_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(ADMIN)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    try:
        migrate.upgrade("tickets", url)
        engine = make_engine(url)
        session = make_session_factory(engine)()
        add_center(session)

        def sqlalchemy_insert(conn, rows):
            conn.execute(insert(Ticket), rows)

        def json_rows(conn, rows):
            insert_rows(conn, Ticket, rows)

        routes = RoutingCache()
        report = load(ops.TicketCreate, TICKET)

        def ticket_row(now: datetime) -> dict:
            """A new ticket's row as intake makes it."""
            row = prepare_ticket(
                db_session=session,
                center_id="yanminghu",
                data=report,
                reporter_id=None,
                cache=routes,
                now=now,
            )
            return {c: getattr(row, c) for c in ROW_COLUMNS}

        ways = {"SQLAlchemy insert (VALUES)": sqlalchemy_insert, "insert_rows (JSON)": json_rows}
        cpu = dict.fromkeys(ways, 0.0)
        wall = dict.fromkeys(ways, 0.0)
        for _turn in range(2):
            for label, way in ways.items():
                now = datetime.now(UTC)
                batches = [[ticket_row(now) for _ in range(args.rows)] for _ in range(args.batches)]
                c0, w0 = time.process_time(), time.perf_counter()
                for rows in batches:
                    with engine.begin() as conn:
                        way(conn, rows)
                cpu[label] += time.process_time() - c0
                wall[label] += time.perf_counter() - w0
                with engine.begin() as conn:
                    conn.execute(delete(Ticket))
        n = 2 * args.batches
        print(f"{args.rows} tickets' rows per batch, {n} batches each way, in turns:")
        for label in ways:
            print(
                f"  {label:28s} client CPU {cpu[label] * 1000 / n:6.2f} ms/batch   "
                f"time {wall[label] * 1000 / n:6.2f} ms/batch"
            )
        session.close()
        engine.dispose()
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
