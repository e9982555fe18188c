"""TicketsService: entrypoints only — check the caller, validate, call the domain, dump."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from lianxin.auth import Caller
from lianxin.contracts.schema import load
from lianxin.contracts.tickets import (
    CategoryCreate,
    CategoryRead,
    CenterCreate,
    CenterRead,
    TicketCreate,
    TicketList,
    TicketQuery,
    TicketRead,
)
from lianxin.db import Database
from lianxin.errors import EXPECTED
from lianxin.health import HealthCheck
from lianxin.metrics import Metrics
from lianxin.outbox import Outbox
from services.tickets import domain
from services.tickets.models import Base, outbox_table

STAFF = ("staff", "admin")

_center_create, _center_read = CenterCreate(), CenterRead()
_category_create, _category_read = CategoryCreate(), CategoryRead(many=True)
_ticket_create, _ticket_read, _ticket_query, _ticket_list = (
    TicketCreate(), TicketRead(), TicketQuery(), TicketList())


class TicketsService(HealthCheck):
    name = "tickets"

    db = Database(Base.metadata)
    outbox = Outbox(outbox_table)
    caller = Caller()
    metrics = Metrics()

    # -- centers ---------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def create_center(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(_center_create, payload)
        self.caller.require(data["id"], roles=("ops",))
        center = domain.create_center(db_session=self.db, data=data)
        self.db.commit()
        return _center_read.dump(center)

    @rpc(expected_exceptions=EXPECTED)
    def get_center(self, center_id: str) -> dict[str, Any]:
        """Public: whether a center exists and what it is called."""
        return _center_read.dump(domain.require_center(db_session=self.db, center_id=center_id))

    # -- categories ------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def add_category(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=("admin", "ops"))
        category = domain.add_category(db_session=self.db, center_id=center_id,
                                       data=load(_category_create, payload))
        self.db.commit()
        return CategoryRead().dump(category)

    @rpc(expected_exceptions=EXPECTED)
    def list_categories(self, center_id: str) -> list[dict[str, Any]]:
        """Public: the categories a resident may choose from."""
        domain.require_center(db_session=self.db, center_id=center_id)
        return _category_read.dump(domain.list_categories(db_session=self.db, center_id=center_id))

    # -- tickets ---------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def create_ticket(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Take in an issue. ``web`` intake is public; the other channels are staff's."""
        data = load(_ticket_create, payload)
        reporter_id = None
        if data["channel"] == "web":
            principal = self.caller.principal
            if principal is not None:
                self.caller.require(center_id)
                reporter_id = principal.sub if principal.role == "resident" else None
        else:
            self.caller.require(center_id, roles=STAFF)
        ticket = domain.create_ticket(db_session=self.db, outbox=self.outbox, center_id=center_id,
                                      data=data, reporter_id=reporter_id)
        self.db.commit()
        return _ticket_read.dump(ticket)

    @rpc(expected_exceptions=EXPECTED)
    def get_ticket(self, center_id: str, ticket_id: str) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=(*STAFF, "resident"))
        ticket = domain.get_ticket(db_session=self.db, center_id=center_id, ticket_id=ticket_id)
        if principal.role == "resident" and ticket.reporter_id != principal.sub:
            raise domain.TicketNotFound()
        return _ticket_read.dump(ticket)

    @rpc(expected_exceptions=EXPECTED)
    def list_tickets(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        q = load(_ticket_query, query or {})
        items, total = domain.list_tickets(db_session=self.db, center_id=center_id, query=q)
        return _ticket_list.dump({"items": items, "total": total, "limit": q["limit"],
                                  "offset": q["offset"]})
