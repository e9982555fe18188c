"""GatewayService: the one HTTP door — REST under /api/v1, /healthz, /metrics, OpenAPI."""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.rpc import RpcProxy
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from lianxin import metrics as kit_metrics
from lianxin.contracts import events as ev
from lianxin.contracts import notify as nt
from lianxin.contracts import tickets as tk
from lianxin.contracts import volunteers as vo
from lianxin.metrics import Metrics
from gateway.api import PUBLIC, call, openapi, route
from gateway.dependencies import Auth, Throttle
from gateway.http import json_response

STAFF = ("staff", "admin")
ADMIN = ("admin",)
MEMBERS = ("resident", "volunteer", "staff", "admin")
BACKENDS = ("tickets", "volunteers", "events", "notify")


class GatewayService:
    name = "gateway"

    auth = Auth()
    throttle = Throttle()
    metrics = Metrics()
    tickets_rpc = RpcProxy("tickets")
    volunteers_rpc = RpcProxy("volunteers")
    events_rpc = RpcProxy("events")
    notify_rpc = RpcProxy("notify")

    max_body = 64 * 1024

    # -- operations ------------------------------------------------------------------------

    @http("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        """200 when the broker and every service answer; 503 naming what does not."""
        pool = eventlet.GreenPool()
        proxies = {"tickets": self.tickets_rpc, "volunteers": self.volunteers_rpc,
                   "events": self.events_rpc, "notify": self.notify_rpc}

        def check(name: str) -> tuple[str, str]:
            try:
                call(proxies[name].health, timeout=3)
                return name, "ok"
            except Exception as exc:  # noqa: BLE001 - any failure is "not healthy"
                return name, f"error: {type(exc).__name__}"

        results = dict(pool.imap(check, BACKENDS))
        healthy = all(v == "ok" for v in results.values())
        return json_response({"status": "ok" if healthy else "unavailable", "services": results,
                              "broker": "ok" if any(v == "ok" for v in results.values()) else "unknown"},
                             200 if healthy else 503)

    @http("GET", "/metrics")
    def prometheus(self, request: Request) -> Response:
        return Response(kit_metrics.exposition(), mimetype="text/plain; version=0.0.4")

    @http("GET", "/api/v1/openapi.json")
    def openapi_document(self, request: Request) -> Response:
        return json_response(openapi())

    # -- public ----------------------------------------------------------------------------

    @route("GET", "/api/v1/public/centers/<center_id>", summary="查询服务中心", tag="public",
           roles=PUBLIC, response=tk.CenterRead)
    def get_center(self, req, center_id: str) -> Any:  # noqa: ANN001
        return call(self.tickets_rpc.get_center, center_id)

    @route("GET", "/api/v1/public/centers/<center_id>/categories", summary="诉求类别", tag="public",
           roles=PUBLIC, response=tk.CategoryRead, many=True)
    def public_categories(self, req, center_id: str) -> Any:  # noqa: ANN001
        return call(self.tickets_rpc.list_categories, center_id)

    @route("POST", "/api/v1/public/tickets", summary="居民在线反映诉求（免登录）", tag="public",
           roles=PUBLIC, body=tk.PublicTicketCreate, response=tk.TicketRead, status=201)
    def public_create_ticket(self, req) -> Any:  # noqa: ANN001
        """Public web intake, throttled per client (429 with Retry-After)."""
        self.throttle.check(req.request)
        payload = dict(req.body)
        center_id = payload.pop("center_id")
        payload["channel"] = "web"
        return call(self.tickets_rpc.create_ticket, center_id, payload)

    # -- tickets ---------------------------------------------------------------------------

    @route("POST", "/api/v1/tickets", summary="登记群众诉求", tag="tickets",
           roles=("resident", *STAFF), body=tk.TicketCreate, response=tk.TicketRead, status=201)
    def create_ticket(self, req) -> Any:  # noqa: ANN001
        """Residents report for themselves (web); staff register hotline and walk-in reports."""
        return call(self.tickets_rpc.create_ticket, req.center, req.body)

    @route("GET", "/api/v1/tickets", summary="工单列表", tag="tickets", roles=STAFF,
           query=tk.TicketQuery, response=tk.TicketList)
    def list_tickets(self, req) -> Any:  # noqa: ANN001
        return call(self.tickets_rpc.list_tickets, req.center, req.query)

    @route("GET", "/api/v1/tickets/<ticket_id>", summary="工单详情", tag="tickets",
           roles=("resident", *STAFF), response=tk.TicketRead)
    def get_ticket(self, req, ticket_id: str) -> Any:  # noqa: ANN001
        return call(self.tickets_rpc.get_ticket, req.center, ticket_id)

    @route("GET", "/api/v1/categories", summary="诉求类别", tag="tickets", roles=MEMBERS,
           response=tk.CategoryRead, many=True)
    def list_categories(self, req) -> Any:  # noqa: ANN001
        return call(self.tickets_rpc.list_categories, req.center)

    @route("POST", "/api/v1/categories", summary="新增诉求类别", tag="tickets", roles=ADMIN,
           body=tk.CategoryCreate, response=tk.CategoryRead, status=201)
    def add_category(self, req) -> Any:  # noqa: ANN001
        return call(self.tickets_rpc.add_category, req.center, req.body)

    # -- volunteers ------------------------------------------------------------------------

    @route("POST", "/api/v1/volunteers", summary="登记志愿者", tag="volunteers", roles=STAFF,
           body=vo.VolunteerCreate, response=vo.VolunteerRead, status=201)
    def register_volunteer(self, req) -> Any:  # noqa: ANN001
        return call(self.volunteers_rpc.register_volunteer, req.center, req.body)

    @route("GET", "/api/v1/volunteers", summary="志愿者名册", tag="volunteers", roles=STAFF,
           query=vo.VolunteerQuery, response=vo.VolunteerList)
    def list_volunteers(self, req) -> Any:  # noqa: ANN001
        return call(self.volunteers_rpc.list_volunteers, req.center, req.query)

    # -- activities and rooms --------------------------------------------------------------

    @route("POST", "/api/v1/activities", summary="发布活动", tag="activities", roles=STAFF,
           body=ev.ActivityCreate, response=ev.ActivityRead, status=201)
    def create_activity(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.create_activity, req.center, req.body)

    @route("GET", "/api/v1/activities", summary="活动列表", tag="activities", roles=MEMBERS,
           query=ev.ActivityQuery, response=ev.ActivityList)
    def list_activities(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.list_activities, req.center, req.query)

    @route("GET", "/api/v1/programmes", summary="服务项目", tag="activities", roles=MEMBERS,
           response=ev.ProgrammeRead, many=True)
    def list_programmes(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.list_programmes, req.center)

    @route("POST", "/api/v1/programmes", summary="新增服务项目", tag="activities", roles=ADMIN,
           body=ev.ProgrammeCreate, response=ev.ProgrammeRead, status=201)
    def add_programme(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.add_programme, req.center, req.body)

    @route("GET", "/api/v1/rooms", summary="功能室", tag="activities", roles=MEMBERS,
           response=ev.RoomRead, many=True)
    def list_rooms(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.list_rooms, req.center)

    @route("POST", "/api/v1/rooms", summary="新增功能室", tag="activities", roles=ADMIN,
           body=ev.RoomCreate, response=ev.RoomRead, status=201)
    def add_room(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.add_room, req.center, req.body)

    # -- notifications and directory -------------------------------------------------------

    @route("GET", "/api/v1/notifications", summary="站内通知", tag="notifications", roles=MEMBERS,
           query=nt.NotificationQuery, response=nt.NotificationList)
    def list_notifications(self, req) -> Any:  # noqa: ANN001
        return call(self.notify_rpc.list_notifications, req.center, req.query)

    @route("POST", "/api/v1/notifications/<notification_id>/read", summary="标记通知已读",
           tag="notifications", roles=MEMBERS, response=nt.NotificationRead)
    def mark_notification_read(self, req, notification_id: str) -> Any:  # noqa: ANN001
        return call(self.notify_rpc.mark_notification_read, req.center, notification_id)

    @route("POST", "/api/v1/contacts", summary="登记联系方式（通讯录）", tag="notifications",
           roles=STAFF, body=nt.ContactCreate, response=nt.ContactRead, status=201)
    def upsert_contact(self, req) -> Any:  # noqa: ANN001
        return call(self.notify_rpc.upsert_contact, req.center, req.body)

    # -- anything else ---------------------------------------------------------------------

    @http("GET,POST,PUT,PATCH,DELETE", "/<path:path>")
    def not_found(self, request: Request, path: str) -> Response:
        from gateway.http import problem

        return problem(404, f"没有这个接口：{request.method} /{path}", "NO_SUCH_ROUTE",
                       instance=request.path)
