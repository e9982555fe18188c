"""A new center's first admin, invited while the center is onboarded — and withdrawn if the
onboarding fails afterwards (the tickets service orchestrates it and undoes each step)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lianxin.errors import Conflict
from services.accounts.models import Account, AuditEntry


def withdraw_center(*, db_session: Session, center_id: str) -> int:
    """Take a failed onboarding's accounts away: the center's invitations and their audit
    lines — refused (:class:`Conflict`) once someone of the center has set a password."""
    used = db_session.scalar(
        select(func.count())
        .select_from(Account)
        .where(Account.center_id == center_id, Account.status != "invited")
    )
    if used:
        raise Conflict("该服务中心已有启用的账号，不能撤销", code="CENTER_IN_USE")
    gone = _deleted(db_session, delete(Account).where(Account.center_id == center_id))
    db_session.execute(delete(AuditEntry).where(AuditEntry.center_id == center_id))
    return gone


def _deleted(db_session: Session, statement: Any) -> int:
    """How many rows a DELETE took away."""
    result: Any = db_session.execute(statement)
    return int(result.rowcount or 0)
