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

from gateway.api import ApiRequest, PathInteger, Route, call, expose, route
from gateway.base import GatewayBase
from lianxin.contracts.schema import BaseSchema
from lianxin.contracts.volunteers import operations as vo

#: The routes that only forward to an operation (see gateway.api.expose).
ROUTES: list[Route] = [
    # -- volunteers
    expose("POST", "/api/v1/volunteers", vo.register_volunteer, tag="volunteers", status=201),
    expose("GET", "/api/v1/volunteers", vo.list_volunteers, tag="volunteers"),
    expose("GET", "/api/v1/volunteers/stats", vo.center_stats, tag="volunteers"),
    expose("GET", "/api/v1/volunteers/<volunteer_id>", vo.get_volunteer, tag="volunteers"),
    expose("PATCH", "/api/v1/volunteers/<volunteer_id>", vo.update_volunteer, tag="volunteers"),
    expose(
        "GET",
        "/api/v1/volunteers/<volunteer_id>/signups",
        vo.list_volunteer_signups,
        tag="volunteers",
    ),
    expose(
        "GET", "/api/v1/volunteers/<volunteer_id>/hours", vo.list_volunteer_hours, tag="volunteers"
    ),
    expose(
        "GET",
        "/api/v1/volunteers/<volunteer_id>/certificates",
        vo.list_certificates,
        tag="volunteers",
    ),
    # -- training records
    expose("POST", "/api/v1/trainings", vo.record_training, tag="volunteers", status=201),
    expose("GET", "/api/v1/trainings", vo.list_trainings, tag="volunteers"),
    # -- beneficiaries and the visit log
    expose(
        "POST", "/api/v1/beneficiaries", vo.register_beneficiary, tag="beneficiaries", status=201
    ),
    expose("POST", "/api/v1/beneficiaries/import", vo.import_beneficiaries, tag="beneficiaries"),
    expose("GET", "/api/v1/beneficiaries", vo.list_beneficiaries, tag="beneficiaries"),
    expose(
        "GET", "/api/v1/beneficiaries/<beneficiary_id>", vo.get_beneficiary, tag="beneficiaries"
    ),
    expose(
        "PATCH",
        "/api/v1/beneficiaries/<beneficiary_id>",
        vo.update_beneficiary,
        tag="beneficiaries",
    ),
    expose(
        "GET", "/api/v1/beneficiaries/<beneficiary_id>/visits", vo.list_visits, tag="beneficiaries"
    ),
    expose(
        "POST",
        "/api/v1/beneficiaries/<beneficiary_id>/visits",
        vo.record_visit,
        tag="beneficiaries",
        status=201,
    ),
    expose("POST", "/api/v1/visits/import", vo.import_visits, tag="beneficiaries"),
    # -- shifts, sign-ups and attendance
    expose("POST", "/api/v1/shifts", vo.publish_shift, tag="shifts", status=201),
    expose("GET", "/api/v1/shifts", vo.list_shifts, tag="shifts"),
    expose("GET", "/api/v1/shifts/<shift_id>", vo.get_shift, tag="shifts"),
    expose("PATCH", "/api/v1/shifts/<shift_id>", vo.update_shift, tag="shifts"),
    expose("POST", "/api/v1/shifts/<shift_id>/cancel", vo.cancel_shift, tag="shifts"),
    expose("GET", "/api/v1/shifts/<shift_id>/signups", vo.list_shift_signups, tag="shifts"),
    expose("POST", "/api/v1/shifts/<shift_id>/signups", vo.sign_up, tag="shifts", status=201),
    expose("POST", "/api/v1/signups/<signup_id>/cancel", vo.cancel_signup, tag="shifts"),
    expose("POST", "/api/v1/shifts/<shift_id>/check-in", vo.check_in, tag="shifts"),
    expose("POST", "/api/v1/shifts/<shift_id>/check-out", vo.check_out, tag="shifts"),
    expose("POST", "/api/v1/shifts/<shift_id>/no-shows", vo.mark_no_show, tag="shifts"),
    expose("POST", "/api/v1/shifts/<shift_id>/hours/approve", vo.approve_shift_hours, tag="hours"),
    # -- hours and corrections
    expose("GET", "/api/v1/hours", vo.list_hours, tag="hours"),
    expose("POST", "/api/v1/hours/<entry_id>/approve", vo.approve_hours, tag="hours"),
    expose("POST", "/api/v1/hours/<entry_id>/reject", vo.reject_hours, tag="hours"),
    expose("POST", "/api/v1/corrections", vo.request_correction, tag="hours", status=201),
    expose("GET", "/api/v1/corrections", vo.list_corrections, tag="hours"),
    expose(
        "POST", "/api/v1/corrections/<correction_id>/approve", vo.approve_correction, tag="hours"
    ),
    expose("POST", "/api/v1/corrections/<correction_id>/reject", vo.reject_correction, tag="hours"),
]


class CertificatePath(BaseSchema):
    """The certificate's milestone in its path: hours, ASCII digits (``50`` or ``50h``)."""

    milestone = PathInteger(
        suffix="h",
        digits=6,
        error_messages={"invalid": "证书档次应为小时数，如 50"},
        metadata={"description": "里程碑小时数（50 / 100 / 500 / 1000），也可写作 50h"},
    )


class VolunteerRoutes(GatewayBase):
    """What does more than forward: the certificate download (a PDF, not JSON)."""

    @route(
        "GET",
        "/api/v1/volunteers/<volunteer_id>/certificates/<milestone>",
        op=vo.get_certificate,
        tag="volunteers",
        params=CertificatePath,
    )
    def download_certificate(self, req: ApiRequest, volunteer_id: str, milestone: int) -> Response:
        """The certificate of a milestone reached (50 / 100 / 500 / 1000 h) as a PDF."""
        cert: Any = call(
            self.volunteers_rpc.get_certificate,
            req.center,
            volunteer_id,
            milestone,
            timeout=vo.get_certificate.timeout,
        )
        ascii_name = f"certificate-{milestone}h.pdf"
        return Response(
            base64.b64decode(cert["data_base64"]),
            mimetype=cert["content_type"],
            headers={
                "Content-Disposition": f'attachment; filename="{ascii_name}"; '
                f"filename*=UTF-8''{quote(cert['filename'])}",
                "Cache-Control": "private, no-store",
            },
        )
