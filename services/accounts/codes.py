"""One-time sign-in codes sent to a phone: 6 digits, valid 5 minutes, used once, guessed at
most 5 times, and at most 5 sent an hour per phone and per client."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.contracts.accounts.operations import CODE_LENGTH
from lianxin.errors import RateLimited
from lianxin.people import keyed_hash
from services.accounts.models import Code

VALID = timedelta(minutes=5)
SENDS_PER_HOUR = 5
GUESSES = 5


def _hash(code_id: int, code: str) -> str:
    return keyed_hash("sign-in-code", f"{code_id}|{code}")


def _sent_since(db_session: Session, since: datetime, *where) -> int:
    return (
        db_session.scalar(
            select(func.count()).select_from(Code).where(Code.created_at > since, *where)
        )
        or 0
    )


def new_code(
    db_session: Session,
    *,
    center_id: str,
    phone_hash: str,
    role: str,
    client: str | None,
    now: datetime,
) -> str:
    """A new code for the phone (earlier unused ones stop working); refused past the hour's
    sends of this phone or this client."""
    hour_ago = now - timedelta(hours=1)
    by_phone = _sent_since(
        db_session, hour_ago, Code.center_id == center_id, Code.phone_hash == phone_hash
    )
    by_client = _sent_since(db_session, hour_ago, Code.client == client) if client else 0
    if by_phone >= SENDS_PER_HOUR or by_client >= SENDS_PER_HOUR:
        raise RateLimited(
            "验证码发送过于频繁，请一小时后再试",
            code="CODE_RATE_LIMITED",
            extra={"retry_after": 3600},
        )
    for earlier in db_session.scalars(
        select(Code).where(
            Code.center_id == center_id, Code.phone_hash == phone_hash, Code.used_at.is_(None)
        )
    ):
        earlier.used_at = now
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH))
    row = Code(
        center_id=center_id,
        phone_hash=phone_hash,
        role=role,
        code_hash="",
        client=client,
        created_at=now,
        expires_at=now + VALID,
        attempts=0,
    )
    db_session.add(row)
    db_session.flush()
    row.code_hash = _hash(row.id, code)
    return code


def redeem(
    db_session: Session, *, center_id: str, phone_hash: str, role: str, code: str, now: datetime
) -> bool:
    """Whether ``code`` is the phone's current code (then it is used up). A wrong guess
    counts against the code; the fifth ends it."""
    row = db_session.scalars(
        select(Code)
        .where(
            Code.center_id == center_id,
            Code.phone_hash == phone_hash,
            Code.used_at.is_(None),
            Code.expires_at > now,
        )
        .order_by(Code.id.desc())
        .with_for_update()
    ).first()
    if row is None:
        return False
    if row.role == role and hmac.compare_digest(row.code_hash, _hash(row.id, code)):
        row.used_at = now
        return True
    row.attempts += 1
    if row.attempts >= GUESSES:
        row.used_at = now
    return False
