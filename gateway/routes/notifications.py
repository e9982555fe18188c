"""Routes of the inbox and the directory (notify service)."""

from __future__ import annotations

from typing import Any

from gateway.api import call, route
from gateway.routes import ADMIN, MEMBERS, STAFF  # noqa: F401
from lianxin.contracts import notify as nt


class NotificationRoutes:
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
