"""The volunteers' pages (``/m/<center>/volunteer/``, signed in by phone code): open shifts
that match their skills, sign-up and cancel (waitlist position), checking in and out on the
spot with the shift's code (the QR code the social worker shows opens the check page with
it; the service refuses outside the shift's window), their hours with a correction
request, training records and certificates."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from gateway.web import LOCAL
from gateway.web.m.base import PhoneBase, qr_svg
from gateway.web.views import field_errors, guarded, see_other, status_of
from lianxin.clock import now_utc
from lianxin.contracts.volunteers import operations as vo
from lianxin.errors import InvalidInput, LianxinError
from lianxin.web import http

ME = "me"
SIGNUP_STATES = {
    "confirmed": "已报名",
    "waitlisted": "候补中",
    "checked_in": "服务中（已签到）",
    "completed": "已完成",
    "no_show": "缺席",
    "cancelled": "已取消",
}
HOURS_STATES = {
    "pending": "待审核",
    "approved": "已通过",
    "rejected": "未通过",
    "superseded": "已更正",
}
CORRECTION_STATES = {"pending": "待审核", "approved": "已批准", "rejected": "未批准"}
TRAINING_KINDS = vo.TRAINING_KINDS
SKILLS = vo.SKILLS


def local_input(value: str) -> str:
    """A ``datetime-local`` field's value (Beijing time) as RFC 3339, for the schema to load
    (an unreadable one is passed on as typed: the schema refuses it by field)."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=LOCAL).isoformat()
    except ValueError:
        return value


class VolunteerPages(PhoneBase):
    """``/m/<center>/volunteer/``, ``/volunteer/check`` and ``/volunteer/hours``."""

    @http("GET", "/m/<center_id>/volunteer")
    def volunteer_root(self, request: Request, center_id: str) -> Response:
        return see_other(f"/m/{center_id}/volunteer/")

    @http("GET", "/m/<center_id>/volunteer/")
    @guarded
    def volunteer_home(
        self, request: Request, center_id: str, error: LianxinError | None = None
    ) -> Response:
        center = self.phone_center(request, center_id)
        viewer = self.require_viewer(request, center_id, "volunteer")
        now = now_utc()
        found = self.gather(
            me=lambda: self.run(request, vo.get_volunteer, ME),
            signups=lambda: self.run(request, vo.list_volunteer_signups, ME, query={"limit": 30}),
            shifts=lambda: self.run(
                request,
                vo.list_shifts,
                query={
                    "starts_from": now.isoformat(),
                    "status": "open",
                    "limit": 100,
                },
            ),
            certificates=lambda: self.run(request, vo.list_certificates, ME),
        )
        me = found["me"]
        if isinstance(me, LianxinError):
            return self.phone_page(
                request,
                "volunteer.html",
                center,
                viewer,
                status=status_of(me),
                me=None,
                missing=me,
            )
        signups = found["signups"]["items"] if isinstance(found["signups"], dict) else []
        active = [s for s in signups if s["status"] in ("confirmed", "waitlisted", "checked_in")]
        taken = {s["shift_id"] for s in active}
        skills = set(me.get("skills") or [])
        shifts = found["shifts"]["items"] if isinstance(found["shifts"], dict) else []
        open_shifts = [
            s
            for s in shifts
            if s["id"] not in taken and set(s.get("required_skills") or []) <= skills
        ]
        certificates = found["certificates"] if isinstance(found["certificates"], list) else []
        base = request.host_url.rstrip("/")
        return self.phone_page(
            request,
            "volunteer.html",
            center,
            viewer,
            status=status_of(error) if error else 200,
            me=me,
            active=active,
            done_signups=[s for s in signups if s not in active][:10],
            open_shifts=open_shifts,
            certificates=[
                {
                    **c,
                    "url": f"/api/v1/volunteers/me/certificates/{c['milestone_hours']}",
                    # anyone scanning it sees the certificate is real (/verify/<code>)
                    "qr": qr_svg(
                        f"{base}/verify/{c['verify_code']}",
                        f"{c['milestone_hours']}小时证书查验二维码",
                    )
                    if c.get("verify_code")
                    else None,
                }
                for c in certificates
            ],
            states=SIGNUP_STATES,
            skills=SKILLS,
            kinds=TRAINING_KINDS,
            error=error,
        )

    @http("POST", "/m/<center_id>/volunteer/shifts/<shift_id>")
    @guarded
    def volunteer_sign_up(self, request: Request, center_id: str, shift_id: str) -> Response:
        self.phone_center(request, center_id)
        self.require_viewer(request, center_id, "volunteer")
        try:
            made = self.run(request, vo.sign_up, shift_id, body={})
        except LianxinError as exc:
            return self.volunteer_home(request, center_id, error=exc)
        done = "signed_up_waitlist" if made["status"] == "waitlisted" else "signed_up"
        return see_other(f"/m/{center_id}/volunteer/", done)

    @http("POST", "/m/<center_id>/volunteer/signups/<signup_id>/cancel")
    @guarded
    def volunteer_cancel(self, request: Request, center_id: str, signup_id: str) -> Response:
        self.phone_center(request, center_id)
        self.require_viewer(request, center_id, "volunteer")
        try:
            self.run(request, vo.cancel_signup, signup_id, body={})
        except LianxinError as exc:
            return self.volunteer_home(request, center_id, error=exc)
        return see_other(f"/m/{center_id}/volunteer/", "signup_cancelled")

    # -- check in and out ------------------------------------------------------------------

    @http("GET", "/m/<center_id>/volunteer/check")
    @guarded
    def check_page(
        self, request: Request, center_id: str, error: LianxinError | None = None
    ) -> Response:
        center = self.phone_center(request, center_id)
        viewer = self.require_viewer(request, center_id, "volunteer")
        code = request.values.get("code", "").strip()
        shift = None
        if code:  # which shift the code is (a wrong one is said when it is sent)
            found = self.gather(shift=lambda: self.run(request, vo.get_shift, code))["shift"]
            shift = found if isinstance(found, dict) else None
        return self.phone_page(
            request,
            "check.html",
            center,
            viewer,
            status=status_of(error) if error else 200,
            code=code,
            shift=shift,
            error=error,
            errors=field_errors(error),
        )

    @http("POST", "/m/<center_id>/volunteer/check")
    @guarded
    def check_submit(self, request: Request, center_id: str) -> Response:
        self.phone_center(request, center_id)
        self.require_viewer(request, center_id, "volunteer")
        code = request.form.get("code", "").strip()
        out = request.form.get("action") == "out"
        try:
            if not code:
                raise InvalidInput("请输入班次码", fields={"code": ["请输入或扫描班次码"]})
            self.run(request, vo.check_out if out else vo.check_in, code, body={})
        except LianxinError as exc:
            return self.check_page(request, center_id, error=exc)
        return see_other(
            f"/m/{center_id}/volunteer/check?code={quote(code)}",
            "checked_out" if out else "checked_in",
        )

    # -- hours and corrections -------------------------------------------------------------

    @http("GET", "/m/<center_id>/volunteer/hours")
    @guarded
    def hours_page(
        self, request: Request, center_id: str, error: LianxinError | None = None
    ) -> Response:
        center = self.phone_center(request, center_id)
        viewer = self.require_viewer(request, center_id, "volunteer")
        found = self.gather(
            me=lambda: self.run(request, vo.get_volunteer, ME),
            hours=lambda: self.run(request, vo.list_volunteer_hours, ME, query={"limit": 50}),
            signups=lambda: self.run(request, vo.list_volunteer_signups, ME, query={"limit": 30}),
            corrections=lambda: self.run(request, vo.list_corrections, query={"limit": 20}),
        )
        hours = found["hours"]["items"] if isinstance(found["hours"], dict) else []
        totals: dict[str, Any] = {}
        if isinstance(found["me"], dict):
            totals = found["me"].get("totals") or {}
        signups = found["signups"]["items"] if isinstance(found["signups"], dict) else []
        corrections = found["corrections"]
        return self.phone_page(
            request,
            "hours.html",
            center,
            viewer,
            status=status_of(error) if error else 200,
            hours=hours,
            totals=totals,
            pending=sum(h["hours"] for h in hours if h["status"] == "pending"),
            signups=[s for s in signups if s["status"] != "cancelled"],
            titles={s["shift_id"]: s["shift_title"] for s in signups},
            corrections=corrections["items"] if isinstance(corrections, dict) else [],
            states=HOURS_STATES,
            correction_states=CORRECTION_STATES,
            error=error,
            errors=field_errors(error),
            form=request.form if request.method == "POST" else MultiDict(),
        )

    @http("POST", "/m/<center_id>/volunteer/hours")
    @guarded
    def hours_correction(self, request: Request, center_id: str) -> Response:
        self.phone_center(request, center_id)
        self.require_viewer(request, center_id, "volunteer")
        form = request.form
        body = {
            "signup_id": form.get("signup_id", ""),
            "checked_in_at": local_input(form.get("checked_in_at", "")),
            "checked_out_at": local_input(form.get("checked_out_at", "")),
            "reason": form.get("reason", "").strip(),
        }
        try:
            self.run(request, vo.request_correction, body={k: v for k, v in body.items() if v})
        except LianxinError as exc:
            return self.hours_page(request, center_id, error=exc)
        return see_other(f"/m/{center_id}/volunteer/hours", "correction")
