"""Dependency providers of the gateway: who is calling, and how often."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from gateway.ratelimit import ClientLimit
from lianxin.auth import CONTEXT_KEY, decode, issue, jwt_secret
from lianxin.errors import Forbidden, InvalidInput, RateLimited, Unauthenticated
from lianxin.operations import Operation
from lianxin.roles import Principal


class Authenticator:
    def __init__(self, worker_ctx: Any, secret: str, service_token: Callable[[str], str]):
        self.worker_ctx = worker_ctx
        self.secret = secret
        self._service_token = service_token

    def as_service(self, center_id: str) -> None:
        """Make this worker's next RPCs as the gateway itself (e.g. handing a public
        reporter's contact to notify), with a short-lived staff token for that center."""
        self.worker_ctx.data[CONTEXT_KEY] = self._service_token(center_id)

    def identify(self, request: Request, op: Operation) -> Principal:
        """The caller, if ``op`` admits them; passes the token on to services."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("请先登录（缺少 Bearer 身份令牌）", code="TOKEN_MISSING")
        principal = decode(token.strip(), self.secret)
        op.check_caller(principal)
        self.worker_ctx.data[CONTEXT_KEY] = token.strip()
        return principal

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
    """Bearer-JWT authentication for the gateway's routes."""

    def setup(self) -> None:
        self.secret = jwt_secret()
        self._tokens: dict[str, tuple[float, str]] = {}

    def service_token(self, center_id: str) -> str:
        expires, token = self._tokens.get(center_id, (0.0, ""))
        if expires - time.time() < 600:
            token = issue(
                sub="gateway", role="staff", centers=[center_id], ttl=3600, secret=self.secret
            )
            self._tokens[center_id] = (time.time() + 3600, token)
        return token

    def get_dependency(self, worker_ctx: Any) -> Authenticator:
        return Authenticator(worker_ctx, self.secret, self.service_token)


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
