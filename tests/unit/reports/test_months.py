"""Which months have a report: not malformed, not to come, not before the center opened —
judged on the Asia/Shanghai calendar."""

from datetime import UTC, date, datetime

import pytest

from lianxin.errors import InvalidInput
from services.reports.months import Month, reportable

TODAY = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 11:00 on 1 December in Shanghai
OPENED = datetime(2025, 6, 10, 2, 0, tzinfo=UTC)


def test_a_past_month_after_the_center_opened_is_reportable():
    month = reportable("2026-11", today=TODAY, created_at=OPENED)
    assert month == Month(2026, 11)
    assert (month.first_day, month.last_day) == (date(2026, 11, 1), date(2026, 11, 30))
    assert month.start.isoformat() == "2026-11-01T00:00:00+08:00"


def test_the_current_month_is_reportable_to_date_but_the_next_is_not():
    assert reportable("2026-12", today=TODAY, created_at=OPENED) == Month(2026, 12)
    with pytest.raises(InvalidInput) as refused:
        reportable("2027-01", today=TODAY, created_at=OPENED)
    assert refused.value.code == "MONTH_IN_FUTURE"
    assert "尚未到来" in refused.value.detail


def test_the_month_is_the_shanghai_one_at_midnight_utc():
    # 16:30 UTC on 30 November is already 1 December in Shanghai: December is this month.
    late = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    assert reportable("2026-12", today=late, created_at=None) == Month(2026, 12)


def test_a_month_before_the_center_opened_is_refused_naming_the_opening():
    with pytest.raises(InvalidInput) as refused:
        reportable("2025-05", today=TODAY, created_at=OPENED)
    assert refused.value.code == "MONTH_BEFORE_CENTER"
    assert "2025年6月" in refused.value.detail
    assert reportable("2025-06", today=TODAY, created_at=OPENED) == Month(2025, 6)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-11", "2026/11", "２０２６-11", "", None])
def test_a_malformed_month_is_refused_in_chinese(text):
    with pytest.raises(InvalidInput) as refused:
        reportable(text, today=TODAY, created_at=OPENED)
    assert refused.value.code == "INVALID_MONTH"
    assert refused.value.fields == {"month": ["应为 YYYY-MM，如 2026-11"]}


def test_the_trend_is_the_twelve_months_ending_with_the_report_across_the_new_year():
    months = [str(m) for m in Month(2026, 3).trend()]
    assert months[0] == "2025-04" and months[-1] == "2026-03" and len(months) == 12
