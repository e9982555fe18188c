"""Ed25519 signing keys and the public key set (JWKS) every verifier reads.

Only the issuer (the accounts service) holds a private key; every other service and the
gateway hold public keys only, fetched from the issuer's JWKS (``accounts.get_jwks``, also
served at ``GET /api/v1/auth/jwks``) or read from a mounted JWKS file. A stolen service
config therefore cannot mint a token.

    key = new_key()
    token = key.sign({"sub": "sw-1", ...})
    KeySet.from_jwks({"keys": [key.public_jwk()]}).get(key.kid)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_bytes(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_jwk(public: Ed25519PublicKey, kid: str) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64(public_bytes(public)),
        "kid": kid,
        "use": "sig",
        "alg": ALGORITHM,
    }


@dataclass(frozen=True)
class SigningKey:
    """A private key of the issuer and its id (``kid``, in every token's header)."""

    kid: str
    private_pem: str

    @functools.cached_property
    def private_key(self) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"key {self.kid} is not an Ed25519 key")
        return key

    def public_jwk(self) -> dict[str, str]:
        return public_jwk(self.private_key.public_key(), self.kid)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def new_key() -> SigningKey:
    """A fresh Ed25519 key; its id is a digest of the public key (RFC 7638-like)."""
    private = Ed25519PrivateKey.generate()
    kid = _b64(hashlib.sha256(public_bytes(private.public_key())).digest()[:12])
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKey(kid, pem)


@dataclass(frozen=True)
class KeySet:
    """The public keys a verifier trusts, by ``kid``."""

    keys: dict[str, Ed25519PublicKey]

    @classmethod
    def from_jwks(cls, jwks: dict[str, Any]) -> KeySet:
        keys: dict[str, Ed25519PublicKey] = {}
        for entry in jwks.get("keys", []):
            if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519" or not entry.get("kid"):
                log.warning("JWKS entry skipped (not an Ed25519 key with a kid): %s", entry)
                continue
            key = jwt.PyJWK(entry, algorithm=ALGORITHM).key
            if isinstance(key, Ed25519PublicKey):
                keys[str(entry["kid"])] = key
        return cls(keys)

    def get(self, kid: str) -> Ed25519PublicKey | None:
        return self.keys.get(kid)


#: Where a verifier's JWKS comes from: a function answering the JWKS document.
Fetch = Callable[[], dict[str, Any]]


def file_source(path: str | Path) -> Fetch:
    """A JWKS file (a deployment mounting the public keys; the test suite)."""
    return lambda: json.loads(Path(path).read_text())


def rpc_source(amqp_uri: str, timeout: float = 5) -> Fetch:
    """The issuer's ``accounts.get_jwks`` over the bus (one short-lived client per fetch:
    fetches are rare — at start, every few minutes, on a key not seen before)."""

    def fetch() -> dict[str, Any]:
        from nameko.standalone.rpc import ServiceRpcProxy

        with ServiceRpcProxy("accounts", {"AMQP_URI": amqp_uri}, timeout=timeout) as accounts:
            answer: dict[str, Any] = accounts.get_jwks()
            return answer

    return fetch


class Keys:
    """The current public keys, from ``fetch``: fetched on first use, again every
    ``refresh`` seconds (a retired key drops out), and when a token names a key not seen
    yet (a rotation) — at most every ``min_interval`` seconds, so a flood of tokens with
    made-up key ids costs the issuer one fetch a second.

    A failed fetch keeps the keys already known; with none known, :meth:`get` raises
    the fetch's error (the caller answers 503, not 401: the token may well be good)."""

    def __init__(
        self,
        fetch: Fetch,
        refresh: float = 300,
        min_interval: float = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.fetch, self.refresh, self.min_interval = fetch, refresh, min_interval
        self.clock, self.sleep = clock, sleep
        self._set: KeySet | None = None
        self._fetched = -float("inf")
        self._lock = threading.Lock()

    def get(self, kid: str) -> Ed25519PublicKey | None:
        now = self.clock()
        current = self._set
        if current is None or now - self._fetched >= self.refresh:
            current = self._load(now)
        elif current.get(kid) is None:
            # A key not seen yet: the issuer may just have rotated. Ask again, at most
            # every ``min_interval`` seconds (waiting out the rest of it).
            wait = self.min_interval - (now - self._fetched)
            if wait > 0:
                self.sleep(wait)
            current = self._load(self.clock())
        return current.get(kid) if current is not None else None

    def _load(self, now: float) -> KeySet | None:
        with self._lock:
            if self._set is not None and self._fetched >= now:
                return self._set  # fetched by another worker while this one waited
            try:
                self._set = KeySet.from_jwks(self.fetch())
            except Exception:
                if self._set is None:
                    self._fetched = now - self.refresh + self.min_interval
                    raise
                log.warning(
                    "could not refresh the JWKS; keeping %d known keys", len(self._set.keys)
                )
            self._fetched = now
            return self._set
