"""Who a phone number is: the person id a resident known only by their phone has in a
center, and the deployment's keyed hashes that stand in for phone numbers.

A resident who reports by phone, on the web with a phone number, joins a ticket as a
supporter, or signs in with a code sent to that phone is the same person: their person
id is derived from the phone with the deployment's site key (``LIANXIN_SITE_KEY``; on a
developer machine a generated key kept in ``var/``), so a ticket registered from a call
last month is theirs when they sign in today, and no table maps phones to ids. The site
key is not a signing key: nothing can be signed in with it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import re
import secrets

from lianxin.config import var_dir

log = logging.getLogger(__name__)

SITE_KEY_ENV = "LIANXIN_SITE_KEY"
_NOT_DIGITS = re.compile(r"[\s\-()]")


def normalize_phone(phone: str) -> str:
    """``+86 138-1234-5678`` → ``13812345678`` (the form every hash is taken of)."""
    digits = _NOT_DIGITS.sub("", phone.strip())
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix) and len(digits) > 11:
            digits = digits[len(prefix) :]
    return digits


@functools.lru_cache(maxsize=1)
def _site_key(given: str | None, folder: str) -> bytes:
    if given:
        return given.encode()
    path = var_dir() / "dev-site-key"
    if not path.exists():
        log.warning("%s is not set: generating a development site key in %s", SITE_KEY_ENV, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def site_key(purpose: str) -> bytes:
    """A key of its own for ``purpose``, derived from the site key."""
    root = _site_key(os.environ.get(SITE_KEY_ENV), str(var_dir()))
    return hmac.new(root, f"lianxin/{purpose}".encode(), hashlib.sha256).digest()


def keyed_hash(purpose: str, text: str) -> str:
    return hmac.new(site_key(purpose), text.encode(), hashlib.sha256).hexdigest()


def person_for_phone(center_id: str, phone: str) -> str:
    """The person id of whoever holds ``phone`` at ``center_id`` (``resident-…``)."""
    return "resident-" + keyed_hash("person", f"{center_id}|{normalize_phone(phone)}")[:20]


def phone_hash(phone: str) -> str:
    """A phone number as it may be stored where only "the same phone?" is asked (sign-in
    codes and their send counts)."""
    return keyed_hash("phone", normalize_phone(phone))
