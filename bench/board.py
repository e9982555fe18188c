"""Benchmark: the staff board query on PostgreSQL at 10k and at 1M tickets over 500 centers.

    .venv/bin/python bench/board.py [--sizes 10000,1000000] [--queries 2000]

Fills a scratch database (``lianxin_bench_board``, dropped first) through the real
migrations, then times ``queries.board`` — the function behind ``GET /api/v1/board`` — for
random centers, with and without a party filter, and once more with the answer dumped
through the contract's schema as the RPC does; and the SLA timer's count of open tickets
(``sla.open_tickets``, the ``lianxin_tickets_open`` gauge). It measures and prints; it
asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg2
from sqlalchemy import text

from lianxin import migrate
from lianxin.db import make_engine, make_session_factory

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "lianxin_bench_board"
URL = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DB}"
CENTERS = 500
PARTIES = ["property", "social_work", "owners_committee", "village_committee"]
STATES_OPEN = ["reported", "acknowledged", "assigned", "in_progress", "returned", "escalated"]

FILL = """
INSERT INTO tickets (id, center_id, category, party, state, channel, description, address,
    attributes, follow_code, created_at, updated_at, ack_due_at, resolve_due_at, due_at,
    reopen_count, ack_breach_level, resolve_breached)
SELECT md5(g::text || :salt)::uuid::text,
       'c' || lpad((g % :centers)::text, 3, '0'),
       CASE WHEN (g / 3) % 2 = 0 THEN 'sanitation' ELSE 'elderly_care' END,
       (ARRAY['property','social_work','owners_committee','village_committee'])[1 + (g / 7) % 4],
       CASE WHEN (g / 500) % 10 < 3
            THEN (ARRAY['reported','acknowledged','assigned','in_progress','returned','escalated'])[1 + (g / 11) % 6]
            ELSE 'closed' END,
       'web', '东村社区3号楼门口垃圾两天没人清运', '东村社区', '{}', 'code',
       now() - (g % 5000) * interval '1 minute', now(), now() + (g % 600) * interval '1 minute',
       now() + (g % 7200) * interval '1 minute',
       CASE WHEN (g / 500) % 10 < 3 THEN now() + (g % 7200) * interval '1 minute' ELSE NULL END,
       0, 0, false
FROM generate_series(:start, :stop) AS g
"""


def reset() -> None:
    conn = psycopg2.connect(ADMIN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{DB}"')
    conn.close()
    migrate.upgrade("tickets", URL)


def fill(engine, size: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE tickets, categories, centers CASCADE"))
        conn.execute(
            text(
                "INSERT INTO centers (id, name, address, timezone, fallback_party, auto_assign, "
                "meeting_day, created_at) SELECT 'c' || lpad(g::text, 3, '0'), '中心' || g, '', "
                "'Asia/Shanghai', 'village_committee', true, 25, now() FROM generate_series(0, :n - 1) g"
            ),
            {"n": CENTERS},
        )
        for code, party in (("sanitation", "property"), ("elderly_care", "social_work")):
            conn.execute(
                text(
                    "INSERT INTO categories (center_id, code, name, party, ack_minutes, resolve_hours, "
                    "service_code, description, keywords, attributes, active) SELECT id, :code, :code, "
                    ":party, 10, 72, :code, '', '[]', '[]', true FROM centers"
                ),
                {"code": code, "party": party},
            )
    step = 200_000
    for start in range(1, size + 1, step):
        with engine.begin() as conn:
            conn.execute(
                text(FILL),
                {
                    "start": start,
                    "stop": min(size, start + step - 1),
                    "centers": CENTERS,
                    "salt": str(size),
                },
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE tickets"))


def measure(engine, count: int, party: bool, as_answer: bool = False) -> list[float]:
    from lianxin.contracts.schema import dump
    from lianxin.contracts.tickets.operations import Board, TicketFilter
    from services.tickets import queries

    session = make_session_factory(engine)()
    rng = random.Random(7)
    timings = []
    for i in range(count + 100):
        center = f"c{rng.randrange(CENTERS):03d}"
        query = TicketFilter(
            limit=50,
            offset=0,
            state=None,
            category=None,
            party=rng.choice(PARTIES) if party else None,
        )
        began = time.perf_counter()
        result = queries.board(db_session=session, center_id=center, query=query)
        if as_answer:  # what the board RPC answers: every item through the contract's schema
            result = dump(Board, result)
        session.rollback()
        if i >= 100:  # warm-up excluded
            timings.append((time.perf_counter() - began) * 1000)
        assert result["items"] is not None
    session.close()
    return timings


def measure_open_counts(engine, rounds: int = 5) -> list[float]:
    from services.tickets import sla

    session = make_session_factory(engine)()
    timings = []
    for _ in range(rounds):
        began = time.perf_counter()
        sla.open_tickets(db_session=session)
        session.rollback()
        timings.append((time.perf_counter() - began) * 1000)
    session.close()
    return timings


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=1000)[int(p * 10) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    reset()
    engine = make_engine(URL, pool_size=2)
    results = {}
    for size in (int(s) for s in args.sizes.split(",")):
        began = time.perf_counter()
        fill(engine, size)
        print(
            f"filled {size:,} tickets over {CENTERS} centers in {time.perf_counter() - began:.1f}s",
            flush=True,
        )
        for party, dump in ((False, False), (True, False), (False, True)):
            t = measure(engine, args.queries, party, dump)
            label = "board + party filter" if party else "board + schema dump" if dump else "board"
            results[(size, party, dump)] = t
            print(
                f"  {label:22} p50 {statistics.median(t):6.2f} ms   p99 {pct(t, 99):6.2f} ms   "
                f"max {max(t):6.2f} ms   ({len(t)} queries)",
                flush=True,
            )
        counts = measure_open_counts(engine)
        print(
            f"  {'open tickets (gauge)':22} p50 {statistics.median(counts):6.2f} ms   "
            f"max {max(counts):6.2f} ms   ({len(counts)} counts)",
            flush=True,
        )
    sizes = sorted({s for s, _, _ in results})
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        for party, dump in ((False, False), (True, False), (False, True)):
            ratio = pct(results[(big, party, dump)], 99) / pct(results[(small, party, dump)], 99)
            note = " (party filter)" if party else " (schema dump)" if dump else ""
            print(f"p99 ratio {big:,} / {small:,}{note}: {ratio:.2f}")
    engine.dispose()


if __name__ == "__main__":
    main()
