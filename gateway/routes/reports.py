"""Routes of the reports service: the month's report of a center (JSON, PDF, Excel), the
county view of the centers a token grants (JSON, Excel) and a beneficiary's care file; the
ticket figures the report prints, as the tickets service answers them
(``/api/v1/tickets/stats``); and the care file's link to a person and its access log, which
the volunteers service keeps beside the record.

``<month>`` is ``YYYY-MM`` (Asia/Shanghai): a malformed month is refused here (422) before
an RPC; a month to come or before the center opened by the reports service (422 too).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from nameko.rpc import RpcProxy
from werkzeug.wrappers import Response

from gateway.api import ApiRequest, Route, call, expose, route
from gateway.base import GatewayBase
from lianxin.contracts.reports import operations as ro
from lianxin.contracts.tickets import operations as to
from lianxin.contracts.volunteers import operations as vo

ROUTES: list[Route] = [
    expose("GET", "/api/v1/tickets/stats", to.ticket_stats, tag="tickets"),
    # the care file of a beneficiary
    expose(
        "GET",
        "/api/v1/beneficiaries/<beneficiary_id>/care-file",
        ro.get_care_file,
        tag="beneficiaries",
    ),
    expose(
        "POST",
        "/api/v1/beneficiaries/<beneficiary_id>/person-suggestion",
        ro.suggest_beneficiary_person,
        tag="beneficiaries",
    ),
    expose(
        "POST",
        "/api/v1/beneficiaries/<beneficiary_id>/person",
        vo.link_beneficiary_person,
        tag="beneficiaries",
    ),
    expose("GET", "/api/v1/care-file-access", vo.list_care_file_access, tag="beneficiaries"),
    expose(
        "GET",
        "/api/v1/reports/monthly/<month>",
        ro.get_monthly_report,
        tag="reports",
        params=ro.MonthPath,
    ),
    expose(
        "GET",
        "/api/v1/reports/county/<month>",
        ro.get_county_report,
        tag="reports",
        params=ro.MonthPath,
        across_centers=True,
    ),
]


def _download(answer: dict[str, Any], ascii_name: str) -> Response:
    """A report file as an attachment: a Chinese file name, and an ASCII fallback."""
    return Response(
        base64.b64decode(answer["data_base64"]),
        mimetype=answer["content_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(answer['filename'])}",
            "Cache-Control": "private, no-store",
        },
    )


class ReportRoutes(GatewayBase):
    """What does more than forward: the report files (bytes, not JSON)."""

    reports_rpc: Any = RpcProxy("reports")

    @route(
        "GET",
        "/api/v1/reports/monthly/<month>.pdf",
        op=ro.get_monthly_report_file,
        tag="reports",
        params=ro.MonthPath,
    )
    def download_monthly_pdf(self, req: ApiRequest, month: str) -> Response:
        """The month's report as an A4 PDF in Chinese (fonts embedded)."""
        answer = call(
            self.reports_rpc.get_monthly_report_file,
            req.center,
            month,
            "pdf",
            timeout=ro.get_monthly_report_file.timeout,
        )
        return _download(answer, f"report-{req.center}-{month}.pdf")

    @route(
        "GET",
        "/api/v1/reports/monthly/<month>.xlsx",
        op=ro.get_monthly_report_file,
        tag="reports",
        params=ro.MonthPath,
    )
    def download_monthly_xlsx(self, req: ApiRequest, month: str) -> Response:
        """The month's report tables as an Excel workbook (one sheet per table)."""
        answer = call(
            self.reports_rpc.get_monthly_report_file,
            req.center,
            month,
            "xlsx",
            timeout=ro.get_monthly_report_file.timeout,
        )
        return _download(answer, f"report-{req.center}-{month}.xlsx")

    @route(
        "GET",
        "/api/v1/reports/county/<month>.xlsx",
        op=ro.get_county_report_file,
        tag="reports",
        params=ro.MonthPath,
        across_centers=True,
    )
    def download_county_xlsx(self, req: ApiRequest, month: str) -> Response:
        """The county view as an Excel workbook."""
        answer = call(
            self.reports_rpc.get_county_report_file,
            month,
            "xlsx",
            timeout=ro.get_county_report_file.timeout,
        )
        return _download(answer, f"county-{month}.xlsx")
