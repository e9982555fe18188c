"""A report's figures are the owning services' answers for the same month, unchanged: the
report adds layout, never arithmetic of its own (but room use, tallied from the bookings)."""

from datetime import UTC, datetime

from lianxin.errors import Forbidden
from services.reports import gather
from services.reports.months import Month
from tests.unit.reports.conftest import CENTER

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
NOVEMBER = Month(2026, 11)


def test_every_figure_is_the_owning_services_answer_for_the_month(sources):
    report = gather.monthly_figures(sources, CENTER, NOVEMBER, now=NOW)
    days = {"from": "2026-11-01", "to": "2026-11-30"}
    assert report["tickets"] == sources.ticket_stats("yanminghu", days)
    assert report["volunteers"] == sources.center_stats("yanminghu", days)
    assert report["volunteers_to_date"] == sources.center_stats("yanminghu", {"to": days["to"]})
    assert report["volunteers_to_date"]["verified_hours"] == 1240.5
    assert report["activities_by_programme"] == sources.attendance_stats(
        "yanminghu", {**days, "group_by": "programme"}
    )
    assert (
        report["satisfaction_by_party"]
        == (sources.get_satisfaction("yanminghu", {"group_by": "party"})["rows"])
    )
    assert report["meeting"]["items"][0]["decision"] == "assigned"
    asked = {(service, method) for service, method, _args in sources.calls}
    assert ("tickets", "ticket_stats") in asked and ("events", "list_bookings") in asked


def test_the_satisfaction_queries_cover_the_month_and_the_twelve_before_it_in_shanghai(sources):
    gather.monthly_figures(sources, CENTER, NOVEMBER, now=NOW)
    queries = [args[1] for _s, method, args in sources.calls if method == "get_satisfaction"]
    by_party = next(q for q in queries if q["group_by"] == "party")
    trend = next(q for q in queries if q["group_by"] == "month")
    assert by_party["start"] == "2026-11-01T00:00:00+08:00"
    assert by_party["end"] == "2026-12-01T00:00:00+08:00"
    assert trend["start"] == "2025-12-01T00:00:00+08:00"


def test_the_trend_has_twelve_months_and_a_month_without_ratings_is_a_gap(sources):
    report = gather.monthly_figures(sources, CENTER, NOVEMBER, now=NOW)
    trend = report["satisfaction_trend"]
    assert [p["month"] for p in trend][0] == "2025-12" and len(trend) == 12
    assert trend[0]["rate"] == 80.0 and trend[-1]["rate"] == 98.5
    assert trend[3] == {"month": "2026-03", "ratings": 0, "rate": None}
    assert report["satisfaction"] == 98.5  # the month's own point


def test_satisfaction_by_party_is_in_the_four_parties_order(sources):
    report = gather.monthly_figures(sources, CENTER, NOVEMBER, now=NOW)
    assert [r["key"] for r in report["satisfaction_by_party"]] == [
        "property",
        "social_work",
        "owners_committee",
        "village_committee",
    ]


def test_room_use_counts_confirmed_bookings_starting_in_the_month_by_room(sources):
    report = gather.monthly_figures(sources, CENTER, NOVEMBER, now=NOW)
    assert report["rooms"] == [
        {"room": "sports", "room_name": "文体活动室", "bookings": 2, "hours": 3.5},
        {"room": "library", "room_name": "阅览室", "bookings": 1, "hours": 1.0},
    ]


def test_room_use_reads_every_page_of_bookings(sources, monkeypatch):
    monkeypatch.setattr(gather, "BOOKINGS_PAGE", 1)
    report = gather.monthly_figures(sources, CENTER, NOVEMBER, now=NOW)
    assert sum(r["bookings"] for r in report["rooms"]) == 3
    pages = [args[1]["offset"] for _s, m, args in sources.calls if m == "list_bookings"]
    assert pages == [0, 1, 2, 3]


def test_a_reader_who_may_not_see_the_agenda_gets_the_report_without_it(sources):
    sources.refuse["tickets", "get_meeting"] = Forbidden("社工无权执行此操作")
    report = gather.monthly_figures(sources, CENTER, NOVEMBER, now=NOW)
    assert report["meeting"] is None
    assert "无权查看联席会议程" in report["meeting_note"]
    assert report["tickets"]["total"]["received"] == 200


def test_the_county_view_ranks_by_satisfaction_then_resolved_share_and_shares_ties():
    def row(cid, satisfaction, received=10, resolved=10):
        return {
            "center_id": cid,
            "satisfaction": satisfaction,
            "received": received,
            "resolved": resolved,
        }

    ranked = gather.ranked(
        [
            row("c", None),
            row("b", 95.0, 10, 9),
            row("a", 98.5),
            row("d", 95.0, 10, 9),
            row("e", 95.0, 10, 10),
        ]
    )
    assert [(r["center_id"], r["rank"]) for r in ranked] == [
        ("a", 1),
        ("e", 2),
        ("b", 3),
        ("d", 3),
        ("c", 5),
    ]


def test_a_county_row_is_the_centers_own_answers(sources):
    line = gather.county_row(sources, CENTER, NOVEMBER)
    assert line["received"] == 200 and line["resolved"] == 197
    assert line["satisfaction"] == 98.5 and line["ratings"] == 200
    assert line["verified_hours"] == 500.0 and line["activity_person_times"] == 1470
