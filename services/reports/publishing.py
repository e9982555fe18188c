"""Publishing each center's monthly report the day before its joint meeting.

The reports service keeps no database, so nothing records "published" here: the event's id
is made of the center and the month (:func:`event_id`), every repeat — the next tick, another
replica, a restart — is the same event, and notify (an idempotent consumer, like any
department's) tells people once. A tick publishes only what this process has not published
yet, so repeats are rare: one per replica and restart. The broker unreachable: the next tick
tries again, until the meeting day is over.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from nameko.extensions import DependencyProvider

from lianxin.clock import local
from lianxin.contracts import make_event
from lianxin.contracts.reports.events import REPORT_PUBLISHED
from lianxin.outbox import Publisher
from services.reports.months import Month

log = logging.getLogger(__name__)

#: What the ids of published reports are derived in (a fixed UUID namespace of our own).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://lianxin/reports/report.published")


@dataclass(frozen=True)
class Due:
    center_id: str
    month: Month
    meeting_date: date


def meeting_date(month: Month, meeting_day: int) -> date:
    """The day of ``month``'s joint meeting (``meeting_day`` is 1–28: every month has it)."""
    return date(month.year, month.month, meeting_day)


def due(centers: Iterable[dict[str, Any]], now: datetime) -> list[Due]:
    """The reports to publish ``now``: active centers whose meeting is tomorrow (or today,
    when yesterday's tick was missed), in Asia/Shanghai."""
    today = local(now).date()
    month = Month.of(today)
    out = []
    for center in centers:
        if center.get("status", "active") != "active" or not center.get("meeting_day"):
            continue
        held = meeting_date(month, int(center["meeting_day"]))
        if held - timedelta(days=1) <= today <= held:
            out.append(Due(center["id"], month, held))
    return out


def event_id(center_id: str, month: Month) -> str:
    """The same id for every publication of one center's month."""
    return str(uuid.uuid5(NAMESPACE, f"{center_id}/{month}"))


def envelope(item: Due, public_url: str, now: datetime) -> dict[str, Any]:
    """The ``report.published`` event of ``item`` (links to the report on ``public_url``)."""
    base = public_url.rstrip("/")
    path = f"{base}/api/v1/reports/monthly/{item.month}"
    return make_event(
        REPORT_PUBLISHED,
        center_id=item.center_id,
        subject=f"{item.center_id}/{item.month}",
        data={
            "month": str(item.month),
            "meeting_date": item.meeting_date,
            "report_url": f"{path}.pdf",
            "workbook_url": f"{path}.xlsx",
        },
        event_id=event_id(item.center_id, item.month),
        time=now,
    )


class ReportEvents(DependencyProvider):
    """Publishes the reports service's events to ``reports.events`` with confirms (no
    outbox: there is no transaction to tie them to; see the module doc). Injects
    ``publish(body) -> bool`` and remembers what this process published."""

    def setup(self) -> None:
        config = self.container.config
        self.publisher = Publisher(config["AMQP_URI"], f"{self.container.service_name}.events")
        self.published: set[str] = set()

    def stop(self) -> None:
        self.publisher.close()

    kill = stop

    def get_dependency(self, worker_ctx: Any) -> ReportEvents:
        return self

    def publish(self, body: dict[str, Any]) -> bool:
        """Publish once per process; True when the broker confirmed it (now or before)."""
        if body["id"] in self.published:
            return True
        try:
            (confirmed,) = self.publisher.publish([body])
        except Exception as exc:
            log.warning("report %s not published (%s): next tick", body["subject"], exc)
            self.publisher.close()
            return False
        if confirmed:
            self.published.add(body["id"])
        return confirmed
