"""月度报告: the month's report of the center as a page — what the joint meeting reads, the
same figures as the PDF and the workbook (both a click away), which the reports service
makes from the statistics the services answer."""

from __future__ import annotations

from datetime import datetime

from werkzeug.wrappers import Request, Response

from gateway.web import LOCAL, charts
from gateway.web.console.base import ConsoleBase, failed, party_name
from gateway.web.console.meeting import DECISION_NAMES, month_name
from gateway.web.console.stats import month_label
from gateway.web.views import guarded, status_of
from lianxin.contracts.reports import operations as ops
from lianxin.contracts.tickets import operations as ticket_ops
from lianxin.web import http


def months_back(count: int = 12) -> list[str]:
    """This month and the ``count - 1`` before it, newest first."""
    now = datetime.now(LOCAL)
    year, month = now.year, now.month
    found = []
    for _ in range(count):
        found.append(f"{year}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return found


class ReportPages(ConsoleBase):
    @http("GET", "/console/reports")
    @guarded
    def monthly_report_page(self, request: Request) -> Response:
        viewer = self.staff(request)
        months = months_back()
        month = request.args.get("month") or months[0]
        report = self.gather(r=lambda: self.run(request, ops.get_monthly_report, month))["r"]
        values: dict = {}
        if not failed(report):
            trend = report.get("satisfaction_trend") or []
            values["trend_chart"] = charts.line(
                [(month_label(p["month"]), p["rate"]) for p in trend],
                title="近12个月满意率走势",
                low=min([50.0] + [p["rate"] for p in trend if p["rate"] is not None]) // 10 * 10,
            )
            by_party = (report.get("tickets") or {}).get("by_party") or []
            values["received_chart"] = charts.bars(
                [(party_name(r["key"]), r["received"]) for r in by_party],
                title=f"{month_name(month)}各责任方受理件数",
                unit="件",
            )
            buckets = (report.get("tickets") or {}).get("resolve_time") or []
            values["resolve_chart"] = charts.bars(
                [(b["label"], b["tickets"]) for b in buckets],
                title=f"{month_name(month)}办结用时分布",
                unit="件",
            )
        return self.show(
            request,
            viewer,
            "console/reports.html",
            active="reports",
            title=f"月度工作报告 {month_name(month)}",
            status=status_of(report) if failed(report) else 200,
            month=month,
            months=months,
            month_name=month_name,
            report=report if not failed(report) else None,
            problem=report if failed(report) else None,
            party_name=party_name,
            decision_names=DECISION_NAMES,
            state_names=ticket_ops.STATE_NAMES,
            **values,
        )
