"""ReportsService: the read side across tickets, volunteers and events — entrypoints only.

It owns no business data (and no database): every figure is asked, with the caller's own
token, of the service that owns it, through the same statistics operations the REST API
answers; so a report never shows what its reader could not read, and its numbers are those
of ``/api/v1/tickets/stats``, ``/api/v1/satisfaction``, ``/api/v1/volunteers/stats`` and
``/api/v1/attendance/stats`` for the same month. The county view asks the same figures of
all its centers at once — one batched, internal statistics operation per service
(``county_ticket_stats``, ``county_center_stats``, ``county_attendance_stats``), the three
together and no list of centers first — instead of four RPCs per center.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Any

from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy

from lianxin.auth import Caller
from lianxin.centers import CenterScoped, KnownCenters
from lianxin.clock import now_utc
from lianxin.contracts.reports import operations as ops
from lianxin.contracts.schema import dump, load
from lianxin.errors import NotFound
from lianxin.metrics import Metrics
from lianxin.roles import ALL_CENTERS
from lianxin.rpc import rpc
from lianxin.timer import timer
from lianxin.tracing import Tracing
from services.reports import care_file, gather, pdf, publishing, workbook
from services.reports.exceptions import UnknownFormat
from services.reports.months import reportable

log = logging.getLogger(__name__)


class ReportsService(CenterScoped):
    name = "reports"

    caller = Caller()
    centers = KnownCenters()
    metrics = Metrics()
    tracing = Tracing()
    config = Config()
    tickets_rpc = RpcProxy("tickets")
    volunteers_rpc = RpcProxy("volunteers")
    events_rpc = RpcProxy("events")
    notify_rpc = RpcProxy("notify")
    report_events = publishing.ReportEvents()

    # -- helpers ---------------------------------------------------------------------------

    def _ask(self, service: str, method: str, args: tuple[Any, ...]) -> gather.Pending:
        proxy = getattr(self, f"{service}_rpc")
        return getattr(proxy, method).call_async(*args)

    def _monthly(self, center_id: str, month_text: str, op: Any) -> dict[str, Any]:
        """The report of ``center_id``'s month, as :func:`gather.monthly_figures` gathers it."""
        self.require(center_id, op)
        center = dict(self.centers.require(center_id))
        now = now_utc()
        month = reportable(month_text, today=now, created_at=_created(center))
        brief = {k: center.get(k) for k in ("id", "name", "address", "meeting_day")}
        return gather.monthly_figures(self._ask, brief, month, now=now)

    def _county(self, month_text: str, op: Any) -> dict[str, Any]:
        principal = self.caller.require_across(op)
        now = now_utc()
        month = reportable(month_text, today=now, created_at=None)
        granted = None if ALL_CENTERS in principal.centers else sorted(principal.centers)
        rows = gather.county_rows(self._ask, granted, month)
        return {
            "month": str(month),
            "date_from": month.first_day,
            "date_to": month.last_day,
            "generated_at": now,
            "centers": gather.ranked(rows),
        }

    # -- publishing the day before the joint meeting ---------------------------------------

    @timer("REPORT_CHECK_SECONDS", default=900)
    def publish_due_reports(self) -> None:
        """Announce each center's month report the day before its joint meeting (notify
        tells the four parties and the admin), once per center and month."""
        try:
            centers = self.tickets_rpc.list_meeting_days()
        except Exception as exc:
            log.warning("meeting days unavailable (%s): reports published at the next tick", exc)
            return
        now = now_utc()
        public_url = str(self.config.get("PUBLIC_URL") or "")
        for item in publishing.due(centers, now):
            self.report_events.publish(publishing.envelope(item, public_url, now))

    # -- the month's report of a center ----------------------------------------------------

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "database": "none"}

    @rpc
    def get_monthly_report(self, center_id: str, month: str) -> dict[str, Any]:
        """Tickets, satisfaction and its trend, the joint meeting, volunteers, activities and
        rooms of ``center_id`` in ``month`` (``YYYY-MM``)."""
        return dump(ops.MonthlyReport, self._monthly(center_id, month, ops.get_monthly_report))

    @rpc
    def get_monthly_report_file(self, center_id: str, month: str, fmt: str) -> dict[str, Any]:
        """The same report as a PDF (``fmt`` ``pdf``) or an Excel workbook (``xlsx``)."""
        if fmt not in ops.FORMATS:
            raise UnknownFormat()
        report = self._monthly(center_id, month, ops.get_monthly_report_file)
        data = pdf.render(report) if fmt == "pdf" else workbook.monthly(report)
        name = f"{report['center']['name']}-{report['month']}-月度工作报告.{fmt}"
        return _file(name, fmt, data)

    # -- the care file of a beneficiary ----------------------------------------------------

    @rpc
    def get_care_file(self, center_id: str, beneficiary_ref: str) -> dict[str, Any]:
        """Record, visits, tickets, registrations and the next visit; the opening is logged
        by the volunteers service, which holds the record."""
        principal = self.require(center_id, ops.get_care_file)
        found = care_file.care_file(self._ask, center_id, beneficiary_ref, principal)
        return dump(ops.CareFile, found)

    @rpc
    def suggest_beneficiary_person(
        self, center_id: str, beneficiary_ref: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """The directory's resident holding ``phone``, to confirm by calling before linking."""
        self.require(center_id, ops.suggest_beneficiary_person)
        phone = load(ops.PhoneQuery, payload)["phone"]
        gather.answer(self._ask("volunteers", "get_beneficiary", (center_id, beneficiary_ref)))
        found = gather.answer(
            self._ask("notify", "person_by_phone", (center_id, phone, "resident"))
        )
        if not found:
            raise NotFound("目录中没有使用该手机号的居民", code="PERSON_NOT_FOUND")
        return dump(ops.PersonSuggestion, found)

    # -- the county view -------------------------------------------------------------------

    @rpc
    def get_county_report(self, month: str) -> dict[str, Any]:
        """The centers the caller's token grants, side by side and ranked."""
        return dump(ops.CountyReport, self._county(month, ops.get_county_report))

    @rpc
    def get_county_report_file(self, month: str, fmt: str = "xlsx") -> dict[str, Any]:
        if fmt != "xlsx":
            raise UnknownFormat("县级汇总只提供 xlsx 格式")
        report = self._county(month, ops.get_county_report_file)
        return _file(f"县级汇总-{report['month']}.xlsx", fmt, workbook.county(report))


def _created(center: dict[str, Any]) -> datetime | None:
    """When the center was created (its record as tickets answers it), if it says."""
    value = center.get("created_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _file(filename: str, fmt: str, data: bytes) -> dict[str, Any]:
    return dump(
        ops.ReportFile,
        {
            "filename": filename,
            "content_type": ops.FORMATS[fmt],
            "data_base64": base64.b64encode(data).decode(),
        },
    )
