"""Signed-in sessions: a short-lived access token, renewed with a refresh token that is
replaced on every use (a replaced one seen again ends the session: it was copied)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from lianxin import auth
from lianxin.keys import SigningKey
from lianxin.roles import DUTY_NAMES, ROLE_NAMES, Principal
from services.accounts.models import Account, Session

#: How long a session lasts without signing in again: a working day for staff, a month for
#: residents and volunteers on their own phones.
LIFETIME = {"resident": timedelta(days=30), "volunteer": timedelta(days=30)}
STAFF_LIFETIME = timedelta(hours=12)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    session: Session
    refresh_token: str


def start(db_session: DbSession, *, account: Account, client: str | None, now: datetime) -> Issued:
    refresh_token = secrets.token_urlsafe(32)
    session = Session(
        id=uuid.uuid4().hex,
        account_id=account.id,
        refresh_hash=_hash(refresh_token),
        csrf=secrets.token_urlsafe(24),
        client=client,
        created_at=now,
        refreshed_at=now,
        expires_at=now + LIFETIME.get(account.role, STAFF_LIFETIME),
    )
    db_session.add(session)
    account.last_sign_in_at = now
    return Issued(session, refresh_token)


def find(db_session: DbSession, refresh_token: str) -> tuple[Session | None, bool]:
    """The session of a refresh token, and whether the token was a replaced one."""
    digest = _hash(refresh_token)
    current = db_session.scalars(
        select(Session).where(Session.refresh_hash == digest).with_for_update()
    ).first()
    if current is not None:
        return current, False
    replaced = db_session.scalars(select(Session).where(Session.previous_hash == digest)).first()
    return replaced, replaced is not None


def renew(session: Session, *, now: datetime) -> str:
    refresh_token = secrets.token_urlsafe(32)
    session.previous_hash, session.refresh_hash = session.refresh_hash, _hash(refresh_token)
    session.refreshed_at = now
    return refresh_token


def usable(session: Session, now: datetime) -> bool:
    return session.revoked_at is None and session.expires_at > now


def revoke(session: Session, *, now: datetime, reason: str) -> None:
    if session.revoked_at is None:
        session.revoked_at, session.revoked_reason = now, reason


def revoke_all(db_session: DbSession, account: Account, *, now: datetime, reason: str) -> int:
    count = 0
    for session in db_session.scalars(
        select(Session).where(Session.account_id == account.id, Session.revoked_at.is_(None))
    ):
        revoke(session, now=now, reason=reason)
        count += 1
    return count


def revoked_since(
    db_session: DbSession, *, since: datetime | None, now: datetime, ttl: int
) -> list[str]:
    """Sessions revoked after ``since`` whose access tokens may still be alive (revoked in
    the last ``ttl`` seconds, a margin added)."""
    floor = now - timedelta(seconds=ttl + 60)
    after = max(since, floor) if since else floor
    return list(
        db_session.scalars(
            select(Session.id).where(Session.revoked_at.is_not(None), Session.revoked_at > after)
        )
    )


def principal_of(account: Account) -> Principal:
    return Principal(
        sub=account.person_id,
        role=account.role,
        centers=tuple(account.centers or [account.center_id]),
        party=account.party,
    )


def tokens(
    key: SigningKey, account: Account, issued: Issued | Session, refresh_token: str, ttl: int
) -> dict[str, Any]:
    """What a sign-in or a refresh answers: the access and refresh tokens, and who it is."""
    session = issued.session if isinstance(issued, Issued) else issued
    principal = principal_of(account)
    access = auth.issue(
        key,
        sub=account.person_id,
        role=account.role,
        centers=list(principal.centers),
        party=account.party,
        ttl=ttl,
        sid=session.id,
        csrf=session.csrf,
        # The account name, for a page's header (a staff login; residents have none).
        acct=account.login,
    )
    return {
        "access_token": access,
        "refresh_token": refresh_token,
        "expires_in": ttl,
        "token_type": "Bearer",
        "person_id": account.person_id,
        "role": account.role,
        "role_name": ROLE_NAMES[account.role],
        "party": account.party,
        "duty": principal.duty,
        "duty_name": DUTY_NAMES.get(principal.duty or ""),
        "centers": list(principal.centers),
        "csrf_token": session.csrf,
    }
