"""The events the reports service publishes: the catalogue a department reads.

Reports own no business data; what they announce is that a month's report is ready to be
read, and where. Never a figure of it (read the report) and never contact data.
"""

from __future__ import annotations

from marshmallow import fields, validate

from lianxin.contracts import event_type
from lianxin.contracts.reports.operations import MONTH_RE
from lianxin.contracts.schema import BaseSchema


class ReportPublishedData(BaseSchema):
    #: The month the report is of (``2026-11``, Asia/Shanghai).
    month = fields.Str(required=True, validate=validate.Regexp(MONTH_RE))
    #: The joint meeting it is for (the day after publication).
    meeting_date = fields.Date(required=True)
    #: Where signed-in staff read it: the PDF and the Excel workbook of its tables.
    report_url = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    workbook_url = fields.Str(required=True, validate=validate.Length(min=1, max=500))


REPORT_PUBLISHED = event_type(
    "cn.lianxin.reports.report.published.v1",
    ReportPublishedData,
    """A center's monthly report (月度工作报告) is ready for its joint meeting (党建联席会).

    Sent by the reports service's timer on the day before the meeting day the center's
    settings name (``meeting_day``), once per center and month: the event's ``id`` is made
    of the center and the month, so a repeat (another replica, a restart) is the same
    event, and idempotent consumers act on it once. The report itself is made when it is
    opened, from the same statistics the API answers. Not sent for a disabled center, nor
    when the timer did not run between the day before and the meeting day.
    """,
)
