"""Who is told what of activities (registrations, with the hour-before reminder; changes
and cancellations) and room bookings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from lianxin.contracts.events import events as ev
from services.notify.plans import EventData, Message, Plan, Reminder, iso

CHANGE_NAMES = {
    "starts_at": "开始时间",
    "ends_at": "结束时间",
    "place": "地点",
    "room": "功能室",
    "capacity": "名额",
    "title": "名称",
    "description": "介绍",
}
ACTIVITY_LEAD = timedelta(hours=1)


def activity_reminder_key(activity_id: str, person_id: str) -> str:
    return f"activity:{activity_id}:{person_id}:hour_before"


def _activity_reminder(
    person: str, activity_id: str, title: str, starts: datetime, place: str, now: datetime
) -> Reminder | None:
    at = starts - ACTIVITY_LEAD
    if at <= now:
        return None
    return Reminder(
        activity_reminder_key(activity_id, person),
        person,
        "reminder.activity_hour_before",
        at,
        {
            "activity_title": title,
            "starts_at": iso(starts),
            "place": place,
            "activity_id": activity_id,
        },
    )


def _room(etype: str, data: EventData) -> Plan:
    ctx = {"room_name": data.get("room") or "", "reason": None, **data}
    booking = {"ref_type": "booking", "ref_id": data["booking_id"]}
    if etype == ev.ROOM_REQUESTED:
        return Plan(
            [
                Message(
                    "room.requested",
                    ctx,
                    roles=("admin",),
                    fallback_role="admin",
                    exclude=(data.get("booked_by") or "",),
                    **booking,
                )
            ]
        )
    if data.get("booked_by"):
        return Plan([Message("room.rejected", ctx, persons=[data["booked_by"]], **booking)])
    return Plan()


def _activity_ref(data: EventData) -> dict[str, Any]:
    return {"ref_type": "activity", "ref_id": data["activity_id"]}


def _to_registrant(code: str) -> Callable[[EventData, datetime], Plan]:
    """The plan that tells the registered person ``code`` (and nothing else)."""

    def plan(data: EventData, now: datetime) -> Plan:
        return Plan(
            [
                Message(
                    code,
                    {"reason": None, **data} if code == "registration.rejected" else dict(data),
                    persons=[data["person_id"]],
                    **_activity_ref(data),
                )
            ]
        )

    return plan


def _registered(code: str) -> Callable[[EventData, datetime], Plan]:
    """A confirmed (or promoted) registration: told, and reminded an hour before."""

    def plan(data: EventData, now: datetime) -> Plan:
        out = Plan([Message(code, dict(data), persons=[data["person_id"]], **_activity_ref(data))])
        reminder = _activity_reminder(
            data["person_id"],
            data["activity_id"],
            data["activity_title"],
            data["starts_at"],
            data["place"],
            now,
        )
        if reminder is not None:
            out.schedule.append(reminder)
        return out

    return plan


def _registration_cancelled(data: EventData, now: datetime) -> Plan:
    out = Plan(cancel=[activity_reminder_key(data["activity_id"], data["person_id"])])
    # When the whole activity is cancelled, activity.cancelled tells the person once.
    if data.get("by") != "activity":
        out.messages.append(
            Message(
                "registration.cancelled",
                dict(data),
                persons=[data["person_id"]],
                **_activity_ref(data),
            )
        )
    return out


def _activity_changed(data: EventData, now: datetime) -> Plan:
    ctx = dict(data)
    ctx["changes_text"] = "、".join(CHANGE_NAMES.get(c, c) for c in data["changes"]) or "活动信息"
    out = Plan(
        [Message("activity.changed", ctx, persons=list(data["person_ids"]), **_activity_ref(data))]
    )
    for person in data["person_ids"]:
        reminder = _activity_reminder(
            person, data["activity_id"], data["title"], data["starts_at"], data["place"], now
        )
        if reminder is not None:
            out.reschedule.append(reminder)
        else:
            out.cancel.append(activity_reminder_key(data["activity_id"], person))
    return out


def _activity_cancelled(data: EventData, now: datetime) -> Plan:
    return Plan(
        [
            Message(
                "activity.cancelled",
                dict(data),
                persons=list(data["person_ids"]),
                **_activity_ref(data),
            )
        ],
        cancel=[activity_reminder_key(data["activity_id"], p) for p in data["person_ids"]],
    )


#: The plans of activities' events, by type (those not here tell nobody).
ACTIVITY_PLANS: dict[str, Callable[[EventData, datetime], Plan]] = {
    ev.REGISTRATION_PENDING: _to_registrant("registration.pending"),
    ev.REGISTRATION_REJECTED: _to_registrant("registration.rejected"),
    ev.REGISTRATION_CONFIRMED: _registered("registration.confirmed"),
    ev.REGISTRATION_PROMOTED: _registered("registration.promoted"),
    ev.REGISTRATION_WAITLISTED: _to_registrant("registration.waitlisted"),
    ev.REGISTRATION_CANCELLED: _registration_cancelled,
    ev.ACTIVITY_CHANGED: _activity_changed,
    ev.ACTIVITY_CANCELLED: _activity_cancelled,
}


def plan(etype: str, data: EventData, now: datetime) -> Plan:
    """The plan of an event of the events service (activities and rooms)."""
    if etype in (ev.ROOM_REQUESTED, ev.ROOM_REJECTED):
        return _room(etype, data)
    plan = ACTIVITY_PLANS.get(etype)
    if plan is None or "activity_id" not in data:
        return Plan()
    return plan(data, now)
