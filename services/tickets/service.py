"""TicketsService: entrypoints only — check the caller against the operation, load, call the
domain, commit, dump."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import eventlet
from nameko.events import BROADCAST, EventDispatcher
from nameko.events import event_handler as broadcast_handler
from nameko.exceptions import RemoteError, UnknownService
from nameko.rpc import RpcProxy
from sqlalchemy.exc import IntegrityError

from lianxin.auth import Caller, CallerCheck
from lianxin.concurrency import if_match_guard
from lianxin.contracts.schema import dump, load
from lianxin.contracts.tickets import operations as ops
from lianxin.db import Database
from lianxin.errors import InvalidInput, from_remote
from lianxin.health import HealthCheck
from lianxin.housekeeping import Housekeeping
from lianxin.metrics import Metrics
from lianxin.operations import Operation
from lianxin.outbox import Outbox
from lianxin.roles import ALL_CENTERS, Principal
from lianxin.rpc import rpc
from lianxin.timer import timer
from lianxin.tracing import Tracing
from services.tickets import (
    configuration,
    intake,
    meetings,
    onboarding,
    queries,
    settling,
    sla,
    statistics,
    suggestions,
    supporters,
    urging,
    workflow,
)
from services.tickets.dependencies import Routing, Suggestions
from services.tickets.exceptions import (
    CategoryNotFound,
    DirectoryUnavailable,
    TicketNotFound,
    Unstorable,
)
from services.tickets.metrics import (
    ACKNOWLEDGE_SECONDS,
    OPEN_TICKETS,
    RATINGS,
    RECEIVED,
    SLA_BREACHES,
    seconds_to_acknowledge,
)
from services.tickets.models import Base, outbox_table

log = logging.getLogger(__name__)

#: Internal, on the tickets event exchange but not in the event catalogue: a replica's
#: cached routing (and category model) of a center is out of date (see ``_routing_changed``).
ROUTING_CHANGED = "internal.routing_changed"
#: Seconds a roster entry waits for notify to say whether its person can be reached.
DIRECTORY_TIMEOUT = 5
#: Seconds an onboarding waits for each other service's part.
ONBOARDING_STEP_TIMEOUT = 20


class _Peers:
    """The other services' parts of an onboarding (``onboarding.Services``), over RPC with a
    deadline each; a refusal as the kit error it is."""

    def __init__(self, events: Any, notify: Any, accounts: Any):
        self.events, self.notify, self.accounts = events, notify, accounts

    @staticmethod
    def _ask(method: Any, *args: Any) -> Any:
        """One step; a refusal as the kit error it is, any other failure (a crash, no
        answer in time) as :class:`OnboardingFailed` naming the service."""
        service = getattr(method, "service_name", "")
        try:
            with eventlet.Timeout(ONBOARDING_STEP_TIMEOUT):
                return method(*args)
        except RemoteError as exc:
            known = from_remote(exc)
            if known is None:
                log.error("onboarding: %s failed: %s", service, exc)
            raise (known or onboarding.OnboardingFailed.of(service)) from None
        except (eventlet.Timeout, UnknownService) as exc:
            log.error("onboarding: %s did not answer: %s", service, exc)
            raise onboarding.OnboardingFailed.of(service) from None

    def copy_events(self, template_id: str, center_id: str) -> Any:
        return self._ask(self.events.copy_center, template_id, center_id)

    def drop_events(self, center_id: str) -> Any:
        return self._ask(self.events.drop_center_copy, center_id)

    def copy_notify(self, template_id: str, center_id: str, admin: dict[str, Any]) -> Any:
        return self._ask(self.notify.copy_center, template_id, center_id, admin)

    def drop_notify(self, center_id: str) -> Any:
        return self._ask(self.notify.drop_center_copy, center_id)

    def invite_admin(self, center_id: str, payload: dict[str, Any]) -> Any:
        return self._ask(self.accounts.create_account, center_id, payload)

    def withdraw_accounts(self, center_id: str) -> Any:
        return self._ask(self.accounts.withdraw_center_accounts, center_id)


class TicketsService(HealthCheck):
    name = "tickets"

    db = Database(Base.metadata)
    outbox = Outbox(outbox_table)
    housekeeping = Housekeeping()
    caller = Caller()
    metrics = Metrics()
    tracing = Tracing()
    dispatch = EventDispatcher()
    routing = Routing()
    suggestions = Suggestions()
    notify_rpc = RpcProxy("notify")
    events_rpc = RpcProxy("events")
    accounts_rpc = RpcProxy("accounts")

    # -- centers ---------------------------------------------------------------------------

    @rpc
    def create_center(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(ops.CenterCreate, payload)
        self.caller.require(data.id, ops.create_center)
        center = configuration.create_center(db_session=self.db, data=data)
        self.db.commit()
        return dump(ops.CenterRead, center)

    @rpc
    def get_center(self, center_id: str) -> dict[str, Any]:
        """Public: whether a center exists and what it is called."""
        return dump(
            ops.CenterRead, configuration.require_center(db_session=self.db, center_id=center_id)
        )

    @rpc
    def update_center(
        self, center_id: str, payload: dict[str, Any], if_match: str | None = None
    ) -> dict[str, Any]:
        self.caller.require(center_id, ops.update_center)
        configuration.require_writable(db_session=self.db, center_id=center_id)
        center = configuration.update_center(
            db_session=self.db,
            center_id=center_id,
            changes=load(ops.CenterSettings, payload),
            guard=if_match_guard(if_match, lambda row: dump(ops.CenterRead, row)),
        )
        self.db.commit()
        self._routing_changed(center_id)
        return dump(ops.CenterRead, center)

    @rpc
    def onboard_center(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A new center from a template, in every service or in none (``onboarding``)."""
        data = load(ops.CenterOnboard, payload)
        principal = self.caller.require(data.id, ops.onboard_center)
        made = onboarding.onboard(
            db_session=self.db,
            outbox=self.outbox,
            data=data,
            services=_Peers(self.events_rpc, self.notify_rpc, self.accounts_rpc),
            actor_id=principal.id,
        )
        return dump(
            ops.Onboarded,
            {
                "center": made.center,
                "admin_login": made.admin.get("login"),
                "invitation_url": made.admin.get("invitation_url"),
                "invitation_expires_at": made.admin.get("invitation_expires_at"),
                "copied": made.copied,
            },
        )

    @rpc
    def list_centers(self, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Ops: every center; a department: those its token grants."""
        principal = self.caller.require_across(ops.list_centers)
        wanted = None if ALL_CENTERS in principal.centers else list(principal.centers)
        found = configuration.list_centers(
            db_session=self.db, center_ids=wanted, **load(ops.CenterQuery, query or {})
        )
        return dump(ops.CenterRead, found, many=True)

    @rpc
    def read_center(self, center_id: str) -> dict[str, Any]:
        self.caller.require(center_id, ops.read_center)
        return dump(
            ops.CenterRead, configuration.require_center(db_session=self.db, center_id=center_id)
        )

    @rpc
    def edit_center(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.edit_center)
        changes = load(ops.CenterRename, payload)
        center = configuration.edit_center(db_session=self.db, center_id=center_id, changes=changes)
        if changes:
            onboarding.announce(
                outbox=self.outbox, center=center, change="renamed", actor_id=principal.id
            )
        self.db.commit()
        return dump(ops.CenterRead, center)

    @rpc
    def disable_center(self, center_id: str) -> dict[str, Any]:
        return self._set_status(center_id, ops.disable_center, "disabled")

    @rpc
    def enable_center(self, center_id: str) -> dict[str, Any]:
        return self._set_status(center_id, ops.enable_center, "active")

    def _set_status(self, center_id: str, op: Operation, status: str) -> dict[str, Any]:
        principal = self.caller.require(center_id, op)
        center, changed = configuration.set_center_status(
            db_session=self.db, center_id=center_id, status=status
        )
        if changed:
            change = "disabled" if status == "disabled" else "enabled"
            onboarding.announce(
                outbox=self.outbox, center=center, change=change, actor_id=principal.id
            )
        self.db.commit()
        if changed:
            self._routing_changed(center_id)  # intake's cached routing carries the status
        return dump(ops.CenterRead, center)

    # -- routing across replicas -----------------------------------------------------------

    def _routing_changed(self, center_id: str, roster_only: bool = False) -> None:
        """After a committed change of a center's routing (categories, fallback party, SLA;
        with ``roster_only``, only its duty roster): this replica forgets what it cached of
        that center (routing, category model; the roster alone), and so does every other,
        at once rather than within the caches' TTL. A cache hint, not a fact: it goes
        straight to the broker (no outbox), and if it is lost the TTL still bounds the
        staleness."""
        self._forget_cached(center_id, roster_only)
        try:
            self.dispatch(ROUTING_CHANGED, {"center_id": center_id, "roster_only": roster_only})
        except Exception as exc:
            log.warning(
                "could not tell the other replicas that %s's routing changed: %s", center_id, exc
            )

    def _forget_cached(self, center_id: str | None, roster_only: bool) -> None:
        if roster_only:
            self.routing.duty.forget(center_id)
            return
        self.routing.forget(center_id)  # its duty roster too
        self.suggestions.forget(center_id)

    @broadcast_handler("tickets", ROUTING_CHANGED, handler_type=BROADCAST, reliable_delivery=False)
    def forget_routing(self, payload: Any) -> None:
        """Every replica (one queue each) forgets a center's cached routing and category
        model (or only its roster); a message it can't read makes it forget everything,
        which is always safe."""
        center = payload.get("center_id") if isinstance(payload, dict) else None
        if not isinstance(center, str):
            log.warning("unreadable routing-changed message; forgetting all cached routing")
            center = None
        roster_only = center is not None and payload.get("roster_only") is True
        self._forget_cached(center, roster_only)

    # -- categories ------------------------------------------------------------------------

    @rpc
    def add_category(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, ops.add_category)
        category = configuration.add_category(
            db_session=self.db, center_id=center_id, data=load(ops.CategoryCreate, payload)
        )
        self.db.commit()
        self._routing_changed(center_id)
        return dump(ops.CategoryRead, category)

    @rpc
    def update_category(
        self, center_id: str, code: str, payload: dict[str, Any], if_match: str | None = None
    ) -> dict[str, Any]:
        self.caller.require(center_id, ops.update_category)
        configuration.require_writable(db_session=self.db, center_id=center_id)
        category = configuration.update_category(
            db_session=self.db,
            center_id=center_id,
            code=code,
            changes=load(ops.CategoryUpdate, payload),
            guard=if_match_guard(if_match, lambda row: dump(ops.CategoryRead, row)),
        )
        self.db.commit()
        self._routing_changed(center_id)
        return dump(ops.CategoryRead, category)

    @rpc
    def get_category(self, center_id: str, code: str) -> dict[str, Any]:
        """One category; a retired one only for the center's admin."""
        principal = self.caller.require(center_id, ops.get_category)
        category = configuration.get_category(db_session=self.db, center_id=center_id, code=code)
        if not category.active and principal.role != "admin":
            raise CategoryNotFound()
        return dump(ops.CategoryRead, category)

    @rpc
    def list_categories(self, center_id: str) -> list[dict[str, Any]]:
        """The center's categories; its admin sees the retired ones too."""
        principal = self.caller.require(center_id, ops.list_categories)
        categories = configuration.list_categories(
            db_session=self.db, center_id=center_id, active_only=principal.role != "admin"
        )
        return dump(ops.CategoryRead, categories, many=True)

    @rpc
    def list_public_categories(self, center_id: str) -> list[dict[str, Any]]:
        """Public: the categories a resident may choose from (none at a disabled center:
        :class:`~lianxin.centers.CenterDisabled`, as its intake)."""
        configuration.require_writable(db_session=self.db, center_id=center_id)
        categories = configuration.list_categories(
            db_session=self.db, center_id=center_id, active_only=True
        )
        return dump(ops.CategoryRead, categories, many=True)

    @rpc
    def get_open311_service(self, center_id: str, service_code: str) -> dict[str, Any]:
        """Public: one category by its Open311 service code."""
        return dump(
            ops.CategoryRead,
            configuration.open311_service(
                db_session=self.db, center_id=center_id, service_code=service_code
            ),
        )

    # -- duty roster and Open311 keys ------------------------------------------------------

    @rpc
    def add_duty_shift(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, ops.add_duty_shift)
        shift = configuration.add_duty_shift(
            db_session=self.db,
            center_id=center_id,
            data=load(ops.DutyShiftCreate, payload),
            check_reachable=self._reachability,
        )
        self.db.commit()
        self._routing_changed(center_id, roster_only=True)  # whom a new ticket is announced to
        return dump(ops.DutyShiftRead, shift)

    def _reachability(self, center_id: str, person_id: str) -> Mapping[str, Any]:
        """notify's answer whether it can reach a person (the caller's token goes with it);
        its refusal as the kit error it is, its silence as :class:`DirectoryUnavailable`."""
        try:
            with eventlet.Timeout(DIRECTORY_TIMEOUT):
                answer: Mapping[str, Any] = self.notify_rpc.check_reachable(center_id, person_id)
                return answer
        except RemoteError as exc:
            raise from_remote(exc) or DirectoryUnavailable() from None
        except (eventlet.Timeout, UnknownService):
            raise DirectoryUnavailable() from None

    @rpc
    def list_duty(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        self.caller.require(center_id, ops.list_duty)
        window = load(ops.DutyQuery, query or {})
        return dump(
            ops.DutyShiftRead,
            configuration.list_duty(
                db_session=self.db, center_id=center_id, start=window.start, end=window.end
            ),
            many=True,
        )

    @rpc
    def create_api_key(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, ops.create_api_key)
        data = load(ops.ApiKeyCreate, payload)
        key = configuration.create_api_key(db_session=self.db, center_id=center_id, name=data.name)
        self.db.commit()
        return dump(ops.ApiKeyIssued, {"center_id": center_id, "name": data.name, "api_key": key})

    # -- intake ----------------------------------------------------------------------------

    @rpc
    def create_ticket(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Take in an issue. ``web`` intake is public; the other channels are staff's."""
        admitted = self._admit(self.caller, center_id, payload)
        ticket = intake.create_ticket(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            data=admitted.data,
            reporter_id=admitted.reporter_id,
            cache=self.routing,
            suggestions=self.suggestions,
            clerk=admitted.clerk,
        )
        self.db.commit()
        self.metrics.get(RECEIVED).labels(center_id, ticket.channel).inc()
        return dump(ops.TicketReceipt, ticket)

    @rpc
    def create_tickets(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Take in many issues in one transaction: the gateway gathers concurrent intake
        requests into one call. Each item (``center_id``, ``payload``, its caller's
        ``authorization`` token or none, and an ``intake_key`` naming what makes it the same
        submission) is checked exactly as :meth:`create_ticket` checks one, and answered on
        its own: ``{"ticket": receipt}``, ``{"ticket": receipt, "repeat": true}`` for the same
        submission again within :data:`intake.REPEAT_WINDOW` (the first ticket, nothing
        stored), or ``{"error": error}`` — one item's refusal leaves the others standing."""
        batch = load(ops.IntakeBatch, {"items": items})["items"]

        def admit(request: ops.IntakeRequest) -> intake.Admission:
            return self._admit(
                self.caller.for_token(request.authorization), request.center_id, request.payload
            )

        def take_in(requests: list[ops.IntakeRequest], careful: bool) -> list[intake.IntakeAnswer]:
            return intake.take_in(
                db_session=self.db,
                outbox=self.outbox,
                requests=requests,
                admit=admit,
                cache=self.routing,
                suggestions=self.suggestions,
                careful=careful,
            )

        def stored(requests: list[ops.IntakeRequest]) -> list[intake.IntakeAnswer]:
            try:
                answers = take_in(requests, careful=False)
                self.db.commit()  # the deferred INSERTs go here: they may fail here
            except IntegrityError:
                # The same submission, stored meanwhile through another gateway (the intake
                # key's unique index), or a request its gateway settled as not taken in (the
                # claim's key): once more, carefully. The look-up answers the first as a
                # repeat; the claim, asked first, drops the second.
                self.db.rollback()
                answers = take_in(requests, careful=True)
                self.db.commit()
            return answers

        try:
            answers = stored(batch)
        except intake.UNSTORABLE as exc:
            # A value the database refuses although its contract took it (a column
            # narrower than the contract): only its own report may fail, not every report
            # gathered with it — each is taken in alone, and the one refused says so.
            self.db.rollback()
            log.warning("a gathered intake call the database refused (%s): one at a time", exc)
            answers = [self._stored_alone(stored, request) for request in batch]
        for new in (a["ticket"] for a in answers if "ticket" in a and not a.get("repeat")):
            self.metrics.get(RECEIVED).labels(new.center_id, new.channel).inc()
        return [
            {**a, "ticket": dump(ops.TicketReceipt, a["ticket"])} if "ticket" in a else {**a}
            for a in answers
        ]

    def _stored_alone(
        self,
        stored: Callable[[list[ops.IntakeRequest]], list[intake.IntakeAnswer]],
        request: ops.IntakeRequest,
    ) -> intake.IntakeAnswer:
        try:
            return stored([request])[0]
        except intake.UNSTORABLE as exc:
            self.db.rollback()
            log.warning(
                "intake of a report for %s refused by the database: %s", request.center_id, exc
            )
            return {"error": Unstorable().to_dict()}

    @rpc
    def settle_intake(self, center_id: str, request_key: str) -> dict[str, Any]:
        """For the gateway (internal), when its wait for ``create_tickets`` ended: the ticket
        stored for its key of one request, or none — and then none ever (the request is
        abandoned: a copy still on its way stores nothing), so the gateway may answer 503
        and a retry can't make a duplicate."""
        ticket = settling.settle(db_session=self.db, center_id=center_id, request_key=request_key)
        self.db.commit()
        return dump(ops.SettledIntake, {"ticket": ticket})

    @timer("INTAKE_CLAIMS_PRUNE_SECONDS", default=3600)
    def prune_intake_claims(self) -> None:
        """Forget what became of intake requests older than a day."""
        settling.prune(db_session=self.db)
        self.db.commit()

    def _admit(
        self, caller: CallerCheck, center_id: str, payload: dict[str, Any]
    ) -> intake.Admission:
        """A new issue's validated data and reporter, if ``caller`` may report it: on the web
        anyone (a signed-in resident is its reporter; for anyone else, the person id under
        which the gateway handed their contact to notify); by hotline or walk-in, staff —
        who may also resolve it at once (an ``answer``)."""
        data: ops.NewTicket = load(ops.TicketCreate, payload)
        if data.channel == "open311":
            raise InvalidInput(fields={"channel": ["Open311 请求须经 /open311/v2 提交"]})
        if data.channel == "web" and caller.principal is None:
            intake.check_on_the_spot(data, None)
            return intake.Admission(data, data.reporter_id)
        principal = caller.require(center_id, ops.create_ticket)
        ops.create_ticket.authorize(principal, data)
        intake.check_on_the_spot(data, principal)
        if data.channel == "web" and principal.role == "resident":
            return intake.Admission(data, principal.id)
        return intake.Admission(data, data.reporter_id, principal)

    @rpc
    def create_open311_ticket(
        self, center_id: str, api_key: str | None, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Intake from an Open311 client holding an API key of the center. The payload names
        the category by its Open311 ``service_code`` (or by ``category``)."""
        configuration.require_center(db_session=self.db, center_id=center_id)
        configuration.check_api_key(db_session=self.db, center_id=center_id, key=api_key)
        payload = dict(payload)
        service_code = payload.pop("service_code", None)
        if service_code is not None:
            payload["category"] = configuration.open311_service(
                db_session=self.db, center_id=center_id, service_code=str(service_code)
            ).code
        data = load(ops.TicketCreate, {**payload, "channel": "open311"})
        intake.check_on_the_spot(data, None)
        ticket = intake.create_ticket(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            data=data,
            reporter_id=data.reporter_id,
            cache=self.routing,
            suggestions=self.suggestions,
        )
        self.db.commit()
        self.metrics.get(RECEIVED).labels(center_id, ticket.channel).inc()
        return dump(ops.TicketReceipt, ticket)

    # -- reading ---------------------------------------------------------------------------

    @rpc
    def get_ticket(self, center_id: str, ticket_id: str) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.get_ticket)
        return dump(
            ops.TicketRead,
            queries.visible_ticket(
                db_session=self.db, center_id=center_id, ticket_id=ticket_id, reader=principal
            ),
        )

    @rpc
    def get_ticket_timeline(self, center_id: str, ticket_id: str) -> list[dict[str, Any]]:
        principal = self.caller.require(center_id, ops.get_ticket_timeline)
        ticket = queries.visible_ticket(
            db_session=self.db, center_id=center_id, ticket_id=ticket_id, reader=principal
        )
        return dump(
            ops.TimelineEntry, queries.timeline(db_session=self.db, ticket=ticket), many=True
        )

    @rpc
    def get_public_ticket(
        self, center_id: str, ticket_id: str, query: dict[str, Any]
    ) -> dict[str, Any]:
        """A reporter without an account follows their ticket with its code: its photos only
        where the center shows photos to the public; whether they left a contact (if not,
        the page tells them to come back with the code)."""
        follow = load(ops.PublicFollow, query)
        ticket = queries.get_ticket(db_session=self.db, center_id=center_id, ticket_id=ticket_id)
        if follow.code != ticket.follow_code:
            raise TicketNotFound()
        center = configuration.require_center(db_session=self.db, center_id=center_id)
        answer: dict[str, Any] = dump(ops.TicketProgress, ticket)
        answer["timeline"] = dump(
            ops.TimelineEntry, queries.timeline(db_session=self.db, ticket=ticket), many=True
        )
        if not center.public_photos:
            answer["photo_ids"] = []
        return answer

    @rpc
    def list_tickets(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Staff see the center's tickets (a party's handler, its party's unless it asks);
        a resident sees their own."""
        principal = self.caller.require(center_id, ops.list_tickets)
        q = queries.as_seen_by(principal, load(ops.TicketQuery, query or {}))
        items, total = queries.list_tickets(
            db_session=self.db,
            center_id=center_id,
            query=q,
            reporter_id=principal.id if principal.role == "resident" else q.reporter_id,
        )
        return dump(
            ops.TicketList, {"items": items, "total": total, "limit": q.limit, "offset": q.offset}
        )

    @rpc
    def get_board(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Open tickets by deadline; a party's handler sees its own party's unless it asks."""
        principal = self.caller.require(center_id, ops.get_board)
        q = queries.as_seen_by(principal, load(ops.BoardQuery, query or {}))
        answer = queries.board(
            db_session=self.db, center_id=center_id, query=q, party=principal.party
        )
        return dump(ops.Board, answer)

    @rpc
    def search_tickets(self, center_id: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Public (Open311 GET requests.json): ids, service code, dates, open/closed; the
        photos only where the center shows them to the public."""
        center = configuration.require_center(db_session=self.db, center_id=center_id)
        tickets = queries.search_tickets(
            db_session=self.db, center_id=center_id, query=load(ops.TicketSearch, query)
        )
        found: list[dict[str, Any]] = dump(ops.TicketRead, tickets, many=True)
        if not center.public_photos:
            for ticket in found:
                ticket["photo_ids"] = []
        return found

    @rpc
    def find_public_photo(self, center_id: str, photo_id: str) -> dict[str, Any]:
        """Public (Open311 media_url): the ticket holding a photo the center shows."""
        return dump(
            ops.PublicPhoto,
            queries.public_photo(db_session=self.db, center_id=center_id, photo_id=photo_id),
        )

    # -- before and beside a report --------------------------------------------------------

    @rpc
    def suggest(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Public: the likely categories of what a resident has typed, and the open tickets
        it likely repeats (已有人反映)."""
        configuration.require_writable(db_session=self.db, center_id=center_id)
        answer = suggestions.suggest(
            db_session=self.db,
            center_id=center_id,
            ask=load(ops.SuggestionIn, payload),
            cache=self.suggestions,
        )
        return dump(ops.Suggestions, answer)

    @rpc
    def support_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Public: a resident joins an open ticket ("我也遇到了") — a signed-in resident as
        themselves, anyone else under the person id the gateway gave their contact."""
        data: ops.NewSupporter = load(ops.SupporterIn, payload)
        configuration.require_writable(db_session=self.db, center_id=center_id)
        caller = self.caller.optional()
        if caller is not None and caller.role == "resident":
            self.caller.require(center_id, ops.support_ticket)  # a resident of this center
            data = ops.NewSupporter(supporter_id=str(caller.id), phone_hash=data.phone_hash)
        ticket = queries.get_ticket(
            db_session=self.db, center_id=center_id, ticket_id=ticket_id, lock=True
        )
        supporters.support_ticket(
            db_session=self.db, outbox=self.outbox, ticket=ticket, supporter=data
        )
        self.db.commit()
        return dump(
            ops.SupportRead,
            {
                "ticket_id": ticket.id,
                "state": ticket.state,
                "supporter_id": data.supporter_id,
                "supporters": len(ticket.supporter_ids),
            },
        )

    # -- the workflow: one entrypoint per action -------------------------------------------

    def _step(
        self,
        principal: Principal,
        op: Operation,
        step: workflow.Step,
        center_id: str,
        ticket_id: str,
        payload: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Load the action's payload, lock the ticket as the caller may see it, check the
        operation's rules on it, take the step, commit."""
        assert op.body is not None
        data = load(op.body, payload or {})
        configuration.require_writable(db_session=self.db, center_id=center_id)
        ticket = queries.visible_ticket(
            db_session=self.db,
            center_id=center_id,
            ticket_id=ticket_id,
            reader=principal,
            lock=True,
        )
        op.authorize(principal, ticket)
        step(db_session=self.db, outbox=self.outbox, ticket=ticket, actor=principal, data=data)
        self.db.commit()
        return dump(ops.TicketRead, ticket)

    @rpc
    def acknowledge_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.acknowledge_ticket)
        answer = self._step(
            principal,
            ops.acknowledge_ticket,
            workflow.acknowledge_ticket,
            center_id,
            ticket_id,
            payload,
        )
        self.metrics.get(ACKNOWLEDGE_SECONDS).labels(center_id).observe(
            seconds_to_acknowledge(answer)
        )
        return answer

    @rpc
    def assign_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.assign_ticket)
        return self._step(
            principal, ops.assign_ticket, workflow.assign_ticket, center_id, ticket_id, payload
        )

    @rpc
    def start_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.start_ticket)
        return self._step(
            principal, ops.start_ticket, workflow.start_ticket, center_id, ticket_id, payload
        )

    @rpc
    def return_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.return_ticket)
        return self._step(
            principal, ops.return_ticket, workflow.return_ticket, center_id, ticket_id, payload
        )

    @rpc
    def resolve_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.resolve_ticket)
        return self._step(
            principal, ops.resolve_ticket, workflow.resolve_ticket, center_id, ticket_id, payload
        )

    @rpc
    def escalate_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.escalate_ticket)
        return self._step(
            principal, ops.escalate_ticket, meetings.escalate_ticket, center_id, ticket_id, payload
        )

    @rpc
    def merge_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.merge_ticket)
        return self._step(
            principal, ops.merge_ticket, workflow.merge_ticket, center_id, ticket_id, payload
        )

    @rpc
    def urge_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.urge_ticket)
        return self._step(
            principal, ops.urge_ticket, urging.urge_ticket, center_id, ticket_id, payload
        )

    @rpc
    def close_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.close_ticket)
        return self._step(
            principal, ops.close_ticket, workflow.close_ticket, center_id, ticket_id, payload
        )

    @rpc
    def reopen_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.reopen_ticket)
        return self._step(
            principal, ops.reopen_ticket, workflow.reopen_ticket, center_id, ticket_id, payload
        )

    @rpc
    def rate_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.rate_ticket)
        answer = self._step(
            principal, ops.rate_ticket, workflow.rate_ticket, center_id, ticket_id, payload
        )
        self.metrics.get(RATINGS).labels(center_id, answer["rating"]).inc()
        return answer

    @rpc
    def rate_public_ticket(
        self, center_id: str, ticket_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """The return visit for a reporter without an account: rated with the follow code."""
        data = load(ops.PublicRatingIn, payload)
        configuration.require_writable(db_session=self.db, center_id=center_id)
        ticket = queries.get_ticket(
            db_session=self.db, center_id=center_id, ticket_id=ticket_id, lock=True
        )
        if data.follow_code != ticket.follow_code:
            raise TicketNotFound()
        workflow.rate_ticket(
            db_session=self.db,
            outbox=self.outbox,
            ticket=ticket,
            actor=Principal.person(ticket.reporter_id, "reporter"),
            data=data,
        )
        self.db.commit()
        self.metrics.get(RATINGS).labels(center_id, data.rating).inc()
        return dump(ops.TicketRead, ticket)

    # -- joint meeting ---------------------------------------------------------------------

    @rpc
    def list_meetings(self, center_id: str) -> list[dict[str, Any]]:
        self.caller.require(center_id, ops.list_meetings)
        return dump(
            ops.MeetingSummary,
            meetings.list_meetings(db_session=self.db, center_id=center_id),
            many=True,
        )

    @rpc
    def get_meeting(self, center_id: str, month: str) -> dict[str, Any]:
        self.caller.require(center_id, ops.get_meeting)
        meeting, items = meetings.get_meeting(db_session=self.db, center_id=center_id, month=month)
        return dump(
            ops.MeetingRead,
            {
                "id": meeting.id,
                "month": meeting.month,
                "meeting_date": meeting.meeting_date,
                "items": items,
            },
        )

    @rpc
    def decide_agenda_item(
        self, center_id: str, item_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self.caller.require(center_id, ops.decide_agenda_item)
        configuration.require_writable(db_session=self.db, center_id=center_id)
        item = meetings.decide_agenda_item(
            db_session=self.db,
            outbox=self.outbox,
            center_id=center_id,
            item_id=item_id,
            actor=principal,
            data=load(ops.DecisionIn, payload),
        )
        self.db.commit()
        return dump(ops.AgendaItemRead, item)

    # -- satisfaction and SLA --------------------------------------------------------------

    @rpc
    def get_satisfaction(
        self, center_id: str, query: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.caller.require(center_id, ops.get_satisfaction)
        q = load(ops.SatisfactionQuery, query or {})
        rows = queries.satisfaction(
            db_session=self.db, center_id=center_id, group_by=q.group_by, start=q.start, end=q.end
        )
        return dump(ops.Satisfaction, {"group_by": q.group_by, "rows": rows})

    @rpc
    def list_meeting_days(self) -> list[dict[str, Any]]:
        """For the reports service (internal): every center's joint-meeting day, so it
        publishes each month's report the day before the meeting."""
        return dump(ops.MeetingDay, statistics.meeting_days(db_session=self.db), many=True)

    @rpc
    def ticket_stats(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Received, resolved, overdue, returned, escalated by party and category; the share
        acknowledged within 10 minutes; the resolve-time distribution (the monthly report's)."""
        self.caller.require(center_id, ops.ticket_stats)
        q = load(ops.TicketStatsQuery, query or {})
        figures = statistics.ticket_stats(
            db_session=self.db, center_id=center_id, date_from=q.date_from, date_to=q.date_to
        )
        return dump(ops.TicketStats, figures)

    @rpc
    def county_ticket_stats(
        self, center_ids: list[str] | None, query: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """For the reports service's county view (internal): each existing center's name,
        total figures, median resolve hours and satisfaction for the period, counted at
        once; ``center_ids`` all granted by the caller's token (else ``CENTER_FORBIDDEN``, as
        ``ticket_stats``), or ``None``: every center the token grants."""
        ids = self.caller.require_centers(ops.county_ticket_stats, center_ids)
        q = load(ops.TicketStatsQuery, query or {})
        figures = statistics.county_ticket_stats(
            db_session=self.db, center_ids=ids, date_from=q.date_from, date_to=q.date_to
        )
        return dump(ops.CountyTicketFigures, figures, many=True)

    @timer("SLA_CHECK_SECONDS", default=30)
    def check_sla(self) -> None:
        """Announce every missed deadline once (the kit's outbox carries it to notify), and
        refresh the open-ticket gauge."""
        breaches = sla.check_sla(db_session=self.db, outbox=self.outbox)
        self.db.commit()
        for breach in breaches:
            self.metrics.get(SLA_BREACHES).labels(
                breach.center_id, breach.kind, str(breach.level)
            ).inc()
        open_now = self.metrics.get(OPEN_TICKETS)
        for center_id, states in sla.open_tickets(db_session=self.db).items():
            for state, count in states.items():
                open_now.labels(center_id, state).set(count)
