"""Who is told what when an event arrives: a pure function from event to plan.

The plan names message types, their template variables and their recipients — by
person id (``data.person_id`` / ``person_ids`` name who an event concerns), by role of
the center (staff, admin) or as a party's handlers, both looked up in the directory —
and the reminders to schedule, move or withdraw. Nothing here touches a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from lianxin.contracts.events import events as ev
from lianxin.contracts.tickets import events as tk
from lianxin.contracts.tickets.operations import RATINGS
from lianxin.contracts.volunteers import events as vo
from lianxin.roles import PARTY_NAMES
from services.notify.rendering import SHANGHAI

REOPENED_BY = {"resident": "居民申请", "survey": "居民评价不满意", "meeting": "党建联席会决定"}
CHANGE_NAMES = {"starts_at": "开始时间", "ends_at": "结束时间", "place": "地点", "room": "功能室",
                "capacity": "名额", "title": "名称", "description": "介绍"}
#: When the day-before shift reminder goes out (Asia/Shanghai).
DAY_BEFORE_AT = time(18, 0)
#: The on-the-day shift reminder: two hours before, not before 07:00.
TODAY_LEAD = timedelta(hours=2)
TODAY_EARLIEST = time(7, 0)
ACTIVITY_LEAD = timedelta(hours=1)


@dataclass
class Message:
    """One message type to some recipients, with its template variables."""

    message_type: str
    context: dict[str, Any]
    persons: list[str] = field(default_factory=list)
    #: Roles of the center (from the directory), e.g. ("staff",).
    roles: tuple[str, ...] = ()
    #: The party whose handlers (directory entries with that ``party``) are told.
    party: str | None = None
    #: When nobody resolves, the message goes to this role's shared inbox (never dropped).
    fallback_role: str | None = None
    #: Who is not told (the actor who caused the event).
    exclude: tuple[str, ...] = ()
    ref_type: str | None = None
    ref_id: str | None = None


@dataclass
class Reminder:
    key: str
    person_id: str
    kind: str
    send_at: datetime
    data: dict[str, Any]


@dataclass
class Plan:
    messages: list[Message] = field(default_factory=list)
    schedule: list[Reminder] = field(default_factory=list)
    #: Move these reminders if they exist (never create them).
    reschedule: list[Reminder] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _ticket(data: dict[str, Any]) -> dict[str, Any]:
    ctx = dict(data)
    ctx["ticket_ref"] = data["ticket_id"][:8]
    ctx["party_name"] = PARTY_NAMES.get(data["party"], data["party"])
    return ctx


def _reporter(data: dict[str, Any]) -> list[str]:
    return [data["person_id"]] if data.get("person_id") else []


def _actor(data: dict[str, Any]) -> tuple[str, ...]:
    return (data["actor_id"],) if data.get("actor_id") else ()


def plan_tickets(etype: str, data: dict[str, Any]) -> Plan:
    ctx = _ticket(data)
    ref = {"ref_type": "ticket", "ref_id": data["ticket_id"]}
    plan = Plan()
    add = plan.messages.append
    if etype == tk.TICKET_CREATED:
        add(Message("ticket.created", ctx, roles=("staff",), fallback_role="staff", **ref))
    elif etype == tk.TICKET_ACKNOWLEDGED:
        add(Message("ticket.acknowledged.reporter", ctx, persons=_reporter(data), **ref))
        add(Message("ticket.acknowledged.handler", ctx, party=data["party"], exclude=_actor(data), **ref))
    elif etype == tk.TICKET_ASSIGNED:
        previous = data.get("previous_party")
        ctx["previous_party_name"] = PARTY_NAMES.get(previous, previous) if previous else None
        add(Message("ticket.assigned.handler", ctx, party=data["party"], fallback_role="staff",
                    exclude=_actor(data), **ref))
        add(Message("ticket.assigned.reporter", ctx, persons=_reporter(data), **ref))
    elif etype == tk.TICKET_RETURNED:
        add(Message("ticket.returned", ctx, roles=("staff",), fallback_role="staff",
                    exclude=_actor(data), **ref))
    elif etype == tk.TICKET_RESOLVED:
        ctx["rating_options"] = list(RATINGS.values())
        add(Message("ticket.survey", ctx, persons=_reporter(data), **ref))
    elif etype == tk.TICKET_SLA_BREACHED:
        duty = [data["duty_person_id"]] if data.get("duty_person_id") else []
        roles: tuple[str, ...] = () if duty else ("staff",)
        if data["level"] >= 2:
            roles = (*roles, "admin")
        add(Message("ticket.sla_breached", ctx, persons=duty, roles=roles, fallback_role="staff", **ref))
    elif etype == tk.TICKET_REOPENED:
        ctx["reopened_by_name"] = REOPENED_BY.get(data["by"], data["by"])
        add(Message("ticket.reopened.handler", ctx, party=data["party"], fallback_role="staff", **ref))
        add(Message("ticket.reopened.reporter", ctx, persons=_reporter(data), exclude=_actor(data), **ref))
    elif etype == tk.TICKET_CLOSED:
        ctx["rating_name"] = RATINGS.get(data["rating"]) if data.get("rating") else None
        add(Message("ticket.closed", ctx, persons=_reporter(data), **ref))
    elif etype == tk.TICKET_MERGED:
        ctx["primary_ref"] = data["primary_id"][:8]
        add(Message("ticket.merged", ctx, persons=_reporter(data),
                    ref_type="ticket", ref_id=data["primary_id"]))
    elif etype == tk.TICKET_ESCALATED:
        add(Message("ticket.escalated.reporter", ctx, persons=_reporter(data), **ref))
        add(Message("ticket.escalated.handler", ctx, party=data["party"], exclude=_actor(data), **ref))
    elif etype == tk.TICKET_RATED:
        ctx["rating_name"] = RATINGS.get(data["rating"], data["rating"])
        add(Message("ticket.rated", ctx, party=data["party"], **ref))
    return plan


def shift_reminders(data: dict[str, Any], now: datetime) -> list[Reminder]:
    """The day-before and on-the-day reminders of a shift still ahead."""
    person, starts = data["person_id"], data["starts_at"]
    local = starts.astimezone(SHANGHAI)
    day_before = datetime.combine(local.date() - timedelta(days=1), DAY_BEFORE_AT, SHANGHAI)
    today = max(starts - TODAY_LEAD, datetime.combine(local.date(), TODAY_EARLIEST, SHANGHAI))
    if today >= starts:
        today = starts - TODAY_LEAD / 2
    payload = {"shift_title": data["shift_title"], "starts_at": _iso(starts),
               "ends_at": _iso(data["ends_at"]), "place": data["place"], "shift_id": data["shift_id"]}
    out = []
    for suffix, kind, at in (("day_before", "reminder.shift_day_before", day_before),
                             ("today", "reminder.shift_today", today)):
        if at > now:
            out.append(Reminder(f"shift:{data['shift_id']}:{person}:{suffix}", person, kind, at, payload))
    return out


def shift_reminder_keys(shift_id: str, person_id: str) -> list[str]:
    return [f"shift:{shift_id}:{person_id}:day_before", f"shift:{shift_id}:{person_id}:today"]


def activity_reminder_key(activity_id: str, person_id: str) -> str:
    return f"activity:{activity_id}:{person_id}:hour_before"


def plan_volunteers(etype: str, data: dict[str, Any], now: datetime) -> Plan:
    plan = Plan()
    person = data.get("person_id")
    if not person:
        return plan
    persons = [person]
    if etype in (vo.SIGNUP_CONFIRMED, vo.SIGNUP_PROMOTED):
        code = "signup.confirmed" if etype == vo.SIGNUP_CONFIRMED else "signup.promoted"
        plan.messages.append(Message(code, dict(data), persons=persons, ref_type="shift",
                                     ref_id=data["shift_id"]))
        plan.schedule.extend(shift_reminders(data, now))
    elif etype == vo.SIGNUP_WAITLISTED:
        plan.messages.append(Message("signup.waitlisted", dict(data), persons=persons,
                                     ref_type="shift", ref_id=data["shift_id"]))
    elif etype == vo.SIGNUP_CANCELLED:
        plan.messages.append(Message("signup.cancelled", dict(data), persons=persons,
                                     ref_type="shift", ref_id=data["shift_id"]))
        plan.cancel.extend(shift_reminder_keys(data["shift_id"], person))
    elif etype in (vo.HOURS_APPROVED, vo.HOURS_REJECTED):
        code = "hours.approved" if etype == vo.HOURS_APPROVED else "hours.rejected"
        ctx = {"total_hours": None, "reason": None, **data}
        plan.messages.append(Message(code, ctx, persons=persons, ref_type="volunteer",
                                     ref_id=data["volunteer_id"]))
    elif etype == vo.MILESTONE_REACHED:
        plan.messages.append(Message("milestone.reached", dict(data), persons=persons,
                                     ref_type="volunteer", ref_id=data["volunteer_id"]))
    return plan


def _activity_reminder(person: str, activity_id: str, title: str, starts: datetime, place: str,
                       now: datetime) -> Reminder | None:
    at = starts - ACTIVITY_LEAD
    if at <= now:
        return None
    return Reminder(activity_reminder_key(activity_id, person), person, "reminder.activity_hour_before",
                    at, {"activity_title": title, "starts_at": _iso(starts), "place": place,
                         "activity_id": activity_id})


def plan_events(etype: str, data: dict[str, Any], now: datetime) -> Plan:
    plan = Plan()
    if etype in (ev.ROOM_REQUESTED, ev.ROOM_REJECTED):
        ctx = {"room_name": data.get("room") or "", "reason": None, **data}
        booking = {"ref_type": "booking", "ref_id": data["booking_id"]}
        if etype == ev.ROOM_REQUESTED:
            plan.messages.append(Message("room.requested", ctx, roles=("admin",), fallback_role="admin",
                                         exclude=(data.get("booked_by") or "",), **booking))
        elif data.get("booked_by"):
            plan.messages.append(Message("room.rejected", ctx, persons=[data["booked_by"]], **booking))
        return plan
    if "activity_id" not in data:
        return plan
    ref = {"ref_type": "activity", "ref_id": data["activity_id"]}
    if etype == ev.REGISTRATION_PENDING:
        plan.messages.append(Message("registration.pending", dict(data), persons=[data["person_id"]], **ref))
    elif etype == ev.REGISTRATION_REJECTED:
        plan.messages.append(Message("registration.rejected", {"reason": None, **data},
                                     persons=[data["person_id"]], **ref))
    elif etype in (ev.REGISTRATION_CONFIRMED, ev.REGISTRATION_PROMOTED):
        code = "registration.confirmed" if etype == ev.REGISTRATION_CONFIRMED else "registration.promoted"
        plan.messages.append(Message(code, dict(data), persons=[data["person_id"]], **ref))
        reminder = _activity_reminder(data["person_id"], data["activity_id"], data["activity_title"],
                                      data["starts_at"], data["place"], now)
        if reminder is not None:
            plan.schedule.append(reminder)
    elif etype == ev.REGISTRATION_WAITLISTED:
        plan.messages.append(Message("registration.waitlisted", dict(data), persons=[data["person_id"]], **ref))
    elif etype == ev.REGISTRATION_CANCELLED:
        # When the whole activity is cancelled, activity.cancelled tells the person once.
        if data.get("by") != "activity":
            plan.messages.append(Message("registration.cancelled", dict(data),
                                         persons=[data["person_id"]], **ref))
        plan.cancel.append(activity_reminder_key(data["activity_id"], data["person_id"]))
    elif etype == ev.ACTIVITY_CHANGED:
        ctx = dict(data)
        ctx["changes_text"] = "、".join(CHANGE_NAMES.get(c, c) for c in data["changes"]) or "活动信息"
        plan.messages.append(Message("activity.changed", ctx, persons=list(data["person_ids"]), **ref))
        for person in data["person_ids"]:
            reminder = _activity_reminder(person, data["activity_id"], data["title"],
                                          data["starts_at"], data["place"], now)
            if reminder is not None:
                plan.reschedule.append(reminder)
            else:
                plan.cancel.append(activity_reminder_key(data["activity_id"], person))
    elif etype == ev.ACTIVITY_CANCELLED:
        plan.messages.append(Message("activity.cancelled", dict(data), persons=list(data["person_ids"]), **ref))
        plan.cancel.extend(activity_reminder_key(data["activity_id"], p) for p in data["person_ids"])
    return plan


def plan_event(event: dict[str, Any], now: datetime) -> Plan:
    """The plan for one validated event (its ``data`` loaded by the contract)."""
    etype, data = event["type"], event["data"]
    service = etype.split(".")[2]
    if service == "tickets":
        return plan_tickets(etype, data)
    if service == "volunteers":
        return plan_volunteers(etype, data, now)
    if service == "events":
        return plan_events(etype, data, now)
    return Plan()


def plan_scheduled(kind: str, person_id: str, data: dict[str, Any], key: str) -> Message:
    """The message a due scheduled request becomes."""
    ref_type = ref_id = None
    if "shift_id" in data:
        ref_type, ref_id = "shift", str(data["shift_id"])
    elif "activity_id" in data:
        ref_type, ref_id = "activity", str(data["activity_id"])
    return Message(kind, dict(data), persons=[person_id], ref_type=ref_type, ref_id=ref_id)
