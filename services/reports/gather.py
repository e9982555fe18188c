"""Gathering a report's figures from the services that own them, over RPC, all asked at once.

Nothing here knows nameko: :data:`Ask` sends one RPC (``service``, ``method``, ``args``) and
answers something whose ``result()`` waits for the reply (nameko's ``call_async`` does) —
so the report is assembled the same way from fakes in a unit test. A reply that is an
error of ours comes back as that error (the reader sees the owning service's refusal).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from nameko.exceptions import RemoteError

from lianxin.errors import Forbidden, NotFound, from_remote
from lianxin.roles import PARTIES
from services.reports.months import Month


class Pending(Protocol):
    def result(self) -> Any: ...


#: ``ask("tickets", "ticket_stats", (center_id, query))`` → a pending reply.
Ask = Callable[[str, str, tuple[Any, ...]], Pending]

#: Bookings asked per page (the events service's page limit).
BOOKINGS_PAGE = 500


def answer(pending: Pending) -> Any:
    """The reply, or the kit error the other service raised (anything else re-raised)."""
    try:
        return pending.result()
    except RemoteError as exc:
        mapped = from_remote(exc)
        if mapped is None:
            raise
        raise mapped from None


def period(month: Month) -> dict[str, str]:
    """The ``from`` / ``to`` days (local, both included) of the statistics queries."""
    return {"from": month.first_day.isoformat(), "to": month.last_day.isoformat()}


def instants(first: Month, last: Month) -> dict[str, str]:
    """The ``start`` / ``end`` instants (end exclusive) of the satisfaction queries."""
    return {"start": first.start.isoformat(), "end": last.end.isoformat()}


def monthly_figures(
    ask: Ask, center: dict[str, Any], month: Month, *, now: datetime
) -> dict[str, Any]:
    """Every figure of ``center``'s report for ``month`` (a ``MonthlyReport``)."""
    cid = center["id"]
    days = period(month)
    trend_months = month.trend()
    asked = {
        "tickets": ask("tickets", "ticket_stats", (cid, days)),
        "by_party": ask(
            "tickets", "get_satisfaction", (cid, {"group_by": "party", **instants(month, month)})
        ),
        "trend": ask(
            "tickets",
            "get_satisfaction",
            (cid, {"group_by": "month", **instants(trend_months[0], month)}),
        ),
        "meeting": ask("tickets", "get_meeting", (cid, str(month))),
        "volunteers": ask("volunteers", "center_stats", (cid, days)),
        "volunteers_to_date": ask("volunteers", "center_stats", (cid, {"to": days["to"]})),
        "programmes": ask("events", "attendance_stats", (cid, {**days, "group_by": "programme"})),
        "audiences": ask("events", "attendance_stats", (cid, {**days, "group_by": "audience"})),
    }
    meeting, meeting_note = None, None
    try:
        meeting = answer(asked.pop("meeting"))
    except Forbidden:
        meeting_note = "本账号无权查看联席会议程（议程由值班干部和中心管理员查看）"
    except NotFound:
        meeting_note = "本月没有联席会记录"
    got = {name: answer(pending) for name, pending in asked.items()}
    by_month = {row["key"]: row for row in got["trend"]["rows"]}
    trend = [
        {
            "month": str(m),
            "ratings": by_month.get(str(m), {}).get("ratings", 0),
            "rate": by_month.get(str(m), {}).get("rate"),
        }
        for m in trend_months
    ]
    return {
        "center": center,
        "month": str(month),
        "date_from": month.first_day,
        "date_to": month.last_day,
        "generated_at": now,
        "tickets": got["tickets"],
        "satisfaction": trend[-1]["rate"],
        "satisfaction_by_party": in_party_order(got["by_party"]["rows"]),
        "satisfaction_trend": trend,
        "meeting": meeting,
        "meeting_note": meeting_note,
        "volunteers": got["volunteers"],
        "volunteers_to_date": got["volunteers_to_date"],
        "activities_by_programme": got["programmes"],
        "activities_by_audience": got["audiences"],
        "rooms": room_use(ask, cid, month),
    }


def in_party_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows keyed by party in the four parties' order (物业, 社工, 业委会, 村支两委)."""
    order = {p: i for i, p in enumerate(PARTIES)}
    return sorted(rows, key=lambda r: (order.get(r["key"], len(order)), r["key"]))


def room_use(ask: Ask, center_id: str, month: Month) -> list[dict[str, Any]]:
    """Confirmed bookings starting in the month, and their hours, by room (the events
    service's own list, read page by page)."""
    rooms: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        query = {
            "state": "confirmed",
            **instants(month, month),
            "limit": BOOKINGS_PAGE,
            "offset": offset,
        }
        page = answer(ask("events", "list_bookings", (center_id, query)))
        for booking in page["items"]:
            starts = datetime.fromisoformat(booking["starts_at"])
            if not month.start <= starts < month.end:
                continue
            ends = datetime.fromisoformat(booking["ends_at"])
            row = rooms.setdefault(
                booking["room"],
                {
                    "room": booking["room"],
                    "room_name": booking["room_name"],
                    "bookings": 0,
                    "hours": 0.0,
                },
            )
            row["bookings"] += 1
            row["hours"] = round(row["hours"] + (ends - starts).total_seconds() / 3600, 1)
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            break
    return sorted(rooms.values(), key=lambda r: (-r["hours"], r["room"]))


def county_row(ask: Ask, center: dict[str, Any], month: Month) -> dict[str, Any]:
    """One center's line of the county view from its own statistics (four RPCs; the view
    itself asks :func:`county_rows` — the same figures, one RPC per service)."""
    cid = center["id"]
    days = period(month)
    asked = {
        "tickets": ask("tickets", "ticket_stats", (cid, days)),
        "satisfaction": ask(
            "tickets", "get_satisfaction", (cid, {"group_by": "center", **instants(month, month)})
        ),
        "volunteers": ask("volunteers", "center_stats", (cid, days)),
        "activities": ask("events", "attendance_stats", (cid, {**days, "group_by": "programme"})),
    }
    got = {name: answer(pending) for name, pending in asked.items()}
    rated = next((r for r in got["satisfaction"]["rows"] if r["key"] == cid), None)
    tickets = {
        "total": got["tickets"]["total"],
        "median_resolve_hours": got["tickets"]["median_resolve_hours"],
        "ratings": rated["ratings"] if rated else 0,
        "satisfaction": rated["rate"] if rated else None,
    }
    return _county_line(center, tickets, got["volunteers"], got["activities"])


#: A center's volunteering and activity figures when it had none in the period (the batched
#: statistics asked for every center answer only the centers that had some).
NO_VOLUNTEERING = {"verified_hours": 0.0, "participations": 0, "beneficiaries_served": 0}
NO_ACTIVITIES = {"activities": 0, "person_times": 0}


def county_rows(ask: Ask, center_ids: list[str] | None, month: Month) -> list[dict[str, Any]]:
    """The county view's lines (ranks set by :func:`ranked`) of the centers ``center_ids``
    (``None``: every center the caller's token grants): one batched RPC per service for all
    of them, the three asked at once — the figures the per-center statistics answer
    (``ticket_stats``, the satisfaction by center, ``center_stats``, ``attendance_stats``),
    counted by each service in one read. Tickets' lines name the centers that exist, in
    order, so no list of centers is asked first."""
    if center_ids == []:
        return []
    days = period(month)
    asked = {
        "tickets": ask("tickets", "county_ticket_stats", (center_ids, days)),
        "volunteers": ask("volunteers", "county_center_stats", (center_ids, days)),
        "activities": ask(
            "events", "county_attendance_stats", (center_ids, {**days, "group_by": "programme"})
        ),
    }
    got = {name: answer(pending) for name, pending in asked.items()}
    volunteers = {row["center_id"]: row for row in got["volunteers"]}
    activities = {row["center_id"]: row for row in got["activities"]}
    return [
        _county_line(
            {"id": line["center_id"], "name": line["center_name"]},
            line,
            volunteers.get(line["center_id"], NO_VOLUNTEERING),
            activities.get(line["center_id"], NO_ACTIVITIES),
        )
        for line in got["tickets"]
    ]


def _county_line(
    center: dict[str, Any],
    tickets: dict[str, Any],
    volunteers: dict[str, Any],
    activities: dict[str, Any],
) -> dict[str, Any]:
    total = tickets["total"]
    return {
        "center_id": center["id"],
        "center_name": center.get("name", center["id"]),
        "rank": 0,
        **{k: total[k] for k in ("received", "resolved", "overdue", "returned", "escalated")},
        "acknowledged_in_10_minutes_rate": total["acknowledged_in_10_minutes_rate"],
        "median_resolve_hours": tickets["median_resolve_hours"],
        "ratings": tickets["ratings"],
        "satisfaction": tickets["satisfaction"],
        "verified_hours": volunteers["verified_hours"],
        "participations": volunteers["participations"],
        "beneficiaries_served": volunteers["beneficiaries_served"],
        "activities": activities["activities"],
        "activity_person_times": activities["person_times"],
    }


def ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows ranked by satisfaction (a center without ratings last), then by the share of
    received tickets resolved, then by id; equal figures share a rank."""

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        share = row["resolved"] / row["received"] if row["received"] else 0.0
        sat = row["satisfaction"]
        return (sat is None, -(sat or 0.0), -share)

    ordered = sorted(rows, key=lambda r: (*key(r), r["center_id"]))
    previous, rank = None, 0
    for position, row in enumerate(ordered, start=1):
        if key(row) != previous:
            rank, previous = position, key(row)
        row["rank"] = rank
    return ordered
