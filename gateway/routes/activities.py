"""Routes of programmes, activities, registrations, attendance and rooms (events service).

Every route forwards to one of the events service's operations; only the iCalendar
downloads are written out (they answer ``text/calendar``, and the public feed looks its
center up first).
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway.api import ApiRequest, Route, call, expose, route
from gateway.base import GatewayBase
from lianxin.contracts.events import operations as ev


def ics(text: str, filename: str) -> Response:
    """An iCalendar document (text/calendar; charset=utf-8)."""
    return Response(
        text,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


#: The routes that only forward to an operation (see gateway.api.expose).
ROUTES: list[Route] = [
    # public
    expose(
        "GET",
        "/api/v1/public/centers/<center_id>/activities",
        ev.list_public_activities,
        tag="public",
    ),
    # programmes
    expose("GET", "/api/v1/programmes", ev.list_programmes, tag="activities"),
    expose("POST", "/api/v1/programmes", ev.add_programme, tag="activities", status=201),
    # activities
    expose("POST", "/api/v1/activities", ev.create_activity, tag="activities", status=201),
    expose("GET", "/api/v1/activities", ev.list_activities, tag="activities"),
    expose(
        "POST", "/api/v1/activities/records", ev.record_activities, tag="activities", status=201
    ),
    expose("GET", "/api/v1/activities/<activity_id>", ev.get_activity, tag="activities"),
    expose("PATCH", "/api/v1/activities/<activity_id>", ev.update_activity, tag="activities"),
    expose(
        "POST", "/api/v1/activities/<activity_id>/publish", ev.publish_activity, tag="activities"
    ),
    expose("POST", "/api/v1/activities/<activity_id>/cancel", ev.cancel_activity, tag="activities"),
    # registrations and the door
    expose(
        "POST",
        "/api/v1/activities/<activity_id>/registrations",
        ev.register_for_activity,
        tag="registrations",
        status=201,
    ),
    expose(
        "GET",
        "/api/v1/activities/<activity_id>/registrations",
        ev.list_activity_registrations,
        tag="registrations",
    ),
    expose(
        "POST",
        "/api/v1/activities/<activity_id>/check-in",
        ev.check_in_registration,
        tag="registrations",
    ),
    expose(
        "POST", "/api/v1/activities/<activity_id>/walk-ins", ev.record_walk_ins, tag="registrations"
    ),
    expose("GET", "/api/v1/registrations", ev.list_registrations, tag="registrations"),
    expose(
        "GET", "/api/v1/registrations/<registration_id>", ev.get_registration, tag="registrations"
    ),
    expose(
        "DELETE",
        "/api/v1/registrations/<registration_id>",
        ev.cancel_registration,
        tag="registrations",
    ),
    expose(
        "POST",
        "/api/v1/registrations/<registration_id>/approve",
        ev.approve_registration,
        tag="registrations",
    ),
    expose(
        "POST",
        "/api/v1/registrations/<registration_id>/reject",
        ev.reject_registration,
        tag="registrations",
    ),
    # attendance and the calendar
    expose("GET", "/api/v1/attendance/stats", ev.attendance_stats, tag="activities"),
    expose("GET", "/api/v1/calendar", ev.week_calendar, tag="activities"),
    # rooms and bookings
    expose("GET", "/api/v1/rooms", ev.list_rooms, tag="rooms"),
    expose("POST", "/api/v1/rooms", ev.add_room, tag="rooms", status=201),
    expose("GET", "/api/v1/rooms/<code>", ev.get_room, tag="rooms"),
    expose("PATCH", "/api/v1/rooms/<code>", ev.update_room, tag="rooms"),
    expose("GET", "/api/v1/rooms/<code>/bookings", ev.list_room_bookings, tag="rooms"),
    expose("POST", "/api/v1/rooms/<code>/bookings", ev.book_room, tag="rooms", status=201),
    expose("GET", "/api/v1/bookings", ev.list_bookings, tag="rooms"),
    expose("POST", "/api/v1/bookings/<booking_id>/approve", ev.approve_booking, tag="rooms"),
    expose("POST", "/api/v1/bookings/<booking_id>/reject", ev.reject_booking, tag="rooms"),
    expose("DELETE", "/api/v1/bookings/<booking_id>", ev.cancel_booking, tag="rooms"),
]


class ActivityRoutes(GatewayBase):
    """The iCalendar downloads: what answers ``text/calendar`` rather than JSON."""

    @route(
        "GET",
        "/api/v1/public/centers/<center_id>/activities.ics",
        tag="public",
        op=ev.public_activities_ics,
    )
    def public_activities_ics(self, req: ApiRequest, center_id: str) -> Any:
        """The center's activities — published, cancelled and completed, from 30 days back —
        for a phone's calendar app to subscribe to (it cannot log in). Drafts never show."""
        center = call(self.tickets_rpc.get_center, center_id)  # 404 for an unknown center
        return ics(
            call(self.events_rpc.public_activities_ics, center_id, f"{center['name']}活动"),
            f"{center_id}-activities.ics",
        )

    @route("GET", "/api/v1/activities/<activity_id>.ics", tag="activities", op=ev.activity_ics)
    def activity_ics(self, req: ApiRequest, activity_id: str) -> Any:
        return ics(
            call(self.events_rpc.activity_ics, req.center, activity_id),
            f"activity-{activity_id}.ics",
        )

    @route("GET", "/api/v1/rooms/<code>.ics", tag="rooms", op=ev.room_ics)
    def room_ics(self, req: ApiRequest, code: str) -> Any:
        return ics(call(self.events_rpc.room_ics, req.center, code), f"room-{code}.ics")
