"""Who is told what of a ticket: one planner per event type (the types not in
:data:`TICKET_MESSAGES` tell nobody).

Those the tickets service names decide who is alerted: the people on duty (``duty_person_ids``,
from the roster at the moment of the event) — and when none of them can be reached, the
center's chain (:data:`~services.notify.plans.DUTY_CHAIN`). The reporter and the residents
who joined as supporters hear of each step once per ticket; only the reporter is asked to
rate. A ticket resolved at the desk (``on_the_spot``) alerts nobody and tells its party
nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from lianxin.contracts.tickets import events as tk
from lianxin.contracts.tickets.operations import RATINGS
from lianxin.roles import PARTY_NAMES
from services.notify.plans import DUTY_CHAIN, LEADERSHIP, EventData, Message, Plan

REOPENED_BY = {"resident": "居民申请", "survey": "居民评价不满意", "meeting": "党建联席会决定"}
#: Who holds an urged ticket, as the message names them (``party``: the party's name).
DUTY_HOLDER = "值班干部"


def _ticket(data: EventData) -> dict[str, Any]:
    ctx = dict(data)
    ctx["ticket_ref"] = data["ticket_id"][:8]
    ctx["party_name"] = PARTY_NAMES.get(data["party"], data["party"])
    return ctx


def _reporter(data: EventData) -> list[str]:
    return [data["person_id"]] if data.get("person_id") else []


def _residents(data: EventData) -> list[str]:
    """The reporter and the supporters: those told of the ticket's progress."""
    return list(dict.fromkeys([*_reporter(data), *data.get("supporter_ids", ())]))


def _duty(data: EventData) -> list[str]:
    """Who the roster named on duty at the moment of the event."""
    single = [data["duty_person_id"]] if data.get("duty_person_id") else []
    return list(dict.fromkeys([*data.get("duty_person_ids", ()), *single]))


def _actor(data: EventData) -> tuple[str, ...]:
    return (data["actor_id"],) if data.get("actor_id") else ()


def _ref(data: EventData) -> dict[str, Any]:
    return {"ref_type": "ticket", "ref_id": data["ticket_id"]}


def _created(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    if data["on_the_spot"]:  # answered at the desk as it was registered: nobody to alert
        return []
    return [
        Message(
            "ticket.created",
            ctx,
            persons=_duty(data),
            chain=DUTY_CHAIN,
            fallback_role="staff",
            **_ref(data),
        )
    ]


def _acknowledged(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    return [
        Message(
            "ticket.acknowledged.reporter",
            ctx,
            persons=_residents(data),
            once=data["ticket_id"],
            **_ref(data),
        ),
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
        Message(
            "ticket.assigned.reporter",
            ctx,
            persons=_residents(data),
            once=data["ticket_id"],
            **_ref(data),
        ),
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
    """The answer to everyone who reported it; the return visit (回访) to the reporter alone
    (supporters don't rate). A ticket resolved at the desk too, its party told nothing."""
    ctx["rating_options"] = list(RATINGS.values())
    # Once per answer: a ticket reopened (a dissatisfied rating) and resolved again with a
    # new answer is told — and asked to rate — again; the same answer is not repeated.
    answer = hashlib.sha256(str(data.get("answer", "")).encode()).hexdigest()[:12]
    once = f"{data['ticket_id']}:{answer}"
    return [
        Message("ticket.resolved.reporter", ctx, persons=_residents(data), once=once, **_ref(data)),
        Message("ticket.survey", ctx, persons=_reporter(data), once=once, **_ref(data)),
    ]


def _sla_breached(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    """The escalation ladder: level 1 the people on duty, level 2 the admins as well, level 3
    the center's leadership; each falls back along the chain when it reaches nobody."""
    if data["level"] >= 3:
        return [
            Message(
                "ticket.sla_breached",
                ctx,
                groups=(LEADERSHIP,),
                chain=DUTY_CHAIN,
                fallback_role="staff",
                **_ref(data),
            )
        ]
    return [
        Message(
            "ticket.sla_breached",
            ctx,
            persons=_duty(data),
            roles=("admin",) if data["level"] == 2 else (),
            chain=DUTY_CHAIN,
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
            persons=_residents(data),
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
            persons=_residents(data),
            ref_type="ticket",
            ref_id=data["primary_id"],
        )
    ]


def _escalated(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    return [
        Message("ticket.escalated.reporter", ctx, persons=_residents(data), **_ref(data)),
        Message(
            "ticket.escalated.handler", ctx, party=data["party"], exclude=_actor(data), **_ref(data)
        ),
    ]


def _rated(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    # ``on_the_spot`` is not in ticket.rated: notify adds it from what it remembers of the
    # ticket (services.notify.desk) — its party handled nothing, so hears nothing of it.
    if data.get("on_the_spot"):
        return []
    ctx["rating_name"] = RATINGS.get(data["rating"], data["rating"])
    return [Message("ticket.rated", ctx, party=data["party"], **_ref(data))]


def _supported(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    return [Message("ticket.supported", ctx, persons=[data["supporter_id"]], **_ref(data))]


def _urged(data: EventData, ctx: dict[str, Any]) -> list[Message]:
    """催办: to whoever holds the ticket — those on duty (with their chain), or its party."""
    if data["holder"] == "duty":
        ctx["holder_name"] = DUTY_HOLDER
        return [
            Message(
                "ticket.urged",
                ctx,
                persons=_duty(data),
                chain=DUTY_CHAIN,
                fallback_role="staff",
                exclude=_actor(data),
                **_ref(data),
            )
        ]
    ctx["holder_name"] = ctx["party_name"]
    return [
        Message(
            "ticket.urged",
            ctx,
            party=data["party"],
            fallback_role="staff",
            exclude=_actor(data),
            **_ref(data),
        )
    ]


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
    tk.TICKET_SUPPORTED: _supported,
    tk.TICKET_URGED: _urged,
}


def plan(etype: str, data: EventData) -> Plan:
    """The plan of a ticket's event."""
    messages = TICKET_MESSAGES.get(etype)
    return Plan(messages=messages(data, _ticket(data))) if messages else Plan()
