"""消息: the signed-in person's inbox (their own messages and their role's shared inbox),
unread first marked, each opening the thing it is about; mark one or all as read."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.web.console.base import ConsoleBase
from gateway.web.views import guarded, see_other
from lianxin.contracts.notify import operations as ops
from lianxin.errors import LianxinError
from lianxin.web import http

PAGE = 30


def link_of(item: dict[str, Any]) -> str | None:
    """Where a message leads in the console (the ticket it is about, …)."""
    kind, ref = item.get("ref_type"), item.get("ref_id")
    if not ref:
        return None
    return {
        "ticket": f"/console/tickets/{ref}",
        "meeting": "/console/meeting",
    }.get(kind or "")


class InboxPages(ConsoleBase):
    @http("GET", "/console/inbox")
    @guarded
    def inbox_page(self, request: Request) -> Response:
        viewer = self.staff(request)
        unread_only = request.args.get("unread") == "1"
        offset = request.args.get("offset", "0")
        query = {"limit": PAGE, "offset": offset, "unread": unread_only}
        return self.show(
            request,
            viewer,
            "console/inbox.html",
            active="inbox",
            title="消息",
            calls={"inbox": lambda: self.run(request, ops.list_notifications, query=query)},
            unread_only=unread_only,
            offset=int(offset) if offset.isdigit() else 0,
            page_size=PAGE,
            link_of=link_of,
        )

    @http("POST", "/console/inbox/<notification_id>/read")
    @guarded
    def inbox_read(self, request: Request, notification_id: str) -> Response:
        """Mark one message read and open what it is about."""
        self.staff(request)
        try:
            item = self.run(request, ops.mark_notification_read, notification_id)
        except LianxinError:
            return see_other("/console/inbox")
        return see_other(link_of(item) or "/console/inbox")

    @http("POST", "/console/inbox/read-all")
    @guarded
    def inbox_read_all(self, request: Request) -> Response:
        self.staff(request)
        self.run(request, ops.mark_all_notifications_read)
        return see_other("/console/inbox", "read")
