"""The ticket figures of a period (诉求办理统计): received, resolved, overdue, returned and
escalated, by party and by category; the share acknowledged within 10 minutes; how long
resolution took. The monthly report prints these, and ``GET /api/v1/tickets/stats`` answers
the same numbers.

Two reads on the session's connection (Core rows, no ORM loading): the tickets received or
resolved in the period, and the timeline's returns and escalations in it. A center's month
is a few hundred rows, so the tallies are made here rather than in SQL that SQLite and
PostgreSQL would spell differently (time differences).

The county view asks the same ``total`` figures of every center it shows at once
(:func:`county_ticket_stats`): there they are counted in SQL, ``GROUP BY center_id`` — three
reads for the whole county, whatever its number of centers — and equal those of
:func:`ticket_stats` for each center.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, extract, func, or_, select, text
from sqlalchemy.orm import Session

from lianxin.clock import SHANGHAI
from lianxin.contracts.tickets.operations import RATINGS
from lianxin.roles import PARTIES, PARTY_NAMES
from services.tickets.models import Category, Center, Rating, Ticket, TicketLog

#: The acknowledge promise the center makes residents (签收时限).
ACK_PROMISE = timedelta(minutes=10)
#: Receipt-to-resolution buckets: (key, label, upper bound).
RESOLVE_BUCKETS: tuple[tuple[str, str, timedelta | None], ...] = (
    ("within_1d", "1 天内", timedelta(days=1)),
    ("within_3d", "1–3 天", timedelta(days=3)),
    ("within_7d", "3–7 天", timedelta(days=7)),
    ("over_7d", "7 天以上", None),
)
_COUNTS = ("received", "resolved", "overdue", "returned", "escalated", "acknowledged_in_10_minutes")


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The period's UTC instants: from the first day's local midnight to the one after the
    last day (exclusive)."""
    start = datetime.combine(date_from, time(), SHANGHAI)
    end = datetime.combine(date_to + timedelta(days=1), time(), SHANGHAI)
    return start, end


def _row(key: str, label: str) -> dict[str, Any]:
    return {"key": key, "label": label, **dict.fromkeys(_COUNTS, 0)}


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    received = row["received"]
    row["acknowledged_in_10_minutes_rate"] = (
        round(100 * row["acknowledged_in_10_minutes"] / received, 1) if received else None
    )
    return row


def ticket_stats(
    *, db_session: Session, center_id: str, date_from: date, date_to: date
) -> dict[str, Any]:
    """The figures of ``center_id`` for the days ``date_from`` … ``date_to`` (local, included)."""
    start, end = period_bounds(date_from, date_to)
    conn = db_session.connection()
    t = Ticket.__table__
    names = dict(
        conn.execute(
            select(Category.code, Category.name).where(Category.center_id == center_id)
        ).all()
    )
    total = _row("all", "合计")
    parties = {p: _row(p, PARTY_NAMES[p]) for p in PARTIES}
    categories: dict[str, dict[str, Any]] = {}

    def rows_of(party: str, category: str) -> Iterable[dict[str, Any]]:
        if category not in categories:
            categories[category] = _row(category, names.get(category, category))
        return (total, parties.setdefault(party, _row(party, party)), categories[category])

    durations: list[timedelta] = []
    tickets = conn.execute(
        select(
            t.c.party,
            t.c.category,
            t.c.created_at,
            t.c.acknowledged_at,
            t.c.resolved_at,
            t.c.resolve_breached,
        ).where(
            t.c.center_id == center_id,
            or_(
                and_(t.c.created_at >= start, t.c.created_at < end),
                and_(t.c.resolved_at >= start, t.c.resolved_at < end),
            ),
        )
    )
    for party, category, created, acknowledged, resolved, breached in tickets:
        received = start <= created < end
        resolved_now = resolved is not None and start <= resolved < end
        for row in rows_of(party, category):
            if received:
                row["received"] += 1
                row["overdue"] += bool(breached)
                if acknowledged is not None and acknowledged - created <= ACK_PROMISE:
                    row["acknowledged_in_10_minutes"] += 1
            if resolved_now:
                row["resolved"] += 1
        if resolved_now:
            durations.append(resolved - created)

    steps = conn.execute(
        select(TicketLog.action, t.c.party, t.c.category)
        .join(t, t.c.id == TicketLog.ticket_id)
        .where(
            TicketLog.center_id == center_id,
            TicketLog.action.in_(("return", "escalate")),
            TicketLog.at >= start,
            TicketLog.at < end,
        )
    )
    for action, party, category in steps:
        column = "returned" if action == "return" else "escalated"
        for row in rows_of(party, category):
            row[column] += 1

    return {
        "date_from": date_from,
        "date_to": date_to,
        "total": _finish(total),
        "by_party": [_finish(row) for row in parties.values()],
        "by_category": [
            _finish(row)
            for row in sorted(categories.values(), key=lambda r: (-r["received"], r["key"]))
        ],
        "resolve_time": resolve_time_buckets(durations),
        "median_resolve_hours": (
            round(statistics.median(d.total_seconds() for d in durations) / 3600, 1)
            if durations
            else None
        ),
    }


def _seconds(db_session: Session, later: Any, earlier: Any) -> Any:
    """``later - earlier`` in seconds, in SQL (PostgreSQL: exact; SQLite: to the millisecond,
    as its date functions keep them)."""
    if db_session.get_bind().dialect.name == "sqlite":
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)
    return extract("epoch", later - earlier)


def _count(condition: Any) -> Any:
    """How many rows of the group meet ``condition`` (``count(*) FILTER (WHERE …)``)."""
    return func.count().filter(condition)


def _medians(db_session: Session, seconds: Any, ids: list[str], where: Any) -> dict[str, Any]:
    """Each center's median of ``seconds`` over its tickets matching ``where``: PostgreSQL's
    ``percentile_cont(0.5)``; elsewhere the middle one (or the middle two's mean) by rank."""
    t = Ticket.__table__
    conn = db_session.connection()
    if db_session.get_bind().dialect.name == "postgresql":
        # Grouped by the ids' bytes: the group sort of a month's resolutions by the
        # database's collation (strcoll per comparison) was 130 of the query's 220 ms.
        center = t.c.center_id.collate("C")
        return dict(
            conn.execute(
                select(center, func.percentile_cont(0.5).within_group(seconds))
                .where(t.c.center_id.in_(ids), where)
                .group_by(center)
            ).all()
        )
    value = seconds.label("seconds")
    ranked = (
        select(
            t.c.center_id,
            value,
            func.row_number().over(partition_by=t.c.center_id, order_by=value).label("n"),
            func.count().over(partition_by=t.c.center_id).label("of"),
        )
        .where(t.c.center_id.in_(ids), where)
        .subquery()
    )
    middle = or_(ranked.c.n == (ranked.c.of + 1) // 2, ranked.c.n == (ranked.c.of + 2) // 2)
    return dict(
        conn.execute(
            select(ranked.c.center_id, func.avg(ranked.c.seconds))
            .where(middle)
            .group_by(ranked.c.center_id)
        ).all()
    )


def county_ticket_stats(
    *, db_session: Session, center_ids: Iterable[str] | None, date_from: date, date_to: date
) -> list[dict[str, Any]]:
    """Per center of ``center_ids`` (in their order; ``None``: every center, by id) that
    exists, its name, ``total`` figures, median resolve hours, ratings and satisfaction rate
    for the days ``date_from`` … ``date_to`` — the same numbers as :func:`ticket_stats` and
    the satisfaction by center, counted in SQL for all the centers at once. The lines name
    the centers, so the county view needs no list of centers before it asks."""
    conn = db_session.connection()
    known = select(Center.id, Center.name).order_by(Center.id)
    if center_ids is not None:
        wanted = list(dict.fromkeys(center_ids))
        if not wanted:
            return []
        known = known.where(Center.id.in_(wanted))
    names: dict[str, str] = dict(conn.execute(known).tuples().all())
    ids = [cid for cid in wanted if cid in names] if center_ids is not None else list(names)
    if not ids:
        return []
    start, end = period_bounds(date_from, date_to)
    t = Ticket.__table__
    received = and_(t.c.created_at >= start, t.c.created_at < end)
    resolved = and_(t.c.resolved_at.is_not(None), t.c.resolved_at >= start, t.c.resolved_at < end)
    acknowledged = and_(
        received,
        t.c.acknowledged_at.is_not(None),
        _seconds(db_session, t.c.acknowledged_at, t.c.created_at) <= ACK_PROMISE.total_seconds(),
    )
    if db_session.get_bind().dialect.name == "postgresql":
        # the median's sort of the month's resolutions: in memory, not on disk
        conn.execute(text("SET LOCAL work_mem = '32MB'"))
    totals = {cid: _row("all", "合计") for cid in ids}
    # The received and the resolved apart, each a range scan of its own index
    # (ix_tickets_created_month, ix_tickets_resolved_month), not one scan of the table.
    for cid, n_received, n_overdue, n_acknowledged in conn.execute(
        select(
            t.c.center_id,
            func.count(),
            _count(t.c.resolve_breached.is_(True)),
            _count(acknowledged),
        )
        .where(t.c.center_id.in_(ids), received)
        .group_by(t.c.center_id)
    ):
        row = totals[cid]
        row["received"] = int(n_received)
        row["overdue"], row["acknowledged_in_10_minutes"] = int(n_overdue), int(n_acknowledged)
    for cid, n_resolved in conn.execute(
        select(t.c.center_id, func.count())
        .where(t.c.center_id.in_(ids), resolved)
        .group_by(t.c.center_id)
    ):
        totals[cid]["resolved"] = int(n_resolved)

    log = TicketLog.__table__
    for cid, n_returned, n_escalated in conn.execute(
        select(
            log.c.center_id,
            _count(log.c.action == "return"),
            _count(log.c.action == "escalate"),
        )
        .where(
            log.c.center_id.in_(ids),
            log.c.action.in_(("return", "escalate")),
            log.c.at >= start,
            log.c.at < end,
        )
        .group_by(log.c.center_id)
    ):
        totals[cid]["returned"], totals[cid]["escalated"] = int(n_returned), int(n_escalated)

    # Apart from the counts: their hash aggregate needs no sort, and the median sorts only
    # the month's resolutions (at 1M tickets, 200 + 140 ms; 520 ms as one sorted pass).
    medians = _medians(
        db_session, _seconds(db_session, t.c.resolved_at, t.c.created_at), ids, resolved
    )

    ratings: dict[str, dict[str, int]] = {cid: dict.fromkeys(RATINGS, 0) for cid in ids}
    for cid, rating, count in conn.execute(
        select(Rating.center_id, Rating.rating, func.count())
        .where(Rating.center_id.in_(ids), Rating.rated_at >= start, Rating.rated_at < end)
        .group_by(Rating.center_id, Rating.rating)
    ):
        ratings[cid][rating] = count

    answers = []
    for cid in ids:
        counts = ratings[cid]
        rated = sum(counts.values())
        good = counts.get("satisfied", 0) + counts.get("basically_satisfied", 0)
        median = medians.get(cid)
        answers.append(
            {
                "center_id": cid,
                "center_name": names[cid],
                "total": _finish(totals[cid]),
                "median_resolve_hours": (
                    round(float(median) / 3600, 1) if median is not None else None
                ),
                "ratings": rated,
                "satisfaction": round(100 * good / rated, 1) if rated else None,
            }
        )
    return answers


def resolve_time_buckets(durations: Iterable[timedelta]) -> list[dict[str, Any]]:
    """How many resolutions took how long (the report's distribution chart)."""
    counts = dict.fromkeys((key for key, _label, _bound in RESOLVE_BUCKETS), 0)
    for duration in durations:
        for key, _label, bound in RESOLVE_BUCKETS:
            if bound is None or duration <= bound:
                counts[key] += 1
                break
    return [
        {"key": key, "label": label, "tickets": counts[key]} for key, label, _b in RESOLVE_BUCKETS
    ]


def meeting_days(*, db_session: Session) -> list[Center]:
    """Every center with its joint-meeting day (the reports service's timer reads them)."""
    return list(db_session.scalars(select(Center).order_by(Center.id)))
