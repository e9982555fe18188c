"""Signing department webhooks, as Standard Webhooks says: ``webhook-signature`` is ``v1,`` +
base64 of HMAC-SHA256, keyed with the base64-decoded part of the ``whsec_`` secret, over
``{webhook-id}.{webhook-timestamp}.{body}``; during a secret rotation both secrets sign,
space-separated."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from services.notify.models import Subscription

SECRET_PREFIX = "whsec_"
#: Deliveries are CloudEvents in structured mode.
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret_list: list[str], msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per valid secret, space-separated."""
    content = f"{msg_id}.{timestamp}.{body}".encode()
    return " ".join(
        "v1," + base64.b64encode(hmac.new(_key(s), content, hashlib.sha256).digest()).decode()
        for s in secret_list
    )


def signing_secrets(sub: Subscription, now: datetime) -> list[str]:
    """The current secret, and the previous one while its rotation grace lasts."""
    out = [sub.secret]
    if sub.previous_secret and sub.previous_secret_until and sub.previous_secret_until > now:
        out.append(sub.previous_secret)
    return out
