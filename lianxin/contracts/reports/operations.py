"""The reports service's operations: the month's report of a center (月度工作报告) and the
county view of many centers side by side (县级汇总), as JSON and as files (PDF, xlsx).

The reports service owns no business data: every figure is what another service's statistics
operation answers for the same month, asked with the caller's own token — so a report shows
nothing its reader could not read at ``/api/v1/tickets/stats``, ``/api/v1/satisfaction``,
``/api/v1/volunteers/stats``, ``/api/v1/attendance/stats``, ``/api/v1/joint-meetings/<month>``
and ``/api/v1/bookings``, and the numbers are equal by construction (a test compares them).
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from lianxin.contracts.events.operations import AttendanceStats, RegistrationRead
from lianxin.contracts.notify.operations import PHONE_RE
from lianxin.contracts.schema import BaseSchema
from lianxin.contracts.tickets.operations import (
    MeetingRead,
    SatisfactionRow,
    TicketRead,
    TicketStats,
)
from lianxin.contracts.volunteers.operations import (
    BeneficiaryRead,
    CenterStats,
    ShiftRead,
    VisitRead,
)
from lianxin.operations import Operations
from lianxin.roles import CENTER_STAFF, SOCIAL_WORKERS

#: A month in a path: ``2026-11``.
MONTH_RE = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
#: The files a report is also made as.
FORMATS = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: Who reads the county view: departments (the centers granted them) and ops (all).
COUNTY_READERS = ("department", "ops")


class Answer(fields.Nested):
    """Another service's answer, in the JSON form it came in: passed on unchanged (so the
    report's figures are byte for byte that service's), documented as its schema."""

    # marshmallow's own stubs disagree (Nested names it nested_obj, Field value): either
    # signature "breaks" the other's.
    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return value


class MonthPath(BaseSchema):
    month = fields.Str(
        required=True,
        validate=validate.Regexp(MONTH_RE, error="月份应写作 YYYY-MM，如 2026-11"),
        metadata={"description": "报告月份（北京时间），如 2026-11"},
    )


class TrendPoint(BaseSchema):
    """One month of the satisfaction trend (the last 12 months up to the report's)."""

    month = fields.Str()
    ratings = fields.Int()
    rate = fields.Float(allow_none=True)


class RoomUse(BaseSchema):
    room = fields.Str()
    room_name = fields.Str()
    #: Confirmed bookings (activities' included) starting in the month.
    bookings = fields.Int()
    hours = fields.Float()


class CenterBrief(BaseSchema):
    id = fields.Str()
    name = fields.Str()
    address = fields.Str()
    meeting_day = fields.Int()


class MonthlyReport(BaseSchema):
    """What the joint meeting reads: one center's month."""

    center = fields.Nested(CenterBrief)
    month = fields.Str()
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    generated_at = fields.AwareDateTime()
    tickets = Answer(TicketStats)
    satisfaction = fields.Float(allow_none=True)
    satisfaction_by_party = fields.List(Answer(SatisfactionRow))
    satisfaction_trend = fields.List(fields.Nested(TrendPoint))
    #: The month's joint meeting, its agenda and decisions; null when the reader may not see
    #: it (a social worker: the agenda is the cadres') — ``meeting_note`` says why.
    meeting = Answer(MeetingRead, allow_none=True)
    meeting_note = fields.Str(allow_none=True)
    volunteers = Answer(CenterStats)
    #: The same figures from the start up to the month's end (累计).
    volunteers_to_date = Answer(CenterStats)
    activities_by_programme = Answer(AttendanceStats)
    activities_by_audience = Answer(AttendanceStats)
    rooms = fields.List(fields.Nested(RoomUse))


class CountyRow(BaseSchema):
    """One center's figures in the county view, and its rank by satisfaction."""

    center_id = fields.Str()
    center_name = fields.Str()
    rank = fields.Int()
    received = fields.Int()
    resolved = fields.Int()
    overdue = fields.Int()
    returned = fields.Int()
    escalated = fields.Int()
    acknowledged_in_10_minutes_rate = fields.Float(allow_none=True)
    median_resolve_hours = fields.Float(allow_none=True)
    ratings = fields.Int()
    satisfaction = fields.Float(allow_none=True)
    verified_hours = fields.Float()
    participations = fields.Int()
    beneficiaries_served = fields.Int()
    activities = fields.Int()
    activity_person_times = fields.Int()


class CountyReport(BaseSchema):
    month = fields.Str()
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    generated_at = fields.AwareDateTime()
    #: Ranked: satisfaction (none last), then resolved share, then the center id.
    centers = fields.List(fields.Nested(CountyRow))


class ReportFile(BaseSchema):
    """A report as the RPC returns it; the gateway serves the decoded bytes."""

    filename = fields.Str()
    content_type = fields.Str()
    data_base64 = fields.Str()


# -- the care file of one beneficiary (帮扶档案) ---------------------------------------------


class CareFileRegistration(RegistrationRead):
    """A registration, with what the activity was."""

    activity_title = fields.Str(allow_none=True)
    activity_starts_at = fields.AwareDateTime(allow_none=True)


class CareFile(BaseSchema):
    """One person's care across the three services, joined by the directory's person id."""

    beneficiary = Answer(BeneficiaryRead)
    visits = fields.List(Answer(VisitRead))
    visits_total = fields.Int()
    next_visit = Answer(ShiftRead, allow_none=True)
    #: The directory's person the file is joined by (null: not linked yet — no tickets or
    #: registrations can be shown; link one with POST …/person after confirming by phone).
    person_id = fields.Str(allow_none=True)
    #: Tickets the person reported, latest first — as the reader may see them: a party's
    #: staff (the social workers too) see their own party's only (``tickets_scope``).
    tickets = fields.List(Answer(TicketRead))
    tickets_total = fields.Int()
    tickets_scope = fields.Str()
    registrations = fields.List(Answer(CareFileRegistration))
    registrations_total = fields.Int()
    #: When this opening was logged (GET /api/v1/care-file-access shows the log).
    opened_at = fields.Str()


class PhoneQuery(BaseSchema):
    phone = fields.Str(required=True, validate=validate.Regexp(PHONE_RE, error="手机号码格式无效"))


class PersonSuggestion(BaseSchema):
    """Who in the directory holds the phone: a suggestion to confirm by calling, then to link
    (``POST /api/v1/beneficiaries/<id>/person``)."""

    person_id = fields.Str()
    role = fields.Str()


OPERATIONS = Operations("reports")

get_care_file = OPERATIONS.add(
    "get_care_file",
    roles=SOCIAL_WORKERS,
    summary="帮扶档案：需求、监护人、探访、诉求、活动与下次探访（每次打开均留痕）",
    response=CareFile,
    timeout=20,
    description="Only social workers and admins of the center; every opening is logged (the "
    "admin reads the log at GET /api/v1/care-file-access).",
)
suggest_beneficiary_person = OPERATIONS.add(
    "suggest_beneficiary_person",
    roles=SOCIAL_WORKERS,
    summary="按手机号查找目录中的居民（电话核实后再关联）",
    body=PhoneQuery,
    response=PersonSuggestion,
    description="404 when nobody in the directory holds the phone. Posted, not in the URL: "
    "the phone stays out of access logs and browser history; it is neither stored nor logged.",
)

get_monthly_report = OPERATIONS.add(
    "get_monthly_report",
    roles=CENTER_STAFF,
    summary="月度工作报告（党建联席会材料）",
    response=MonthlyReport,
    timeout=30,
    description="The month's tickets by party and category, satisfaction and its 12-month "
    "trend, the joint meeting's agenda and decisions, volunteer service, activities and room "
    "use. 422 for a malformed month, a month to come or before the center existed.",
)
get_monthly_report_file = OPERATIONS.add(
    "get_monthly_report_file",
    roles=CENTER_STAFF,
    summary="下载月度工作报告（PDF / Excel）",
    timeout=60,
    # The RPC answers a ``ReportFile``; the gateway serves its bytes.
    description="The same report as an A4 PDF (fonts embedded) or an Excel workbook of its tables.",
)
get_county_report = OPERATIONS.add(
    "get_county_report",
    roles=COUNTY_READERS,
    summary="县级汇总：各中心当月指标并列排名",
    response=CountyReport,
    timeout=60,
    description="The centers the token grants (ops: every center), side by side and ranked.",
)
get_county_report_file = OPERATIONS.add(
    "get_county_report_file",
    roles=COUNTY_READERS,
    summary="下载县级汇总（Excel）",
    timeout=60,
)
