"""党建联席会: the month's joint meeting of the four parties — its agenda (the tickets escalated
to it), recording each decision, and the agenda printed on A4 for the meeting table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.web import LOCAL
from gateway.web.console.base import ConsoleBase, failed, party_name
from gateway.web.console.tickets import PARTY_CHOICES, names_of
from gateway.web.views import Viewer, field_errors, form_body, guarded, see_other
from lianxin.contracts.tickets import operations as ops
from lianxin.errors import LianxinError
from lianxin.web import http

DECISION_NAMES = {
    "resolved": "议定办结（答复群众）",
    "assigned": "议定责任方，派单办理",
    "carried_over": "转下月联席会再议",
}


def this_month() -> str:
    return datetime.now(LOCAL).strftime("%Y-%m")


def month_name(month: str) -> str:
    year, mon = month.split("-")
    return f"{year}年{int(mon)}月"


class MeetingPages(ConsoleBase):
    @http("GET", "/console/meeting")
    @guarded
    def meeting_page(self, request: Request) -> Response:
        viewer = self.staff(request)
        return self._meeting(request, viewer, request.args.get("month", ""))

    def _meeting(
        self,
        request: Request,
        viewer: Viewer,
        month: str,
        error: LianxinError | None = None,
        item_id: str = "",
        typed: dict[str, Any] | None = None,
    ) -> Response:
        meetings = self.gather(m=lambda: self.run(request, ops.list_meetings))["m"]
        months = sorted({m["month"] for m in meetings}) if isinstance(meetings, list) else []
        if not month:
            upcoming = [m for m in months if m >= this_month()]
            month = upcoming[0] if upcoming else (months[-1] if months else this_month())
        parts = self.gather(
            meeting=lambda: self.run(request, ops.get_meeting, month),
            categories=lambda: self.run(request, ops.list_categories),
        )
        meeting = parts["meeting"]
        return self.show(
            request,
            viewer,
            "console/meeting.html",
            active="meeting",
            title=f"党建联席会 {month_name(month)}",
            status=400 if error else 200,
            month=month,
            month_name=month_name,
            months=months,
            meeting=meeting if not failed(meeting) else None,
            missing=meeting if failed(meeting) else None,
            category_names=names_of(parts["categories"]),
            decision_names=DECISION_NAMES,
            party_choices=PARTY_CHOICES,
            party_name=party_name,
            state_names=ops.STATE_NAMES,
            may_decide=viewer.may(ops.decide_agenda_item),
            error=error,
            errors=field_errors(error),
            item_id=item_id,
            typed=typed or {},
        )

    @http("POST", "/console/meeting/items/<item_id>/decision")
    @guarded
    def meeting_decide(self, request: Request, item_id: str) -> Response:
        viewer = self.staff(request)
        form = request.form
        month = form.get("month", "")
        body = form_body(form, ops.DecisionIn)
        try:
            self.run(request, ops.decide_agenda_item, item_id, body=body)
        except LianxinError as exc:
            return self._meeting(request, viewer, month, exc, item_id, dict(form.items()))
        return see_other(f"/console/meeting?month={month}", "decided")
