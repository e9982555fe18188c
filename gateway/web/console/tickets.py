"""The console's ticket pages: the duty board (值班看板) with its live rows, a party's queue
(责任单位待办), all tickets, one ticket (工单详情) with only the actions this person may take
now, and the forms of those actions.

Which actions a page offers comes from the operation table (its roles and rules) and the
ticket's state (``TRANSITIONS``), so a button is shown exactly when the API would accept it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from gateway.pages import safe_next
from gateway.web import as_local, page, render
from gateway.web.console.base import ConsoleBase, failed, party_name
from gateway.web.views import Viewer, field_errors, form_body, guarded, see_other, status_of
from lianxin.contracts.notify import operations as notify_ops
from lianxin.contracts.tickets import operations as ops
from lianxin.errors import InvalidInput, LianxinError, NotFound
from lianxin.operations import Operation
from lianxin.roles import DUTY_NAMES, PARTIES, PARTY_NAMES, ROLE_NAMES
from lianxin.web import http

STATE_CHOICES = [(code, ops.STATE_NAMES[code]) for code in ops.STATES]
OPEN_STATE_CHOICES = [(code, ops.STATE_NAMES[code]) for code in ops.OPEN_STATES]
PARTY_CHOICES = [(code, PARTY_NAMES[code]) for code in PARTIES]
RATING_CHOICES = list(ops.RATINGS.items())
CHANNEL_NAMES = {"web": "网上反映", "hotline": "热线电话", "walk_in": "来访", "open311": "外部系统"}
#: A timeline line's action in words (the workflow's, and those only the service writes).
TIMELINE_NAMES = {
    **ops.ACTION_NAMES,
    "report": "登记",
    "carry_over": "转入下月联席会",
    "sla_acknowledge": "签收超时",
    "sla_resolve": "办结超时",
}
#: How many open tickets the board shows at once (the most urgent first).
BOARD_SIZE = 50


@dataclass(frozen=True)
class Action:
    """A step of the workflow as the console offers it."""

    key: str
    op: Operation
    label: str
    #: The notice after it (base.NOTICES).
    done: str
    #: What the form asks (the body's fields); the first one gets the focus.
    asks: tuple[str, ...] = ()
    confirm: str = ""


ACTIONS = {
    a.key: a
    for a in (
        Action("acknowledge", ops.acknowledge_ticket, "签收", "acknowledged"),
        Action("assign", ops.assign_ticket, "派单", "assigned", ("party", "reason")),
        Action("start", ops.start_ticket, "开始办理", "started"),
        Action("resolve", ops.resolve_ticket, "办结", "resolved", ("answer",)),
        Action("return", ops.return_ticket, "退单", "returned", ("reason",)),
        Action("escalate", ops.escalate_ticket, "提交联席会", "escalated", ("reason",)),
        Action("merge", ops.merge_ticket, "并单", "merged", ("primary_id",)),
        Action("urge", ops.urge_ticket, "催办", "urged", ("note",)),
        Action("rate", ops.rate_ticket, "登记回访评价", "rated", ("rating", "comment", "via")),
        Action("close", ops.close_ticket, "回访关闭", "closed", ("reason",), "确定关闭该工单？"),
        Action("reopen", ops.reopen_ticket, "重新办理", "reopened", ("reason",)),
    )
}


def done_already(ticket: dict[str, Any], assignment: dict[str, Any]) -> bool:
    """Whether an acknowledged ticket is already with the party a form dispatches it to (a
    center that dispatches by its routing on acknowledgement)."""
    return ticket.get("state") == "assigned" and ticket.get("party") == assignment.get("party")


def target_of(ticket: dict[str, Any]) -> SimpleNamespace:
    """A ticket as the operations' rules read it (``ticket.party`` …)."""
    return SimpleNamespace(**ticket)


def actions_for(viewer: Viewer, ticket: dict[str, Any]) -> list[Action]:
    """The actions ``viewer`` may take on ``ticket`` now: its state allows them and the
    operation's roles and rules admit this person for this ticket."""
    target = target_of(ticket)
    return [
        a
        for a in ACTIONS.values()
        if ticket["state"] in ops.TRANSITIONS[a.key] and viewer.may_on(a.op, target)
    ]


def _moment(value: Any) -> datetime | None:
    return as_local(value)


def deadline(ticket: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The ticket's next deadline for the board: when, when it turns "due soon" (the last
    quarter of its window, at least five minutes), and the words shown before the script
    counts down."""
    due = _moment(ticket.get("due_at"))
    if due is None:
        return None
    began = _moment(ticket.get("acknowledged_at") if ticket["state"] != "reported" else None)
    began = began or _moment(ticket.get("created_at")) or due
    soon = due - max((due - began) / 4, timedelta(minutes=5))
    left = due - now
    if left <= timedelta(0):
        level, words = "late", f"已超时 {_words(-left)}"
    elif now >= soon:
        level, words = "soon", f"即将到期 剩余 {_words(left)}"
    else:
        level, words = "", f"剩余 {_words(left)}"
    what = "签收" if ticket["state"] == "reported" else "办结"
    return {"due": due, "soon": soon, "level": level, "words": words, "what": what}


def _words(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    return f"{minutes}分{rest % 60:02d}秒"


def actor_name(entry: dict[str, Any], names: dict[str, str]) -> str:
    """Who did a step, as people read it: their name when the directory has it, else their
    duty (and party)."""
    if entry.get("actor_id") in names:
        return names[entry["actor_id"]]
    role = entry.get("actor_role") or ""
    if role == "system" or not role:
        return "系统"
    if role == "staff":
        party = entry.get("party")
        return DUTY_NAMES["cadre"] if not party else f"{PARTY_NAMES.get(party, '')}经办人"
    return ROLE_NAMES.get(role, role)


def names_of(categories: Any) -> dict[str, str]:
    """Category code → name (empty when the categories could not be read)."""
    return {c["code"]: c["name"] for c in categories} if isinstance(categories, list) else {}


#: What a party's queue shows: what was dispatched to it, not yet what awaits the cadre.
IN_HAND = ("assigned", "in_progress")


def _in_hand(parts: dict[str, Any]) -> dict[str, Any]:
    board = parts.get("board")
    if isinstance(board, dict):
        items = [t for t in board["items"] if t["state"] in IN_HAND]
        parts["board"] = {
            **board,
            "items": items,
            "total": sum(board["counts"].get(s, 0) for s in IN_HAND),
        }
    return parts


def _query(request: Request, *names: str) -> dict[str, str]:
    return {n: request.args[n] for n in names if request.args.get(n)}


def _with_query(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


class TicketPages(ConsoleBase):
    """值班看板, 本单位待办, 全部工单, 工单详情 and the workflow's forms."""

    # -- the duty board ------------------------------------------------------------------------

    @http("GET", "/console/board")
    @guarded
    def board_page(self, request: Request) -> Response:
        viewer = self.staff(request)
        query = _query(request, "state", "category", "party")
        parts = self._board_parts(request, query)
        return self.show(
            request,
            viewer,
            "console/board.html",
            active="board",
            title="值班看板",
            query=query,
            live_src=_with_query("/console/board/rows", query),
            back=_with_query("/console/board", query),
            **parts,
            **self._board_values(viewer),
        )

    def _board_parts(self, request: Request, query: dict[str, str]) -> dict[str, Any]:
        parts = self.gather(
            board=lambda: self.run(request, ops.get_board, query={**query, "limit": BOARD_SIZE}),
            categories=lambda: self.run(request, ops.list_categories),
        )
        parts["categories_by_code"] = names_of(parts["categories"])
        return parts

    @http("GET", "/console/board/rows")
    @guarded
    def board_rows(self, request: Request) -> Response:
        """The board's rows and counts alone (what its script asks every 1.5 s): ``304``
        when nothing changed since the ``ETag`` the browser has."""
        viewer = self.staff(request)
        query = _query(request, "state", "category", "party")
        parts = self.gather(
            board=lambda: self.run(request, ops.get_board, query={**query, "limit": BOARD_SIZE}),
            categories=lambda: self.run(request, ops.list_categories),
            unread=lambda: self.run(request, notify_ops.unread_count)["unread"],
        )
        if failed(parts["board"]):
            return Response(status=status_of(parts["board"]))
        html = render(
            "console/board_rows.html",
            viewer=viewer,
            board=parts["board"],
            categories_by_code=names_of(parts["categories"]),
            unread=parts["unread"] if isinstance(parts["unread"], int) else None,
            query=query,
            back=_with_query("/console/board", query),
            **self._board_values(viewer),
        )
        # The countdown words change every second; the rows only when a ticket does.
        stable = "\n".join(line for line in html.splitlines() if "data-deadline" not in line)
        etag = '"' + hashlib.sha256(stable.encode()).hexdigest()[:20] + '"'
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag, "Cache-Control": "no-store"})
        response = Response(html, mimetype="text/html")
        response.headers.update({"ETag": etag, "Cache-Control": "no-store"})
        return response

    def _board_values(self, viewer: Viewer) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "now": now,
            "deadline": lambda t: deadline(t, now),
            "actions_for": lambda t: actions_for(viewer, t),
            "party_name": party_name,
            "state_names": ops.STATE_NAMES,
            "state_choices": OPEN_STATE_CHOICES,
            "party_choices": PARTY_CHOICES,
            "channel_names": CHANNEL_NAMES,
            "assign_op": ops.assign_ticket,
            "create_op": ops.create_ticket,
        }

    # -- a party's queue, all tickets ----------------------------------------------------------

    @http("GET", "/console/queue")
    @guarded
    def queue_page(self, request: Request) -> Response:
        """A party's handler (or social worker): its own party's open tickets by deadline."""
        viewer = self.staff(request)
        query = _query(request, "state", "category")
        return self.show(
            request,
            viewer,
            "console/queue.html",
            active="queue",
            title="本单位待办",
            query=query,
            back=_with_query("/console/queue", query),
            **_in_hand(self._board_parts(request, query)),
            **self._board_values(viewer),
        )

    @http("GET", "/console/tickets")
    @guarded
    def tickets_page(self, request: Request) -> Response:
        viewer = self.staff(request)
        query = _query(request, "state", "category", "party", "offset")
        parts = self.gather(
            tickets=lambda: self.run(request, ops.list_tickets, query={**query, "limit": 50}),
            categories=lambda: self.run(request, ops.list_categories),
        )
        values = {**self._board_values(viewer), "state_choices": STATE_CHOICES}
        return self.show(
            request,
            viewer,
            "console/tickets.html",
            active="tickets",
            title="全部工单",
            tickets=parts["tickets"],
            categories_by_code=names_of(parts["categories"]),
            query=query,
            ratings=ops.RATINGS,
            **values,
        )

    # -- one ticket ----------------------------------------------------------------------------

    @http("GET", "/console/tickets/<ticket_id>")
    @guarded
    def ticket_page(self, request: Request, ticket_id: str) -> Response:
        viewer = self.staff(request)
        return self._ticket(request, viewer, ticket_id)

    def _ticket(
        self,
        request: Request,
        viewer: Viewer,
        ticket_id: str,
        error: LianxinError | None = None,
        failed_action: str = "",
        typed: dict[str, Any] | None = None,
    ) -> Response:
        calls: dict[str, Any] = {
            "ticket": lambda: self.run(request, ops.get_ticket, ticket_id),
            "timeline": lambda: self.run(request, ops.get_ticket_timeline, ticket_id),
            "categories": lambda: self.run(request, ops.list_categories),
        }
        if viewer.may(notify_ops.list_contacts):
            calls["contacts"] = lambda: self.run(
                request, notify_ops.list_contacts, query={"role": "staff", "limit": 500}
            )
        parts = self.gather(**calls)
        ticket = parts.pop("ticket")
        if failed(ticket):
            status = status_of(ticket)
            return self.show(
                request,
                viewer,
                "console/missing.html",
                active="tickets",
                title="工单不存在" if isinstance(ticket, NotFound) else "工单暂时无法查看",
                status=status,
                reason=ticket.detail,
            )
        contacts = parts.pop("contacts", None)
        names = (
            {c["person_id"]: c["name"] for c in contacts["items"]}
            if isinstance(contacts, dict)
            else {}
        )
        categories = parts["categories"]
        category_names = names_of(categories)
        now = datetime.now(UTC)
        return self.show(
            request,
            viewer,
            "console/ticket.html",
            active="board" if viewer.may(ops.acknowledge_ticket) else "queue",
            title=f"工单 {ticket['id'][:8]}",
            status=status_of(error) if error else 200,
            ticket=ticket,
            timeline=parts["timeline"],
            category_names=category_names,
            actions=actions_for(viewer, ticket),
            actor_name=lambda entry: actor_name(entry, names),
            deadline=deadline(ticket, now),
            error=error,
            errors=field_errors(error),
            failed_action=failed_action,
            typed=typed or {},
            party_name=party_name,
            state_names=ops.STATE_NAMES,
            action_names=TIMELINE_NAMES,
            party_choices=PARTY_CHOICES,
            rating_choices=RATING_CHOICES,
            ratings=ops.RATINGS,
            channel_names=CHANNEL_NAMES,
        )

    @http("POST", "/console/tickets/<ticket_id>/<action>")
    @guarded
    def ticket_action(self, request: Request, ticket_id: str, action: str) -> Response:
        """One step of the workflow from a form (the ticket page, the board, the queue);
        then back where it came from (``next``), or the ticket page again with the reason."""
        viewer = self.staff(request)
        form = request.form
        steps = ["acknowledge", "assign"] if action == "ack_assign" else [action]
        answer: dict[str, Any] = {}
        if any(step not in ACTIONS for step in steps):
            return self._ticket(
                request, viewer, ticket_id, InvalidInput("没有这个办理操作"), action
            )
        try:
            for step in steps:
                chosen = ACTIONS[step]
                body = form_body(form, chosen.op.body, *chosen.asks) if chosen.asks else {}
                if step == "assign" and action == "ack_assign" and done_already(answer, body):
                    break  # the center dispatched it on acknowledgement, to that party
                answer = self.run(request, chosen.op, ticket_id, body=body)
        except LianxinError as exc:
            return self._ticket(request, viewer, ticket_id, exc, action, dict(form.items()))
        back = safe_next(form.get("next"))
        if not back.startswith("/console/"):
            back = f"/console/tickets/{ticket_id}"
        return see_other(back, ACTIONS[steps[-1]].done)

    # -- where "/" and "/console/" lead ----------------------------------------------------------

    @http("GET", "/console/")
    @guarded
    def console_home(self, request: Request) -> Response:
        """A staff member's first page: the board for the cadre on duty and the admin, the
        party's queue for a handler, …"""
        viewer = self.staff(request)
        menu = self.menu(viewer)
        return Response(status=302, headers={"Location": menu[0].href if menu else "/login"})

    @http("GET", "/console")
    def console_bare(self, request: Request) -> Response:
        return Response(status=301, headers={"Location": "/console/"})

    def home_for(self, request: Request) -> str:
        """Where ``/`` leads: staff to the console, residents and volunteers to their center's
        phone pages, anyone else to sign in."""
        try:
            principal, _claims, _by_cookie = self.auth.verify(request)
        except Exception:
            return "/login"
        if principal.role in ("staff", "admin"):
            return "/console/"
        if principal.role in ("resident", "volunteer") and principal.center:
            return f"/m/{principal.center}/"
        return "/login"

    def not_found_page(self, request: Request) -> Response:
        return page(
            request,
            "console/refused.html",
            404,
            title="页面不存在",
            reason="没有这个页面，请从菜单进入。",
            home="/console/",
        )
