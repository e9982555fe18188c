"""The day before a center's joint meeting its month report is announced once, and notify
tells the four parties' contacts and the admins."""

from datetime import UTC, date, datetime

from lianxin.contracts import parse_event
from lianxin.contracts.reports.events import REPORT_PUBLISHED
from services.notify.report_plans import plan
from services.reports.months import Month
from services.reports.publishing import Due, due, envelope, event_id

CENTERS = [
    {"id": "yanminghu", "meeting_day": 25, "status": "active"},
    {"id": "fenghuangtai", "meeting_day": 10, "status": "active"},
    {"id": "closed", "meeting_day": 25, "status": "disabled"},
]


def at_shanghai(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour - 8, 0, tzinfo=UTC)


def test_a_report_is_due_the_day_before_the_meeting_and_on_it_if_that_was_missed():
    assert [d.center_id for d in due(CENTERS, at_shanghai(24))] == ["yanminghu"]
    assert [d.center_id for d in due(CENTERS, at_shanghai(25))] == ["yanminghu"]
    assert due(CENTERS, at_shanghai(23)) == [] and due(CENTERS, at_shanghai(26)) == []
    (item,) = due(CENTERS, at_shanghai(24))
    assert item == Due("yanminghu", Month(2026, 11), date(2026, 11, 25))


def test_the_day_is_shanghais():
    # 16:30 UTC on 8 November is 00:30 on 9 November in Shanghai: the day before the 10th.
    late = datetime(2026, 11, 8, 16, 30, tzinfo=UTC)
    assert [d.center_id for d in due(CENTERS, late)] == ["fenghuangtai"]


def test_a_disabled_center_gets_no_report():
    assert "closed" not in [d.center_id for d in due(CENTERS, at_shanghai(24))]


def test_every_publication_of_a_center_month_is_the_same_event():
    item = Due("yanminghu", Month(2026, 11), date(2026, 11, 25))
    first = envelope(item, "https://lianxin.example.org/", at_shanghai(24, 9))
    again = envelope(item, "https://lianxin.example.org/", at_shanghai(24, 10))
    assert first["id"] == again["id"] == event_id("yanminghu", Month(2026, 11))
    assert event_id("yanminghu", Month(2026, 12)) != first["id"]
    assert event_id("fenghuangtai", Month(2026, 11)) != first["id"]
    parsed = parse_event(first, REPORT_PUBLISHED)
    assert parsed["data"]["report_url"] == (
        "https://lianxin.example.org/api/v1/reports/monthly/2026-11.pdf"
    )


def test_notify_tells_each_of_the_four_parties_and_the_admins_once_per_month():
    item = Due("yanminghu", Month(2026, 11), date(2026, 11, 25))
    event = parse_event(envelope(item, "https://x.cn", at_shanghai(24)), REPORT_PUBLISHED)
    messages = plan(str(REPORT_PUBLISHED), event["data"], "yanminghu").messages
    assert {m.party for m in messages if m.party} == {
        "property",
        "social_work",
        "owners_committee",
        "village_committee",
    }
    assert [m.roles for m in messages if not m.party] == [("admin",)]
    assert {m.once for m in messages} == {"report:2026-11"}
    assert messages[0].context["month_label"] == "2026年11月"
    assert messages[0].context["meeting_date"] == "2026-11-25"
