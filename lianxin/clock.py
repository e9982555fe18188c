"""The clock and the local zone, once: times are stored in UTC and shown in Asia/Shanghai.

from lianxin.clock import SHANGHAI, local, now_utc
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

#: Every center's local time (what people read).
SHANGHAI = ZoneInfo("Asia/Shanghai")


def now_utc() -> datetime:
    """Now, timezone-aware in UTC (what is stored)."""
    return datetime.now(UTC)


def local(moment: datetime) -> datetime:
    """``moment`` in Asia/Shanghai (what is shown)."""
    return moment.astimezone(SHANGHAI)


def local_text(moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``moment`` as people read it: Beijing time, minutes (``2026-12-01 12:12``)."""
    return local(moment).strftime(fmt)


def rfc3339(moment: datetime) -> str:
    """``moment`` as an RFC 3339 UTC timestamp with milliseconds (``…T04:12:00.000Z``)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
