"""The public check of a service-hour certificate by its verification code: the JSON answer
(``GET /api/v1/public/certificates/<code>``) and the guard both it and the ``/verify/<code>``
page share — a per-client limit on lookups, stricter than the public intake's, since every
lookup is a guess to someone trying codes (config ``VERIFY_RATE`` per second, default one
every 10 s in the long run, in bursts of ``VERIFY_BURST``, default 10; counted in
``RATE_LIMIT_STORAGE`` like the public throttle, so replicas share the count)."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from gateway.api import ApiRequest, Route, call, route
from gateway.base import GatewayBase
from gateway.ratelimit import ClientLimit
from lianxin.contracts.volunteers import operations as vo
from lianxin.errors import RateLimited

ROUTES: list[Route] = []


class GuessLimit(DependencyProvider):
    """The limit on certificate lookups per client (see the module doc)."""

    def setup(self) -> None:
        config = self.container.config
        self.limit = ClientLimit(
            float(config.get("VERIFY_RATE") or 0.1),
            int(config.get("VERIFY_BURST") or 10),
            str(config.get("RATE_LIMIT_STORAGE") or "memory://"),
            scope="certificate-verify",
        )

    def get_dependency(self, worker_ctx: Any) -> GuessLimit:
        return self

    def check(self, client: str) -> None:
        wait = self.limit.retry_after(client)
        if wait:
            raise RateLimited(f"查验次数过多，请 {wait} 秒后再试", extra={"retry_after": wait})


class CertificateChecks(GatewayBase):
    """What the check page and the JSON answer share: the lookup, guarded."""

    guesses: GuessLimit = GuessLimit()

    def check_certificate(self, request: Request, code: str) -> dict[str, Any]:
        """The volunteers service's answer for ``code``, once this client may ask again."""
        self.guesses.check(self.throttle.client(request))
        answer: dict[str, Any] = call(
            self.volunteers_rpc.verify_certificate, code, timeout=vo.verify_certificate.timeout
        )
        return answer


class CertificateRoutes(CertificateChecks):
    @route(
        "GET",
        "/api/v1/public/certificates/<code>",
        op=vo.verify_certificate,
        tag="public",
    )
    def public_certificate(self, req: ApiRequest, code: str) -> dict[str, Any]:
        """Whether a certificate with this verification code was issued here, for whom (name
        masked), how many hours, when and by which center. 404: no certificate carries the
        code (not genuine); 422: not a code (or mistyped: its check character is wrong);
        429 with Retry-After: too many lookups from this client."""
        return self.check_certificate(req.request, code)
