"""Dependency providers of the gateway: who is calling, and how often."""

from __future__ import annotations

import hmac
import re
import time
import uuid
from typing import Any

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from gateway.ratelimit import ClientLimit
from lianxin.auth import ACCESS_TTL, CONTEXT_KEY, Verifier, keys_for
from lianxin.errors import Forbidden, InvalidInput, RateLimited, Unauthenticated
from lianxin.operations import Operation
from lianxin.roles import Principal

#: The cookies of a browser session: the access token (HttpOnly), the refresh token
#: (HttpOnly, sent to the auth routes only) and the CSRF secret the pages echo back.
ACCESS_COOKIE = "lx_access"
REFRESH_COOKIE = "lx_refresh"
CSRF_COOKIE = "lx_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Authenticator:
    def __init__(self, worker_ctx: Any, provider: Auth):
        self.worker_ctx = worker_ctx
        self.provider = provider

    def token_of(self, request: Request) -> tuple[str | None, bool]:
        """The request's token and whether it came in the session cookie (a browser)."""
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("请先登录（缺少 Bearer 身份令牌）", code="TOKEN_MISSING")
            return token.strip(), False
        cookie = request.cookies.get(ACCESS_COOKIE)
        return (cookie, True) if cookie else (None, False)

    def verify(self, request: Request) -> tuple[Principal, dict[str, Any], bool]:
        """The caller's principal and claims, refusing a revoked session's token and a
        cookie-carried write without its CSRF secret."""
        token, by_cookie = self.token_of(request)
        if token is None:
            raise Unauthenticated("请先登录", code="TOKEN_MISSING")
        principal, claims = self.provider.verifier.verify(token)
        if principal.session and self.provider.revoked(principal.session):
            raise Unauthenticated("登录已注销或账号已停用，请重新登录", code="SESSION_REVOKED")
        if by_cookie and request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
            expected = str(claims.get("csrf") or "")
            if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
                raise Forbidden("页面已过期，请刷新后重试", code="CSRF_FAILED")
        self.worker_ctx.data[CONTEXT_KEY] = token
        return principal, claims, by_cookie

    def identify(self, request: Request, op: Operation) -> Principal:
        """The caller, if ``op`` admits them; passes the token on to services."""
        principal, _claims, _by_cookie = self.verify(request)
        op.check_caller(principal)
        return principal

    def optional(self, request: Request, op: Operation) -> Principal | None:
        """The caller of a public route, if a token came with the request."""
        token, _by_cookie = self.token_of(request)
        return self.identify(request, op) if token else None

    def authenticate(self, request: Request, op: Operation) -> tuple[Principal, str]:
        """The caller and the center the request acts for, if ``op`` admits the caller;
        passes the token on to services."""
        principal = self.identify(request, op)
        center = principal.center
        if center is None:
            # Multi-center tokens (department, ops) name the center per request.
            center = request.args.get("center")
            if not center:
                raise InvalidInput("请用 ?center= 指定服务中心", fields={"center": ["必填项"]})
            if not principal.may_act_for(center):
                raise Forbidden("无权访问该服务中心的数据", code="CENTER_FORBIDDEN")
        return principal, center

    def forget(self, session: str | None) -> None:
        """A session signed out here: refused at once (the others learn it by polling)."""
        if session:
            self.provider.revoke(session)


#: The context-data key (propagated to every RPC) and header of a request's id.
REQUEST_ID_KEY = "request_id"
REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContext(DependencyProvider):
    """The worker's context data, which nameko passes on with every RPC the worker makes:
    where the gateway puts the request's id so that the services' log lines carry it."""

    def get_dependency(self, worker_ctx: Any) -> dict[str, Any]:
        data: dict[str, Any] = worker_ctx.data
        return data


def request_id(request: Request) -> str:
    """The caller's ``X-Request-Id`` when it is a sane token, else a new one."""
    given = (request.headers.get(REQUEST_ID_HEADER) or "").strip()
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


class Auth(DependencyProvider):
    """Token authentication for the gateway's routes: EdDSA tokens verified with the
    issuer's public keys, from the ``Authorization`` header (API clients) or the session
    cookie (the pages), and the set of revoked sessions, which the gateway polls from the
    accounts service every few seconds (``REVOCATION_POLL_SECONDS``)."""

    def setup(self) -> None:
        self.verifier = Verifier(keys_for(self.container.config))
        self._revoked: dict[str, float] = {}
        self.since: str | None = None

    def revoked(self, session: str) -> bool:
        return session in self._revoked

    def revoke(self, session: str) -> None:
        self._revoked[session] = time.monotonic()

    def learn(self, sessions: list[str], until: str) -> None:
        """Sessions revoked since the last poll; those older than any access token's life
        are forgotten (their tokens have expired anyway)."""
        now = time.monotonic()
        for session in sessions:
            self._revoked.setdefault(session, now)
        horizon = now - ACCESS_TTL - 120
        for session in [s for s, seen in self._revoked.items() if seen < horizon]:
            del self._revoked[session]
        self.since = until

    def get_dependency(self, worker_ctx: Any) -> Authenticator:
        return Authenticator(worker_ctx, self)


class Throttle(DependencyProvider):
    """Per-client throttle of public endpoints (config ``PUBLIC_RATE`` per second, ``PUBLIC_BURST``;
    the counts are kept in ``RATE_LIMIT_STORAGE``: ``memory://`` or a shared ``redis://`` URI).

    The client is the peer address, or the first ``X-Forwarded-For`` hop when
    ``TRUST_FORWARDED_FOR`` is set (behind a reverse proxy).
    """

    def setup(self) -> None:
        config = self.container.config
        self.limit = ClientLimit(
            float(config.get("PUBLIC_RATE", 1)),
            int(config.get("PUBLIC_BURST", 10)),
            str(config.get("RATE_LIMIT_STORAGE") or "memory://"),
        )
        self.trust_forwarded = bool(config.get("TRUST_FORWARDED_FOR", False))

    def get_dependency(self, worker_ctx: Any) -> Throttle:
        return self

    def client(self, request: Request) -> str:
        if self.trust_forwarded and request.headers.get("X-Forwarded-For"):
            return request.headers["X-Forwarded-For"].split(",")[0].strip()
        return request.remote_addr or "unknown"

    def check(self, request: Request) -> None:
        wait = self.limit.retry_after(self.client(request))
        if wait:
            raise RateLimited(f"提交过于频繁，请 {wait} 秒后再试", extra={"retry_after": wait})


class Settings(DependencyProvider):
    """The gateway's config, read by a route (``self.settings.get("DEFAULT_CENTER")``)."""

    def get_dependency(self, worker_ctx: Any) -> dict[str, Any]:
        config: dict[str, Any] = self.container.config
        return config
