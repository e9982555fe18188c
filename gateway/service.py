"""GatewayService: the one HTTP door — REST under /api/v1, /healthz, /metrics, OpenAPI and
its browsable docs (/api/v1/docs); CORS for the configured origins (``CORS_ORIGINS``)."""

from __future__ import annotations

import logging

import eventlet
from werkzeug.wrappers import Request, Response

from gateway import docs
from gateway.api import Cors, CorsPolicy, allowed_methods, call, exposes, openapi
from gateway.http import json_response, problem
from gateway.pages import PageRoutes
from gateway.routes import (
    activities,
    auth,
    centers,
    certificates,
    notifications,
    open311,
    reports,
    tickets,
    volunteers,
)
from gateway.routes.activities import ActivityRoutes
from gateway.routes.centers import CenterPages
from gateway.routes.certificates import CertificateRoutes
from gateway.routes.notifications import NotificationRoutes
from gateway.routes.open311 import Open311Routes
from gateway.routes.photos import PhotoRoutes
from gateway.routes.reports import ReportRoutes
from gateway.routes.tickets import TicketRoutes
from gateway.routes.volunteers import VolunteerRoutes
from gateway.web.console import ConsolePages
from gateway.web.public import PublicPages
from lianxin import metrics as kit_metrics
from lianxin import readiness
from lianxin.timer import timer
from lianxin.tracing import Tracing
from lianxin.web import http

log = logging.getLogger(__name__)

BACKENDS = ("accounts", "tickets", "volunteers", "events", "notify", "reports")


@exposes(
    auth.ROUTES,
    tickets.ROUTES,
    open311.ROUTES,
    volunteers.ROUTES,
    activities.ROUTES,
    notifications.ROUTES,
    centers.ROUTES,
    reports.ROUTES,
    certificates.ROUTES,
)
class GatewayService(
    PageRoutes,
    TicketRoutes,
    Open311Routes,
    PhotoRoutes,
    VolunteerRoutes,
    ActivityRoutes,
    NotificationRoutes,
    CenterPages,
    ConsolePages,
    ReportRoutes,
    CertificateRoutes,
    PublicPages,
):
    """The routes of every area (``gateway/routes/``) on the dependencies of
    :class:`gateway.base.GatewayBase`, plus the operational endpoints below."""

    name = "gateway"
    #: Cross-origin access for ``CORS_ORIGINS`` only: every route's answer, and preflights.
    cors: CorsPolicy = Cors()
    #: A server span per request (its parent the caller's ``traceparent``), passed on to RPCs.
    tracing = Tracing()

    # -- operations ------------------------------------------------------------------------

    @http("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        """200 when the broker and every service answer; 503 naming what does not."""
        pool = eventlet.GreenPool()
        proxies = {
            "accounts": self.accounts_rpc,
            "tickets": self.tickets_rpc,
            "volunteers": self.volunteers_rpc,
            "events": self.events_rpc,
            "notify": self.notify_rpc,
            "reports": self.reports_rpc,
        }

        def check(name: str) -> tuple[str, str]:
            try:
                call(proxies[name].health, timeout=3)
                return name, "ok"
            except Exception as exc:
                return name, f"error: {type(exc).__name__}"

        results = dict(pool.imap(check, BACKENDS))
        healthy = all(v == "ok" for v in results.values())
        return json_response(
            {
                "status": "ok" if healthy else "unavailable",
                "services": results,
                "broker": "ok" if any(v == "ok" for v in results.values()) else "unknown",
            },
            200 if healthy else 503,
        )

    @timer("REVOCATION_POLL_SECONDS", default=5, eager=True)
    def poll_revocations(self) -> None:
        """Sessions ended (signed out elsewhere, an account disabled) since the last poll:
        their tokens are refused from now on. The accounts service down: tried again at
        the next tick, the sessions known so far stay refused."""
        try:
            found = call(
                self.accounts_rpc.list_revocations, {"since": self.auth.provider.since}, timeout=5
            )
        except Exception as exc:
            log.warning("revoked sessions not refreshed: %s", exc)
            return
        self.auth.provider.learn(found["sessions"], found["until"])

    @http("GET", "/livez")
    def livez(self, request: Request) -> Response:
        """200 while this gateway serves HTTP — no backend asked (probes of a replica)."""
        return json_response({"status": "ok"})

    @http("GET", "/readyz")
    def readyz(self, request: Request) -> Response:
        """200 while this gateway serves HTTP and its RPC reply consumer consumes from the
        broker (the readiness probe of a replica, lianxin.readiness); 503 naming why not."""
        state = readiness.of(self.name)
        if state.ready:
            return json_response({"status": "ok"})
        return json_response({"status": "unavailable", "reasons": list(state.reasons)}, 503)

    @http("GET", "/metrics")
    def prometheus(self, request: Request) -> Response:
        return Response(kit_metrics.exposition(), mimetype="text/plain; version=0.0.4")

    @http("GET", "/api/v1/openapi.json")
    def openapi_document(self, request: Request) -> Response:
        return self.cors.answer(request, json_response(openapi()))

    @http("GET", docs.DOCS_PATH)
    def api_docs(self, request: Request) -> Response:
        """Swagger UI on the OpenAPI document, served from here (no CDN)."""
        return docs.page()

    @http("GET", f"{docs.DOCS_PATH}/<path:asset>")
    def api_docs_asset(self, request: Request, asset: str) -> Response:
        return docs.asset(request, asset)

    # -- anything else ---------------------------------------------------------------------

    @http("GET,POST,PUT,PATCH,DELETE,OPTIONS", "/")
    def root(self, request: Request) -> Response:
        """A person opening the site: to the console, their center's phone pages or the
        sign-in page (see ``home_for``); any other method is no route."""
        if request.method == "GET":
            return Response(status=302, headers={"Location": self.home_for(request)})
        return self.no_route(request, "")

    @http("GET,POST,PUT,PATCH,DELETE,OPTIONS", "/<path:path>")
    def no_route(self, request: Request, path: str) -> Response:
        """No route for this method and path: 405 naming the methods the path has, 404 for
        a path no route has; ``OPTIONS`` answers with the methods (204) — a browser's
        preflight from an allowed origin also with the CORS headers. Problem+json, in
        Chinese, always."""
        allowed = allowed_methods(request.path)
        if request.method == "GET" and path.startswith("console/"):
            return self.not_found_page(request)
        if request.method == "OPTIONS":
            if allowed:
                preflight = self.cors.preflight(request, allowed)
                if preflight is not None:
                    return preflight
                answer = Response(status=204, headers={"Allow": ", ".join([*allowed, "OPTIONS"])})
                return self.cors.answer(request, answer)
        elif allowed:
            return self.cors.answer(
                request,
                problem(
                    405,
                    f"该接口不支持 {request.method} 请求（支持：{'、'.join(allowed)}）",
                    "METHOD_NOT_ALLOWED",
                    headers={"Allow": ", ".join(allowed)},
                    instance=request.path,
                ),
            )
        return self.cors.answer(
            request,
            problem(
                404,
                f"没有这个接口：{request.method} /{path}",
                "NO_SUCH_ROUTE",
                instance=request.path,
            ),
        )
