"""Who is told what of a ticket: one planner per event type (the types not in
:data:`TICKET_MESSAGES` tell nobody)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lianxin.contracts.tickets import events as tk
from lianxin.contracts.tickets.operations import RATINGS
from lianxin.roles import PARTY_NAMES
from services.notify.plans import EventData, Message, Plan

REOPENED_BY = {"resident": "居民申请", "survey": "居民评价不满意", "meeting": "党建联席会决定"}


def _ticket(data: EventData) -> dict[str, Any]:
    ctx = dict(data)
    ctx["ticket_ref"] = data["ticket_id"][:8]
    ctx["party_name"] = PARTY_NAMES.get(data["party"], data["party"])
    return ctx


def _reporter(data: EventData) -> list[str]:
    return [data["person_id"]] if data.get("person_id") else []


def _actor(data: EventData) -> tuple[str, ...]:
    return (data["actor_id"],) if data.get("actor_id") else ()


def _ref(data: EventData) -> dict[str, Any]:
    return {"ref_type": "ticket", "ref_id": data["ticket_id"]}


def _created(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    return [Message("ticket.created", ctx, roles=("staff",), fallback_role="staff", **_ref(data))]


def _acknowledged(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    return [
        Message("ticket.acknowledged.reporter", ctx, persons=_reporter(data), **_ref(data)),
        Message(
            "ticket.acknowledged.handler",
            ctx,
            party=data["party"],
            exclude=_actor(data),
            **_ref(data),
        ),
    ]


def _assigned(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    previous = data.get("previous_party")
    ctx["previous_party_name"] = PARTY_NAMES.get(previous, previous) if previous else None
    return [
        Message(
            "ticket.assigned.handler",
            ctx,
            party=data["party"],
            fallback_role="staff",
            exclude=_actor(data),
            **_ref(data),
        ),
        Message("ticket.assigned.reporter", ctx, persons=_reporter(data), **_ref(data)),
    ]


def _returned(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    return [
        Message(
            "ticket.returned",
            ctx,
            roles=("staff",),
            fallback_role="staff",
            exclude=_actor(data),
            **_ref(data),
        )
    ]


def _resolved(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    ctx["rating_options"] = list(RATINGS.values())
    return [Message("ticket.survey", ctx, persons=_reporter(data), **_ref(data))]


def _sla_breached(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    duty = [data["duty_person_id"]] if data.get("duty_person_id") else []
    roles: tuple[str, ...] = () if duty else ("staff",)
    if data["level"] >= 2:
        roles = (*roles, "admin")
    return [
        Message(
            "ticket.sla_breached",
            ctx,
            persons=duty,
            roles=roles,
            fallback_role="staff",
            **_ref(data),
        )
    ]


def _reopened(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    ctx["reopened_by_name"] = REOPENED_BY.get(data["by"], data["by"])
    return [
        Message(
            "ticket.reopened.handler", ctx, party=data["party"], fallback_role="staff", **_ref(data)
        ),
        Message(
            "ticket.reopened.reporter",
            ctx,
            persons=_reporter(data),
            exclude=_actor(data),
            **_ref(data),
        ),
    ]


def _closed(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    ctx["rating_name"] = RATINGS.get(data["rating"]) if data.get("rating") else None
    return [Message("ticket.closed", ctx, persons=_reporter(data), **_ref(data))]


def _merged(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    ctx["primary_ref"] = data["primary_id"][:8]
    return [
        Message(
            "ticket.merged",
            ctx,
            persons=_reporter(data),
            ref_type="ticket",
            ref_id=data["primary_id"],
        )
    ]


def _escalated(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    return [
        Message("ticket.escalated.reporter", ctx, persons=_reporter(data), **_ref(data)),
        Message(
            "ticket.escalated.handler", ctx, party=data["party"], exclude=_actor(data), **_ref(data)
        ),
    ]


def _rated(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    ctx["rating_name"] = RATINGS.get(data["rating"], data["rating"])
    return [Message("ticket.rated", ctx, party=data["party"], **_ref(data))]


#: Who is told what of a ticket, by event type (the types not here tell nobody).
TICKET_MESSAGES: dict[str, Callable[[EventData, dict[str, Any]], list[Message]]] = {
    tk.TICKET_CREATED: _created,
    tk.TICKET_ACKNOWLEDGED: _acknowledged,
    tk.TICKET_ASSIGNED: _assigned,
    tk.TICKET_RETURNED: _returned,
    tk.TICKET_RESOLVED: _resolved,
    tk.TICKET_SLA_BREACHED: _sla_breached,
    tk.TICKET_REOPENED: _reopened,
    tk.TICKET_CLOSED: _closed,
    tk.TICKET_MERGED: _merged,
    tk.TICKET_ESCALATED: _escalated,
    tk.TICKET_RATED: _rated,
}


def plan(etype: str, data: EventData) -> Plan:
    """The plan of a ticket's event."""
    messages = TICKET_MESSAGES.get(etype)
    return Plan(messages=messages(data, _ticket(data))) if messages else Plan()
