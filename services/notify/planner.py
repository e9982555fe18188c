"""Who is told what when an event arrives: a pure function from event to plan.

The plan names message types, their template variables and their recipients — by
person id (``data.person_id`` / ``person_ids`` name who an event concerns), by role of
the center (staff, admin) or as a party's handlers, both looked up in the directory —
and the reminders to schedule, move or withdraw. Nothing here touches a database.
Each publishing service's events are planned in a module of their own:
:mod:`~services.notify.ticket_plans`, :mod:`~services.notify.volunteer_plans`,
:mod:`~services.notify.activity_plans`, :mod:`~services.notify.report_plans`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notify import activity_plans, report_plans, ticket_plans, volunteer_plans
from services.notify.plans import Event, Message, Plan


def plan_event(event: Event, now: datetime) -> Plan:
    """The plan for one validated event (its ``data`` loaded by the contract)."""
    etype, data = event["type"], event["data"]
    service = etype.split(".")[2]
    if service == "tickets":
        return ticket_plans.plan(etype, data)
    if service == "volunteers":
        return volunteer_plans.plan(etype, data, now)
    if service == "events":
        return activity_plans.plan(etype, data, now)
    if service == "reports":
        return report_plans.plan(etype, data, event["centerid"])
    return Plan()


def plan_scheduled(kind: str, person_id: str, data: dict[str, Any], key: str) -> Message:
    """The message a due scheduled request becomes."""
    ref_type = ref_id = None
    if "shift_id" in data:
        ref_type, ref_id = "shift", str(data["shift_id"])
    elif "activity_id" in data:
        ref_type, ref_id = "activity", str(data["activity_id"])
    return Message(kind, dict(data), persons=[person_id], ref_type=ref_type, ref_id=ref_id)
