"""The residents' pages of a center: its home, reporting an issue, following it (rating,
reopening) and the signed-in resident's list of their issues.

A report needs no account: the reporter may leave a name and phone (handed to notify, as
public intake does), and whoever signs in later with a code to that phone sees it among
their issues. A signed-in resident reports as themselves. Either way the ticket goes in
through the gateway's gathered intake, with the form's idempotency key: the same form sent
twice (a weak connection, a resend from the page's offline draft) is stored once.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any
from urllib.parse import quote

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.wrappers import Request, Response

from gateway.routes.photos import FORM_OVERHEAD
from gateway.routes.tickets import ReporterRoutes
from gateway.web.m.base import PhoneBase, qr_svg
from gateway.web.views import Viewer, error_of, field_errors, guarded, see_other, status_of
from lianxin import photos
from lianxin.contracts.events import operations as ev
from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as tk
from lianxin.errors import InvalidInput, LianxinError
from lianxin.web import http

#: Words for the three answers of the return visit.
RATINGS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
#: What a state means to the person who reported (plain words, no office terms).
PLAIN_STATES = {
    "reported": "已收到，等待值班干部签收",
    "acknowledged": "值班干部已签收，正在安排",
    "assigned": "已交给负责单位办理",
    "in_progress": "正在办理",
    "returned": "正在重新安排负责单位",
    "escalated": "已提交党建联席会研究",
    "resolved": "已办结，请您评价",
    "closed": "已办结",
    "merged": "与其他居民反映的同一问题合并办理",
}
#: What each step of the history says.
PLAIN_ACTIONS = {
    "report": "提交诉求",
    "create": "提交诉求",
    "acknowledge": "值班干部签收",
    "assign": "派给负责单位",
    "start": "开始办理",
    "return": "退回重新安排",
    "resolve": "办结答复",
    "escalate": "提交联席会",
    "merge": "合并办理",
    "urge": "催办",
    "close": "回访结束",
    "reopen": "重新办理",
    "rate": "居民评价",
    "support": "其他居民也反映了",
}
PARTY_NAMES = {
    "property": "物业",
    "social_work": "社工",
    "owners_committee": "业委会",
    "village_committee": "村支两委",
}
REPORT_FIELDS = ("category", "description", "address", "lat", "long")


def intake_key(who: str, center_id: str, key: str) -> str:
    """The key that makes a resend the same submission: as the intake route makes it from
    an ``Idempotency-Key`` header (``gateway.routes.tickets``), from the form's own key."""
    return hashlib.sha256(f"{who}|{center_id}|key|{key[:200]}".encode()).hexdigest()


class ResidentPages(PhoneBase, ReporterRoutes):
    """``/m/<center>/``, ``/report``, ``/follow/<ticket>``, ``/mine`` and ``/mine/<ticket>``."""

    # -- home ------------------------------------------------------------------------------

    @http("GET", "/m/<center_id>")
    @guarded
    def phone_root(self, request: Request, center_id: str) -> Response:
        self.phone_center(request, center_id)
        return see_other(f"/m/{center_id}/")

    @http("GET", "/m/<center_id>/")
    @guarded
    def phone_home(self, request: Request, center_id: str) -> Response:
        center = self.phone_center(request, center_id)
        viewer = self.phone_viewer(request, center_id)
        found = self.gather(
            week=lambda: self.run(
                request, ev.list_public_activities, query={"days": 7}, center=center_id
            )
        )
        week = found["week"] if not isinstance(found["week"], LianxinError) else None
        return self.phone_page(
            request,
            "home.html",
            center,
            viewer,
            week=week,
            today=[a for a in week or [] if _is_today(a)],
        )

    # -- report ----------------------------------------------------------------------------

    @http("GET", "/m/<center_id>/report")
    @guarded
    def report_page(
        self,
        request: Request,
        center_id: str,
        form: MultiDict[str, str] | None = None,
        error: LianxinError | None = None,
        kept: list[dict[str, str]] | None = None,
    ) -> Response:
        center = self.phone_center(request, center_id)
        viewer = self.phone_viewer(request, center_id, "resident")
        categories = self.gather(
            c=lambda: self.run(request, tk.list_public_categories, center=center_id)
        )["c"]
        shown = form or MultiDict()
        return self.phone_page(
            request,
            "report.html",
            center,
            viewer,
            status=status_of(error) if error else 200,
            categories=categories if not isinstance(categories, LianxinError) else [],
            form=shown,
            key=shown.get("idempotency_key") or secrets.token_urlsafe(16),
            error=error,
            errors=field_errors(error),
            kept=kept or [],
            max_photos=photos.MAX_PHOTOS,
        )

    @http("POST", "/m/<center_id>/report")
    @guarded
    def report_submit(self, request: Request, center_id: str) -> Response:
        self.phone_center(request, center_id)
        limit = photos.MAX_PHOTOS * photos.MAX_BYTES + FORM_OVERHEAD
        if (request.content_length or 0) > limit:
            error = InvalidInput(
                "照片太大，请少选几张或重新拍摄后再提交",
                fields={"photo": [f"每张照片不能超过 {photos.MAX_BYTES // (1024 * 1024)} MB"]},
            )
            return self.report_page(request, center_id, error=error)
        request.max_content_length = limit
        form = request.form
        viewer = self.phone_viewer(request, center_id, "resident")
        kept = [self._kept_photo(center_id, pid) for pid in form.getlist("photo_id")[:3]]
        suggested: list[str] = []
        try:
            if viewer is None:  # throttled per client, as the public intake and upload are
                self.throttle.check(request)
            kept += self._take_photos(center_id, request.files.getlist("photo"), len(kept))
            receipt = self._report(
                request, center_id, form, viewer, [k["id"] for k in kept], suggested
            )
        except LianxinError as exc:
            shown = form.copy()
            if suggested and suggested[0]:  # show the category the page chose
                shown["category"] = suggested[0]
            return self.report_page(request, center_id, form=shown, error=exc, kept=kept)
        if viewer is not None:
            return see_other(f"/m/{center_id}/mine/{receipt['id']}", "reported")
        return see_other(
            f"/m/{center_id}/follow/{receipt['id']}?code={receipt['follow_code']}", "reported"
        )

    def _kept_photo(self, center_id: str, photo_id: str) -> dict[str, str]:
        """A photo uploaded with an earlier try of the form (shown again, sent again)."""
        preview = f"/api/v1/public/centers/{center_id}/photos/{photo_id}?"
        return {
            "id": photo_id,
            "thumb": preview + self.photos.preview_query(center_id, photo_id) + "&thumbnail=1",
        }

    def _take_photos(
        self, center_id: str, files: list[FileStorage], already: int
    ) -> list[dict[str, str]]:
        """The photos of the form (empty file fields left out), processed and stored as the
        upload route stores them."""
        chosen = [f for f in files if f and f.filename]
        if already + len(chosen) > photos.MAX_PHOTOS:
            raise InvalidInput(
                f"每份诉求最多 {photos.MAX_PHOTOS} 张照片",
                fields={"photo": [f"最多 {photos.MAX_PHOTOS} 张照片"]},
            )
        taken = []
        for upload in chosen:
            data = upload.stream.read(photos.MAX_BYTES + 1)
            if len(data) > photos.MAX_BYTES:
                raise InvalidInput(
                    "照片太大",
                    fields={"photo": [f"每张照片不能超过 {photos.MAX_BYTES // (1024 * 1024)} MB"]},
                )
            try:
                photo = self.photos.process(data)
            except LianxinError as exc:
                raise InvalidInput(exc.detail, fields={"photo": [exc.detail]}) from None
            except Exception:
                raise InvalidInput(
                    "照片处理繁忙，请稍后再试", fields={"photo": ["照片处理繁忙，请稍后再试"]}
                ) from None
            self.photos.store.put(photo, center_id=center_id)
            taken.append(self._kept_photo(center_id, photo.id))
        return taken

    def _report(
        self,
        request: Request,
        center_id: str,
        form: MultiDict[str, str],
        viewer: Viewer | None,
        photo_ids: list[str],
        suggested: list[str],
    ) -> dict[str, Any]:
        """The ticket of the form, through the intake the API uses (its receipt); the
        category the text suggested, if the resident left it to the page, in ``suggested``."""
        body: dict[str, Any] = {k: form.get(k, "").strip() for k in REPORT_FIELDS}
        body = {k: v for k, v in body.items() if v}
        body["photo_ids"] = photo_ids
        if not body.get("category") and body.get("description"):
            body["category"] = self._suggested(request, center_id, body)
            suggested.append(body["category"])
        answers = _answers(form, body.get("category", ""))
        if answers:
            body["attributes"] = answers
        contact = {
            "name": form.get("name", "").strip() or "居民",
            "phone": form.get("phone", "").strip() or None,
        }
        try:
            if viewer is not None:
                principal, _center = self.auth.authenticate(request, tk.create_ticket)
                load(tk.TicketCreate, body)
            else:
                load(tk.PublicTicketCreate, {**body, "center_id": center_id})
                load(tk.ReporterContact, contact)
            if photo_ids:
                self.photos.check_ids(center_id, photo_ids)
        except InvalidInput as exc:
            if not body.get("category") and exc.fields and "category" in exc.fields:
                exc.fields["category"] = ["请选择类别（或多写几个字，系统帮您判断）"]
            raise
        payload = {**body, "channel": "web"}
        if viewer is not None:
            who = f"sub:{principal.sub}"
        else:  # the contact goes to notify once the form has passed its checks
            who = f"client:{self.throttle.client(request)}"
            reporter = self.hand_over_contact(center_id, contact if contact["phone"] else None)
            if reporter is not None:
                payload["reporter_id"] = reporter
        key = request.headers.get("Idempotency-Key") or form.get("idempotency_key") or ""
        try:
            receipt, _repeat = self.intake.create(
                center_id,
                payload,
                self.tickets_rpc,
                intake_key(who, center_id, key) if key else None,
            )
        except Exception as exc:
            raise error_of(exc) from None
        return receipt

    def _suggested(self, request: Request, center_id: str, body: dict[str, Any]) -> str:
        """The category the text most likely is (what the page's script would have picked)."""
        ask = {k: body[k] for k in ("description", "address") if k in body}
        try:
            found = self.run(request, tk.suggest, body=ask, center=center_id)
        except LianxinError:
            return ""
        best = (found.get("categories") or [{}])[0]
        return str(best.get("code") or "") if float(best.get("score") or 0) > 0 else ""

    # -- follow ----------------------------------------------------------------------------

    @http("GET", "/m/<center_id>/follow/<ticket_id>")
    @guarded
    def follow_page(
        self,
        request: Request,
        center_id: str,
        ticket_id: str,
        error: LianxinError | None = None,
    ) -> Response:
        center = self.phone_center(request, center_id)
        viewer = self.phone_viewer(request, center_id)
        code = request.values.get("code", "")
        try:
            ticket = self.run(
                request, tk.get_public_ticket, ticket_id, query={"code": code}, center=center_id
            )
        except LianxinError as exc:
            return self.phone_page(
                request,
                "follow.html",
                center,
                viewer,
                status=status_of(exc),
                ticket=None,
                missing=exc,
            )
        return self._ticket_page(request, center, viewer, ticket, ticket["timeline"], code, error)

    @http("POST", "/m/<center_id>/follow/<ticket_id>")
    @guarded
    def follow_rate(self, request: Request, center_id: str, ticket_id: str) -> Response:
        self.phone_center(request, center_id)
        form = request.form
        code = form.get("code", "")
        body = {"follow_code": code, "comment": form.get("comment", "").strip()}
        if form.get("rating"):
            body["rating"] = form["rating"]
        try:
            self.throttle.check(request)
            self.run(request, tk.rate_public_ticket, ticket_id, body=body, center=center_id)
        except LianxinError as exc:
            return self.follow_page(request, center_id, ticket_id, error=exc)
        return see_other(f"/m/{center_id}/follow/{ticket_id}?code={quote(code)}", "rated")

    @http("GET", "/m/<center_id>/follow")
    @guarded
    def follow_index(self, request: Request, center_id: str) -> Response:
        """查询诉求 without a link: the issues of whoever signs in with their phone."""
        self.phone_center(request, center_id)
        return see_other(f"/m/{center_id}/mine")

    # -- my issues (signed in) -------------------------------------------------------------

    @http("GET", "/m/<center_id>/mine")
    @guarded
    def mine_page(self, request: Request, center_id: str) -> Response:
        center = self.phone_center(request, center_id)
        viewer = self.require_viewer(request, center_id, "resident")
        found = self.run(request, tk.list_tickets, query={"limit": 50})
        return self.phone_page(
            request, "mine.html", center, viewer, tickets=found["items"], total=found["total"]
        )

    @http("GET", "/m/<center_id>/mine/<ticket_id>")
    @guarded
    def my_ticket_page(
        self,
        request: Request,
        center_id: str,
        ticket_id: str,
        error: LianxinError | None = None,
    ) -> Response:
        center = self.phone_center(request, center_id)
        viewer = self.require_viewer(request, center_id, "resident")
        found = self.gather(
            ticket=lambda: self.run(request, tk.get_ticket, ticket_id),
            timeline=lambda: self.run(request, tk.get_ticket_timeline, ticket_id),
        )
        if isinstance(found["ticket"], LianxinError):
            return self.phone_page(
                request,
                "follow.html",
                center,
                viewer,
                status=status_of(found["ticket"]),
                ticket=None,
                missing=found["ticket"],
            )
        timeline = found["timeline"] if isinstance(found["timeline"], list) else []
        return self._ticket_page(request, center, viewer, found["ticket"], timeline, "", error)

    @http("POST", "/m/<center_id>/mine/<ticket_id>")
    @guarded
    def my_ticket_action(self, request: Request, center_id: str, ticket_id: str) -> Response:
        self.phone_center(request, center_id)
        self.require_viewer(request, center_id, "resident")
        form = request.form
        try:
            if form.get("action") == "reopen":
                body = {"reason": form.get("reason", "").strip()}
                self.run(request, tk.reopen_ticket, ticket_id, body=body)
                done = "reopened"
            else:
                body = {"comment": form.get("comment", "").strip()}
                if form.get("rating"):
                    body["rating"] = form["rating"]
                self.run(request, tk.rate_ticket, ticket_id, body=body)
                done = "rated"
        except LianxinError as exc:
            return self.my_ticket_page(request, center_id, ticket_id, error=exc)
        return see_other(f"/m/{center_id}/mine/{ticket_id}", done)

    def _ticket_page(
        self,
        request: Request,
        center: dict[str, Any],
        viewer: Viewer | None,
        ticket: dict[str, Any],
        timeline: list[dict[str, Any]],
        code: str,
        error: LianxinError | None,
    ) -> Response:
        mine = viewer is not None and viewer.principal.role == "resident" and not code
        link = request.path + (f"?code={quote(code)}" if code else "")
        return self.phone_page(
            request,
            "follow.html",
            center,
            viewer,
            status=status_of(error) if error else 200,
            ticket=ticket,
            timeline=timeline,
            code=code,
            mine=mine,
            plain_state=PLAIN_STATES.get(ticket.get("state", ""), ticket.get("state", "")),
            plain_actions=PLAIN_ACTIONS,
            parties=PARTY_NAMES,
            ratings=RATINGS,
            may_rate=ticket.get("state") == "resolved" and not ticket.get("rating"),
            may_reopen=mine and ticket.get("state") in ("resolved", "closed"),
            reported=request.args.get("done") == "reported",
            follow_link=link,
            follow_qr=qr_svg(request.host_url.rstrip("/") + link, "本条诉求查询链接的二维码")
            if code
            else None,
            error=error,
            errors=field_errors(error),
            form=request.form if request.method == "POST" else MultiDict(),
        )


def _answers(form: MultiDict[str, str], category: str) -> dict[str, Any]:
    """The answers to the chosen category's extra questions (fields ``attr.<category>.<code>``;
    a question with several answers repeats its field)."""
    prefix = f"attr.{category}."
    answers: dict[str, Any] = {}
    for key in form:
        if category and key.startswith(prefix):
            values = [v.strip() for v in form.getlist(key) if v.strip()]
            if key.endswith("[]"):
                answers[key[len(prefix) : -2]] = values
            elif values:
                answers[key[len(prefix) :]] = values[0]
    return answers


def _is_today(activity: dict[str, Any]) -> bool:
    from datetime import datetime

    from gateway.web import LOCAL, as_local

    start = as_local(activity.get("starts_at"))
    return start is not None and start.date() == datetime.now(LOCAL).date()
