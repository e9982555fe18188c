"""Routes of resident issues (tickets service), public intake included."""

from __future__ import annotations

from typing import Any

from gateway.api import PUBLIC, call, route
from gateway.routes import ADMIN, MEMBERS, STAFF  # noqa: F401
from lianxin.contracts import tickets as tk


class TicketRoutes:
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
