"""Bearer JWTs naming a role and the center(s) the holder may act for.

The gateway authenticates each request and passes the raw token on in the
nameko context data (``authorization``); every service checks it again with
:class:`Caller`, so a service never trusts a center id it was merely given.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import time
from weakref import WeakKeyDictionary

import jwt
from nameko.extensions import DependencyProvider

from lianxin.config import var_dir
from lianxin.errors import Forbidden, Unauthenticated
from lianxin.operations import Operation
from lianxin.roles import PARTIES, ROLES, Principal

log = logging.getLogger(__name__)

ISSUER = "lianxin"
ALGORITHM = "HS256"
CONTEXT_KEY = "authorization"


def jwt_secret() -> str:
    """``LIANXIN_JWT_SECRET``; on a developer machine, a generated secret kept in ``var/``."""
    secret = os.environ.get("LIANXIN_JWT_SECRET")
    if secret:
        return secret
    path = var_dir() / "dev-jwt-secret"
    if not path.exists():
        log.warning("LIANXIN_JWT_SECRET is not set: generating a development secret in %s", path)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def issue(
    *,
    sub: str,
    role: str,
    centers: list[str] | tuple[str, ...],
    ttl: int = 8 * 3600,
    secret: str | None = None,
    party: str | None = None,
) -> str:
    """Sign a token for ``role`` over ``centers`` (``party`` for a party's staff)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not centers:
        raise ValueError("a token names at least one center")
    if party is not None and (role != "staff" or party not in PARTIES):
        raise ValueError(f"only staff name a party, one of {', '.join(PARTIES)}")
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": sub,
        "role": role,
        "centers": list(centers),
        "iat": now,
        "exp": now + ttl,
    }
    if party is not None:
        claims["party"] = party
    return jwt.encode(claims, secret or jwt_secret(), algorithm=ALGORITHM)


def decode(token: str, secret: str | None = None) -> Principal:
    """Verify a token; raises :class:`Unauthenticated` with a reason people can read.

    A token verified once is remembered (signature and claims can't change) until it
    expires: a user's session sends the same token on every request, and each request
    crosses the gateway and a service, each of which checks it."""
    principal, expires = _verified(token, secret or jwt_secret())
    if expires <= time.time():
        raise Unauthenticated("登录已过期，请重新登录", code="TOKEN_EXPIRED")
    return principal


@functools.lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[Principal, float]:
    """The principal and expiry of a valid token (refusals raise, so they are not cached)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "role", "centers"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("登录已过期，请重新登录", code="TOKEN_EXPIRED") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(
            "身份令牌无效", code="TOKEN_INVALID", extra={"reason": str(exc)}
        ) from None
    role, centers, party = claims["role"], claims["centers"], claims.get("party")
    if (
        role not in ROLES
        or not isinstance(centers, list)
        or not all(isinstance(c, str) for c in centers)
    ):
        raise Unauthenticated("身份令牌无效", code="TOKEN_INVALID")
    if party is not None and (role != "staff" or party not in PARTIES):
        raise Unauthenticated("身份令牌无效", code="TOKEN_INVALID")
    return (
        Principal(sub=str(claims["sub"]), role=role, centers=tuple(centers), party=party),
        float(claims["exp"]),
    )


class Caller(DependencyProvider):
    """Injects a checker of the calling principal (from the token in the context data)::

    @rpc
    def list_tickets(self, center_id, query):
        principal = self.caller.require(center_id, ops.list_tickets)
    """

    def __init__(self) -> None:
        self.cache: WeakKeyDictionary = WeakKeyDictionary()

    def setup(self) -> None:
        self.secret = jwt_secret()

    def get_dependency(self, worker_ctx) -> CallerCheck:
        return CallerCheck(worker_ctx.data.get(CONTEXT_KEY), self.secret)


class CallerCheck:
    def __init__(self, token: str | None, secret: str):
        self._token = token
        self._secret = secret
        self._principal: Principal | None = None

    def for_token(self, token: str | None) -> CallerCheck:
        """A checker of another caller's token (an item of a batch carries its own)."""
        return CallerCheck(token, self._secret)

    @property
    def principal(self) -> Principal | None:
        if self._principal is None and self._token:
            self._principal = decode(self._token, self._secret)
        return self._principal

    def require(self, center_id: str, op: Operation) -> Principal:
        """The principal, if it may act for ``center_id`` and call ``op`` (its roles and its
        rules on the caller); else an error. Rules on the object acted upon are the
        service's to check once it has loaded it: ``op.authorize(principal, ticket)``."""
        principal = self.principal
        if principal is None:
            raise Unauthenticated()
        if not principal.may_act_for(center_id):
            raise Forbidden("无权访问该服务中心的数据", code="CENTER_FORBIDDEN")
        op.check_caller(principal)
        return principal

    def require_across(self, op: Operation) -> Principal:
        """The principal, if it may call ``op`` for the centers its token grants (a
        department's subscriptions span them): the service filters by that grant."""
        principal = self.principal
        if principal is None:
            raise Unauthenticated()
        op.check_caller(principal)
        return principal

    def optional(self) -> Principal | None:
        """The caller of a public operation, if it sent a token (a signed-in resident)."""
        return self.principal
