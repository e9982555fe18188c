"""The events the tickets service publishes: the catalogue a department reads.

Each type says what it carries, when it is sent and when it is *not*.
"""

from __future__ import annotations

from marshmallow import fields, validate

from lianxin.contracts import event_type
from lianxin.contracts.schema import BaseSchema
from lianxin.contracts.tickets.operations import CENTER_STATUSES, CHANNELS, RATINGS
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
    #: Who the duty roster names on duty at the moment it was taken in (person ids; empty
    #: when nobody is): they are alerted, and notify falls back to the center's chain when
    #: none of them can be reached.
    duty_person_ids = fields.List(fields.Str(), load_default=list)
    #: Registered and resolved at the desk in one step (当场办结): nobody is alerted, no
    #: party is messaged; ticket.resolved follows at once.
    on_the_spot = fields.Bool(load_default=False)
    #: The photos the reporter attached (ids in the photo store; never the bytes).
    photo_ids = fields.List(fields.Str(), load_default=list)
    #: Open tickets of the center this one likely repeats (nearby and alike), for staff.
    likely_repeat_of = fields.List(fields.Str(), load_default=list)


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
    #: Residents who joined it as supporters ("我也遇到了"): told of its progress as the
    #: reporter is (person ids; added compatibly).
    supporter_ids = fields.List(fields.Str(), load_default=list)


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
    #: Resolved at the desk as it was registered (当场办结).
    on_the_spot = fields.Bool(load_default=False)


class TicketClosedData(_TicketFact):
    rating = fields.Str(required=True, allow_none=True, validate=validate.OneOf(list(RATINGS)))


class TicketReopenedData(_TicketFact):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    by = fields.Str(required=True, validate=validate.OneOf(["resident", "survey", "meeting"]))


class TicketRatedData(_TicketFact):
    rating = fields.Str(required=True, validate=validate.OneOf(list(RATINGS)))


class TicketSlaBreachedData(_TicketFact):
    kind = fields.Str(required=True, validate=validate.OneOf(SLA_KINDS))
    #: The escalation ladder's step: 1 at the limit (the cadre on duty), 2 at twice it (the
    #: center admin), 3 — where the center configured it — the people it names (e.g. the
    #: town's leadership).
    level = fields.Int(required=True, validate=validate.Range(min=1, max=3))
    due_at = fields.AwareDateTime(required=True)
    #: The person on duty when it breached (a person id), if the roster names one.
    duty_person_id = fields.Str(required=True, allow_none=True)
    #: Everyone the roster names on duty when it breached (added compatibly).
    duty_person_ids = fields.List(fields.Str(), load_default=list)


class TicketSupportedData(_TicketFact):
    #: The resident who joined (a person id of notify's directory).
    supporter_id = fields.Str(required=True)
    #: How many residents now support it (the reporter not counted).
    supporters = fields.Int(required=True, validate=validate.Range(min=1))


class TicketUrgedData(_TicketFact):
    #: Who holds it now: ``duty`` (awaiting the cadre on duty) or ``party`` (its party's
    #: handlers).
    holder = fields.Str(required=True, validate=validate.OneOf(["duty", "party"]))
    #: The duty roster's people on duty now (when the holder is ``duty``).
    duty_person_ids = fields.List(fields.Str(), load_default=list)
    note = fields.Str(required=True, validate=validate.Length(min=1, max=500))


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
    alerts the center admin as well, level 3 (acknowledge only, where the center configured
    it) the people the center names. Not sent twice for the same breach and level (even with
    several replicas), nor for a ticket acknowledged, resolved or merged before the deadline,
    nor level 3 for a center whose ladder has two steps.""",
)
TICKET_SUPPORTED = event_type(
    "cn.lianxin.tickets.ticket.supported.v1",
    TicketSupportedData,
    """A resident joined an open ticket as a supporter ("我也遇到了", FixMyStreet's "me too")
    instead of reporting the same problem again; they are told of its progress from now on.
    Not sent when the same person (or phone) joins the same ticket again (refused), nor for
    a ticket no longer open, nor for its own reporter.""",
)
TICKET_URGED = event_type(
    "cn.lianxin.tickets.ticket.urged.v1",
    TicketUrgedData,
    """The center admin urged (催办) whoever holds an open ticket — the cadre on duty before it
    is dispatched, its party's handlers after — with a note; recorded on its timeline. Not
    sent for a ticket that is resolved, closed or merged (refused).""",
)


# -- centers ----------------------------------------------------------------------------------


class _CenterFact(BaseSchema):
    """A center's record as the tickets service keeps it (what ``get_center`` answers):
    every service keeps it in its center registry (``lianxin.centers``)."""

    id = fields.Str(required=True)
    name = fields.Str(required=True)
    address = fields.Str(load_default="")
    timezone = fields.Str(load_default="Asia/Shanghai")
    status = fields.Str(required=True, validate=validate.OneOf(list(CENTER_STATUSES)))
    actor_id = fields.Str(required=True, allow_none=True)


class CenterCreatedData(_CenterFact):
    #: The center it was copied from (categories, rooms, programmes, message templates).
    template = fields.Str(required=True)
    #: The first admin invited (a person id in notify's directory).
    admin_person_id = fields.Str(required=True)


class CenterUpdatedData(_CenterFact):
    #: What changed: ``disabled``, ``enabled`` or ``renamed`` (name or address).
    change = fields.Str(required=True, validate=validate.OneOf(["disabled", "enabled", "renamed"]))


CENTER_CREATED = event_type(
    "cn.lianxin.tickets.center.created.v1",
    CenterCreatedData,
    """A new center was onboarded (开通) from the template center ``template`` by ops: its
    categories, function rooms, programmes and message templates are in place in every
    service and its first admin is invited. Sent once, after every service has done its part
    (the tickets service orchestrates the copy and undoes it on any failure). Not sent for an
    onboarding refused or undone (an id in use, an unknown template, a service failing
    midway: nothing of the center is left anywhere), nor for the demo center made by
    ``lianxin seed`` or a center registered bare by ``create_center`` (tests, scripts).""",
)
CENTER_UPDATED = event_type(
    "cn.lianxin.tickets.center.updated.v1",
    CenterUpdatedData,
    """Ops changed a center's record: disabled it (``change`` disabled: every service refuses
    its writes and its residents' pages say it is paused; its data stays), enabled it again
    (enabled), or changed its name or address (renamed). ``status`` is the state after the
    change. Not sent for a change to what it already was (disabling a disabled center is
    answered with the record, nothing sent), nor for the admin's routing settings
    (``update_center``: tickets' own business).""",
)
