"""Bearer tokens: short-lived EdDSA JWTs naming a person, their role and the center(s)
they may act for — issued by the accounts service, verified everywhere else with its
public keys (:mod:`lianxin.keys`).

The gateway authenticates each request and passes the raw token on in the nameko context
data (``authorization``); every service checks it again with :class:`Caller`, so a
service never trusts a center id it was merely given. Revocation (sign-out, a disabled
account) is the gateway's: it refuses the revoked sessions' tokens, and a token lives
only ``ACCESS_TTL`` seconds.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nameko.extensions import DependencyProvider

from lianxin.errors import Forbidden, Unauthenticated, Unavailable
from lianxin.keys import (
    ALGORITHM,
    Fetch,
    Keys,
    SigningKey,
    file_source,
    public_bytes,
    rpc_source,
)
from lianxin.operations import Operation
from lianxin.roles import ALL_CENTERS, PARTIES, ROLES, Principal

log = logging.getLogger(__name__)

ISSUER = "lianxin"
CONTEXT_KEY = "authorization"
#: Seconds an access token is valid (a refresh token renews it).
ACCESS_TTL = 600
#: The setting naming a JWKS file to verify with instead of asking the issuer.
JWKS_FILE_ENV = "LIANXIN_JWKS_FILE"


def claims_for(
    *,
    sub: str,
    role: str,
    centers: list[str] | tuple[str, ...],
    ttl: int = ACCESS_TTL,
    party: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The claims of a token for ``role`` over ``centers`` (``party`` for a party's staff);
    ``extra``: ``sid`` (the session), ``csrf`` (a browser session's CSRF secret)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not centers:
        raise ValueError("a token names at least one center")
    if ALL_CENTERS in centers and role != "ops":
        raise ValueError("only ops may hold every center")
    if party is not None and (role != "staff" or party not in PARTIES):
        raise ValueError(f"only staff name a party, one of {', '.join(PARTIES)}")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": sub,
        "role": role,
        "centers": list(centers),
        "iat": now,
        "exp": now + ttl,
        **{k: v for k, v in extra.items() if v is not None},
    }
    if party is not None:
        claims["party"] = party
    return claims


def issue(key: SigningKey, **claims: Any) -> str:
    """Sign a token with the issuer's ``key`` (see :func:`claims_for` for the claims)."""
    return key.sign(claims_for(**claims))


def jwks_file(config: dict[str, Any]) -> str | None:
    """The JWKS file the config names (``JWKS_FILE``; without that key ``LIANXIN_JWKS_FILE``)."""
    path = config["JWKS_FILE"] if "JWKS_FILE" in config else os.environ.get(JWKS_FILE_ENV)
    return str(path) if path else None


def keys_for(config: dict[str, Any]) -> Keys:
    """The public keys a process verifies with: a mounted JWKS file when the config's
    ``JWKS_FILE`` (or, without that key, ``LIANXIN_JWKS_FILE``) names one, else the
    issuer's over the bus — one :class:`Keys` per source and process."""
    path = jwks_file(config)
    refresh = float(config.get("JWKS_REFRESH_SECONDS") or 60)
    source = f"file:{path}" if path else f"rpc:{config['AMQP_URI']}"
    if (source, refresh) not in _KEYS:
        fetch = file_source(path) if path else rpc_source(config["AMQP_URI"])
        _KEYS[source, refresh] = Keys(fetch, refresh=refresh)
    return _KEYS[source, refresh]


_KEYS: dict[tuple[str, float], Keys] = {}


class Verifier:
    """Checks tokens against the issuer's public keys."""

    def __init__(self, keys: Keys):
        self.keys = keys
        #: Tokens verified here, with the key object that verified them: a session sends
        #: the same token on every request (the gateway and a service both check it).
        self._seen: dict[str, tuple[Principal, dict[str, Any], str, Any]] = {}

    def decode(self, token: str) -> Principal:
        """The principal of a valid token; raises :class:`Unauthenticated` with a reason
        people can read (or :class:`Unavailable` when no key can be fetched at all)."""
        principal, _claims = self.verify(token)
        return principal

    def verify(self, token: str) -> tuple[Principal, dict[str, Any]]:
        remembered = self._seen.get(token)
        if remembered is not None:
            principal, claims, seen_kid, seen_key = remembered
            # still good: unexpired, and its key still the one published under its kid
            if claims["exp"] > time.time() and self._key(seen_kid) is seen_key:
                return principal, claims
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise Unauthenticated("身份令牌无效", code="TOKEN_INVALID") from None
        if not isinstance(kid, str):
            raise Unauthenticated("身份令牌无效", code="TOKEN_INVALID")
        key = self._key(kid)
        if key is None:
            # Unknown, or retired after its overlap: a token of the old key is no longer good.
            raise Unauthenticated("身份令牌无效或已失效，请重新登录", code="TOKEN_INVALID")
        principal, claims = _verified(token, kid, public_bytes(key))
        if claims["exp"] <= time.time():
            raise Unauthenticated("登录已过期，请重新登录", code="TOKEN_EXPIRED")
        if len(self._seen) >= 4096:
            self._seen.clear()
        self._seen[token] = (principal, claims, kid, key)
        return principal, claims

    def _key(self, kid: str) -> Any:
        try:
            return self.keys.get(kid)
        except Exception as exc:
            log.warning("no keys to verify a token with: %r", exc)
            raise Unavailable(
                "身份验证服务暂不可用，请稍后再试",
                code="AUTH_UNAVAILABLE",
                extra={"reason": str(exc)},
            ) from None


@functools.lru_cache(maxsize=4096)
def _verified(token: str, kid: str, key: bytes) -> tuple[Principal, dict[str, Any]]:
    """The principal and claims of a token verified with ``key`` (refusals raise, so are not
    cached). A user's session sends the same token on every request, and each request
    crosses the gateway and a service, both of which check it: verified once, remembered."""
    try:
        claims = jwt.decode(
            token,
            Ed25519PublicKey.from_public_bytes(key),
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
    principal = Principal(
        sub=str(claims["sub"]),
        role=role,
        centers=tuple(centers),
        party=party,
        session=claims.get("sid"),
    )
    return principal, claims


class Caller(DependencyProvider):
    """Injects a checker of the calling principal (from the token in the context data)::

    @rpc
    def list_tickets(self, center_id, query):
        principal = self.caller.require(center_id, ops.list_tickets)

    ``keys_from``: where the keys come from, given the container's config, if not
    :func:`keys_for` it (the issuer reads its own).
    """

    def __init__(self, keys_from: Callable[[dict[str, Any]], Fetch] | None = None) -> None:
        self.cache: WeakKeyDictionary = WeakKeyDictionary()
        self.keys_from = keys_from

    def setup(self) -> None:
        config = self.container.config
        if self.keys_from is not None and jwks_file(config) is None:
            keys = Keys(self.keys_from(config), refresh=30)
        else:
            keys = keys_for(config)
        self.verifier = Verifier(keys)

    def get_dependency(self, worker_ctx: Any) -> CallerCheck:
        return CallerCheck(worker_ctx.data.get(CONTEXT_KEY), self.verifier)


class CallerCheck:
    def __init__(self, token: str | None, verifier: Verifier):
        self._token = token
        self._verifier = verifier
        self._principal: Principal | None = None

    def for_token(self, token: str | None) -> CallerCheck:
        """A checker of another caller's token (an item of a batch carries its own)."""
        return CallerCheck(token, self._verifier)

    @property
    def principal(self) -> Principal | None:
        if self._principal is None and self._token:
            self._principal = self._verifier.decode(self._token)
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

    def require_centers(self, op: Operation, center_ids: list[str] | None) -> list[str] | None:
        """For an operation over many centers at once (the county view's statistics): the
        centers to count — ``center_ids`` if the token grants every one of them (else
        ``CENTER_FORBIDDEN``, as for one center); for ``None``, the centers the token
        grants, or ``None`` again (every center) for a token of every center."""
        principal = self.require_across(op)
        if center_ids is None:
            return None if ALL_CENTERS in principal.centers else list(principal.centers)
        ids = [str(c) for c in center_ids]
        if not all(principal.may_act_for(c) for c in ids):
            raise Forbidden("无权访问该服务中心的数据", code="CENTER_FORBIDDEN")
        return ids

    def optional(self) -> Principal | None:
        """The caller of a public operation, if it sent a token (a signed-in resident)."""
        return self.principal
