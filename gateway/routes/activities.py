"""Routes of programmes, activities, registrations, attendance and rooms (events service)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway.api import PUBLIC, Route, call, route
from gateway.base import GatewayBase
from gateway.routes import ADMIN, MEMBERS, STAFF
from lianxin.contracts.events import operations as ev

#: Residents act for themselves; staff for anyone.
REGISTRANTS = ("resident", *STAFF)
#: At the door: staff, and volunteers helping out.
DOOR = (*STAFF, "volunteer")
#: Attendance figures: staff, and the departments and ops granted the center.
READERS = (*STAFF, "department", "ops")


def ics(text: str, filename: str) -> Response:
    """An iCalendar document (text/calendar; charset=utf-8)."""
    return Response(text, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


#: The routes that only forward to an operation (see gateway.api.expose).
ROUTES: list[Route] = []


class ActivityRoutes(GatewayBase):
    # -- public ----------------------------------------------------------------------------

    @route("GET", "/api/v1/public/centers/<center_id>/activities.ics",
           summary="服务中心活动日历订阅（iCalendar，免登录）", tag="public", roles=PUBLIC)
    def public_activities_ics(self, req, center_id: str) -> Any:
        """The center's activities — published, cancelled and completed, from 30 days back —
        for a phone's calendar app to subscribe to (it cannot log in). Drafts never show."""
        center = call(self.tickets_rpc.get_center, center_id)  # 404 for an unknown center
        return ics(call(self.events_rpc.public_activities_ics, center_id, f"{center['name']}活动"),
                   f"{center_id}-activities.ics")

    # -- programmes ------------------------------------------------------------------------

    @route("GET", "/api/v1/programmes", summary="服务项目", tag="activities", roles=MEMBERS,
           response=ev.ProgrammeRead, many=True)
    def list_programmes(self, req) -> Any:
        return call(self.events_rpc.list_programmes, req.center)

    @route("POST", "/api/v1/programmes", summary="新增服务项目", tag="activities", roles=ADMIN,
           body=ev.ProgrammeCreate, response=ev.ProgrammeRead, status=201)
    def add_programme(self, req) -> Any:
        return call(self.events_rpc.add_programme, req.center, req.body)

    # -- activities ------------------------------------------------------------------------

    @route("POST", "/api/v1/activities", summary="发布活动", tag="activities", roles=STAFF,
           body=ev.ActivityCreate, response=ev.ActivityRead, status=201)
    def create_activity(self, req) -> Any:
        """In a room (booked for the activity's time; 409 if taken) or at a place.
        ``publish: false`` keeps a draft only staff see."""
        return call(self.events_rpc.create_activity, req.center, req.body)

    @route("GET", "/api/v1/activities", summary="活动列表", tag="activities", roles=MEMBERS,
           query=ev.ActivityQuery, response=ev.ActivityList)
    def list_activities(self, req) -> Any:
        """Upcoming activities by default (``when=past`` or ``all`` for the record)."""
        return call(self.events_rpc.list_activities, req.center, req.query)

    @route("POST", "/api/v1/activities/records", summary="补录已举办的活动及参与人次",
           tag="activities", roles=STAFF, body=ev.ActivityRecords,
           response=ev.ActivityRecordsRead, status=201)
    def record_activities(self, req) -> Any:
        """Activities already held, with the attendance of their sign-in sheets (up to 500)."""
        return call(self.events_rpc.record_activities, req.center, req.body, timeout=30)

    @route("GET", "/api/v1/activities/<activity_id>", summary="活动详情", tag="activities",
           roles=MEMBERS, response=ev.ActivityRead)
    def get_activity(self, req, activity_id: str) -> Any:
        return call(self.events_rpc.get_activity, req.center, activity_id)

    @route("PATCH", "/api/v1/activities/<activity_id>", summary="修改活动", tag="activities",
           roles=STAFF, body=ev.ActivityUpdate, response=ev.ActivityRead)
    def update_activity(self, req, activity_id: str) -> Any:
        """Registrants and the waitlist are told of a new title, time, place or capacity."""
        return call(self.events_rpc.update_activity, req.center, activity_id, req.body)

    @route("POST", "/api/v1/activities/<activity_id>/publish", summary="发布活动草稿",
           tag="activities", roles=STAFF, response=ev.ActivityRead)
    def publish_activity(self, req, activity_id: str) -> Any:
        return call(self.events_rpc.publish_activity, req.center, activity_id)

    @route("POST", "/api/v1/activities/<activity_id>/cancel", summary="取消活动",
           tag="activities", roles=STAFF, body=ev.ActivityCancel, response=ev.ActivityRead)
    def cancel_activity(self, req, activity_id: str) -> Any:
        """Everyone registered or waitlisted is told; the room is released."""
        return call(self.events_rpc.cancel_activity, req.center, activity_id, req.body)

    @route("GET", "/api/v1/activities/<activity_id>.ics", summary="活动日历文件（iCalendar）",
           tag="activities", roles=MEMBERS)
    def activity_ics(self, req, activity_id: str) -> Any:
        """``text/calendar`` (RFC 5545): one VEVENT; a changed activity has a higher SEQUENCE,
        a cancelled one STATUS:CANCELLED."""
        return ics(call(self.events_rpc.activity_ics, req.center, activity_id),
                   f"activity-{activity_id}.ics")

    # -- registrations and the door --------------------------------------------------------

    @route("POST", "/api/v1/activities/<activity_id>/registrations", summary="报名活动",
           tag="registrations", roles=REGISTRANTS, body=ev.RegistrationCreate,
           response=ev.RegistrationRead, status=201)
    def register_for_activity(self, req, activity_id: str) -> Any:
        """A resident registers with the family ``members`` they bring (each takes a place);
        past capacity the registration is waitlisted. Staff register a resident by ``person_id``."""
        return call(self.events_rpc.register, req.center, activity_id, req.body)

    @route("GET", "/api/v1/activities/<activity_id>/registrations", summary="活动报名名单",
           tag="registrations", roles=REGISTRANTS, query=ev.RegistrationQuery,
           response=ev.RegistrationList)
    def activity_registrations(self, req, activity_id: str) -> Any:
        """Staff see everyone; a resident sees their own registration."""
        return call(self.events_rpc.list_registrations, req.center,
                    {**req.query, "activity_id": activity_id})

    @route("POST", "/api/v1/activities/<activity_id>/check-in", summary="活动签到",
           tag="registrations", roles=DOOR, body=ev.CheckIn, response=ev.RegistrationRead)
    def check_in_registration(self, req, activity_id: str) -> Any:
        """By registration id or the registrant's code, from an hour before the start to an
        hour after the end."""
        return call(self.events_rpc.check_in, req.center, activity_id, req.body)

    @route("POST", "/api/v1/activities/<activity_id>/walk-ins", summary="登记现场参与人数",
           tag="registrations", roles=DOOR, body=ev.WalkIns, response=ev.ActivityRead)
    def record_walk_ins(self, req, activity_id: str) -> Any:
        return call(self.events_rpc.record_walk_ins, req.center, activity_id, req.body)

    @route("GET", "/api/v1/registrations", summary="报名记录", tag="registrations",
           roles=REGISTRANTS, query=ev.RegistrationQuery, response=ev.RegistrationList)
    def list_registrations(self, req) -> Any:
        """A resident's own registrations; staff filter by person or activity."""
        return call(self.events_rpc.list_registrations, req.center, req.query)

    @route("GET", "/api/v1/registrations/<registration_id>", summary="报名详情",
           tag="registrations", roles=REGISTRANTS, response=ev.RegistrationRead)
    def get_registration(self, req, registration_id: str) -> Any:
        return call(self.events_rpc.get_registration, req.center, registration_id)

    @route("DELETE", "/api/v1/registrations/<registration_id>", summary="取消报名",
           tag="registrations", roles=REGISTRANTS, query=ev.RegistrationCancel,
           response=ev.RegistrationRead)
    def cancel_registration(self, req, registration_id: str) -> Any:
        """The places go to the waitlist, first come first served."""
        return call(self.events_rpc.cancel_registration, req.center, registration_id, req.query)

    @route("POST", "/api/v1/registrations/<registration_id>/approve", summary="通过报名审核",
           tag="registrations", roles=STAFF, response=ev.RegistrationRead)
    def approve_registration(self, req, registration_id: str) -> Any:
        return call(self.events_rpc.approve_registration, req.center, registration_id)

    @route("POST", "/api/v1/registrations/<registration_id>/reject", summary="驳回报名",
           tag="registrations", roles=STAFF, body=ev.Rejection, response=ev.RegistrationRead)
    def reject_registration(self, req, registration_id: str) -> Any:
        return call(self.events_rpc.reject_registration, req.center, registration_id, req.body)

    # -- attendance and the calendar --------------------------------------------------------

    @route("GET", "/api/v1/attendance/stats", summary="活动参与人次统计", tag="activities",
           roles=READERS, query=ev.AttendanceQuery, response=ev.AttendanceStats)
    def attendance_stats(self, req) -> Any:
        """Activities held and person-times, by programme, audience, month or activity."""
        return call(self.events_rpc.attendance_stats, req.center, req.query)

    @route("GET", "/api/v1/calendar", summary="一周活动与功能室安排", tag="activities",
           roles=MEMBERS, query=ev.CalendarQuery, response=ev.CalendarRead)
    def week_calendar(self, req) -> Any:
        """``?week=2026-W49`` (ISO week, Asia/Shanghai; default this week), ``&room=``."""
        return call(self.events_rpc.week_calendar, req.center, req.query)

    # -- rooms -----------------------------------------------------------------------------

    @route("GET", "/api/v1/rooms", summary="功能室", tag="rooms", roles=MEMBERS,
           response=ev.RoomRead, many=True)
    def list_rooms(self, req) -> Any:
        return call(self.events_rpc.list_rooms, req.center)

    @route("POST", "/api/v1/rooms", summary="新增功能室", tag="rooms", roles=ADMIN,
           body=ev.RoomCreate, response=ev.RoomRead, status=201)
    def add_room(self, req) -> Any:
        return call(self.events_rpc.add_room, req.center, req.body)

    @route("PATCH", "/api/v1/rooms/<code>", summary="修改功能室", tag="rooms", roles=ADMIN,
           body=ev.RoomUpdate, response=ev.RoomRead)
    def update_room(self, req, code: str) -> Any:
        return call(self.events_rpc.update_room, req.center, code, req.body)

    @route("GET", "/api/v1/rooms/<code>/bookings", summary="功能室预约情况", tag="rooms",
           roles=MEMBERS, query=ev.BookingQuery, response=ev.BookingList)
    def room_bookings(self, req, code: str) -> Any:
        return call(self.events_rpc.list_bookings, req.center, req.query, code)

    @route("POST", "/api/v1/rooms/<code>/bookings", summary="预约功能室", tag="rooms",
           roles=MEMBERS, body=ev.BookingCreate, response=ev.BookingList, status=201)
    def book_room(self, req, code: str) -> Any:
        """Never overlapping another booking (409 naming the clash). ``repeat_weeks`` books the
        same slot weekly, all or nothing. Residents' requests, and staff's in rooms that need
        approval, wait as ``pending``."""
        return call(self.events_rpc.book_room, req.center, code, req.body)

    @route("GET", "/api/v1/rooms/<code>.ics", summary="功能室预约日历（iCalendar）", tag="rooms",
           roles=MEMBERS)
    def room_ics(self, req, code: str) -> Any:
        """``text/calendar`` (RFC 5545): the room's bookings from 30 days ago on; those
        awaiting approval are TENTATIVE."""
        return ics(call(self.events_rpc.room_ics, req.center, code), f"room-{code}.ics")

    @route("GET", "/api/v1/bookings", summary="预约记录", tag="rooms", roles=MEMBERS,
           query=ev.BookingQuery, response=ev.BookingList)
    def list_bookings(self, req) -> Any:
        """Staff: every booking (``?state=pending`` for approvals); others: their own requests."""
        return call(self.events_rpc.list_bookings, req.center, req.query)

    @route("POST", "/api/v1/bookings/<booking_id>/approve", summary="批准功能室预约", tag="rooms",
           roles=STAFF, response=ev.BookingRead)
    def approve_booking(self, req, booking_id: str) -> Any:
        return call(self.events_rpc.approve_booking, req.center, booking_id)

    @route("POST", "/api/v1/bookings/<booking_id>/reject", summary="驳回功能室预约", tag="rooms",
           roles=STAFF, body=ev.Rejection, response=ev.BookingRead)
    def reject_booking(self, req, booking_id: str) -> Any:
        return call(self.events_rpc.reject_booking, req.center, booking_id, req.body)

    @route("DELETE", "/api/v1/bookings/<booking_id>", summary="取消功能室预约", tag="rooms",
           roles=MEMBERS, query=ev.BookingCancel, response=ev.BookingList)
    def cancel_booking(self, req, booking_id: str) -> Any:
        """``?series=true`` also cancels the later weeks of a weekly booking."""
        return call(self.events_rpc.cancel_booking, req.center, booking_id, req.query)
