"""TicketsService: entrypoints only — check the caller, validate, call the domain, dump."""

from __future__ import annotations

import logging
from typing import Any

from nameko.events import BROADCAST, EventDispatcher
from nameko.events import event_handler as broadcast_handler
from sqlalchemy.exc import IntegrityError

from lianxin.auth import Caller, CallerCheck
from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as tk
from lianxin.db import Database
from lianxin.errors import EXPECTED, Forbidden, InvalidInput, LianxinError
from lianxin.health import HealthCheck
from lianxin.metrics import Metrics
from lianxin.outbox import Outbox
from lianxin.roles import Principal
from lianxin.rpc import rpc
from lianxin.timer import timer
from services.tickets import domain
from services.tickets.exceptions import NotYourTicket, TicketNotFound
from services.tickets.models import Base, Ticket, outbox_table

log = logging.getLogger(__name__)

#: Internal, on the tickets event exchange but not in the event catalogue: a replica's
#: cached routing of a center is out of date (see ``_routing_changed``).
ROUTING_CHANGED = "internal.routing_changed"

STAFF = ("staff", "admin")
ADMIN = ("admin", "ops")
READERS = ("staff", "admin", "department", "ops")

#: action → (payload schema, roles that may do it)
ACTIONS: dict[str, tuple[type, tuple[str, ...]]] = {
    "acknowledge": (tk.Note, STAFF),
    "assign": (tk.AssignIn, STAFF),
    "start": (tk.Note, STAFF),
    "return": (tk.ReasonIn, STAFF),
    "resolve": (tk.ResolveIn, STAFF),
    "escalate": (tk.ReasonIn, STAFF),
    "merge": (tk.MergeIn, STAFF),
    "close": (tk.ReasonIn, STAFF),
    "reopen": (tk.ReasonIn, (*STAFF, "resident")),
    "rate": (tk.RatingIn, (*STAFF, "resident")),
}

#: What a party's handler (a staff token naming a party) may do — on its own party's tickets.
PARTY_ACTIONS = ("start", "return", "resolve")

_ticket_read, _receipt = tk.TicketRead(), tk.TicketReceipt()


def _check_party(party: str, ticket: Ticket, action: str) -> None:
    """A party's handler starts, returns and resolves what is assigned to its party; the
    cadre on duty does the rest (签收, 派单, 并单, 提交联席会, 结案)."""
    if action not in PARTY_ACTIONS:
        raise Forbidden(f"责任单位只能办理、退回或办结工单，{domain.ACTION_NAMES[action]}由值班干部操作",
                        code="PARTY_FORBIDDEN")
    if ticket.party != party:
        raise Forbidden("该工单未派给本单位", code="PARTY_FORBIDDEN")


def _actor(principal: Principal | None) -> domain.Actor:
    return domain.Actor(principal.sub, principal.role) if principal else domain.Actor(None, "public")


class TicketsService(HealthCheck):
    name = "tickets"

    db = Database(Base.metadata)
    outbox = Outbox(outbox_table)
    caller = Caller()
    metrics = Metrics()
    dispatch = EventDispatcher()

    # -- centers ---------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def create_center(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(tk.CenterCreate, payload)
        self.caller.require(data["id"], roles=("ops",))
        center = domain.create_center(db_session=self.db, data=data)
        self.db.commit()
        return tk.CenterRead().dump(center)

    @rpc(expected_exceptions=EXPECTED)
    def get_center(self, center_id: str) -> dict[str, Any]:
        """Public: whether a center exists and what it is called."""
        return tk.CenterRead().dump(domain.require_center(db_session=self.db, center_id=center_id))

    @rpc(expected_exceptions=EXPECTED)
    def update_center(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=ADMIN)
        center = domain.update_center(db_session=self.db, center_id=center_id,
                                      data=load(tk.CenterSettings, payload))
        self.db.commit()
        self._routing_changed(center_id)
        return tk.CenterRead().dump(center)

    # -- routing across replicas -----------------------------------------------------------

    def _routing_changed(self, center_id: str) -> None:
        """After a committed change of a center's routing (categories, fallback party, SLA):
        every replica forgets what it cached of that center, at once rather than within
        ``domain.ROUTING_TTL``. A cache hint, not a fact: it goes straight to the broker (no
        outbox), and if it is lost the TTL still bounds the staleness."""
        try:
            self.dispatch(ROUTING_CHANGED, {"center_id": center_id})
        except Exception as exc:
            log.warning("could not tell the other replicas that %s's routing changed: %s",
                        center_id, exc)

    @broadcast_handler("tickets", ROUTING_CHANGED, handler_type=BROADCAST,
                       reliable_delivery=False)
    def forget_routing(self, payload: Any) -> None:
        """Every replica (one queue each) forgets a center's cached routing; a message it
        can't read makes it forget everything, which is always safe."""
        center = payload.get("center_id") if isinstance(payload, dict) else None
        if isinstance(center, str):
            domain.forget_routing(center)
        else:
            log.warning("unreadable routing-changed message; forgetting all cached routing")
            domain.forget_routing(None)

    # -- categories ------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def add_category(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=ADMIN)
        category = domain.add_category(db_session=self.db, center_id=center_id,
                                       data=load(tk.CategoryCreate, payload))
        self.db.commit()
        self._routing_changed(center_id)
        return tk.CategoryRead().dump(category)

    @rpc(expected_exceptions=EXPECTED)
    def update_category(self, center_id: str, code: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=ADMIN)
        category = domain.update_category(db_session=self.db, center_id=center_id, code=code,
                                          data=load(tk.CategoryUpdate, payload))
        self.db.commit()
        self._routing_changed(center_id)
        return tk.CategoryRead().dump(category)

    @rpc(expected_exceptions=EXPECTED)
    def list_categories(self, center_id: str, include_inactive: bool = False) -> list[dict[str, Any]]:
        """Public: the categories a resident may choose from (admins may see retired ones)."""
        domain.require_center(db_session=self.db, center_id=center_id)
        if include_inactive:
            self.caller.require(center_id, roles=ADMIN)
        return tk.CategoryRead(many=True).dump(domain.list_categories(
            db_session=self.db, center_id=center_id, active_only=not include_inactive))

    @rpc(expected_exceptions=EXPECTED)
    def get_service(self, center_id: str, service_code: str) -> dict[str, Any]:
        """Public: one category by its Open311 service code."""
        domain.require_center(db_session=self.db, center_id=center_id)
        category = domain.category_by_service_code(db_session=self.db, center_id=center_id,
                                                   service_code=service_code)
        if category is None or not category.active:
            raise domain.CategoryNotFound()
        return tk.CategoryRead().dump(category)

    # -- duty roster -----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def add_duty_shift(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=ADMIN)
        shift = domain.add_duty_shift(db_session=self.db, center_id=center_id,
                                      data=load(tk.DutyShiftCreate, payload))
        self.db.commit()
        return tk.DutyShiftRead().dump(shift)

    @rpc(expected_exceptions=EXPECTED)
    def list_duty(self, center_id: str, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        self.caller.require(center_id, roles=STAFF)
        q = load(tk.DutyQuery, query or {})
        return tk.DutyShiftRead(many=True).dump(domain.list_duty(
            db_session=self.db, center_id=center_id, start=q["start"], end=q["end"]))

    # -- intake ----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def create_ticket(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Take in an issue. ``web`` intake is public; the other channels are staff's."""
        data, reporter_id = self._intake(self.caller, center_id, payload)
        ticket = domain.create_ticket(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                      data=data, reporter_id=reporter_id)
        self.db.commit()
        return _receipt.dump(ticket)

    @rpc(expected_exceptions=EXPECTED)
    def create_tickets(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Take in many issues in one transaction: the gateway gathers concurrent intake
        requests into one call. Each item (``center_id``, ``payload``, its caller's
        ``authorization`` token or none, and an ``intake_key`` naming what makes it the same
        submission) is checked exactly as :meth:`create_ticket` checks one, and answered on
        its own: ``{"ticket": receipt}``, ``{"ticket": receipt, "repeat": true}`` for the same
        submission again within :data:`domain.REPEAT_WINDOW` (the first ticket, nothing
        stored), or ``{"error": error}`` — one item's refusal leaves the others standing."""
        batch = load(tk.IntakeBatch, {"items": items})["items"]
        try:
            return self._take_in(batch)
        except IntegrityError:
            # The same submission, stored meanwhile through another gateway (the intake
            # key's unique index): once more, and the look-up answers it as a repeat.
            self.db.rollback()
            return self._take_in(batch)

    def _take_in(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        earlier = domain.earlier_submissions(
            db_session=self.db, keys={i["intake_key"] for i in batch if i["intake_key"]})
        answers: list[dict[str, Any]] = []
        accepted = []
        for item in batch:
            center_id, key = item["center_id"], item["intake_key"]
            try:
                caller = self.caller.for_token(item["authorization"])
                data, reporter_id = self._intake(caller, center_id, item["payload"])
                if key and (center_id, key) in earlier:
                    answers.append({"ticket": earlier[center_id, key], "repeat": True})
                    continue
                ticket = domain.prepare_ticket(db_session=self.db, center_id=center_id,
                                               data=data, reporter_id=reporter_id, intake_key=key)
            except LianxinError as exc:
                answers.append({"error": exc.to_dict()})
                continue
            if key:
                earlier[center_id, key] = ticket  # the same submission twice in one batch
            accepted.append(ticket)
            answers.append({"ticket": ticket})
        domain.insert_tickets(db_session=self.db, outbox=self.outbox, tickets=accepted)
        self.db.commit()
        return [{**a, "ticket": _receipt.dump(a["ticket"])} if "ticket" in a else a for a in answers]

    def _intake(self, caller: CallerCheck, center_id: str,
                payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """A new issue's validated data and reporter, if ``caller`` may report it."""
        data = load(tk.TicketCreate, payload)
        reporter_id = None
        if data["channel"] == "web":
            principal = caller.principal
            if principal is not None:
                caller.require(center_id)
                reporter_id = principal.sub if principal.role == "resident" else None
        elif data["channel"] == "open311":
            raise InvalidInput(fields={"channel": ["Open311 请求须经 /open311/v2 提交"]})
        else:
            caller.require(center_id, roles=STAFF)
            reporter_id = data.get("reporter_id")
        return data, reporter_id

    @rpc(expected_exceptions=EXPECTED)
    def open311_create(self, center_id: str, api_key: str | None, payload: dict[str, Any]) -> dict[str, Any]:
        """Intake from an Open311 client holding an API key of the center. The payload names
        the category by its Open311 ``service_code`` (or by ``category``)."""
        domain.require_center(db_session=self.db, center_id=center_id)
        domain.check_api_key(db_session=self.db, center_id=center_id, key=api_key)
        payload = dict(payload)
        service_code = payload.pop("service_code", None)
        if service_code is not None:
            category = domain.category_by_service_code(db_session=self.db, center_id=center_id,
                                                       service_code=str(service_code))
            if category is None or not category.active:
                raise domain.CategoryNotFound()
            payload["category"] = category.code
        data = load(tk.TicketCreate, {**payload, "channel": "open311"})
        ticket = domain.create_ticket(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                      data=data, reporter_id=data.get("reporter_id"))
        self.db.commit()
        return _receipt.dump(ticket)

    @rpc(expected_exceptions=EXPECTED)
    def create_api_key(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=ADMIN)
        data = load(tk.ApiKeyCreate, payload)
        key = domain.create_api_key(db_session=self.db, center_id=center_id, name=data["name"])
        self.db.commit()
        return {"center_id": center_id, "name": data["name"], "api_key": key}

    # -- reading ---------------------------------------------------------------------------

    def _visible(self, center_id: str, ticket_id: str, lock: bool = False) -> tuple[Ticket, Principal]:
        principal = self.caller.require(center_id, roles=(*READERS, "resident"))
        ticket = domain.get_ticket(db_session=self.db, center_id=center_id, ticket_id=ticket_id,
                                   lock=lock)
        if principal.role == "resident" and ticket.reporter_id != principal.sub:
            raise TicketNotFound()
        return ticket, principal

    @rpc(expected_exceptions=EXPECTED)
    def get_ticket(self, center_id: str, ticket_id: str) -> dict[str, Any]:
        return _ticket_read.dump(self._visible(center_id, ticket_id)[0])

    @rpc(expected_exceptions=EXPECTED)
    def get_public_ticket(self, center_id: str, ticket_id: str, follow_code: str) -> dict[str, Any]:
        """A reporter without an account follows their ticket with its code."""
        ticket = domain.get_ticket(db_session=self.db, center_id=center_id, ticket_id=ticket_id)
        if not follow_code or follow_code != ticket.follow_code:
            raise TicketNotFound()
        return {**_ticket_read.dump(ticket), "timeline": tk.TimelineEntry(many=True).dump(
            domain.timeline(db_session=self.db, ticket=ticket))}

    @rpc(expected_exceptions=EXPECTED)
    def ticket_timeline(self, center_id: str, ticket_id: str) -> list[dict[str, Any]]:
        ticket, _ = self._visible(center_id, ticket_id)
        return tk.TimelineEntry(many=True).dump(domain.timeline(db_session=self.db, ticket=ticket))

    @rpc(expected_exceptions=EXPECTED)
    def list_tickets(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Staff see the center's tickets (a party's handler, its party's unless it asks);
        a resident sees their own."""
        principal = self.caller.require(center_id, roles=(*READERS, "resident"))
        q = load(tk.TicketQuery, query or {})
        if principal.party is not None and not q.get("party"):
            q["party"] = principal.party
        items, total = domain.list_tickets(
            db_session=self.db, center_id=center_id, query=q,
            reporter_id=principal.sub if principal.role == "resident" else None)
        return tk.TicketList().dump({"items": items, "total": total, "limit": q["limit"],
                                     "offset": q["offset"]})

    @rpc(expected_exceptions=EXPECTED)
    def board(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Open tickets by deadline; a party's handler sees its own party's unless it asks."""
        principal = self.caller.require(center_id, roles=STAFF)
        q = load(tk.BoardQuery, query or {})
        if principal.party is not None and not q.get("party"):
            q["party"] = principal.party
        return tk.Board().dump(domain.board(db_session=self.db, center_id=center_id, query=q))

    @rpc(expected_exceptions=EXPECTED)
    def search_tickets(self, center_id: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Public (Open311 GET requests.json): ids, service code, dates, open/closed."""
        domain.require_center(db_session=self.db, center_id=center_id)
        tickets = domain.search_tickets(db_session=self.db, center_id=center_id,
                                        query=load(tk.TicketSearch, query))
        return tk.TicketRead(many=True).dump(tickets)

    # -- the workflow ----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def transition_ticket(self, center_id: str, ticket_id: str, action: str,
                          payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Acknowledge, assign, start, return, resolve, escalate, merge, close, reopen or rate."""
        if action not in ACTIONS:
            raise InvalidInput(fields={"action": [f"未知操作，应为：{', '.join(ACTIONS)}"]})
        schema, roles = ACTIONS[action]
        principal = self.caller.require(center_id, roles=roles)
        data = load(schema, payload or {})
        ticket, _ = self._visible(center_id, ticket_id, lock=True)
        actor = _actor(principal)
        if principal.role == "resident" and ticket.reporter_id != principal.sub:
            raise NotYourTicket()
        if principal.party is not None:
            _check_party(principal.party, ticket, action)
        self._apply(ticket, action, actor, data, principal)
        self.db.commit()
        return _ticket_read.dump(ticket)

    @rpc(expected_exceptions=EXPECTED)
    def rate_public_ticket(self, center_id: str, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The return visit for a reporter without an account: rated with the follow code."""
        data = load(tk.PublicRatingIn, payload)
        ticket = domain.get_ticket(db_session=self.db, center_id=center_id, ticket_id=ticket_id,
                                   lock=True)
        if data.pop("follow_code") != ticket.follow_code:
            raise TicketNotFound()
        domain.rate(db_session=self.db, outbox=self.outbox, ticket=ticket,
                    actor=domain.Actor(ticket.reporter_id, "reporter"), data=data)
        self.db.commit()
        return _ticket_read.dump(ticket)

    def _apply(self, ticket: Ticket, action: str, actor: domain.Actor, data: dict[str, Any],
               principal: Principal) -> None:
        common = {"db_session": self.db, "ticket": ticket, "actor": actor}
        if action == "acknowledge":
            domain.acknowledge(outbox=self.outbox, note=data.get("note"), **common)
        elif action == "assign":
            domain.assign(outbox=self.outbox, party=data["party"], reason=data.get("reason"), **common)
        elif action == "start":
            domain.start(**common)
        elif action == "return":
            domain.return_ticket(outbox=self.outbox, reason=data["reason"], **common)
        elif action == "resolve":
            domain.resolve(outbox=self.outbox, answer=data["answer"], **common)
        elif action == "escalate":
            domain.escalate(outbox=self.outbox, reason=data["reason"], **common)
        elif action == "merge":
            primary = domain.get_ticket(db_session=self.db, center_id=ticket.center_id,
                                        ticket_id=data["primary_id"])
            domain.merge(outbox=self.outbox, primary=primary, **common)
        elif action == "close":
            domain.close(outbox=self.outbox, reason=data["reason"], **common)
        elif action == "reopen":
            # Staff reopen on the resident's behalf (e.g. a call to the hotline): same 15-day rule.
            domain.reopen(outbox=self.outbox, reason=data["reason"], by="resident", **common)
        elif action == "rate":
            if principal.role != "resident" and data.get("via") == "web":
                raise Forbidden("工作人员代为登记回访评价时，请注明回访方式（phone / visit / sms）",
                                code="RATING_VIA_REQUIRED")
            domain.rate(outbox=self.outbox, data=data, **common)

    # -- joint meeting ---------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_meetings(self, center_id: str) -> list[dict[str, Any]]:
        self.caller.require(center_id, roles=READERS)
        meetings = domain.list_meetings(db_session=self.db, center_id=center_id)
        return [{"id": m.id, "month": m.month, "meeting_date": m.meeting_date.isoformat()}
                for m in meetings]

    @rpc(expected_exceptions=EXPECTED)
    def get_meeting(self, center_id: str, month: str) -> dict[str, Any]:
        self.caller.require(center_id, roles=READERS)
        meeting, items = domain.get_meeting(db_session=self.db, center_id=center_id, month=month)
        return tk.MeetingRead().dump({"id": meeting.id, "month": meeting.month,
                                      "meeting_date": meeting.meeting_date, "items": items})

    @rpc(expected_exceptions=EXPECTED)
    def decide_agenda_item(self, center_id: str, item_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=STAFF)
        item = domain.decide(db_session=self.db, outbox=self.outbox, center_id=center_id,
                             item_id=item_id, actor=_actor(principal),
                             data=load(tk.DecisionIn, payload))
        self.db.commit()
        item.ticket = self.db.get(Ticket, item.ticket_id)
        return tk.AgendaItemRead().dump(item)

    # -- satisfaction and SLA --------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def satisfaction(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.caller.require(center_id, roles=READERS)
        q = load(tk.SatisfactionQuery, query or {})
        rows = domain.satisfaction(db_session=self.db, center_id=center_id, group_by=q["group_by"],
                                   start=q["start"], end=q["end"])
        return tk.Satisfaction().dump({"group_by": q["group_by"], "rows": rows})

    @timer("SLA_CHECK_SECONDS", default=30)
    def check_sla(self) -> None:
        """Announce every missed deadline once (the kit's outbox carries it to notify)."""
        found = domain.check_sla(db_session=self.db, outbox=self.outbox)
        self.db.commit()
        if found:
            self.metrics.counter("lianxin_tickets_sla_breaches", "SLA breaches announced",
                                 ["service"]).labels(self.name).inc(found)
