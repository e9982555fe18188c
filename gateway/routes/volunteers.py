"""Routes of the volunteers service: registers, shifts, attendance, hours, visits, totals.

A path's ``<volunteer_id>`` may be the volunteer's id, their person id, or ``me`` (a
volunteer's own token); ``<beneficiary_id>`` an id or file number; ``<shift_id>`` an id
or the shift's ref. Action endpoints take a JSON body: ``{}`` when there is nothing to add.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from gateway.api import Route, call, route
from gateway.base import GatewayBase
from gateway.routes import ADMIN, MEMBERS, STAFF  # noqa: F401
from lianxin.contracts.volunteers import operations as vo
from lianxin.errors import InvalidInput

#: Staff act for anyone; a volunteer acts for themselves (the service checks which).
VOLUNTEER_SIDE = ("volunteer", *STAFF)
#: Totals are also read by departments and ops (with ``?center=``).
TOTALS = (*STAFF, "department", "ops")


#: The routes that only forward to an operation (see gateway.api.expose).
ROUTES: list[Route] = []


class VolunteerRoutes(GatewayBase):
    # -- volunteers ------------------------------------------------------------------------

    @route("POST", "/api/v1/volunteers", summary="登记志愿者", tag="volunteers", roles=STAFF,
           body=vo.VolunteerCreate, response=vo.VolunteerRead, status=201)
    def register_volunteer(self, req) -> Any:
        return call(self.volunteers_rpc.register_volunteer, req.center, req.body)

    @route("GET", "/api/v1/volunteers", summary="志愿者名册", tag="volunteers", roles=STAFF,
           query=vo.VolunteerQuery, response=vo.VolunteerList)
    def list_volunteers(self, req) -> Any:
        return call(self.volunteers_rpc.list_volunteers, req.center, req.query)

    @route("GET", "/api/v1/volunteers/stats", summary="志愿服务统计（时长、人次、服务对象）",
           tag="volunteers", roles=TOTALS, query=vo.StatsQuery, response=vo.CenterStats)
    def volunteer_stats(self, req) -> Any:
        """Verified hours, participations (person-times) and beneficiaries served in a period
        (``from`` / ``to``, dates in Asia/Shanghai, both included)."""
        return call(self.volunteers_rpc.center_stats, req.center, req.query)

    @route("GET", "/api/v1/volunteers/<volunteer_id>", summary="志愿者档案", tag="volunteers",
           roles=VOLUNTEER_SIDE, response=vo.VolunteerDetail)
    def get_volunteer(self, req, volunteer_id: str) -> Any:
        """Profile, hours, shifts, reliability, milestones and training records."""
        return call(self.volunteers_rpc.get_volunteer, req.center, volunteer_id)

    @route("PATCH", "/api/v1/volunteers/<volunteer_id>", summary="修改志愿者档案",
           tag="volunteers", roles=STAFF, body=vo.VolunteerUpdate, response=vo.VolunteerRead)
    def update_volunteer(self, req, volunteer_id: str) -> Any:
        return call(self.volunteers_rpc.update_volunteer, req.center, volunteer_id, req.body)

    @route("GET", "/api/v1/volunteers/<volunteer_id>/signups", summary="志愿者的班次",
           tag="volunteers", roles=VOLUNTEER_SIDE, query=vo.SignupQuery, response=vo.SignupList)
    def volunteer_signups(self, req, volunteer_id: str) -> Any:
        return call(self.volunteers_rpc.list_volunteer_signups, req.center, volunteer_id,
                    req.query)

    @route("GET", "/api/v1/volunteers/<volunteer_id>/hours", summary="志愿者服务时长明细",
           tag="volunteers", roles=VOLUNTEER_SIDE, query=vo.HourQuery, response=vo.HourList)
    def volunteer_hours(self, req, volunteer_id: str) -> Any:
        return call(self.volunteers_rpc.list_volunteer_hours, req.center, volunteer_id,
                    req.query)

    @route("GET", "/api/v1/volunteers/<volunteer_id>/certificates", summary="志愿服务证书",
           tag="volunteers", roles=VOLUNTEER_SIDE, response=vo.MilestoneRead, many=True)
    def volunteer_certificates(self, req, volunteer_id: str) -> Any:
        return call(self.volunteers_rpc.list_certificates, req.center, volunteer_id)

    @route("GET", "/api/v1/volunteers/<volunteer_id>/certificates/<milestone>",
           summary="下载志愿服务证书（PDF）", tag="volunteers", roles=VOLUNTEER_SIDE)
    def download_certificate(self, req, volunteer_id: str, milestone: str) -> Response:
        """The certificate of a milestone reached (50 / 100 / 500 / 1000 h) as a PDF."""
        hours = milestone.removesuffix("h")
        if not hours.isdigit():
            raise InvalidInput("证书档次应为小时数，如 50", fields={"milestone": ["应为整数"]})
        cert = call(self.volunteers_rpc.get_certificate, req.center, volunteer_id, int(hours),
                    timeout=20)
        ascii_name = f"certificate-{hours}h.pdf"
        return Response(base64.b64decode(cert["data_base64"]), mimetype=cert["content_type"],
                        headers={"Content-Disposition":
                                 f"attachment; filename=\"{ascii_name}\"; "
                                 f"filename*=UTF-8''{quote(cert['filename'])}",
                                 "Cache-Control": "private, no-store"})

    # -- training records ------------------------------------------------------------------

    @route("POST", "/api/v1/trainings", summary="登记培训与参观交流", tag="volunteers",
           roles=STAFF, body=vo.TrainingCreate, response=vo.TrainingRead, status=201)
    def record_training(self, req) -> Any:
        return call(self.volunteers_rpc.record_training, req.center, req.body)

    @route("GET", "/api/v1/trainings", summary="培训记录", tag="volunteers", roles=STAFF,
           query=vo.Page, response=vo.TrainingList)
    def list_trainings(self, req) -> Any:
        return call(self.volunteers_rpc.list_trainings, req.center, req.query)

    # -- beneficiaries ---------------------------------------------------------------------

    @route("POST", "/api/v1/beneficiaries", summary="登记帮扶对象", tag="beneficiaries",
           roles=STAFF, body=vo.BeneficiaryCreate, response=vo.BeneficiaryRead, status=201)
    def register_beneficiary(self, req) -> Any:
        return call(self.volunteers_rpc.register_beneficiary, req.center, req.body)

    @route("POST", "/api/v1/beneficiaries/import", summary="导入帮扶对象名册", tag="beneficiaries",
           roles=STAFF, body=vo.BeneficiaryImport, response=vo.ImportResult)
    def import_beneficiaries(self, req) -> Any:
        """Items whose file number is on the register already are skipped."""
        return call(self.volunteers_rpc.import_beneficiaries, req.center, req.body, timeout=60)

    @route("GET", "/api/v1/beneficiaries", summary="帮扶对象名册", tag="beneficiaries",
           roles=STAFF, query=vo.BeneficiaryQuery, response=vo.BeneficiaryList)
    def list_beneficiaries(self, req) -> Any:
        return call(self.volunteers_rpc.list_beneficiaries, req.center, req.query)

    @route("GET", "/api/v1/beneficiaries/<beneficiary_id>", summary="帮扶对象档案",
           tag="beneficiaries", roles=STAFF, response=vo.BeneficiaryRead)
    def get_beneficiary(self, req, beneficiary_id: str) -> Any:
        return call(self.volunteers_rpc.get_beneficiary, req.center, beneficiary_id)

    @route("PATCH", "/api/v1/beneficiaries/<beneficiary_id>", summary="修改帮扶对象档案",
           tag="beneficiaries", roles=STAFF, body=vo.BeneficiaryUpdate,
           response=vo.BeneficiaryRead)
    def update_beneficiary(self, req, beneficiary_id: str) -> Any:
        return call(self.volunteers_rpc.update_beneficiary, req.center, beneficiary_id, req.body)

    @route("GET", "/api/v1/beneficiaries/<beneficiary_id>/visits", summary="探访记录",
           tag="beneficiaries", roles=STAFF, query=vo.Page, response=vo.VisitList)
    def list_visits(self, req, beneficiary_id: str) -> Any:
        return call(self.volunteers_rpc.list_visits, req.center, beneficiary_id, req.query)

    @route("POST", "/api/v1/beneficiaries/<beneficiary_id>/visits", summary="登记探访记录",
           tag="beneficiaries", roles=STAFF, body=vo.VisitCreate, response=vo.VisitRead,
           status=201)
    def record_visit(self, req, beneficiary_id: str) -> Any:
        """Who came, when, what was done; each volunteer's hours are approved with it."""
        return call(self.volunteers_rpc.record_visit, req.center, beneficiary_id, req.body)

    @route("POST", "/api/v1/visits/import", summary="导入服务台账", tag="beneficiaries",
           roles=STAFF, body=vo.VisitImport, response=vo.ImportResult)
    def import_visits(self, req) -> Any:
        """Items whose ref is in the visit log already are skipped."""
        return call(self.volunteers_rpc.import_visits, req.center, req.body, timeout=60)

    # -- shifts ----------------------------------------------------------------------------

    @route("POST", "/api/v1/shifts", summary="发布服务班次", tag="shifts", roles=STAFF,
           body=vo.ShiftCreate, response=vo.ShiftRead, status=201)
    def publish_shift(self, req) -> Any:
        return call(self.volunteers_rpc.publish_shift, req.center, req.body)

    @route("GET", "/api/v1/shifts", summary="服务班次", tag="shifts", roles=VOLUNTEER_SIDE,
           query=vo.ShiftQuery, response=vo.ShiftList)
    def list_shifts(self, req) -> Any:
        return call(self.volunteers_rpc.list_shifts, req.center, req.query)

    @route("GET", "/api/v1/shifts/<shift_id>", summary="班次详情", tag="shifts",
           roles=VOLUNTEER_SIDE, response=vo.ShiftRead)
    def get_shift(self, req, shift_id: str) -> Any:
        return call(self.volunteers_rpc.get_shift, req.center, shift_id)

    @route("PATCH", "/api/v1/shifts/<shift_id>", summary="调整班次名额与说明", tag="shifts",
           roles=STAFF, body=vo.ShiftUpdate, response=vo.ShiftRead)
    def update_shift(self, req, shift_id: str) -> Any:
        """More places promote the waitlist at once."""
        return call(self.volunteers_rpc.update_shift, req.center, shift_id, req.body)

    @route("POST", "/api/v1/shifts/<shift_id>/cancel", summary="取消班次", tag="shifts",
           roles=STAFF, body=vo.ShiftCancel, response=vo.ShiftRead)
    def cancel_shift(self, req, shift_id: str) -> Any:
        return call(self.volunteers_rpc.cancel_shift, req.center, shift_id, req.body)

    @route("GET", "/api/v1/shifts/<shift_id>/signups", summary="班次报名名单", tag="shifts",
           roles=VOLUNTEER_SIDE, query=vo.SignupQuery, response=vo.SignupList)
    def list_shift_signups(self, req, shift_id: str) -> Any:
        """Staff see everyone in line order; a volunteer sees only their own sign-up."""
        return call(self.volunteers_rpc.list_shift_signups, req.center, shift_id, req.query)

    @route("POST", "/api/v1/shifts/<shift_id>/signups", summary="报名班次", tag="shifts",
           roles=VOLUNTEER_SIDE, body=vo.SignupCreate, response=vo.SignupRead, status=201)
    def sign_up(self, req, shift_id: str) -> Any:
        """A place if one is free (``confirmed``), else the waitlist (``waitlisted``)."""
        return call(self.volunteers_rpc.sign_up, req.center, shift_id, req.body)

    @route("POST", "/api/v1/signups/<signup_id>/cancel", summary="取消报名", tag="shifts",
           roles=VOLUNTEER_SIDE, body=vo.SignupCancel, response=vo.SignupRead)
    def cancel_signup(self, req, signup_id: str) -> Any:
        """A freed place goes to the first on the waitlist."""
        return call(self.volunteers_rpc.cancel_signup, req.center, signup_id, req.body)

    @route("POST", "/api/v1/shifts/<shift_id>/check-in", summary="签到", tag="shifts",
           roles=VOLUNTEER_SIDE, body=vo.AttendanceMark, response=vo.SignupRead)
    def check_in(self, req, shift_id: str) -> Any:
        return call(self.volunteers_rpc.check_in, req.center, shift_id, req.body)

    @route("POST", "/api/v1/shifts/<shift_id>/check-out", summary="签退", tag="shifts",
           roles=VOLUNTEER_SIDE, body=vo.AttendanceMark, response=vo.SignupRead)
    def check_out(self, req, shift_id: str) -> Any:
        """Hours are counted and wait for a social worker's approval."""
        return call(self.volunteers_rpc.check_out, req.center, shift_id, req.body)

    @route("POST", "/api/v1/shifts/<shift_id>/no-shows", summary="登记缺席", tag="shifts",
           roles=STAFF, body=vo.NoShowMark, response=vo.SignupRead)
    def mark_no_show(self, req, shift_id: str) -> Any:
        return call(self.volunteers_rpc.mark_no_show, req.center, shift_id, req.body)

    @route("POST", "/api/v1/shifts/<shift_id>/hours/approve", summary="审核通过班次全部时长",
           tag="hours", roles=STAFF, response=vo.HourEntryRead, many=True)
    def approve_shift_hours(self, req, shift_id: str) -> Any:
        return call(self.volunteers_rpc.approve_shift_hours, req.center, shift_id)

    # -- hours and corrections -------------------------------------------------------------

    @route("GET", "/api/v1/hours", summary="服务时长台账", tag="hours", roles=STAFF,
           query=vo.HourQuery, response=vo.HourList)
    def list_hours(self, req) -> Any:
        """``?status=pending`` is the approval queue."""
        return call(self.volunteers_rpc.list_hours, req.center, req.query)

    @route("POST", "/api/v1/hours/<entry_id>/approve", summary="审核通过服务时长", tag="hours",
           roles=STAFF, body=vo.HoursDecision, response=vo.HourEntryRead)
    def approve_hours(self, req, entry_id: str) -> Any:
        return call(self.volunteers_rpc.approve_hours, req.center, entry_id, req.body)

    @route("POST", "/api/v1/hours/<entry_id>/reject", summary="驳回服务时长", tag="hours",
           roles=STAFF, body=vo.HoursReject, response=vo.HourEntryRead)
    def reject_hours(self, req, entry_id: str) -> Any:
        return call(self.volunteers_rpc.reject_hours, req.center, entry_id, req.body)

    @route("POST", "/api/v1/corrections", summary="申请补录签到签退", tag="hours",
           roles=VOLUNTEER_SIDE, body=vo.CorrectionCreate, response=vo.CorrectionRead,
           status=201)
    def request_correction(self, req) -> Any:
        return call(self.volunteers_rpc.request_correction, req.center, req.body)

    @route("GET", "/api/v1/corrections", summary="补录申请", tag="hours", roles=VOLUNTEER_SIDE,
           query=vo.CorrectionQuery, response=vo.CorrectionList)
    def list_corrections(self, req) -> Any:
        """Staff see every request (``?status=pending``: the queue); a volunteer their own."""
        return call(self.volunteers_rpc.list_corrections, req.center, req.query)

    @route("POST", "/api/v1/corrections/<correction_id>/approve", summary="批准补录",
           tag="hours", roles=STAFF, body=vo.HoursDecision, response=vo.CorrectionRead)
    def approve_correction(self, req, correction_id: str) -> Any:
        return call(self.volunteers_rpc.approve_correction, req.center, correction_id, req.body)

    @route("POST", "/api/v1/corrections/<correction_id>/reject", summary="驳回补录",
           tag="hours", roles=STAFF, body=vo.HoursReject, response=vo.CorrectionRead)
    def reject_correction(self, req, correction_id: str) -> Any:
        return call(self.volunteers_rpc.reject_correction, req.center, correction_id, req.body)
