"""NotifyService: the directory, and telling people what happened."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from lianxin.auth import Caller
from lianxin.consumer import event_handler
from lianxin.contracts import tickets
from lianxin.contracts.notify import (
    ContactCreate,
    ContactRead,
    NotificationList,
    NotificationQuery,
    NotificationRead,
)
from lianxin.contracts.schema import load
from lianxin.db import Database
from lianxin.errors import EXPECTED
from lianxin.health import HealthCheck
from lianxin.metrics import Metrics
from services.notify import domain
from services.notify.models import Base

INBOX_ROLES = ("resident", "volunteer", "staff", "admin")


class NotifyService(HealthCheck):
    name = "notify"

    db = Database(Base.metadata)
    caller = Caller()
    metrics = Metrics()

    # -- directory -------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def upsert_contact(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=("admin", "staff", "ops"))
        contact = domain.upsert_contact(db_session=self.db, center_id=center_id,
                                        data=load(ContactCreate(), payload))
        self.db.commit()
        return ContactRead().dump(contact)

    @rpc(expected_exceptions=EXPECTED)
    def get_contact(self, center_id: str, person_id: str) -> dict[str, Any]:
        self.caller.require(center_id, roles=("admin", "staff"))
        return ContactRead().dump(domain.get_contact(db_session=self.db, center_id=center_id,
                                                     person_id=person_id))

    # -- inbox -----------------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_notifications(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=INBOX_ROLES)
        q = load(NotificationQuery(), query or {})
        items, total, unread = domain.list_notifications(
            db_session=self.db, center_id=center_id, role=principal.role,
            person_id=principal.sub, query=q)
        return NotificationList().dump({"items": items, "total": total, "unread": unread,
                                        "limit": q["limit"], "offset": q["offset"]})

    @rpc(expected_exceptions=EXPECTED)
    def mark_notification_read(self, center_id: str, notification_id: str) -> dict[str, Any]:
        principal = self.caller.require(center_id, roles=INBOX_ROLES)
        note = domain.mark_read(db_session=self.db, center_id=center_id, role=principal.role,
                                person_id=principal.sub, notification_id=notification_id)
        self.db.commit()
        return NotificationRead().dump(note)

    # -- events ----------------------------------------------------------------------------

    @event_handler("tickets", tickets.TICKET_CREATED)
    def handle_ticket_created(self, event: dict[str, Any]) -> None:
        """The kit commits this with the event's processed mark."""
        domain.notify_staff_of_new_ticket(db_session=self.db, event=event)
