"""A center's week (activities and room bookings) and iCalendar (RFC 5545) exports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.clock import local, now_utc
from lianxin.contracts.events.operations import AUDIENCES, parse_week
from lianxin.roles import Principal
from services.events import rooms
from services.events.activities import get_activity
from services.events.attendance import day_start
from services.events.models import ACTIVE_BOOKING, Activity, Programme, Room, RoomBooking
from services.events.rooms import place_of

PRODID = "-//Lianxin 连心桥//events//ZH"
UID_DOMAIN = "lianxin.cn"
#: A room's feed: bookings from this long ago on (calendar apps keep what they saw before).
#: What residents (and the public calendar) see of activities; staff see drafts too.
PUBLIC_ACTIVITY_STATES = ("published", "cancelled", "completed")
FEED_PAST = timedelta(days=30)
FEED_FUTURE = timedelta(days=400)


def week_bounds(week: str | None, now: datetime) -> tuple[str, datetime, datetime]:
    """(``YYYY-Www``, Monday 00:00, next Monday 00:00) in Asia/Shanghai; default this week."""
    if week:
        year, number = parse_week(week)
    else:
        year, number, _ = local(now).isocalendar()
    monday = date.fromisocalendar(year, number, 1)
    return f"{year}-W{number:02d}", day_start(monday), day_start(monday + timedelta(days=7))


def week_calendar(
    *,
    db_session: Session,
    center_id: str,
    week: str | None,
    actor: Principal,
    room: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything on in the center in an ISO week: activities, and rooms booked for other uses.

    Residents see published (and cancelled) activities and confirmed bookings; staff also
    see drafts and bookings awaiting approval.
    """
    now = now or now_utc()
    label, start, end = week_bounds(week, now)
    names = rooms.room_names(db_session=db_session, center_id=center_id)
    if room and room not in names:
        rooms.get_room(db_session=db_session, center_id=center_id, code=room)
    states = ("draft", *PUBLIC_ACTIVITY_STATES) if actor.is_staff else PUBLIC_ACTIVITY_STATES
    where = [
        Activity.center_id == center_id,
        Activity.state.in_(states),
        Activity.starts_at < end,
        Activity.ends_at > start,
    ]
    if room:
        where.append(Activity.room == room)
    items = [
        _entry(
            "activity",
            a.id,
            a.title,
            a.starts_at,
            a.ends_at,
            a.room,
            names,
            a.place,
            a.state,
            a.audience,
            a.programme,
        )
        for a in db_session.scalars(select(Activity).where(*where))
    ]
    booking_states = ACTIVE_BOOKING if actor.is_staff else ("confirmed",)
    where = [
        RoomBooking.center_id == center_id,
        RoomBooking.activity_id.is_(None),
        RoomBooking.state.in_(booking_states),
        RoomBooking.starts_at < end,
        RoomBooking.ends_at > start,
    ]
    if room:
        where.append(RoomBooking.room == room)
    items += [
        _entry(
            "booking",
            b.id,
            b.purpose,
            b.starts_at,
            b.ends_at,
            b.room,
            names,
            "",
            b.state,
            None,
            None,
        )
        for b in db_session.scalars(select(RoomBooking).where(*where))
    ]
    items.sort(key=lambda item: (item["starts_at"], item["kind"], item["id"]))
    return {"week": label, "starts_at": start, "ends_at": end, "items": items}


def _entry(
    kind: str,
    id_: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    room: str | None,
    names: dict[str, str],
    place: str,
    state: str,
    audience: str | None,
    programme: str | None,
) -> dict[str, Any]:
    room_name = names.get(room) if room else None
    return {
        "kind": kind,
        "id": id_,
        "title": title,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "room": room,
        "room_name": room_name,
        "place": place or room_name or "",
        "state": state,
        "audience": audience,
        "programme": programme,
    }


# -- iCalendar -------------------------------------------------------------------------------


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    return cal


def _event(
    uid: str,
    summary: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str,
    status: str,
    stamp: datetime,
    sequence: int = 0,
    description: str = "",
) -> Event:
    event = Event()
    event.add("uid", f"{uid}@{UID_DOMAIN}")
    # In UTC (…Z): icalendar writes other fixed offsets as floating local times.
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", starts_at.astimezone(UTC))
    event.add("dtend", ends_at.astimezone(UTC))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    event.add("status", status)
    event.add("sequence", sequence)
    return event


def activity_ics(
    *,
    db_session: Session,
    center_id: str,
    activity_id: str,
    actor: Principal,
    now: datetime | None = None,
) -> str:
    """One activity as an iCalendar file (cancelled activities say STATUS:CANCELLED)."""
    activity = get_activity(
        db_session=db_session, center_id=center_id, activity_id=activity_id, actor=actor
    )
    cal = _calendar(activity.title)
    cal.add_component(_activity_event(db_session, activity))
    return cal.to_ical().decode("utf-8")


def center_activities_ics(
    *, db_session: Session, center_id: str, name: str, now: datetime | None = None
) -> str:
    """The center's activity calendar for anyone to subscribe to (a phone's calendar app
    can't log in): what residents see — published, cancelled and completed activities, from
    30 days back on; drafts never."""
    now = now or now_utc()
    activities = db_session.scalars(
        select(Activity)
        .where(
            Activity.center_id == center_id,
            Activity.state.in_(PUBLIC_ACTIVITY_STATES),
            Activity.ends_at > now - FEED_PAST,
            Activity.starts_at < now + FEED_FUTURE,
        )
        .order_by(Activity.starts_at, Activity.id)
    )
    cal = _calendar(name)
    for activity in activities:
        cal.add_component(_activity_event(db_session, activity))
    return cal.to_ical().decode("utf-8")


def _activity_event(db_session: Session, activity: Activity) -> Event:
    status = {"cancelled": "CANCELLED", "draft": "TENTATIVE"}.get(activity.state, "CONFIRMED")
    lines = [activity.description] if activity.description else []
    if activity.programme:
        programme = db_session.get(Programme, (activity.center_id, activity.programme))
        lines.append(f"项目：{programme.name if programme else activity.programme}")
    lines.append(f"对象：{AUDIENCES.get(activity.audience, activity.audience)}")
    if activity.state == "cancelled" and activity.cancel_reason:
        lines.append(f"已取消：{activity.cancel_reason}")
    return _event(
        f"activity-{activity.id}",
        activity.title,
        activity.starts_at,
        activity.ends_at,
        place_of(db_session, activity),
        status,
        activity.updated_at or activity.created_at,
        activity.sequence,
        "\n".join(lines),
    )


def room_ics(*, db_session: Session, center_id: str, code: str, now: datetime | None = None) -> str:
    """A room's bookings (last 30 days on) as an iCalendar feed; pending ones are TENTATIVE."""
    now = now or now_utc()
    room: Room = rooms.get_room(db_session=db_session, center_id=center_id, code=code)
    bookings = db_session.scalars(
        select(RoomBooking)
        .where(
            RoomBooking.center_id == center_id,
            RoomBooking.room == code,
            RoomBooking.state.in_(ACTIVE_BOOKING),
            RoomBooking.ends_at > now - FEED_PAST,
            RoomBooking.starts_at < now + FEED_FUTURE,
        )
        .order_by(RoomBooking.starts_at)
    )
    cal = _calendar(room.name)
    for booking in bookings:
        cal.add_component(
            _event(
                f"booking-{booking.id}",
                booking.purpose,
                booking.starts_at,
                booking.ends_at,
                room.name,
                "CONFIRMED" if booking.state == "confirmed" else "TENTATIVE",
                booking.decided_at or booking.created_at,
            )
        )
    return cal.to_ical().decode("utf-8")
