"""The console's volunteer pages (志愿服务) for social workers and the admin: the shift calendar
(a week of shifts with their sign-ups and waitlist; publish a shift), a shift's page (its
sign-up list; check-in / check-out on a volunteer's behalf, no-show, approve the whole
shift's hours), the hours approval queue and the corrections queue, the beneficiary
register with each beneficiary's visit log, and the volunteer roster with certificates.

Every page calls the volunteers service's operations as the REST API does; a form posts
back to its view, which redirects with a notice or answers the page again with the reasons
beside the fields and what was typed. The helpers of forms and week views are in
:mod:`gateway.web.console.forms`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.web import as_local
from gateway.web.console.base import ConsoleBase, failed
from gateway.web.console.forms import (
    aware_form,
    day_label,
    local_input,
    on_day,
    typed_values,
    week_label,
    week_of,
)
from gateway.web.views import (
    Viewer,
    field_errors,
    form_body,
    guarded,
    see_other,
    status_of,
)
from lianxin.contracts.volunteers import operations as ops
from lianxin.errors import InvalidInput, LianxinError
from lianxin.web import http

# -- this area -------------------------------------------------------------------------------

SIGNUP_NAMES = {
    "confirmed": "已报名",
    "waitlisted": "候补",
    "checked_in": "已签到",
    "completed": "已签退",
    "no_show": "缺席",
    "cancelled": "已取消",
}
HOURS_NAMES = {
    "pending": "待审核",
    "approved": "已通过",
    "rejected": "已驳回",
    "superseded": "已更正",
}
SOURCE_NAMES = {"attendance": "班次签到", "visit": "探访记录", "correction": "补录"}
DECIDED = {"approve": "approved", "reject": "rejected"}
PERIODS = (("上午", 0, 12), ("下午", 12, 18), ("晚上", 18, 24))
TABS = (
    ("calendar", "班次日历", "/console/volunteers", ops.list_shifts),
    ("hours", "时长审核", "/console/volunteers/hours", ops.list_hours),
    ("corrections", "补录申请", "/console/volunteers/corrections", ops.list_corrections),
    ("beneficiaries", "帮扶对象", "/console/volunteers/beneficiaries", ops.list_beneficiaries),
    ("roster", "志愿者与证书", "/console/volunteers/roster", ops.list_volunteers),
)

#: What a shift's page may do to one sign-up: the operation and the notice after it.
SIGNUP_ACTIONS = {
    "check-in": (ops.check_in, "checked_in"),
    "check-out": (ops.check_out, "checked_out"),
    "no-show": (ops.mark_no_show, "no_show"),
}


def in_period(shifts: Any, day: date, start_hour: int, end_hour: int) -> list[dict[str, Any]]:
    return [
        s
        for s in on_day(shifts, day)
        if (m := as_local(s["starts_at"])) is not None and start_hour <= m.hour < end_hour
    ]


class VolunteerPages(ConsoleBase):
    """志愿服务: shifts, attendance, hours, corrections, beneficiaries, the roster."""

    def _vol_area(self, request: Request) -> Viewer:
        """A staff member who may see the area (the center's own staff, not a handler)."""
        return self.area(request, ops.list_shifts, "volunteers", "志愿服务仅限中心社工和管理员使用")

    def _vol_show(
        self, request: Request, viewer: Viewer, template: str, tab: str, title: str, **values: Any
    ) -> Response:
        return self.show_tabbed(
            request,
            viewer,
            template,
            active="volunteers",
            tabs=TABS,
            tab=tab,
            title=title,
            ops=ops,
            skills=ops.SKILLS,
            shift_kinds=ops.SHIFT_KINDS,
            signup_names=SIGNUP_NAMES,
            hours_names=HOURS_NAMES,
            source_names=SOURCE_NAMES,
            categories=ops.BENEFICIARY_CATEGORIES,
            care_needs=ops.CARE_NEEDS,
            genders=ops.GENDERS,
            local_input=local_input,
            **values,
        )

    # -- the shift calendar --------------------------------------------------------------------

    @http("GET", "/console/volunteers")
    @guarded
    def vol_volunteers_page(self, request: Request) -> Response:
        return self._vol_calendar(request, self._vol_area(request))

    def _vol_calendar(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
    ) -> Response:
        week = week_of(request.args.get("week") or (typed or {}).get("week"))
        query = {
            "starts_from": week.starts_at.isoformat(),
            "starts_before": week.ends_at.isoformat(),
            "limit": 500,
        }
        calls: dict[str, Any] = {"shifts": lambda: self.run(request, ops.list_shifts, query=query)}
        if viewer.may(ops.list_beneficiaries):
            calls["beneficiaries"] = lambda: self.run(
                request, ops.list_beneficiaries, query={"status": "active", "limit": 500}
            )
        parts = self.gather(**calls)
        shifts = parts["shifts"]
        items = shifts["items"] if isinstance(shifts, dict) else shifts
        return self._vol_show(
            request,
            viewer,
            "console/volunteers.html",
            "calendar",
            "志愿服务 · 班次日历",
            status=_status(error),
            week=week,
            day_label=day_label,
            periods=PERIODS,
            shifts=items,
            in_period=lambda day, a, b: in_period(items, day, a, b),
            beneficiaries=parts.get("beneficiaries"),
            error=error,
            typed=typed or {},
        )

    @http("POST", "/console/volunteers/shifts")
    @guarded
    def vol_publish_shift(self, request: Request) -> Response:
        viewer = self._vol_area(request)
        form = aware_form(request.form, "starts_at", "ends_at")
        try:
            body = form_body(form, ops.ShiftCreate)
            body["tasks"] = _lines(request.form.get("tasks", ""))
            shift = self.run(request, ops.publish_shift, body=body)
        except LianxinError as exc:
            return self._vol_calendar(request, viewer, exc, typed_values(request.form))
        return see_other(f"/console/volunteers/shifts/{shift['id']}", "published")

    # -- one shift -----------------------------------------------------------------------------

    @http("GET", "/console/volunteers/shifts/<shift_id>")
    @guarded
    def vol_shift_page(self, request: Request, shift_id: str) -> Response:
        return self._vol_shift(request, self._vol_area(request), shift_id)

    def _vol_shift(
        self,
        request: Request,
        viewer: Viewer,
        shift_id: str,
        error: LianxinError | None = None,
        failed_on: str = "",
        typed: dict[str, Any] | None = None,
    ) -> Response:
        calls: dict[str, Any] = {
            "shift": lambda: self.run(request, ops.get_shift, shift_id),
            "signups": lambda: self.run(
                request, ops.list_shift_signups, shift_id, query={"limit": 500}
            ),
            "volunteers": lambda: self.run(
                request, ops.list_volunteers, query={"status": "active", "limit": 500}
            ),
        }
        if viewer.may(ops.list_hours):
            calls["hours"] = lambda: self.run(
                request, ops.list_hours, query={"shift_id": shift_id, "limit": 500}
            )
        parts = self.gather(**calls)
        shift = parts["shift"]
        if failed(shift):
            return self.show(
                request,
                viewer,
                "console/missing.html",
                active="volunteers",
                title="班次不存在",
                status=_status(shift),
                reason=shift.detail,
            )
        hours: Any = parts.get("hours")
        pending = [h for h in hours["items"] if h["status"] == "pending"] if _page(hours) else []
        return self._vol_show(
            request,
            viewer,
            "console/volunteers_shift.html",
            "calendar",
            f"班次 {shift['title']}",
            status=_status(error),
            shift=shift,
            signups=parts["signups"],
            volunteers=parts["volunteers"],
            pending_hours=pending,
            error=error,
            failed_on=failed_on,
            typed=typed or {},
            week=week_of(week_label(as_local(shift["starts_at"]).date())),  # type: ignore[union-attr]
        )

    @http("POST", "/console/volunteers/shifts/<shift_id>/<action>")
    @guarded
    def vol_shift_action(self, request: Request, shift_id: str, action: str) -> Response:
        """Sign a volunteer up, check one in or out (at a time past, if given), mark a
        no-show, approve every pending hour of the shift, or cancel the shift."""
        viewer = self._vol_area(request)
        form = aware_form(request.form, "at")
        back = f"/console/volunteers/shifts/{shift_id}"
        on = form.get("volunteer_id", "") if action in SIGNUP_ACTIONS else action
        try:
            if action == "signup":
                self.run(request, ops.sign_up, shift_id, body=form_body(form, ops.SignupCreate))
                notice = "signed_up"
            elif action in SIGNUP_ACTIONS:
                op, notice = SIGNUP_ACTIONS[action]
                self.run(request, op, shift_id, body=form_body(form, op.body))
            elif action == "approve-hours":
                self.run(request, ops.approve_shift_hours, shift_id)
                notice = "approved"
            elif action == "cancel":
                body = form_body(form, ops.ShiftCancel)
                self.run(request, ops.cancel_shift, shift_id, body=body)
                notice = "cancelled"
            else:
                raise InvalidInput("没有这个操作")
        except LianxinError as exc:
            return self._vol_shift(request, viewer, shift_id, exc, on, typed_values(request.form))
        return see_other(back, notice)

    # -- hours and corrections -----------------------------------------------------------------

    @http("GET", "/console/volunteers/hours")
    @guarded
    def vol_hours_page(self, request: Request) -> Response:
        return self._vol_hours(request, self._vol_area(request))

    def _vol_hours(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        failed_on: str = "",
        typed: dict[str, Any] | None = None,
    ) -> Response:
        if not viewer.may(ops.list_hours):
            raise self.refusal(request, viewer, "volunteers", "服务时长由社工审核")
        parts = self.gather(
            hours=lambda: self.run(
                request, ops.list_hours, query={"status": "pending", "limit": 500}
            ),
            shifts=lambda: self.run(
                request,
                ops.list_shifts,
                query={
                    "starts_from": (datetime.now(UTC) - timedelta(days=90)).isoformat(),
                    "limit": 500,
                },
            ),
        )
        hours = parts["hours"]
        titles = {s["id"]: s for s in parts["shifts"]["items"]} if _page(parts["shifts"]) else {}
        groups: dict[str, list[dict[str, Any]]] = {}
        if _page(hours):
            for entry in hours["items"]:
                groups.setdefault(entry.get("shift_id") or "", []).append(entry)
        return self._vol_show(
            request,
            viewer,
            "console/volunteers_hours.html",
            "hours",
            "志愿服务 · 时长审核",
            status=_status(error),
            hours=hours,
            groups=groups,
            shifts_by_id=titles,
            error=error,
            failed_on=failed_on,
            typed=typed or {},
        )

    @http("POST", "/console/volunteers/hours/<entry_id>/<decision>")
    @guarded
    def vol_hours_decision(self, request: Request, entry_id: str, decision: str) -> Response:
        viewer = self._vol_area(request)
        form = request.form
        try:
            if decision == "approve":
                self.run(
                    request, ops.approve_hours, entry_id, body=form_body(form, ops.HoursDecision)
                )
            elif decision == "reject":
                self.run(request, ops.reject_hours, entry_id, body=form_body(form, ops.HoursReject))
            else:
                raise InvalidInput("没有这个操作")
        except LianxinError as exc:
            return self._vol_hours(request, viewer, exc, entry_id, typed_values(form))
        return see_other("/console/volunteers/hours", DECIDED[decision])

    @http("POST", "/console/volunteers/hours-of-shift/<shift_id>")
    @guarded
    def vol_hours_of_shift(self, request: Request, shift_id: str) -> Response:
        """Approve a whole shift's pending hours from the queue."""
        viewer = self._vol_area(request)
        try:
            self.run(request, ops.approve_shift_hours, shift_id)
        except LianxinError as exc:
            return self._vol_hours(request, viewer, exc, f"shift-{shift_id}")
        return see_other("/console/volunteers/hours", "approved")

    @http("GET", "/console/volunteers/corrections")
    @guarded
    def vol_corrections_page(self, request: Request) -> Response:
        return self._vol_corrections(request, self._vol_area(request))

    def _vol_corrections(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        failed_on: str = "",
        typed: dict[str, Any] | None = None,
    ) -> Response:
        if not viewer.may(ops.list_corrections):
            raise self.refusal(request, viewer, "volunteers", "补录申请由社工审核")
        parts = self.gather(
            corrections=lambda: self.run(
                request, ops.list_corrections, query={"status": "pending", "limit": 500}
            ),
            volunteers=lambda: self.run(request, ops.list_volunteers, query={"limit": 500}),
        )
        people = parts["volunteers"]
        names = {v["id"]: v["name"] for v in people["items"]} if _page(people) else {}
        return self._vol_show(
            request,
            viewer,
            "console/volunteers_corrections.html",
            "corrections",
            "志愿服务 · 补录申请",
            status=_status(error),
            corrections=parts["corrections"],
            names=names,
            error=error,
            failed_on=failed_on,
            typed=typed or {},
        )

    @http("POST", "/console/volunteers/corrections/<correction_id>/<decision>")
    @guarded
    def vol_correction_decision(
        self, request: Request, correction_id: str, decision: str
    ) -> Response:
        viewer = self._vol_area(request)
        form = request.form
        try:
            if decision == "approve":
                body = form_body(form, ops.HoursDecision)
                self.run(request, ops.approve_correction, correction_id, body=body)
            elif decision == "reject":
                body = form_body(form, ops.HoursReject)
                self.run(request, ops.reject_correction, correction_id, body=body)
            else:
                raise InvalidInput("没有这个操作")
        except LianxinError as exc:
            return self._vol_corrections(request, viewer, exc, correction_id, typed_values(form))
        return see_other("/console/volunteers/corrections", DECIDED[decision])

    # -- beneficiaries and their visits --------------------------------------------------------

    @http("GET", "/console/volunteers/beneficiaries")
    @guarded
    def vol_beneficiaries_page(self, request: Request) -> Response:
        return self._vol_beneficiaries(request, self._vol_area(request))

    def _vol_beneficiaries(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
    ) -> Response:
        if not viewer.may(ops.list_beneficiaries):
            raise self.refusal(request, viewer, "volunteers", "帮扶对象档案仅限社工查看")
        query = {k: request.args[k] for k in ("q", "category", "status") if request.args.get(k)}
        listed = self.gather(
            beneficiaries=lambda: self.run(
                request, ops.list_beneficiaries, query={**query, "limit": 200}
            )
        )["beneficiaries"]
        return self._vol_show(
            request,
            viewer,
            "console/volunteers_beneficiaries.html",
            "beneficiaries",
            "志愿服务 · 帮扶对象",
            status=_status(error),
            beneficiaries=listed,
            query=query,
            error=error,
            typed=typed or {},
        )

    @http("POST", "/console/volunteers/beneficiaries")
    @guarded
    def vol_register_beneficiary(self, request: Request) -> Response:
        viewer = self._vol_area(request)
        form = request.form
        try:
            body = form_body(form, ops.BeneficiaryCreate)
            if form.get("guardian_name", "").strip():
                body["guardian"] = {
                    "name": form["guardian_name"].strip(),
                    "relation": form.get("guardian_relation", "").strip(),
                }
            created = self.run(request, ops.register_beneficiary, body=body)
        except LianxinError as exc:
            return self._vol_beneficiaries(request, viewer, exc, typed_values(form))
        return see_other(f"/console/volunteers/beneficiaries/{created['id']}", "registered_person")

    @http("GET", "/console/volunteers/beneficiaries/<beneficiary_id>")
    @guarded
    def vol_beneficiary_page(self, request: Request, beneficiary_id: str) -> Response:
        return self._vol_beneficiary(request, self._vol_area(request), beneficiary_id)

    def _vol_beneficiary(
        self,
        request: Request,
        viewer: Viewer,
        beneficiary_id: str,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
    ) -> Response:
        parts = self.gather(
            person=lambda: self.run(request, ops.get_beneficiary, beneficiary_id),
            visits=lambda: self.run(request, ops.list_visits, beneficiary_id, query={"limit": 100}),
            volunteers=lambda: self.run(
                request, ops.list_volunteers, query={"status": "active", "limit": 500}
            ),
        )
        person = parts["person"]
        if failed(person):
            return self.show(
                request,
                viewer,
                "console/missing.html",
                active="volunteers",
                title="帮扶对象不存在",
                status=_status(person),
                reason=person.detail,
            )
        errors = field_errors(error)
        # The visit's volunteers are one list: its reasons show beside the volunteer picker.
        for key in list(errors):
            if key.startswith("volunteers."):
                errors.setdefault("volunteers", errors[key])
        return self._vol_show(
            request,
            viewer,
            "console/volunteers_beneficiary.html",
            "beneficiaries",
            f"帮扶对象 {person['name']}",
            status=_status(error),
            person=person,
            visits=parts["visits"],
            volunteers=parts["volunteers"],
            error=error,
            errors=errors,
            typed=typed or {},
            now_input=local_input(datetime.now(UTC)),
        )

    @http("POST", "/console/volunteers/beneficiaries/<beneficiary_id>/visits")
    @guarded
    def vol_record_visit(self, request: Request, beneficiary_id: str) -> Response:
        viewer = self._vol_area(request)
        form = aware_form(request.form, "visited_at")
        try:
            body = form_body(form, ops.VisitCreate, "visited_at", "care_types", "notes")
            body["tasks"] = _lines(form.get("tasks", ""))
            hours = form.get("hours", "").strip() or "1"
            body["volunteers"] = [
                {"volunteer_id": v, "hours": hours} for v in form.getlist("volunteer_ids") if v
            ]
            self.run(request, ops.record_visit, beneficiary_id, body=body)
        except LianxinError as exc:
            return self._vol_beneficiary(request, viewer, beneficiary_id, exc, typed_values(form))
        return see_other(f"/console/volunteers/beneficiaries/{beneficiary_id}", "visit_recorded")

    # -- the roster and certificates -----------------------------------------------------------

    @http("GET", "/console/volunteers/roster")
    @guarded
    def vol_roster_page(self, request: Request) -> Response:
        viewer = self._vol_area(request)
        query = {k: request.args[k] for k in ("skill", "status") if request.args.get(k)}
        listed = self.gather(
            volunteers=lambda: self.run(request, ops.list_volunteers, query={**query, "limit": 500})
        )["volunteers"]
        return self._vol_show(
            request,
            viewer,
            "console/volunteers_roster.html",
            "roster",
            "志愿服务 · 志愿者与证书",
            volunteers=listed,
            query=query,
            milestones=ops.MILESTONES,
        )

    @http("GET", "/console/volunteers/roster/<volunteer_id>")
    @guarded
    def vol_volunteer_page(self, request: Request, volunteer_id: str) -> Response:
        viewer = self._vol_area(request)
        parts = self.gather(
            person=lambda: self.run(request, ops.get_volunteer, volunteer_id),
            signups=lambda: self.run(
                request, ops.list_volunteer_signups, volunteer_id, query={"limit": 20}
            ),
        )
        person = parts["person"]
        if failed(person):
            return self.show(
                request,
                viewer,
                "console/missing.html",
                active="volunteers",
                title="志愿者不存在",
                status=_status(person),
                reason=person.detail,
            )
        return self._vol_show(
            request,
            viewer,
            "console/volunteers_person.html",
            "roster",
            f"志愿者 {person['name']}",
            person=person,
            signups=parts["signups"],
        )


def _status(error: LianxinError | None) -> int:
    return status_of(error) if error is not None else 200


def _page(value: Any) -> bool:
    """Whether a gathered part is a page of a list (not the error it failed with)."""
    return isinstance(value, dict) and "items" in value


def _lines(text: str) -> list[str]:
    """A textarea's lines (one task a line; ``、`` and ``，`` separate too), blanks left out."""
    return [part.strip() for part in re.split(r"[\n、，,]", text) if part.strip()]
