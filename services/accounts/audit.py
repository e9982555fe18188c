"""The audit log: every sign-in, failure, lockout and change of who may do what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.contracts.accounts.operations import AUDIT_ACTIONS
from services.accounts.models import Account, AuditEntry


def record(
    db_session: Session,
    *,
    center_id: str,
    action: str,
    now: datetime,
    account: Account | None = None,
    actor: str | None = None,
    login: str | None = None,
    client: str | None = None,
    **detail: Any,
) -> None:
    assert action in AUDIT_ACTIONS, action
    db_session.add(
        AuditEntry(
            at=now,
            center_id=center_id,
            action=action,
            actor=actor,
            account_id=account.id if account else None,
            login=login or (account.login if account else None),
            client=client,
            detail=detail,
        )
    )


def entries(
    db_session: Session,
    *,
    center_id: str,
    action: str | None,
    account_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """The center's entries, newest first, as the admin reads them."""
    where = [AuditEntry.center_id == center_id]
    if action:
        where.append(AuditEntry.action == action)
    if account_id:
        where.append(AuditEntry.account_id == account_id)
    total = db_session.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
    rows = db_session.scalars(
        select(AuditEntry).where(*where).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    )
    items = [
        {
            "id": row.id,
            "at": row.at,
            "center_id": row.center_id,
            "action": row.action,
            "action_name": AUDIT_ACTIONS[row.action],
            "actor": row.actor,
            "account_id": row.account_id,
            "login": row.login,
            "client": row.client,
            "detail": row.detail or {},
        }
        for row in rows
    ]
    return items, total
