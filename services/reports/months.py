"""The month a report is about: parsed from ``YYYY-MM``, judged against today and the center's
creation (both in Asia/Shanghai), and the twelve months of the satisfaction trend."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from lianxin.clock import SHANGHAI, local
from services.reports.exceptions import InvalidMonth, MonthBeforeCenter, MonthInFuture

_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: object) -> Month:
        """``2026-11`` → Month(2026, 11); anything else :class:`InvalidMonth`."""
        found = _MONTH.fullmatch(text) if isinstance(text, str) else None
        if found is None or int(found.group(1)) < 2000:
            raise InvalidMonth(fields={"month": ["应为 YYYY-MM，如 2026-11"]})
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, moment: datetime | date) -> Month:
        day = local(moment) if isinstance(moment, datetime) else moment
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """``2026年11月``."""
        return f"{self.year}年{self.month}月"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.shift(1).first_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        """The month's first instant (local midnight)."""
        return datetime.combine(self.first_day, time(), SHANGHAI)

    @property
    def end(self) -> datetime:
        """The next month's first instant (exclusive end)."""
        return self.shift(1).start

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def trend(self, months: int = 12) -> list[Month]:
        """The ``months`` months ending with this one, oldest first."""
        return [self.shift(-n) for n in range(months - 1, -1, -1)]


def reportable(text: object, *, today: datetime, created_at: datetime | None) -> Month:
    """The month ``text`` names if a report of it can be made: not malformed, not to come,
    not before the center was created. The current month is reportable (to date)."""
    month = Month.parse(text)
    if month > Month.of(today):
        raise MonthInFuture(f"{month.label}尚未到来，没有报告", fields={"month": ["不能晚于本月"]})
    if created_at is not None and month < Month.of(created_at):
        opened = Month.of(created_at)
        raise MonthBeforeCenter(
            f"服务中心于{opened.label}开通，{month.label}没有报告",
            fields={"month": [f"不能早于 {opened}"]},
        )
    return month
