"""The events the tickets service publishes: the catalogue a department reads.

Each type says what it carries, when it is sent and when it is *not*.
"""

from __future__ import annotations

from marshmallow import fields, validate

from lianxin.contracts import event_type
from lianxin.contracts.schema import BaseSchema
from lianxin.contracts.tickets.operations import CHANNELS, RATINGS
from lianxin.roles import PARTIES

# -- events ----------------------------------------------------------------------------------


class TicketCreatedData(BaseSchema):
    ticket_id = fields.Str(required=True)
    category = fields.Str(required=True)
    category_name = fields.Str(required=True)
    party = fields.Str(required=True, validate=validate.OneOf(PARTIES))
    channel = fields.Str(required=True, validate=validate.OneOf(CHANNELS))
    summary = fields.Str(required=True, validate=validate.Length(max=80))
    ack_due_at = fields.AwareDateTime(required=True)
    resolve_due_at = fields.AwareDateTime(required=True)
    #: The reporter's person id in notify's directory, when known (added compatibly: optional).
    person_id = fields.Str(load_default=None, allow_none=True)


TICKET_CREATED = event_type(
    "cn.lianxin.tickets.ticket.created.v1",
    TicketCreatedData,
    """A resident's issue was taken in, from any channel (web, hotline, walk-in, Open311).

    Sent once per ticket, when it is stored. ``party`` is the party the routing
    rules chose; ``ack_due_at`` is when the cadre on duty must have acknowledged
    it. ``summary`` is the start of the description; the reporter's contact data
    is never in the event. Not sent for a refused report, nor for the same submission
    again within ten minutes (a double click, a client's retry: answered with the first
    ticket, nothing stored). A report later merged into another was announced here when
    it came in.
    """,
)

SLA_KINDS = ("acknowledge", "resolve")


class _TicketFact(BaseSchema):
    """What every later ticket event carries: which ticket, routed where, acted on by whom."""

    ticket_id = fields.Str(required=True)
    category = fields.Str(required=True)
    party = fields.Str(required=True, validate=validate.OneOf(PARTIES))
    actor_id = fields.Str(required=True, allow_none=True)
    #: The resident who reported it (a person id in notify's directory), if known.
    person_id = fields.Str(required=True, allow_none=True)


class TicketAcknowledgedData(_TicketFact):
    acknowledged_at = fields.AwareDateTime(required=True)
    late = fields.Bool(required=True)


class TicketAssignedData(_TicketFact):
    automatic = fields.Bool(required=True)
    previous_party = fields.Str(required=True, allow_none=True)


class TicketReturnedData(_TicketFact):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class TicketMergedData(_TicketFact):
    primary_id = fields.Str(required=True)


class TicketEscalatedData(_TicketFact):
    meeting_id = fields.Str(required=True)
    meeting_month = fields.Str(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class TicketResolvedData(_TicketFact):
    answer = fields.Str(required=True, validate=validate.Length(max=80))


class TicketClosedData(_TicketFact):
    rating = fields.Str(required=True, allow_none=True, validate=validate.OneOf(list(RATINGS)))


class TicketReopenedData(_TicketFact):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    by = fields.Str(required=True, validate=validate.OneOf(["resident", "survey", "meeting"]))


class TicketRatedData(_TicketFact):
    rating = fields.Str(required=True, validate=validate.OneOf(list(RATINGS)))


class TicketSlaBreachedData(_TicketFact):
    kind = fields.Str(required=True, validate=validate.OneOf(SLA_KINDS))
    #: 1: the cadre on duty is alerted; 2: still unacknowledged at twice the limit, the admin too.
    level = fields.Int(required=True, validate=validate.Range(min=1, max=2))
    due_at = fields.AwareDateTime(required=True)
    #: The person on duty when it breached (a person id), if the roster names one.
    duty_person_id = fields.Str(required=True, allow_none=True)


TICKET_ACKNOWLEDGED = event_type(
    "cn.lianxin.tickets.ticket.acknowledged.v1",
    TicketAcknowledgedData,
    """The cadre on duty acknowledged (签收) a reported ticket. ``late`` is true past its
    acknowledge deadline. Sent once per ticket; not sent again after a return or a
    reopening, nor for a second acknowledgement (refused).""",
)
TICKET_ASSIGNED = event_type(
    "cn.lianxin.tickets.ticket.assigned.v1",
    TicketAssignedData,
    """A ticket was dispatched (派单) to a party — by the routing rules (``automatic``), by
    staff (including re-dispatch after a return) or by the joint meeting. ``person_id``
    here is the reporter. Not sent when a reopened ticket goes back to its party (that is
    ticket.reopened), nor when staff pick the party it already has (refused).""",
)
TICKET_RETURNED = event_type(
    "cn.lianxin.tickets.ticket.returned.v1",
    TicketReturnedData,
    """A party sent a ticket back (退单) with a reason; it awaits re-dispatch. Not sent when
    staff change the party of an assigned ticket themselves (ticket.assigned alone).""",
)
TICKET_MERGED = event_type(
    "cn.lianxin.tickets.ticket.merged.v1",
    TicketMergedData,
    """A repeat report was merged (并单) into ``primary_id``; it follows the primary from now
    on: resolved and closed with it (ticket.resolved and ticket.closed are sent for it too,
    so its reporter is asked to rate), nothing else. Not sent when the merge is refused
    (into itself, or into a ticket no longer open).""",
)
TICKET_ESCALATED = event_type(
    "cn.lianxin.tickets.ticket.escalated.v1",
    TicketEscalatedData,
    """A ticket that can't be solved on the spot went onto the agenda of the monthly joint
    meeting (党建联席会) ``meeting_month``. Also sent when an item is carried over to the
    next month. Not sent when the meeting resolves or dispatches an item (ticket.resolved
    or ticket.assigned follows instead).""",
)
TICKET_RESOLVED = event_type(
    "cn.lianxin.tickets.ticket.resolved.v1",
    TicketResolvedData,
    """A ticket was resolved (办结) with an answer; the return visit (回访) asks the resident
    (``person_id``) to rate it. ``answer`` is the start of the answer given. Also sent for
    every repeat report merged into it, and when the joint meeting resolves an escalated
    ticket. Not sent again when a resolved ticket is rated or closed.""",
)
TICKET_CLOSED = event_type(
    "cn.lianxin.tickets.ticket.closed.v1",
    TicketClosedData,
    """The return visit is over: the ticket is closed, with the rating if one was given (also
    for the resolved repeat reports merged into it). Not sent after a dissatisfied rating:
    the ticket is reopened instead (ticket.reopened).""",
)
TICKET_REOPENED = event_type(
    "cn.lianxin.tickets.ticket.reopened.v1",
    TicketReopenedData,
    """A resolved or closed ticket was reopened — by the resident (or staff on their behalf)
    within 15 days (``by`` resident), or by a dissatisfied rating (``by`` survey) — and is
    handled again by its party. Not sent for a reopening past the 15 days (refused: the
    resident reports anew).""",
)
TICKET_RATED = event_type(
    "cn.lianxin.tickets.ticket.rated.v1",
    TicketRatedData,
    """The resident rated the answer (满意 / 基本满意 / 不满意). Counted in the center's
    satisfaction rate; ``dissatisfied`` is followed by ticket.reopened, any other rating by
    ticket.closed. Not sent for a rating refused (a ticket not resolved, or staff recording
    one without saying how the visit reached the resident).""",
)
TICKET_SLA_BREACHED = event_type(
    "cn.lianxin.tickets.ticket.sla_breached.v1",
    TicketSlaBreachedData,
    """A ticket missed a deadline: not acknowledged in time (``kind`` acknowledge) or not
    resolved in time (resolve). One event per breach and level: level 1 alerts the cadre on
    duty (critical: never muted or deferred), level 2 (acknowledge only, at twice the limit)
    alerts the center admin as well. Not sent twice for the same breach and level (even with
    several replicas), nor for a ticket acknowledged, resolved or merged before the deadline.""",
)
