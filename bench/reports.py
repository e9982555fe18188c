"""Benchmark: one center's monthly report and the county view of many centers, on the
tickets database that dominates their cost.

    .venv/bin/python bench/reports.py [--db-url URL] [--fill 1000000] [--centers 500]
                                      [--rounds 20] [--out report.pdf] [--per-center]

``--db-url`` names a tickets database (PostgreSQL, migrated); without it a scratch database
``lianxin_bench_reports`` is created (dropped first) on the local server and filled with
``--fill`` tickets (default 100,000) over ``--centers`` centers and the last 12 months —
received, acknowledged, resolved, rated, some returned and escalated. ``--fill`` with
``--db-url`` fills that database (emptying its tickets first); without ``--fill`` a given
database is measured as it is.

It times what the reports service asks of tickets — ``ticket_stats`` and the three
satisfaction queries of a month (by party, the 12-month trend, the center) — for the
busiest center's last full month, then builds the report (charts, PDF, workbook) from
those figures with the volunteers' and events' figures held constant (their queries are
small: one center's visits and activities), and prints the PDF's size. The county view is
timed as its tickets side: ``county_ticket_stats`` — every center's figures in one batched
read, the one tickets RPC the view asks — ``--rounds`` times (p50 / p99); once, its lines are
checked against each center's own ``ticket_stats`` and satisfaction (equal or not), and with
``--per-center`` the former way (one ``ticket_stats`` and one satisfaction query per center)
is timed as well. What the RPCs add on top (the centers' list, then the three batched RPCs
at once through the broker) is not measured here: README's Performance gives the view timed
end to end through the broker. It measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg2
from sqlalchemy import text

from lianxin import migrate
from lianxin.clock import local
from lianxin.db import make_engine, make_session_factory

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "lianxin_bench_reports"
SCRATCH = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DB}"
#: An RPC through the broker from a worker of the reports service (nameko, this machine).
RPC_MS = 3.0
COUNTY_CONCURRENCY = 16

FILL = """
INSERT INTO tickets (id, center_id, category, party, state, channel, description, address,
    attributes, follow_code, created_at, updated_at, ack_due_at, resolve_due_at, due_at,
    acknowledged_at, resolved_at, reopen_count, ack_breach_level, resolve_breached)
SELECT md5(g::text || :salt)::uuid::text,
       'c' || lpad((g % :centers)::text, 3, '0'),
       (ARRAY['sanitation','elderly_care','parking','roads'])[1 + (g / 3) % 4],
       (ARRAY['property','social_work','owners_committee','village_committee'])[1 + (g / 3) % 4],
       CASE WHEN g % 10 = 0 THEN 'assigned' ELSE 'closed' END,
       'web', '东村社区3号楼门口垃圾两天没人清运', '东村社区', '{}', 'code',
       :now - (g % 525600) * interval '1 minute', :now,
       :now - (g % 525600) * interval '1 minute' + interval '10 minutes',
       :now - (g % 525600) * interval '1 minute' + interval '72 hours',
       CASE WHEN g % 10 = 0 THEN :now + interval '1 day' ELSE NULL END,
       :now - (g % 525600) * interval '1 minute' + (g % 17) * interval '1 minute',
       CASE WHEN g % 10 = 0 THEN NULL
            ELSE :now - (g % 525600) * interval '1 minute' + (1 + g % 200) * interval '1 hour' END,
       0, 0, g % 23 = 0
FROM generate_series(:start, :stop) AS g
"""
RATINGS = """
INSERT INTO ratings (center_id, ticket_id, party, category, rating, via, comment, rated_at)
SELECT center_id, id, party, category,
       CASE WHEN abs(hashtext(id)) % 50 = 0 THEN 'dissatisfied'
            WHEN abs(hashtext(id)) % 3 = 0 THEN 'basically_satisfied' ELSE 'satisfied' END,
       'phone', '', resolved_at + interval '1 day'
FROM tickets WHERE resolved_at IS NOT NULL AND abs(hashtext(id)) % 5 < 3
"""
STEPS = """
INSERT INTO ticket_log (center_id, ticket_id, action, from_state, to_state, at)
SELECT center_id, id, CASE WHEN abs(hashtext(id)) % 2 = 0 THEN 'return' ELSE 'escalate' END,
       'assigned', 'returned', created_at + interval '2 hours'
FROM tickets WHERE abs(hashtext(id)) % 40 = 0
"""


def scratch() -> str:
    conn = psycopg2.connect(ADMIN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{DB}"')
    conn.close()
    migrate.upgrade("tickets", SCRATCH)
    return SCRATCH


def fill(engine, size: int, centers: int) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE tickets, ticket_log, ratings, categories, centers CASCADE"))
        conn.execute(
            text(
                "INSERT INTO centers (id, name, address, timezone, fallback_party, auto_assign, "
                "meeting_day, created_at) SELECT 'c' || lpad(g::text, 3, '0'), "
                "'第' || g || '党群服务中心', '', 'Asia/Shanghai', 'village_committee', true, 25, "
                ":since FROM generate_series(0, :n - 1) g"
            ),
            {"n": centers, "since": now - timedelta(days=400)},
        )
        for code, party in (
            ("sanitation", "property"),
            ("elderly_care", "social_work"),
            ("parking", "owners_committee"),
            ("roads", "village_committee"),
        ):
            conn.execute(
                text(
                    "INSERT INTO categories (center_id, code, name, party, ack_minutes, "
                    "resolve_hours, service_code, description, keywords, attributes, active) "
                    "SELECT id, :code, :code, :party, 10, 72, :code, '', '[]', '[]', true "
                    "FROM centers"
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
                    "centers": centers,
                    "salt": str(size),
                    "now": now,
                },
            )
    with engine.begin() as conn:
        conn.execute(text(RATINGS))
        conn.execute(text(STEPS))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def ticket_side(session, center_id: str, month) -> dict:
    """What the reports service asks of tickets for one center's month report."""
    from services.reports.gather import instants
    from services.tickets import queries
    from services.tickets import statistics as ticket_statistics

    figures = ticket_statistics.ticket_stats(
        db_session=session,
        center_id=center_id,
        date_from=month.first_day,
        date_to=month.last_day,
    )
    trend = month.trend()

    def rate(group_by, first, last):
        bounds = instants(first, last)
        return queries.satisfaction(
            db_session=session,
            center_id=center_id,
            group_by=group_by,
            start=datetime.fromisoformat(bounds["start"]),
            end=datetime.fromisoformat(bounds["end"]),
        )

    return {
        "tickets": figures,
        "by_party": rate("party", month, month),
        "trend": rate("month", trend[0], month),
    }


def county_side(session, center_ids: list[str], month) -> list[dict]:
    """What the county view asks of tickets: one batched read for all the centers."""
    from services.tickets import statistics as ticket_statistics

    return ticket_statistics.county_ticket_stats(
        db_session=session,
        center_ids=center_ids,
        date_from=month.first_day,
        date_to=month.last_day,
    )


def per_center(session, center_id: str, month) -> dict:
    """The same line from the center's own ``ticket_stats`` and satisfaction by center (what
    the county view asked per center before the batched RPC)."""
    from services.reports.gather import instants
    from services.tickets import queries
    from services.tickets import statistics as ticket_statistics

    figures = ticket_statistics.ticket_stats(
        db_session=session,
        center_id=center_id,
        date_from=month.first_day,
        date_to=month.last_day,
    )
    bounds = instants(month, month)
    rated = queries.satisfaction(
        db_session=session,
        center_id=center_id,
        group_by="center",
        start=datetime.fromisoformat(bounds["start"]),
        end=datetime.fromisoformat(bounds["end"]),
    )
    return {
        "center_id": center_id,
        "total": figures["total"],
        "median_resolve_hours": figures["median_resolve_hours"],
        "ratings": rated[0]["ratings"] if rated else 0,
        "satisfaction": rated[0]["rate"] if rated else None,
    }


VOLUNTEERS = {
    "verified_hours": 500.0,
    "participations": 245,
    "beneficiaries_served": 120,
    "service_person_times": 310,
    "volunteers_active": 36,
    "shifts_held": 48,
    "no_shows": 2,
    "pending_hours": 6.5,
}


def as_report(center_id: str, month, got: dict) -> dict:
    """The monthly report from the tickets figures (dumped as the RPC answers them) and
    constant volunteers' and events' figures."""
    from lianxin.contracts.schema import dump
    from lianxin.contracts.tickets.operations import SatisfactionRow, TicketStats

    by_month = {r["key"]: r for r in got["trend"]}
    trend = [
        {
            "month": str(m),
            "ratings": by_month.get(str(m), {}).get("ratings", 0),
            "rate": by_month.get(str(m), {}).get("rate"),
        }
        for m in month.trend()
    ]
    attendance = {
        "group_by": "programme",
        "from": str(month.first_day),
        "to": str(month.last_day),
        "activities": 16,
        "person_times": 1470,
        "groups": [
            {"key": "yuedong", "label": "悦动耄耋", "activities": 10, "person_times": 1290},
            {"key": "yilu", "label": "益路成长", "activities": 6, "person_times": 180},
        ],
    }
    return {
        "center": {
            "id": center_id,
            "name": f"{center_id} 党群服务中心",
            "address": "",
            "meeting_day": 25,
        },
        "month": str(month),
        "date_from": month.first_day,
        "date_to": month.last_day,
        "generated_at": datetime.now(UTC),
        "tickets": dump(TicketStats, got["tickets"]),
        "satisfaction": trend[-1]["rate"],
        "satisfaction_by_party": dump(SatisfactionRow, got["by_party"], many=True),
        "satisfaction_trend": trend,
        "meeting": None,
        "meeting_note": "（基准测试：未读取联席会议程）",
        "volunteers": VOLUNTEERS,
        "volunteers_to_date": VOLUNTEERS,
        "activities_by_programme": attendance,
        "activities_by_audience": {**attendance, "group_by": "audience"},
        "rooms": [{"room": "sports", "room_name": "文体活动室", "bookings": 22, "hours": 61.5}],
    }


def pct(values: list[float], p: float) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    from services.reports import pdf, workbook
    from services.reports.months import Month

    parser = argparse.ArgumentParser()
    parser.add_argument("--db-url", help="a migrated tickets database (default: a scratch one)")
    parser.add_argument("--fill", type=int, help="tickets to fill it with (scratch: 100000)")
    parser.add_argument("--centers", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", default="report.pdf", help="where the PDF is written")
    parser.add_argument(
        "--per-center", action="store_true", help="also time the former per-center county view"
    )
    args = parser.parse_args()

    url = args.db_url or scratch()
    size = args.fill if args.fill is not None else (None if args.db_url else 100_000)
    engine = make_engine(url, pool_size=2)
    if size:
        began = time.perf_counter()
        fill(engine, size, args.centers)
        print(
            f"filled {size:,} tickets over {args.centers} centers in "
            f"{time.perf_counter() - began:.1f}s",
            flush=True,
        )
    session = make_session_factory(engine)()
    total = session.execute(text("SELECT count(*) FROM tickets")).scalar()
    centers = [r[0] for r in session.execute(text("SELECT id FROM centers ORDER BY id"))]
    busiest = session.execute(
        text("SELECT center_id FROM tickets GROUP BY center_id ORDER BY count(*) DESC LIMIT 1")
    ).scalar_one()
    month = Month.of(local(datetime.now(UTC)).date().replace(day=1) - timedelta(days=1))
    print(f"{total:,} tickets, {len(centers)} centers; report of {busiest} for {month}")

    timings: dict[str, list[float]] = {"tickets": [], "charts+pdf": [], "xlsx": [], "total": []}
    size_pdf = 0
    for _ in range(max(3, args.rounds // 4)):
        t0 = time.perf_counter()
        got = ticket_side(session, busiest, month)
        session.rollback()
        t1 = time.perf_counter()
        report = as_report(busiest, month, got)
        data = pdf.render(report)
        t2 = time.perf_counter()
        book = workbook.monthly(report)
        t3 = time.perf_counter()
        size_pdf = len(data)
        for key, value in (
            ("tickets", t1 - t0),
            ("charts+pdf", t2 - t1),
            ("xlsx", t3 - t2),
            ("total", t3 - t0),
        ):
            timings[key].append(value * 1000)
    Path(args.out).write_bytes(data)
    received = report["tickets"]["total"]["received"]
    print(f"one center's month ({received:,} tickets received that month):")
    for key, values in timings.items():
        print(f"  {key:12} median {statistics.median(values):8.1f} ms   max {max(values):8.1f} ms")
    print(f"  PDF {size_pdf / 1024:.0f} KiB ({args.out}), workbook {len(book) / 1024:.0f} KiB")

    county: list[float] = []
    rng = random.Random(7)
    for _ in range(args.rounds):
        order = centers[:]
        rng.shuffle(order)
        began = time.perf_counter()
        lines = county_side(session, order, month)
        session.rollback()
        county.append((time.perf_counter() - began) * 1000)
    print(
        f"county view of {len(centers)} centers, tickets side, batched ({args.rounds} rounds): "
        f"p50 {statistics.median(county):.0f} ms   p99 {pct(county, 99):.0f} ms"
    )
    began = time.perf_counter()
    # A county line also names its center (``center_name``), which ticket_stats doesn't.
    equal = sum(
        {k: v for k, v in line.items() if k != "center_name"}
        == per_center(session, line["center_id"], month)
        for line in lines
    )
    session.rollback()
    former = (time.perf_counter() - began) * 1000
    print(f"  lines equal to the centers' own ticket_stats + satisfaction: {equal} of {len(lines)}")
    if args.per_center:
        print(f"  per center as before (2 reads each, one round): {former:.0f} ms")
    print(
        f"  + RPCs: 2 broker round trips (the centers' list, then 3 batched RPCs at once; "
        f"~{RPC_MS:g} ms each) plus each service dumping its {len(centers)} lines — was "
        f"4 RPCs per center, {COUNTY_CONCURRENCY} at a time: "
        f"~{4 * len(centers) * RPC_MS / COUNTY_CONCURRENCY:.0f} ms of broker time"
    )
    session.close()
    engine.dispose()


if __name__ == "__main__":
    main()
