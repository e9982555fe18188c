"""The activities a resident may join, and their messages: the coming month's programme
(anyone), one activity with the signed-in resident's registration — register themselves
and family members, waitlist position, cancel, and the check-in code for the door as a QR
code — and ``/messages``, their inbox."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from gateway.web.m.base import PhoneBase, qr_svg
from gateway.web.views import field_errors, guarded, see_other, status_of
from lianxin.contracts.events import operations as ev
from lianxin.contracts.notify import operations as notify
from lianxin.errors import LianxinError
from lianxin.web import http

AUDIENCES = ev.AUDIENCES
REGISTRATION_STATES = {
    "confirmed": "报名成功",
    "waitlisted": "候补中",
    "pending": "待审核",
    "cancelled": "已取消",
    "rejected": "未通过",
}
#: How many family members one form lets a resident bring (the activity may allow fewer).
MEMBER_FIELDS = 3


class ActivityPages(PhoneBase):
    """``/m/<center>/activities``, ``/activities/<id>`` and ``/messages``."""

    @http("GET", "/m/<center_id>/activities")
    @guarded
    def activities_page(self, request: Request, center_id: str) -> Response:
        center = self.phone_center(request, center_id)
        viewer = self.phone_viewer(request, center_id, "resident")
        calls: dict[str, Any] = {
            "coming": lambda: self.run(
                request, ev.list_public_activities, query={"days": 31}, center=center_id
            )
        }
        if viewer is not None:
            calls["mine"] = lambda: self.run(request, ev.list_registrations, query={"limit": 50})
        found = self.gather(**calls)
        coming = found["coming"] if isinstance(found["coming"], list) else None
        mine = found.get("mine")
        registrations = mine["items"] if isinstance(mine, dict) else []
        by_activity = {
            r["activity_id"]: r
            for r in registrations
            if r["state"] not in ("cancelled", "rejected")
        }
        return self.phone_page(
            request,
            "activities.html",
            center,
            viewer,
            coming=coming,
            failed=found["coming"] if coming is None else None,
            mine=by_activity,
            states=REGISTRATION_STATES,
            audiences=AUDIENCES,
        )

    @http("GET", "/m/<center_id>/activities/<activity_id>")
    @guarded
    def activity_page(
        self,
        request: Request,
        center_id: str,
        activity_id: str,
        error: LianxinError | None = None,
    ) -> Response:
        center = self.phone_center(request, center_id)
        viewer = self.phone_viewer(request, center_id, "resident")
        if viewer is None:
            return self._public_activity(request, center, activity_id)
        found = self.gather(
            activity=lambda: self.run(request, ev.get_activity, activity_id),
            mine=lambda: self.run(
                request, ev.list_registrations, query={"activity_id": activity_id, "limit": 20}
            ),
        )
        if isinstance(found["activity"], LianxinError):
            return self.phone_page(
                request,
                "activity.html",
                center,
                viewer,
                status=status_of(found["activity"]),
                activity=None,
                missing=found["activity"],
            )
        items = found["mine"]["items"] if isinstance(found["mine"], dict) else []
        current = next((r for r in items if r["state"] not in ("cancelled", "rejected")), None)
        return self.phone_page(
            request,
            "activity.html",
            center,
            viewer,
            status=status_of(error) if error else 200,
            activity=found["activity"],
            registration=current,
            qr=qr_svg(current["code"], f"签到码 {current['code']}")
            if current and current["state"] == "confirmed"
            else None,
            states=REGISTRATION_STATES,
            audiences=AUDIENCES,
            member_fields=min(MEMBER_FIELDS, found["activity"].get("max_party_size", 1) - 1),
            error=error,
            errors=field_errors(error),
            form=request.form if request.method == "POST" else MultiDict(),
        )

    def _public_activity(
        self, request: Request, center: dict[str, Any], activity_id: str
    ) -> Response:
        """An activity as anyone sees it (from the coming month's list), with the way to sign
        in and register; one not listed there: signing in shows it, if it is there."""
        coming = self.run(
            request,
            ev.list_public_activities,
            query={"days": 31, "limit": 100},
            center=center["id"],
        )
        shown = next((a for a in coming if a["id"] == activity_id), None)
        if shown is None:
            return self.phone_sign_in(request, center["id"])
        return self.phone_page(
            request,
            "activity.html",
            center,
            None,
            activity={**shown, "state": "published"},
            registration=None,
            qr=None,
            states=REGISTRATION_STATES,
            audiences=AUDIENCES,
            member_fields=0,
            error=None,
            errors={},
            form=MultiDict(),
        )

    @http("POST", "/m/<center_id>/activities/<activity_id>")
    @guarded
    def activity_action(self, request: Request, center_id: str, activity_id: str) -> Response:
        self.phone_center(request, center_id)
        self.require_viewer(request, center_id, "resident")
        form = request.form
        back = f"/m/{center_id}/activities/{activity_id}"
        try:
            if form.get("action") == "cancel":
                self.run(request, ev.cancel_registration, form.get("registration_id", ""))
                return see_other(back, "cancelled")
            body = {
                "members": [m.strip() for m in form.getlist("members") if m.strip()],
                "note": form.get("note", "").strip(),
            }
            made = self.run(request, ev.register_for_activity, activity_id, body=body)
        except LianxinError as exc:
            return self.activity_page(request, center_id, activity_id, error=exc)
        done = {"waitlisted": "waitlisted", "pending": "pending"}.get(made["state"], "registered")
        return see_other(back, done)

    # -- messages --------------------------------------------------------------------------

    @http("GET", "/m/<center_id>/messages")
    @guarded
    def messages_page(self, request: Request, center_id: str) -> Response:
        center = self.phone_center(request, center_id)
        viewer = self.phone_viewer(request, center_id)
        if viewer is None:
            return self.phone_sign_in(request, center_id)
        found = self.run(request, notify.list_notifications, query={"limit": 50})
        return self.phone_page(request, "messages.html", center, viewer, messages=found)

    @http("POST", "/m/<center_id>/messages")
    @guarded
    def messages_read(self, request: Request, center_id: str) -> Response:
        self.phone_center(request, center_id)
        if self.phone_viewer(request, center_id) is None:
            return self.phone_sign_in(request, center_id)
        try:
            self.run(request, notify.mark_all_notifications_read)
        except LianxinError:
            return see_other(f"/m/{center_id}/messages")
        return see_other(f"/m/{center_id}/messages", "read")
