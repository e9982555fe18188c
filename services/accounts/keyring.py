"""The issuer's signing keys: one signs, the ones before it stay published for the overlap.

A key signs for ``rotate_after``; then a new key takes over and the old one is kept in the
JWKS for ``overlap`` (longer than an access token lives), so tokens it signed stay good
until they expire and no longer: after the overlap a token of the old key is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lianxin.keys import SigningKey, new_key
from services.accounts.models import SigningKeyRow


def _key(row: SigningKeyRow) -> SigningKey:
    return SigningKey(row.kid, row.private_pem)


def active(
    db_session: Session, *, now: datetime, rotate_after: timedelta, overlap: timedelta
) -> SigningKey:
    """The key that signs now (made on first use; rotated once it is ``rotate_after`` old)."""
    row = db_session.scalars(
        select(SigningKeyRow)
        .where(SigningKeyRow.retired_at.is_(None))
        .order_by(SigningKeyRow.activated_at.desc())
    ).first()
    if row is None:
        return _add(db_session, now)
    if now - row.activated_at >= rotate_after:
        return rotate(db_session, now=now, overlap=overlap)
    return _key(row)


def rotate(db_session: Session, *, now: datetime, overlap: timedelta) -> SigningKey:
    """Retire the signing key(s) — published ``overlap`` longer — and start a new one."""
    for row in db_session.scalars(select(SigningKeyRow).where(SigningKeyRow.retired_at.is_(None))):
        row.retired_at, row.expires_at = now, now + overlap
    return _add(db_session, now)


def _add(db_session: Session, now: datetime) -> SigningKey:
    key = new_key()
    db_session.add(SigningKeyRow(kid=key.kid, private_pem=key.private_pem, activated_at=now))
    db_session.flush()
    return key


def published(db_session: Session, *, now: datetime) -> list[SigningKey]:
    rows = db_session.scalars(
        select(SigningKeyRow)
        .where(or_(SigningKeyRow.expires_at.is_(None), SigningKeyRow.expires_at > now))
        .order_by(SigningKeyRow.activated_at.desc())
    )
    return [_key(row) for row in rows]


def jwks(db_session: Session, *, now: datetime) -> dict[str, Any]:
    return {"keys": [key.public_jwk() for key in published(db_session, now=now)]}
