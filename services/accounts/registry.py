"""A center's accounts, kept by its admin (and departments' and ops' accounts, by ops):
invite, edit, disable, re-enable, reset a password; and an invitation accepted."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lianxin.contracts.accounts.operations import (
    CENTER_ROLES,
    PASSWORD_ROLES,
    STATUSES,
    AccountChanges,
    NewAccount,
)
from lianxin.errors import Conflict, Forbidden, InvalidInput, NotFound
from lianxin.roles import ALL_CENTERS, DUTY_NAMES, Principal
from services.accounts import audit, passwords, sessions
from services.accounts.exceptions import account_not_found
from services.accounts.models import Account

INVITATION_VALID = timedelta(hours=72)


@dataclass(frozen=True)
class Made:
    account: Account
    #: The invitation (or reset) link, when one was made.
    invitation_url: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def view(account: Account, invitation_url: str | None = None) -> dict[str, Any]:
    principal = sessions.principal_of(account)
    out: dict[str, Any] = {
        "id": account.id,
        "center_id": account.center_id,
        "login": account.login,
        "person_id": account.person_id,
        "role": account.role,
        "party": account.party,
        "duty": principal.duty,
        "duty_name": DUTY_NAMES.get(principal.duty or ""),
        "status": account.status,
        "status_name": STATUSES[account.status],
        "centers": list(principal.centers),
        "created_at": account.created_at,
        "last_sign_in_at": account.last_sign_in_at,
        "locked_until": None,
    }
    if invitation_url:
        out["invitation_url"] = invitation_url
        out["invitation_expires_at"] = account.invitation_expires_at
    return out


def _check_grant(actor: Principal, center_id: str, data: NewAccount) -> tuple[str, list[str]]:
    """Where the new account lives and what it grants: a center admin makes staff and
    admins of their center; ops makes departments, ops, and any center's first admin."""
    if data.role in ("department", "ops"):
        if actor.role != "ops":
            raise Forbidden("职能部门和运维账号由运维人员创建", code="ROLE_FORBIDDEN")
        centers = data.centers or [center_id]
        if ALL_CENTERS in centers and data.role != "ops":
            raise InvalidInput(fields={"centers": ["只有运维账号可授权全部中心"]})
        return ALL_CENTERS, centers
    if data.role not in CENTER_ROLES and data.role not in ("resident", "volunteer"):
        raise InvalidInput(fields={"role": ["不支持的角色"]})
    if data.role in ("resident", "volunteer"):
        raise InvalidInput(
            "居民和志愿者用手机号验证码登录，无需开设账号",
            fields={"role": ["请选择工作人员或管理员"]},
        )
    if center_id == ALL_CENTERS:
        raise InvalidInput(fields={"center": ["请指定服务中心"]})
    return center_id, [center_id]


def create(
    db_session: Session,
    *,
    center_id: str,
    data: NewAccount,
    actor: Principal,
    public_url: str,
    now: datetime,
) -> Made:
    home, centers = _check_grant(actor, center_id, data)
    login = data.login or data.person_id
    if db_session.scalar(
        select(func.count())
        .select_from(Account)
        .where(Account.center_id == home, Account.login == login)
    ):
        raise Conflict(
            f"账号 {login} 已存在", code="ACCOUNT_EXISTS", fields={"login": ["已被使用"]}
        )
    if data.password is not None:
        passwords.check_policy(data.password, login=login)
    account = Account(
        id=uuid.uuid4().hex,
        center_id=home,
        person_id=data.person_id,
        role=data.role,
        party=data.party if data.role == "staff" else None,
        login=login,
        centers=centers if home == ALL_CENTERS else [],
        password_hash=passwords.hash_password(data.password) if data.password else None,
        status="active" if data.password else "invited",
        created_at=now,
        updated_at=now,
    )
    db_session.add(account)
    url = None if data.password else _invite(account, public_url, now)
    audit.record(
        db_session,
        center_id=center_id,
        action="account_created" if data.password else "account_invited",
        now=now,
        account=account,
        actor=actor.id,
        role=account.role,
        party=account.party,
        centers=centers,
    )
    return Made(account, url)


def _invite(account: Account, public_url: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    account.invitation_hash = _digest(token)
    account.invitation_expires_at = now + INVITATION_VALID
    return f"{public_url.rstrip('/')}/login/invitation/{token}"


def get(db_session: Session, *, center_id: str, account_id: str, actor: Principal) -> Account:
    """One of the center's accounts (ops: any account granted at this center)."""
    account = db_session.get(Account, account_id)
    if account is None:
        raise account_not_found()
    here = account.center_id == center_id or (
        account.center_id == ALL_CENTERS and actor.role == "ops"
    )
    if not here:
        raise account_not_found()
    return account


def listing(
    db_session: Session,
    *,
    center_id: str,
    status: str | None,
    role: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Account], int]:
    where = [Account.center_id == center_id, Account.role.in_(PASSWORD_ROLES)]
    if status:
        where.append(Account.status == status)
    if role:
        where.append(Account.role == role)
    total = db_session.scalar(select(func.count()).select_from(Account).where(*where)) or 0
    rows = db_session.scalars(
        select(Account)
        .where(*where)
        .order_by(Account.created_at, Account.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def change(
    db_session: Session,
    *,
    center_id: str,
    account: Account,
    changes: AccountChanges,
    actor: Principal,
    now: datetime,
) -> Account:
    """A new role, party or account name. A changed role or party ends the account's
    sessions: its tokens carry the old ones."""
    if account.role not in CENTER_ROLES:
        raise Forbidden("只能修改本中心工作人员和管理员的账号", code="ROLE_FORBIDDEN")
    before = {"role": account.role, "party": account.party, "login": account.login}
    role = changes.get("role", account.role)
    party = changes.get("party", account.party) if role == "staff" else None
    if "party" in changes and changes["party"] and role != "staff":
        raise InvalidInput(fields={"party": ["只有工作人员属于责任单位"]})
    if "login" in changes and changes["login"] != account.login:
        taken = db_session.scalar(
            select(func.count())
            .select_from(Account)
            .where(Account.center_id == account.center_id, Account.login == changes["login"])
        )
        if taken:
            raise Conflict(f"账号 {changes['login']} 已存在", code="ACCOUNT_EXISTS")
        account.login = changes["login"]
    if actor.id == account.person_id and role != "admin":
        raise InvalidInput("不能取消自己的管理员权限", code="SELF_DEMOTION")
    account.role, account.party, account.updated_at = role, party, now
    after = {"role": account.role, "party": account.party, "login": account.login}
    if (before["role"], before["party"]) != (after["role"], after["party"]):
        sessions.revoke_all(db_session, account, now=now, reason="role_changed")
    audit.record(
        db_session,
        center_id=center_id,
        action="account_changed",
        now=now,
        account=account,
        actor=actor.id,
        before=before,
        after=after,
    )
    return account


def disable(
    db_session: Session, *, center_id: str, account: Account, actor: Principal, now: datetime
) -> Account:
    if actor.id == account.person_id and account.center_id == center_id:
        raise InvalidInput("不能停用自己的账号", code="SELF_DISABLE")
    account.status, account.updated_at = "disabled", now
    ended = sessions.revoke_all(db_session, account, now=now, reason="disabled")
    audit.record(
        db_session,
        center_id=center_id,
        action="account_disabled",
        now=now,
        account=account,
        actor=actor.id,
        sessions_ended=ended,
    )
    return account


def enable(
    db_session: Session, *, center_id: str, account: Account, actor: Principal, now: datetime
) -> Account:
    if account.status == "disabled":
        account.status = (
            "active"
            if account.password_hash or account.role in ("resident", "volunteer")
            else "invited"
        )
        account.updated_at = now
    audit.record(
        db_session,
        center_id=center_id,
        action="account_enabled",
        now=now,
        account=account,
        actor=actor.id,
    )
    return account


def reset(
    db_session: Session,
    *,
    center_id: str,
    account: Account,
    actor: Principal,
    public_url: str,
    now: datetime,
) -> Made:
    """The old password stops working at once, the sessions end, and a link to set a new
    one is made (for the admin to hand over)."""
    if account.role not in PASSWORD_ROLES:
        raise InvalidInput("居民和志愿者用手机号验证码登录，没有密码", code="NO_PASSWORD")
    account.password_hash, account.dev_password = None, False
    if account.status == "active":
        account.status = "invited"
    account.updated_at = now
    sessions.revoke_all(db_session, account, now=now, reason="password_reset")
    url = _invite(account, public_url, now)
    audit.record(
        db_session,
        center_id=center_id,
        action="password_reset",
        now=now,
        account=account,
        actor=actor.id,
    )
    return Made(account, url)


def accept(db_session: Session, *, token: str, password: str, now: datetime) -> Account:
    account = db_session.scalars(
        select(Account).where(Account.invitation_hash == _digest(token)).with_for_update()
    ).first()
    if (
        account is None
        or account.invitation_expires_at is None
        or account.invitation_expires_at <= now
    ):
        raise NotFound("邀请链接无效或已过期，请联系中心管理员重新发送", code="INVITATION_INVALID")
    if account.status == "disabled":
        raise Forbidden("该账号已停用，请联系中心管理员", code="ACCOUNT_DISABLED")
    passwords.check_policy(password, login=account.login)
    account.password_hash = passwords.hash_password(password)
    account.status, account.dev_password = "active", False
    account.invitation_hash = account.invitation_expires_at = None
    account.updated_at = now
    audit.record(
        db_session,
        center_id=account.center_id,
        action="invitation_accepted",
        now=now,
        account=account,
        actor=account.person_id,
    )
    return account
