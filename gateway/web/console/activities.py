"""The console's activity and room pages (活动与功能室): a week of the center's function rooms
(rooms × days; bookings and activities as slots — two bookings of a room never overlap, the
service refuses it and the page says why beside the field, keeping what was typed), booking
a room once or weekly for N weeks, the booking approval queue, activities (list, publish, a
page with its registrations and waitlist, approving registrations) and check-in at the door
by the registrant's code.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.web import as_local
from gateway.web.console.base import ConsoleBase, failed
from gateway.web.console.forms import (
    aware_form,
    day_label,
    local_input,
    typed_values,
    week_of,
)
from gateway.web.console.volunteers import DECIDED
from gateway.web.views import Viewer, field_errors, form_body, guarded, see_other, status_of
from lianxin.contracts.events import operations as ops
from lianxin.contracts.notify import operations as notify_ops
from lianxin.errors import Conflict, InvalidInput, LianxinError
from lianxin.web import http

ACTIVITY_STATES = {
    "draft": "草稿",
    "published": "已发布",
    "cancelled": "已取消",
    "completed": "已结束",
}
REGISTRATION_STATES = {
    "pending": "待审核",
    "confirmed": "已报名",
    "waitlisted": "候补",
    "cancelled": "已取消",
    "rejected": "未通过",
}
BOOKING_STATES = {
    "pending": "待审批",
    "confirmed": "已确认",
    "rejected": "已驳回",
    "cancelled": "已取消",
}
#: The most registrants whose names an activity's page asks the directory for.
NAMES_ASKED = 100
TABS = (
    ("rooms", "功能室一周", "/console/activities", ops.week_calendar),
    ("bookings", "预约审批", "/console/activities/bookings", ops.approve_booking),
    ("list", "活动", "/console/activities/list", ops.list_activities),
    ("door", "入场签到", "/console/activities/door", ops.check_in_registration),
)


def booking_errors(error: LianxinError | None) -> dict[str, str]:
    """The booking form's reasons by field; a clash (409) is told beside the start time with
    the service's own words, which name the bookings in the way."""
    errors = field_errors(error)
    if isinstance(error, Conflict) and error.detail:
        errors["starts_at"] = error.detail
    return errors


def choices(records: Any) -> list[tuple[str, str]]:
    """Code and name of each record (rooms, programmes) for a ``<select>``; none when they
    could not be read."""
    return [(r["code"], r["name"]) for r in records] if isinstance(records, list) else []


def room_grid(rooms: Any, items: Any, days: tuple[Any, ...]) -> list[dict[str, Any]]:
    """One row per room: its slots on each day of the week (activities and bookings, by
    start), for the week view."""
    if not isinstance(rooms, list):
        return []
    entries = items if isinstance(items, list) else []
    rows = []
    for room in rooms:
        cells = []
        for day in days:
            here = [
                e
                for e in entries
                if e.get("room") == room["code"]
                and (m := as_local(e["starts_at"])) is not None
                and m.date() == day
            ]
            cells.append(sorted(here, key=lambda e: str(e["starts_at"])))
        rows.append({"room": room, "cells": cells})
    return rows


class ActivityPages(ConsoleBase):
    """活动与功能室: the rooms' week, bookings, activities, registrations, the door."""

    def _act_area(self, request: Request) -> Viewer:
        return self.area(
            request, ops.create_activity, "activities", "活动与功能室仅限中心工作人员使用"
        )

    def _act_show(
        self, request: Request, viewer: Viewer, template: str, tab: str, title: str, **values: Any
    ) -> Response:
        return self.show_tabbed(
            request,
            viewer,
            template,
            active="activities",
            tabs=TABS,
            tab=tab,
            title=title,
            ops=ops,
            audiences=ops.AUDIENCES,
            activity_states=ACTIVITY_STATES,
            registration_states=REGISTRATION_STATES,
            booking_states=BOOKING_STATES,
            local_input=local_input,
            **values,
        )

    # -- the rooms' week and booking a room ----------------------------------------------------

    @http("GET", "/console/activities")
    @guarded
    def act_activities_page(self, request: Request) -> Response:
        return self._act_rooms(request, self._act_area(request))

    def _act_rooms(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
    ) -> Response:
        week = week_of(request.args.get("week") or (typed or {}).get("week"))
        parts = self.gather(
            rooms=lambda: self.run(request, ops.list_rooms),
            calendar=lambda: self.run(request, ops.week_calendar, query={"week": week.label}),
        )
        calendar = parts["calendar"]
        items = calendar["items"] if isinstance(calendar, dict) else calendar
        return self._act_show(
            request,
            viewer,
            "console/activities.html",
            "rooms",
            "活动与功能室 · 功能室一周",
            week=week,
            day_label=day_label,
            rooms=parts["rooms"],
            room_choices=choices(parts["rooms"]),
            calendar=calendar,
            grid=room_grid(parts["rooms"], items, week.days),
            error=error,
            errors=booking_errors(error),
            typed=typed or {},
        )

    @http("POST", "/console/activities/bookings")
    @guarded
    def act_book_room(self, request: Request) -> Response:
        """Book a room, once or the same slot for N weeks running (all or nothing)."""
        viewer = self._act_area(request)
        form = aware_form(request.form, "starts_at", "ends_at")
        room = form.get("room", "").strip()
        try:
            if not room:
                raise InvalidInput(fields={"room": ["请选择功能室"]})
            booked = self.run(request, ops.book_room, room, body=form_body(form, ops.BookingCreate))
        except LianxinError as exc:
            return self._act_rooms(request, viewer, exc, typed_values(request.form))
        first = booked["items"][0] if booked.get("items") else None
        week = ""
        if first and (moment := as_local(first["starts_at"])) is not None:
            year, number, _ = moment.date().isocalendar()
            week = f"?week={year}-W{number:02d}"
        notice = "booked" if not first or first["state"] == "confirmed" else "booking_requested"
        return see_other(f"/console/activities{week}", notice)

    # -- the approval queue --------------------------------------------------------------------

    @http("GET", "/console/activities/bookings")
    @guarded
    def act_bookings_page(self, request: Request) -> Response:
        return self._act_bookings(request, self._act_area(request))

    def _act_bookings(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        failed_on: str = "",
        typed: dict[str, Any] | None = None,
    ) -> Response:
        parts = self.gather(
            pending=lambda: self.run(
                request, ops.list_bookings, query={"state": "pending", "limit": 200}
            ),
            rooms=lambda: self.run(request, ops.list_rooms),
        )
        rooms = {r["code"]: r for r in parts["rooms"]} if isinstance(parts["rooms"], list) else {}
        return self._act_show(
            request,
            viewer,
            "console/activities_bookings.html",
            "bookings",
            "活动与功能室 · 预约审批",
            pending=parts["pending"],
            may_decide=lambda b: viewer.may_on(
                ops.approve_booking, _Target(rooms.get(b["room"], {}))
            ),
            error=error,
            failed_on=failed_on,
            typed=typed or {},
        )

    @http("POST", "/console/activities/bookings/<booking_id>/<decision>")
    @guarded
    def act_booking_decision(self, request: Request, booking_id: str, decision: str) -> Response:
        viewer = self._act_area(request)
        try:
            if decision == "approve":
                self.run(request, ops.approve_booking, booking_id)
            elif decision == "reject":
                body = form_body(request.form, ops.Rejection)
                self.run(request, ops.reject_booking, booking_id, body=body)
            else:
                raise InvalidInput("没有这个操作")
        except LianxinError as exc:
            return self._act_bookings(request, viewer, exc, booking_id, typed_values(request.form))
        return see_other("/console/activities/bookings", DECIDED[decision])

    # -- activities ----------------------------------------------------------------------------

    @http("GET", "/console/activities/list")
    @guarded
    def act_activity_list(self, request: Request) -> Response:
        return self._act_list(request, self._act_area(request))

    def _act_list(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
    ) -> Response:
        when = request.args.get("when", "upcoming")
        if when not in ("upcoming", "past", "all"):
            when = "upcoming"
        parts = self.gather(
            activities=lambda: self.run(
                request, ops.list_activities, query={"when": when, "limit": 100}
            ),
            rooms=lambda: self.run(request, ops.list_rooms),
            programmes=lambda: self.run(request, ops.list_programmes),
        )
        return self._act_show(
            request,
            viewer,
            "console/activities_list.html",
            "list",
            "活动与功能室 · 活动",
            when=when,
            activities=parts["activities"],
            room_choices=choices(parts["rooms"]),
            programme_choices=choices(parts["programmes"]),
            error=error,
            typed=typed or {},
        )

    @http("POST", "/console/activities/list")
    @guarded
    def act_create_activity(self, request: Request) -> Response:
        viewer = self._act_area(request)
        names = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")
        form = aware_form(request.form, *names)
        try:
            body = form_body(form, ops.ActivityCreate)
            body["publish"] = form.get("publish") == "on"
            created = self.run(request, ops.create_activity, body=body)
        except LianxinError as exc:
            return self._act_list(request, viewer, exc, typed_values(request.form))
        return see_other(
            f"/console/activities/{created['id']}",
            "published" if created["state"] == "published" else "saved",
        )

    @http("GET", "/console/activities/<activity_id>")
    @guarded
    def act_activity_page(self, request: Request, activity_id: str) -> Response:
        return self._act_activity(request, self._act_area(request), activity_id)

    def _act_activity(
        self,
        request: Request,
        viewer: Viewer,
        activity_id: str,
        error: LianxinError | None = None,
        failed_on: str = "",
        typed: dict[str, Any] | None = None,
    ) -> Response:
        parts = self.gather(
            activity=lambda: self.run(request, ops.get_activity, activity_id),
            registrations=lambda: self.run(
                request, ops.list_activity_registrations, activity_id, query={"limit": 500}
            ),
        )
        activity = parts["activity"]
        if failed(activity):
            return self.show(
                request,
                viewer,
                "console/missing.html",
                active="activities",
                title="活动不存在",
                status=status_of(activity),
                reason=activity.detail,
            )
        registrations = parts["registrations"]
        lists: dict[str, list[dict[str, Any]]] = {
            "pending": [],
            "confirmed": [],
            "waitlisted": [],
            "other": [],
        }
        if isinstance(registrations, dict):
            for r in registrations["items"]:
                lists.get(r["state"], lists["other"]).append(r)
            lists["waitlisted"].sort(key=lambda r: r.get("position") or 0)
        shown = [r for key in ("pending", "confirmed", "waitlisted") for r in lists[key]]
        return self._act_show(
            request,
            viewer,
            "console/activities_activity.html",
            "list",
            f"活动 {activity['title']}",
            activity=activity,
            registrations=registrations,
            lists=lists,
            names=self._act_names(request, viewer, [r["person_id"] for r in shown]),
            error=error,
            failed_on=failed_on,
            typed=typed or {},
        )

    def _act_names(self, request: Request, viewer: Viewer, people: list[str]) -> dict[str, str]:
        """Registrants' names from notify's directory (at most the first 100 asked, at once);
        whoever it doesn't know is shown by their person id."""
        if not viewer.may(notify_ops.get_contact):
            return {}
        wanted = list(dict.fromkeys(people))[:NAMES_ASKED]
        found = self.gather(
            **{
                f"p{n}": (lambda pid=pid: self.run(request, notify_ops.get_contact, pid))
                for n, pid in enumerate(wanted)
            }
        )
        return {
            pid: found[f"p{n}"]["name"]
            for n, pid in enumerate(wanted)
            if isinstance(found[f"p{n}"], dict) and found[f"p{n}"].get("name")
        }

    @http("POST", "/console/activities/<activity_id>/<action>")
    @guarded
    def act_activity_action(self, request: Request, activity_id: str, action: str) -> Response:
        """Publish a draft, cancel, approve or reject a registration, check one in."""
        viewer = self._act_area(request)
        form = request.form
        registration = form.get("registration_id", "").strip()
        failed_on = registration or action
        try:
            if action == "publish":
                self.run(request, ops.publish_activity, activity_id)
                notice = "published"
            elif action == "cancel":
                body = form_body(form, ops.ActivityCancel)
                self.run(request, ops.cancel_activity, activity_id, body=body)
                notice = "cancelled"
            elif action == "approve":
                self.run(request, ops.approve_registration, registration)
                notice = "approved"
            elif action == "reject":
                body = form_body(form, ops.Rejection)
                self.run(request, ops.reject_registration, registration, body=body)
                notice = "rejected"
            elif action == "check-in":
                body = form_body(form, ops.CheckIn, "registration_id", "attended")
                self.run(request, ops.check_in_registration, activity_id, body=body)
                notice = "checked_in"
            else:
                raise InvalidInput("没有这个操作")
        except LianxinError as exc:
            return self._act_activity(
                request, viewer, activity_id, exc, failed_on, typed_values(form)
            )
        return see_other(f"/console/activities/{activity_id}", notice)

    # -- the door ------------------------------------------------------------------------------

    @http("GET", "/console/activities/door")
    @guarded
    def act_door_page(self, request: Request) -> Response:
        return self._act_door(request, self._act_area(request))

    def _act_door(
        self,
        request: Request,
        viewer: Viewer,
        error: LianxinError | None = None,
        typed: dict[str, Any] | None = None,
        done: dict[str, Any] | None = None,
    ) -> Response:
        now = datetime.now(UTC)
        query = {
            "when": "all",
            "start": (now - timedelta(hours=12)).isoformat(),
            "end": (now + timedelta(hours=12)).isoformat(),
            "limit": 100,
        }
        today = self.gather(activities=lambda: self.run(request, ops.list_activities, query=query))[
            "activities"
        ]
        items = today["items"] if isinstance(today, dict) else []
        items = [a for a in items if a["state"] == "published"]
        chosen = (typed or {}).get("activity_id") or request.args.get("activity", "")
        if not chosen and items:
            chosen = items[0]["id"]
        return self._act_show(
            request,
            viewer,
            "console/activities_door.html",
            "door",
            "活动与功能室 · 入场签到",
            activities=items,
            listing=today,
            chosen=chosen,
            checked=done,
            error=error,
            typed=typed or {},
        )

    @http("POST", "/console/activities/door")
    @guarded
    def act_door_check_in(self, request: Request) -> Response:
        """Check a registrant in by the code they show (``ABC123``, typed in any case)."""
        viewer = self._act_area(request)
        form = request.form
        activity = form.get("activity_id", "").strip()
        body = form_body(form, ops.CheckIn, "code", "attended")
        if body.get("code"):
            body["code"] = body["code"].replace(" ", "").upper()
        try:
            if not activity:
                raise InvalidInput(fields={"activity_id": ["请选择活动"]})
            if body.get("code") and not re.match(ops.CHECKIN_CODE_RE, body["code"]):
                raise InvalidInput(fields={"code": ["签到码为 6 位字母和数字，如 WN9WW4，请核对"]})
            registration = self.run(request, ops.check_in_registration, activity, body=body)
        except LianxinError as exc:
            return self._act_door(request, viewer, exc, typed_values(form))
        return self._act_door(request, viewer, typed={"activity_id": activity}, done=registration)


class _Target:
    """A room as the booking rules read it (``room.needs_approval``)."""

    def __init__(self, room: dict[str, Any]):
        self.needs_approval = bool(room.get("needs_approval"))
