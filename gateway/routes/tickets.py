"""Routes of resident issues (tickets service): intake, the workflow, the staff board, the
joint meeting, satisfaction and the center's configuration.

Everything that only forwards is one line of ``ROUTES``; the methods of
:class:`TicketRoutes` are intake (gathered, with repeats, photos and the reporter's
contact), supporters joining a ticket, and the throttled public rating.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from marshmallow import fields

from gateway.api import PUBLIC, ApiRequest, Route, call, expose, route
from gateway.base import GatewayBase
from gateway.http import json_response
from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as ops
from lianxin.errors import InvalidInput
from lianxin.people import keyed_hash, normalize_phone, person_for_phone

#: Intake's other success: the same submission again, answered with the first ticket.
REPEAT = {200: "重复提交：返回首次受理的工单，不另行登记"}
log = logging.getLogger(__name__)


class PublicIntake(ops.PublicTicketCreate):
    contact = fields.Nested(ops.ReporterContact, load_default=None, allow_none=True)


def supporter_phone_hash(ticket_id: str, phone: str) -> str:
    """What a ticket keeps of a supporter's phone: a keyed hash, salted with the ticket (the
    same phone on two tickets can't be linked by it)."""
    return keyed_hash("tickets/supporter-phone", f"{ticket_id}|{normalize_phone(phone)}")


class ReporterRoutes(GatewayBase):
    """What every intake route of a reporter without an account does with their contact:
    hands it to notify (the only owner of contact data) under a new person id, before the
    ticket is stored. The ticket and its events carry only that id."""

    def new_reporter(self, center_id: str, contact: dict[str, Any] | None) -> str | None:
        """A reporter's person id, if they left a way to reach them: the person of their
        phone (signing in with a code to that phone, they see this ticket), else a new id."""
        if not contact or not (contact.get("phone") or contact.get("email")):
            return None
        if contact.get("phone"):
            return person_for_phone(center_id, contact["phone"])
        return "reporter-" + uuid.uuid4().hex[:16]

    def remember_contact(
        self, center_id: str, person_id: str | None, contact: dict[str, Any] | None
    ) -> None:
        """Fire-and-forget: the intake answer does not wait for notify, which keeps only
        residents' entries this way (``remember_reporter``)."""
        if person_id is None or contact is None:
            return
        payload = {
            "person_id": person_id,
            "name": contact.get("name") or "居民",
            "phone": contact.get("phone"),
            "email": contact.get("email"),
        }
        try:
            self.notify_rpc.remember_reporter.call_async(center_id, payload)
        except Exception as exc:
            log.error("could not hand reporter %s's contact to notify: %s", person_id, exc)

    def hand_over_contact(self, center_id: str, contact: dict[str, Any] | None) -> str | None:
        """A new reporter's person id, their contact handed to notify under it (None: they
        left no phone or e-mail)."""
        loaded = load(ops.ReporterContact, contact) if contact else None
        person_id = self.new_reporter(center_id, loaded)
        self.remember_contact(center_id, person_id, loaded)
        return person_id


#: The routes that only forward to an operation (see gateway.api.expose).
ROUTES: list[Route] = [
    # public
    expose("GET", "/api/v1/public/centers/<center_id>", ops.get_center, tag="public"),
    expose(
        "GET",
        "/api/v1/public/centers/<center_id>/categories",
        ops.list_public_categories,
        tag="public",
    ),
    expose(
        "GET",
        "/api/v1/public/centers/<center_id>/tickets/<ticket_id>",
        ops.get_public_ticket,
        tag="public",
    ),
    expose("POST", "/api/v1/public/centers/<center_id>/suggestions", ops.suggest, tag="public"),
    # tickets
    expose("GET", "/api/v1/tickets", ops.list_tickets, tag="tickets"),
    expose("GET", "/api/v1/tickets/<ticket_id>", ops.get_ticket, tag="tickets"),
    expose("GET", "/api/v1/tickets/<ticket_id>/timeline", ops.get_ticket_timeline, tag="tickets"),
    expose("GET", "/api/v1/board", ops.get_board, tag="tickets"),
    expose("GET", "/api/v1/satisfaction", ops.get_satisfaction, tag="tickets"),
    # the workflow, one route per action (each has its own body)
    expose(
        "POST", "/api/v1/tickets/<ticket_id>/acknowledge", ops.acknowledge_ticket, tag="workflow"
    ),
    expose("POST", "/api/v1/tickets/<ticket_id>/assign", ops.assign_ticket, tag="workflow"),
    expose("POST", "/api/v1/tickets/<ticket_id>/start", ops.start_ticket, tag="workflow"),
    expose("POST", "/api/v1/tickets/<ticket_id>/return", ops.return_ticket, tag="workflow"),
    expose("POST", "/api/v1/tickets/<ticket_id>/resolve", ops.resolve_ticket, tag="workflow"),
    expose("POST", "/api/v1/tickets/<ticket_id>/escalate", ops.escalate_ticket, tag="workflow"),
    expose("POST", "/api/v1/tickets/<ticket_id>/merge", ops.merge_ticket, tag="workflow"),
    expose("POST", "/api/v1/tickets/<ticket_id>/urge", ops.urge_ticket, tag="workflow"),
    expose("POST", "/api/v1/tickets/<ticket_id>/close", ops.close_ticket, tag="workflow"),
    expose("POST", "/api/v1/tickets/<ticket_id>/reopen", ops.reopen_ticket, tag="workflow"),
    expose("POST", "/api/v1/tickets/<ticket_id>/rating", ops.rate_ticket, tag="workflow"),
    # the joint meeting
    expose("GET", "/api/v1/joint-meetings", ops.list_meetings, tag="joint meeting"),
    expose("GET", "/api/v1/joint-meetings/<month>", ops.get_meeting, tag="joint meeting"),
    expose(
        "POST",
        "/api/v1/joint-meetings/items/<item_id>/decision",
        ops.decide_agenda_item,
        tag="joint meeting",
    ),
    # configuration
    expose("PATCH", "/api/v1/center", ops.update_center, tag="configuration"),
    expose("GET", "/api/v1/categories", ops.list_categories, tag="configuration"),
    expose("POST", "/api/v1/categories", ops.add_category, tag="configuration", status=201),
    expose("GET", "/api/v1/categories/<code>", ops.get_category, tag="configuration"),
    expose("PATCH", "/api/v1/categories/<code>", ops.update_category, tag="configuration"),
    expose("GET", "/api/v1/duty", ops.list_duty, tag="configuration"),
    expose("POST", "/api/v1/duty", ops.add_duty_shift, tag="configuration", status=201),
    expose("POST", "/api/v1/api-keys", ops.create_api_key, tag="configuration", status=201),
]


class TicketRoutes(ReporterRoutes):
    def intake_key(self, req: ApiRequest, center_id: str, key: str | None = None) -> str | None:
        """What makes a submission the same as an earlier one from the same client: its
        ``Idempotency-Key`` header, or else — for residents, who don't report the same thing
        twice in ten minutes — the same category and text. Staff registering calls get no
        key without the header: two callers may well describe one problem alike."""
        who = (
            f"sub:{req.principal.sub}"
            if req.principal
            else f"client:{self.throttle.client(req.request)}"
        )
        header = (key or req.request.headers.get("Idempotency-Key") or "").strip()
        if header:
            material = f"{who}|{center_id}|key|{header[:200]}"
        elif req.principal is None or req.principal.role == "resident":
            body = req.body if isinstance(req.body, dict) else {}
            text = " ".join(str(body.get("description", "")).split())
            material = f"{who}|{center_id}|{body.get('category')}|{text}"
        else:
            return None
        return hashlib.sha256(material.encode()).hexdigest()

    @route(
        "POST",
        "/api/v1/public/tickets",
        summary="居民在线反映诉求（免登录）",
        tag="public",
        roles=PUBLIC,
        body=PublicIntake,
        response=ops.TicketReceipt,
        status=201,
        also=REPEAT,
    )
    def public_create_ticket(self, req: ApiRequest) -> Any:
        """Public web intake, throttled per client (429 with Retry-After). The answer carries
        the ``follow_code`` to follow the ticket and rate it later without an account. The same
        submission again from the same client within ten minutes (or the same
        ``Idempotency-Key`` header) answers 200 with the first ticket and stores nothing."""
        self.throttle.check(req.request)
        payload = dict(req.body)
        center_id = payload.pop("center_id")
        if payload.get("photo_ids"):
            self.photos.check_ids(center_id, payload["photo_ids"])
        payload["channel"] = "web"
        reporter = self.hand_over_contact(center_id, payload.pop("contact", None))
        if reporter is not None:
            payload["reporter_id"] = reporter
        receipt, repeat = self.intake.create(
            center_id, payload, self.tickets_rpc, self.intake_key(req, center_id)
        )
        # A repeat: the first ticket (its reporter), nothing new stored.
        return json_response(receipt, 200) if repeat else receipt

    @route("POST", "/api/v1/tickets", op=ops.create_ticket, tag="tickets", status=201, also=REPEAT)
    def create_ticket(self, req: ApiRequest) -> Any:
        """Residents report for themselves (web); staff register hotline and walk-in reports,
        with the caller's ``contact`` (handed to notify: its new person id is the reporter)
        or an existing ``reporter_id``, and may resolve them at once with an ``answer``.
        A repeat answers 200 with the first ticket: a resident's same category and text within
        ten minutes, or anyone's same ``Idempotency-Key`` header."""
        receipt, repeat = self.register_report(req)
        return json_response(receipt, 200) if repeat else receipt

    def register_report(
        self, req: ApiRequest, key: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """A report registered by its signed-in caller (the API's route, the console's
        intake page): the receipt, and whether it repeats an earlier submission (``key``:
        the submission's idempotency key, else the request's ``Idempotency-Key``)."""
        assert req.center is not None and req.principal is not None  # an operation with roles
        payload = dict(req.body)
        contact = payload.pop("contact", None)
        if contact and not req.principal.is_staff:
            raise InvalidInput(fields={"contact": ["居民本人反映时以通讯录中的联系方式为准"]})
        if contact and payload.get("reporter_id"):
            raise InvalidInput(fields={"contact": ["已指定 reporter_id，无需再填写联系方式"]})
        if payload.get("photo_ids"):
            self.photos.check_ids(req.center, payload["photo_ids"])
        reporter = self.hand_over_contact(req.center, contact)
        if reporter is not None:
            payload["reporter_id"] = reporter
        receipt, repeat = self.intake.create(
            req.center, payload, self.tickets_rpc, self.intake_key(req, req.center, key)
        )
        return receipt, repeat

    @route(
        "POST",
        "/api/v1/public/tickets/<ticket_id>/supporters",
        summary="我也遇到了：加入已有诉求（免登录留手机号，或居民登录）",
        tag="public",
        roles=PUBLIC,
        body=ops.PublicSupport,
        response=ops.SupportRead,
        status=201,
    )
    def support_ticket(self, req: ApiRequest, ticket_id: str) -> Any:
        """Throttled per client. A signed-in resident joins as themselves; anyone else leaves
        a phone to be told of progress on (handed to notify, as intake does; the ticket keeps
        a keyed hash of it). Joining twice — the same person or phone — is a 409."""
        self.throttle.check(req.request)
        center_id, phone = req.body["center_id"], req.body.get("phone")
        signed_in = self.auth.optional(req.request, ops.support_ticket)
        if signed_in is not None and signed_in.role == "resident":
            payload: dict[str, Any] = {"supporter_id": signed_in.id}
        elif not phone:
            raise InvalidInput(fields={"phone": ["请留下手机号码，以便告知办理进展"]})
        else:
            person = person_for_phone(center_id, phone)
            self.remember_contact(center_id, person, {"name": req.body.get("name"), "phone": phone})
            payload = {
                "supporter_id": person,
                "phone_hash": supporter_phone_hash(ticket_id, phone),
            }
        return call(
            self.tickets_rpc.support_ticket,
            center_id,
            ticket_id,
            payload,
            timeout=ops.support_ticket.timeout,
        )

    @route(
        "POST",
        "/api/v1/public/centers/<center_id>/tickets/<ticket_id>/rating",
        op=ops.rate_public_ticket,
        tag="public",
    )
    def rate_public_ticket(self, req: ApiRequest, center_id: str, ticket_id: str) -> Any:
        """Throttled per client, as public intake is."""
        self.throttle.check(req.request)
        return call(
            self.tickets_rpc.rate_public_ticket,
            center_id,
            ticket_id,
            req.body,
            timeout=ops.rate_public_ticket.timeout,
        )
