"""Who is told what of volunteering: signups (with the shift's reminders), hours and
milestones."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from lianxin.clock import SHANGHAI
from lianxin.contracts.volunteers import events as vo
from services.notify.plans import EventData, Message, Plan, Reminder, iso

#: When the day-before shift reminder goes out (Asia/Shanghai).
DAY_BEFORE_AT = time(18, 0)
#: The on-the-day shift reminder: two hours before, not before 07:00.
TODAY_LEAD = timedelta(hours=2)
TODAY_EARLIEST = time(7, 0)


def shift_reminders(data: EventData, now: datetime) -> list[Reminder]:
    """The day-before and on-the-day reminders of a shift still ahead."""
    person, starts = data["person_id"], data["starts_at"]
    local = starts.astimezone(SHANGHAI)
    day_before = datetime.combine(local.date() - timedelta(days=1), DAY_BEFORE_AT, SHANGHAI)
    today = max(starts - TODAY_LEAD, datetime.combine(local.date(), TODAY_EARLIEST, SHANGHAI))
    if today >= starts:
        today = starts - TODAY_LEAD / 2
    payload = {
        "shift_title": data["shift_title"],
        "starts_at": iso(starts),
        "ends_at": iso(data["ends_at"]),
        "place": data["place"],
        "shift_id": data["shift_id"],
    }
    out = []
    for suffix, kind, at in (
        ("day_before", "reminder.shift_day_before", day_before),
        ("today", "reminder.shift_today", today),
    ):
        if at > now:
            out.append(
                Reminder(f"shift:{data['shift_id']}:{person}:{suffix}", person, kind, at, payload)
            )
    return out


def shift_reminder_keys(shift_id: str, person_id: str) -> list[str]:
    return [f"shift:{shift_id}:{person_id}:day_before", f"shift:{shift_id}:{person_id}:today"]


def plan(etype: str, data: EventData, now: datetime) -> Plan:
    plan = Plan()
    person = data.get("person_id")
    if not person:
        return plan
    persons = [person]
    if etype in (vo.SIGNUP_CONFIRMED, vo.SIGNUP_PROMOTED):
        code = "signup.confirmed" if etype == vo.SIGNUP_CONFIRMED else "signup.promoted"
        plan.messages.append(
            Message(code, dict(data), persons=persons, ref_type="shift", ref_id=data["shift_id"])
        )
        plan.schedule.extend(shift_reminders(data, now))
    elif etype == vo.SIGNUP_WAITLISTED:
        plan.messages.append(
            Message(
                "signup.waitlisted",
                dict(data),
                persons=persons,
                ref_type="shift",
                ref_id=data["shift_id"],
            )
        )
    elif etype == vo.SIGNUP_CANCELLED:
        plan.messages.append(
            Message(
                "signup.cancelled",
                dict(data),
                persons=persons,
                ref_type="shift",
                ref_id=data["shift_id"],
            )
        )
        plan.cancel.extend(shift_reminder_keys(data["shift_id"], person))
    elif etype in (vo.HOURS_APPROVED, vo.HOURS_REJECTED):
        code = "hours.approved" if etype == vo.HOURS_APPROVED else "hours.rejected"
        ctx = {"total_hours": None, "reason": None, **data}
        plan.messages.append(
            Message(code, ctx, persons=persons, ref_type="volunteer", ref_id=data["volunteer_id"])
        )
    elif etype == vo.MILESTONE_REACHED:
        plan.messages.append(
            Message(
                "milestone.reached",
                dict(data),
                persons=persons,
                ref_type="volunteer",
                ref_id=data["volunteer_id"],
            )
        )
    return plan
