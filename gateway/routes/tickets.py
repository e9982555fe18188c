"""Routes of resident issues (tickets service): intake, the workflow, the staff board, the
joint meeting, satisfaction and the center's configuration."""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from marshmallow import fields, validate

from gateway.api import PUBLIC, Route, call, route
from gateway.base import GatewayBase
from gateway.http import json_response
from gateway.routes import ADMIN, MEMBERS, STAFF
from lianxin.contracts.notify import operations as nt
from lianxin.contracts.schema import BaseSchema, load
from lianxin.contracts.tickets import operations as tk

READERS = ("staff", "admin", "department")
#: Intake's other success: the same submission again, answered with the first ticket.
REPEAT = {200: "重复提交：返回首次受理的工单，不另行登记"}
log = logging.getLogger(__name__)


class ReporterContact(BaseSchema):
    """How to reach a reporter without an account (kept only by notify's directory)."""

    name = fields.Str(load_default="居民", validate=validate.Length(min=1, max=40))
    phone = fields.Str(load_default=None, allow_none=True, validate=validate.Regexp(nt.PHONE_RE))
    email = fields.Email(load_default=None, allow_none=True)


class PublicIntake(tk.PublicTicketCreate):
    contact = fields.Nested(ReporterContact, load_default=None, allow_none=True)


class PublicFollow(BaseSchema):
    code = fields.Str(required=True, validate=validate.Length(min=6, max=32))


class ContactMixin:
    """Hands a reporter's contact data to notify (the only owner of contact data)."""

    def new_reporter(self, contact: dict[str, Any] | None) -> str | None:
        if not contact or not (contact.get("phone") or contact.get("email")):
            return None
        return "reporter-" + uuid.uuid4().hex[:16]

    def remember_contact(self, center_id: str, person_id: str | None,
                         contact: dict[str, Any] | None) -> None:
        """Fire-and-forget: the intake answer does not wait for notify."""
        if person_id is None:
            return
        self.auth.as_service(center_id)
        payload = {"person_id": person_id, "name": contact.get("name") or "居民", "role": "resident",
                   "phone": contact.get("phone"), "email": contact.get("email")}
        try:
            self.notify_rpc.upsert_contact.call_async(center_id, payload)
        except Exception as exc:
            log.error("could not hand reporter %s's contact to notify: %s", person_id, exc)


#: The routes that only forward to an operation (see gateway.api.expose).
ROUTES: list[Route] = []


class TicketRoutes(GatewayBase, ContactMixin):
    def intake_key(self, req: Any, center_id: str) -> str | None:
        """What makes a submission the same as an earlier one from the same client: its
        ``Idempotency-Key`` header, or else — for residents, who don't report the same thing
        twice in ten minutes — the same category and text. Staff registering calls get no
        key without the header: two callers may well describe one problem alike."""
        who = f"sub:{req.principal.sub}" if req.principal else f"client:{self.throttle.client(req.request)}"
        header = (req.request.headers.get("Idempotency-Key") or "").strip()
        if header:
            material = f"{who}|{center_id}|key|{header[:200]}"
        elif req.principal is None or req.principal.role == "resident":
            body = req.body if isinstance(req.body, dict) else {}
            text = " ".join(str(body.get("description", "")).split())
            material = f"{who}|{center_id}|{body.get('category')}|{text}"
        else:
            return None
        return hashlib.sha256(material.encode()).hexdigest()


    # -- public ----------------------------------------------------------------------------

    @route("GET", "/api/v1/public/centers/<center_id>", summary="查询服务中心", tag="public",
           roles=PUBLIC, response=tk.CenterRead)
    def get_center(self, req, center_id: str) -> Any:
        return call(self.tickets_rpc.get_center, center_id)

    @route("GET", "/api/v1/public/centers/<center_id>/categories", summary="诉求类别", tag="public",
           roles=PUBLIC, response=tk.CategoryRead, many=True)
    def public_categories(self, req, center_id: str) -> Any:
        return call(self.tickets_rpc.list_categories, center_id)

    @route("POST", "/api/v1/public/tickets", summary="居民在线反映诉求（免登录）", tag="public",
           roles=PUBLIC, body=PublicIntake, response=tk.TicketReceipt, status=201, also=REPEAT)
    def public_create_ticket(self, req) -> Any:
        """Public web intake, throttled per client (429 with Retry-After). The answer carries
        the ``follow_code`` to follow the ticket and rate it later without an account. The same
        submission again from the same client within ten minutes (or the same
        ``Idempotency-Key`` header) answers 200 with the first ticket and stores nothing."""
        self.throttle.check(req.request)
        payload = dict(req.body)
        center_id = payload.pop("center_id")
        contact = load(ReporterContact(), payload.pop("contact")) if payload.get("contact") else None
        payload["channel"] = "web"
        payload["reporter_id"] = reporter = self.new_reporter(contact)
        if reporter is None:
            payload.pop("reporter_id")
        receipt, repeat = self.intake.create(center_id, payload, self.tickets_rpc,
                                             self.intake_key(req, center_id))
        if repeat:  # the same submission again: the first ticket, nothing new stored
            return json_response(receipt, 200)
        self.remember_contact(center_id, reporter, contact)
        return receipt

    @route("GET", "/api/v1/public/centers/<center_id>/tickets/<ticket_id>", summary="查询诉求办理进度",
           tag="public", roles=PUBLIC, query=PublicFollow, response=tk.TicketRead)
    def public_follow_ticket(self, req, center_id: str, ticket_id: str) -> Any:
        return call(self.tickets_rpc.get_public_ticket, center_id, ticket_id, req.query["code"])

    @route("POST", "/api/v1/public/centers/<center_id>/tickets/<ticket_id>/rating",
           summary="回访评价（免登录，凭查询码）", tag="public", roles=PUBLIC, body=tk.PublicRatingIn,
           response=tk.TicketRead)
    def public_rate_ticket(self, req, center_id: str, ticket_id: str) -> Any:
        self.throttle.check(req.request)
        return call(self.tickets_rpc.rate_public_ticket, center_id, ticket_id, req.body)

    # -- tickets ---------------------------------------------------------------------------

    @route("POST", "/api/v1/tickets", summary="登记群众诉求", tag="tickets",
           roles=("resident", *STAFF), body=tk.TicketCreate, response=tk.TicketReceipt, status=201,
           also=REPEAT)
    def create_ticket(self, req) -> Any:
        """Residents report for themselves (web); staff register hotline and walk-in reports.
        A repeat answers 200 with the first ticket: a resident's same category and text within
        ten minutes, or anyone's same ``Idempotency-Key`` header."""
        receipt, repeat = self.intake.create(req.center, req.body, self.tickets_rpc,
                                             self.intake_key(req, req.center))
        return json_response(receipt, 200) if repeat else receipt

    @route("GET", "/api/v1/tickets", summary="工单列表（居民只看到本人的）", tag="tickets",
           roles=("resident", *READERS), query=tk.TicketQuery, response=tk.TicketList)
    def list_tickets(self, req) -> Any:
        return call(self.tickets_rpc.list_tickets, req.center, req.query)

    @route("GET", "/api/v1/tickets/<ticket_id>", summary="工单详情", tag="tickets",
           roles=("resident", *READERS), response=tk.TicketRead)
    def get_ticket(self, req, ticket_id: str) -> Any:
        return call(self.tickets_rpc.get_ticket, req.center, ticket_id)

    @route("GET", "/api/v1/tickets/<ticket_id>/timeline", summary="工单处理过程（审计记录）",
           tag="tickets", roles=("resident", *READERS), response=tk.TimelineEntry, many=True)
    def ticket_timeline(self, req, ticket_id: str) -> Any:
        return call(self.tickets_rpc.ticket_timeline, req.center, ticket_id)

    @route("GET", "/api/v1/board", summary="值班看板：未办结工单按时限排序", tag="tickets", roles=STAFF,
           query=tk.BoardQuery, response=tk.Board)
    def ticket_board(self, req) -> Any:
        return call(self.tickets_rpc.board, req.center, req.query)

    # -- workflow actions, one route each (each has its own body) --------------------------

    def _act(self, req, ticket_id: str, action: str) -> Any:
        return call(self.tickets_rpc.transition_ticket, req.center, ticket_id, action, req.body)

    @route("POST", "/api/v1/tickets/<ticket_id>/acknowledge", summary="签收（值班干部）", tag="workflow",
           roles=STAFF, body=tk.Note, response=tk.TicketRead)
    def acknowledge_ticket(self, req, ticket_id: str) -> Any:
        return self._act(req, ticket_id, "acknowledge")

    @route("POST", "/api/v1/tickets/<ticket_id>/assign", summary="派单 / 改派", tag="workflow",
           roles=STAFF, body=tk.AssignIn, response=tk.TicketRead)
    def assign_ticket(self, req, ticket_id: str) -> Any:
        return self._act(req, ticket_id, "assign")

    @route("POST", "/api/v1/tickets/<ticket_id>/start", summary="开始办理", tag="workflow",
           roles=STAFF, body=tk.Note, response=tk.TicketRead)
    def start_ticket(self, req, ticket_id: str) -> Any:
        return self._act(req, ticket_id, "start")

    @route("POST", "/api/v1/tickets/<ticket_id>/return", summary="退单（须说明理由）", tag="workflow",
           roles=STAFF, body=tk.ReasonIn, response=tk.TicketRead)
    def return_ticket(self, req, ticket_id: str) -> Any:
        return self._act(req, ticket_id, "return")

    @route("POST", "/api/v1/tickets/<ticket_id>/resolve", summary="办结（须填写答复）", tag="workflow",
           roles=STAFF, body=tk.ResolveIn, response=tk.TicketRead)
    def resolve_ticket(self, req, ticket_id: str) -> Any:
        return self._act(req, ticket_id, "resolve")

    @route("POST", "/api/v1/tickets/<ticket_id>/escalate", summary="提交党建联席会", tag="workflow",
           roles=STAFF, body=tk.ReasonIn, response=tk.TicketRead)
    def escalate_ticket(self, req, ticket_id: str) -> Any:
        return self._act(req, ticket_id, "escalate")

    @route("POST", "/api/v1/tickets/<ticket_id>/merge", summary="并单（重复诉求并入主工单）",
           tag="workflow", roles=STAFF, body=tk.MergeIn, response=tk.TicketRead)
    def merge_ticket(self, req, ticket_id: str) -> Any:
        return self._act(req, ticket_id, "merge")

    @route("POST", "/api/v1/tickets/<ticket_id>/close", summary="回访关闭（未能评价时）",
           tag="workflow", roles=STAFF, body=tk.ReasonIn, response=tk.TicketRead)
    def close_ticket(self, req, ticket_id: str) -> Any:
        return self._act(req, ticket_id, "close")

    @route("POST", "/api/v1/tickets/<ticket_id>/reopen", summary="重新办理（办结后 15 天内）",
           tag="workflow", roles=("resident", *STAFF), body=tk.ReasonIn, response=tk.TicketRead)
    def reopen_ticket(self, req, ticket_id: str) -> Any:
        return self._act(req, ticket_id, "reopen")

    @route("POST", "/api/v1/tickets/<ticket_id>/rating", summary="回访评价", tag="workflow",
           roles=("resident", *STAFF), body=tk.RatingIn, response=tk.TicketRead)
    def rate_ticket(self, req, ticket_id: str) -> Any:
        """The resident rates; staff record a rating taken by phone or visit (``via``)."""
        return self._act(req, ticket_id, "rate")

    # -- joint meeting and satisfaction ----------------------------------------------------

    @route("GET", "/api/v1/joint-meetings", summary="党建联席会列表", tag="joint meeting",
           roles=READERS)
    def list_meetings(self, req) -> Any:
        return call(self.tickets_rpc.list_meetings, req.center)

    @route("GET", "/api/v1/joint-meetings/<month>", summary="某月联席会议程", tag="joint meeting",
           roles=READERS, response=tk.MeetingRead)
    def get_meeting(self, req, month: str) -> Any:
        return call(self.tickets_rpc.get_meeting, req.center, month)

    @route("POST", "/api/v1/joint-meetings/items/<item_id>/decision", summary="记录联席会决定",
           tag="joint meeting", roles=STAFF, body=tk.DecisionIn, response=tk.AgendaItemRead)
    def decide_agenda_item(self, req, item_id: str) -> Any:
        return call(self.tickets_rpc.decide_agenda_item, req.center, item_id, req.body)

    @route("GET", "/api/v1/satisfaction", summary="群众满意度（按中心、责任方、类别或月份）",
           tag="tickets", roles=(*READERS, "ops"), query=tk.SatisfactionQuery,
           response=tk.Satisfaction)
    def satisfaction(self, req) -> Any:
        return call(self.tickets_rpc.satisfaction, req.center, req.query)

    # -- configuration ---------------------------------------------------------------------

    @route("PATCH", "/api/v1/center", summary="修改中心设置（兜底责任方、自动派单、联席会日期）",
           tag="configuration", roles=ADMIN, body=tk.CenterSettings, response=tk.CenterRead)
    def update_center(self, req) -> Any:
        return call(self.tickets_rpc.update_center, req.center, req.body)

    @route("GET", "/api/v1/categories", summary="诉求类别", tag="configuration", roles=MEMBERS,
           response=tk.CategoryRead, many=True)
    def list_categories(self, req) -> Any:
        return call(self.tickets_rpc.list_categories, req.center, req.principal.role == "admin")

    @route("POST", "/api/v1/categories", summary="新增诉求类别（含分派规则与时限）",
           tag="configuration", roles=ADMIN, body=tk.CategoryCreate, response=tk.CategoryRead,
           status=201)
    def add_category(self, req) -> Any:
        return call(self.tickets_rpc.add_category, req.center, req.body)

    @route("PATCH", "/api/v1/categories/<code>", summary="修改诉求类别（分派规则、时限、停用）",
           tag="configuration", roles=ADMIN, body=tk.CategoryUpdate, response=tk.CategoryRead)
    def update_category(self, req, code: str) -> Any:
        return call(self.tickets_rpc.update_category, req.center, code, req.body)

    @route("GET", "/api/v1/duty", summary="值班表", tag="configuration", roles=STAFF,
           query=tk.DutyQuery, response=tk.DutyShiftRead, many=True)
    def list_duty(self, req) -> Any:
        return call(self.tickets_rpc.list_duty, req.center, req.query)

    @route("POST", "/api/v1/duty", summary="排班", tag="configuration", roles=ADMIN,
           body=tk.DutyShiftCreate, response=tk.DutyShiftRead, status=201)
    def add_duty_shift(self, req) -> Any:
        return call(self.tickets_rpc.add_duty_shift, req.center, req.body)

    @route("POST", "/api/v1/api-keys", summary="为 Open311 客户端生成 API 密钥", tag="configuration",
           roles=ADMIN, body=tk.ApiKeyCreate, status=201)
    def create_api_key(self, req) -> Any:
        return call(self.tickets_rpc.create_api_key, req.center, req.body)
