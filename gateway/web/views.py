"""What every page's view uses: who is looking (:meth:`Views.viewer`), calling a service's
operation exactly as the REST API does (:meth:`Views.run`: the same roles, rules and schemas,
the CSRF secret of a cookie-carried write), several calls at once (:meth:`Views.gather`),
a form's fields as an operation's body (:func:`form_body`), and the static files.

A view gathers what its page shows, renders one template and answers; a form posts back to
its view, which acts and redirects (303) to the page with a notice, or answers the page
again with what was typed and the reasons next to the fields (422)::

    @http("POST", "/console/tickets/<ticket_id>")
    def ticket_action(self, request, ticket_id):
        viewer = self.viewer(request)
        try:
            self.run(request, ops.acknowledge_ticket, ticket_id, body={})
        except LianxinError as exc:
            return self.ticket_page(request, ticket_id, error=exc)
        return see_other(f"/console/tickets/{ticket_id}", "acknowledged")
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import eventlet
from kombu.exceptions import OperationalError
from marshmallow import fields as mf
from nameko.exceptions import RemoteError, UnknownService
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from gateway.api import RpcTimeout, call, invoke
from gateway.base import GatewayBase
from gateway.http import STATUS
from gateway.web import page, static_response
from lianxin.contracts.schema import instance, load
from lianxin.errors import LianxinError, Unauthenticated, Unavailable, from_remote
from lianxin.operations import Operation
from lianxin.roles import Principal
from lianxin.web import http

log = logging.getLogger(__name__)


def error_of(exc: Exception) -> LianxinError:
    """Any failure of a call as an error people can read (Chinese), never an exception
    page: a service's own error as it was raised, a stopped or unreachable one as 503."""
    if isinstance(exc, LianxinError):
        return exc
    if isinstance(exc, RemoteError):
        mapped = from_remote(exc)
        if mapped is not None:
            return mapped
        log.error("remote error on a page: %s", exc)
        return LianxinError("后端服务处理出错，请稍后再试", code="UPSTREAM_ERROR")
    if isinstance(exc, RpcTimeout):
        return Unavailable("后端服务响应超时，请稍后再试", code="UPSTREAM_TIMEOUT")
    if isinstance(exc, UnknownService):
        return Unavailable("后端服务未运行，请稍后再试")
    if isinstance(exc, OperationalError | ConnectionError):
        return Unavailable("消息服务暂时无法连接，请稍后再试", code="BROKER_UNAVAILABLE")
    raise exc


def status_of(error: LianxinError) -> int:
    return STATUS.get(error.kind, 400)


def field_errors(error: LianxinError | None) -> dict[str, str]:
    """An error's reasons by field (the first of each), for the template to show beside
    the field; nested fields as ``outer.inner``."""
    found: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and value:
            if all(isinstance(v, str) for v in value):
                found[prefix] = value[0]
            else:
                walk(prefix, value[0])
        elif isinstance(value, str):
            found[prefix] = value

    walk("", (error.fields if error else None) or {})
    return found


def form_body(form: MultiDict[str, str], schema: Any, *names: str) -> dict[str, Any]:
    """The fields of ``schema`` (a marshmallow schema class) a form filled in, as the JSON
    body the API would get: empty fields left out, lists from repeated fields, a checkbox
    as a boolean. ``names`` narrows to those fields. The schema then loads (and refuses)
    them exactly as it does for the API."""
    body: dict[str, Any] = {}
    for name, declared in instance(schema).fields.items():
        key = declared.data_key or name
        if names and key not in names:
            continue
        if isinstance(declared, mf.Boolean):
            if key in form:
                body[key] = form.get(key) in ("on", "true", "1", "yes")
            continue
        if isinstance(declared, mf.List):
            values = [v.strip() for v in form.getlist(key) if v.strip()]
            if values or key in form:
                body[key] = values
            continue
        value = form.get(key, "").strip()
        if value:
            body[key] = value
    return body


def see_other(location: str, notice: str | None = None) -> Response:
    """Post/redirect/get: back to ``location`` with a notice the page shows once."""
    if notice:
        location += ("&" if "?" in location else "?") + urlencode({"done": notice})
    return Response(status=303, headers={"Location": location})


class Refused(Exception):
    """A view that cannot be shown: the answer instead (a redirect to sign in, a 403 page)."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def guarded(fn: Callable[..., Response]) -> Callable[..., Response]:
    """A view whose :class:`Refused` becomes its answer (put it under ``@http``), and whose
    failure is a Chinese page saying so — never a bare 500."""

    @functools.wraps(fn)
    def view(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        began = time.perf_counter()
        response = _answer(self, request, *args, **kwargs)
        # How long the page took here (the browser's devtools and the benchmarks read it).
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - began) * 1000:.1f}"
        return response

    def _answer(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return fn(self, request, *args, **kwargs)
        except Refused as refused:
            return refused.response
        except Exception as exc:
            try:
                error = error_of(exc)
            except Exception:
                log.exception("page %s %s failed", request.method, request.path)
                error = LianxinError("页面出错了，请稍后再试；问题已记录", code="INTERNAL_ERROR")
                return page(request, "layout/error.html", 500, error=error, title="页面出错了")
            return page(
                request, "layout/error.html", status_of(error), error=error, title="无法完成"
            )

    return view


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page: their principal, their session's CSRF secret (every form
    carries it), their center."""

    principal: Principal
    csrf: str
    center: str
    account: str = ""

    def may(self, op: Operation) -> bool:
        """Whether the operation's roles and caller rules admit this person (what a page
        offers: a menu item, a button)."""
        if not op.permits(self.principal):
            return False
        return all(rule.test(self.principal, None) for rule in op.rules if not rule.on_target)

    def may_on(self, op: Operation, target: Any) -> bool:
        """Whether this person may do ``op`` on ``target`` (its on-target rules too)."""
        return self.may(op) and all(
            rule.test(self.principal, target) for rule in op.rules if rule.on_target
        )


#: Center names for page headers: asked for at most once a minute per center.
_CENTER_NAMES: dict[str, tuple[float, str]] = {}
CENTER_NAME_SECONDS = 60.0


class Views(GatewayBase):
    """The helpers of every page's view, and ``/static/``."""

    @http("GET", "/static/<path:name>")
    def static_file(self, request: Request, name: str) -> Response:
        return static_response(request, name)

    def viewer(self, request: Request, sign_in_as: str = "staff") -> Viewer:
        """The signed-in person, or :class:`Refused` with a redirect to the sign-in page
        (back here afterwards)."""
        try:
            principal, claims, _by_cookie = self.auth.verify(request)
        except LianxinError as exc:
            if isinstance(exc, Unauthenticated):
                raise Refused(self.sign_in_redirect(request, sign_in_as)) from None
            raise
        center = principal.center or str(self.settings.get("DEFAULT_CENTER") or "yanminghu")
        return Viewer(principal, str(claims.get("csrf") or ""), center, str(claims.get("acct", "")))

    def sign_in_redirect(self, request: Request, sign_in_as: str = "staff") -> Response:
        target = request.full_path.rstrip("?") if request.method == "GET" else request.path
        query = f"next={quote(target)}"
        if sign_in_as == "phone":
            query += "&as=phone"
        # A phone page names its center first in the path (``/m/<center>/…``).
        center = request.path.split("/")[2] if request.path.startswith("/m/") else None
        if center:
            query += f"&center={quote(center)}"
        return Response(status=303, headers={"Location": f"/login?{query}"})

    def run(
        self,
        request: Request,
        op: Operation,
        *values: Any,
        body: Any = None,
        query: dict[str, Any] | None = None,
        if_match: str | None = None,
        center: str | None = None,
    ) -> Any:
        """``op`` for the signed-in caller, as its API route would do it: the caller checked
        against the operation's roles and rules (and the CSRF secret of a write), the body
        and query loaded by its schemas, then the RPC. A public operation takes the center
        from ``center``. Any failure comes out as a :class:`LianxinError`."""
        try:
            if op.public:
                caller_center = None
                if self.auth.token_of(request)[0]:
                    self.auth.identify(request, op)
            else:
                _principal, caller_center = self.auth.authenticate(request, op)
            if op.body is not None:
                load(op.body, body if body is not None else {})
            if op.query is not None:
                load(op.query, query or {})
            args = ([center] if op.public and center else []) + list(values)
            return invoke(
                self, op, caller_center, *args, body=body, query=query or {}, if_match=if_match
            )
        except Exception as exc:
            raise error_of(exc) from None

    def gather(self, **calls: Callable[[], Any]) -> dict[str, Any]:
        """Several calls at once (a page's parts): each one's answer, or the
        :class:`LianxinError` it failed with, by name."""
        pool = eventlet.GreenPool(len(calls) or 1)

        def one(item: tuple[str, Callable[[], Any]]) -> tuple[str, Any]:
            name, fn = item
            try:
                return name, fn()
            except Exception as exc:
                return name, error_of(exc)

        return dict(pool.imap(one, calls.items()))

    def center_name(self, center_id: str) -> str:
        """The center's name for a page's header (``党群服务中心`` when it can't be had)."""
        kept = _CENTER_NAMES.get(center_id)
        if kept and time.monotonic() - kept[0] < CENTER_NAME_SECONDS:
            return kept[1]
        try:
            name = str(call(self.tickets_rpc.get_center, center_id, timeout=3)["name"])
        except Exception:
            return kept[1] if kept else "党群服务中心"
        _CENTER_NAMES[center_id] = (time.monotonic(), name)
        return name

    def problem_page(
        self, request: Request, error: LianxinError, template: str, **values: Any
    ) -> Response:
        """A page that could not be shown, saying why in Chinese (its status from the
        error)."""
        return page(request, template, status_of(error), error=error, **values)
