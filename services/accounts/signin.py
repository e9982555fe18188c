"""Signing in: an account name and password (staff, admins, departments, ops), or a phone
and the code just sent to it (residents and volunteers).

A wrong password, an account name nobody has, a disabled account and a code that is wrong,
expired or used all get the same answer and cost the same time; each failure counts
against the account name (or phone) and the client, and enough of them lock both for a
while (:mod:`services.accounts.throttles`). Every attempt is in the audit log.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.contracts.accounts.operations import PASSWORD_ROLES
from lianxin.errors import RateLimited
from lianxin.people import person_for_phone, phone_hash
from lianxin.roles import ALL_CENTERS
from services.accounts import audit, codes, passwords, sessions, throttles
from services.accounts.models import Account

#: ``(center_id, phone, role)`` → the directory's person id of a volunteer with that phone.
FindVolunteer = Callable[[str, str], str | None]


@dataclass(frozen=True)
class Attempt:
    center_id: str
    client: str | None
    now: datetime


def find_by_login(db_session: Session, center_id: str, login: str) -> Account | None:
    """The center's account of that name, else a department's or ops account of that name
    granted the center (or every center)."""
    own = db_session.scalars(
        select(Account).where(
            Account.center_id == center_id,
            Account.login == login,
            Account.role.in_(PASSWORD_ROLES),
        )
    ).first()
    if own is not None or center_id == ALL_CENTERS:
        return own or _across(db_session, login, center_id)
    return _across(db_session, login, center_id)


def _across(db_session: Session, login: str, center_id: str) -> Account | None:
    account = db_session.scalars(
        select(Account).where(Account.center_id == ALL_CENTERS, Account.login == login)
    ).first()
    if account is None:
        return None
    granted = account.centers or []
    return (
        account
        if center_id in granted or ALL_CENTERS in granted or center_id == ALL_CENTERS
        else None
    )


def _fail(db_session: Session, attempt: Attempt, scope: str, key: str, **detail: Any) -> None:
    """Count a failure (both keys) and log it; log a lock it earns."""
    locked_key = throttles.fail(db_session, scope, key, attempt.now)
    locked_client = throttles.fail(db_session, "client", attempt.client, attempt.now)
    audit.record(
        db_session,
        center_id=attempt.center_id,
        action="sign_in_failed" if scope == "account" else "code_refused",
        now=attempt.now,
        client=attempt.client,
        **detail,
    )
    if locked_key or locked_client:
        audit.record(
            db_session,
            center_id=attempt.center_id,
            action="locked",
            now=attempt.now,
            client=attempt.client,
            scope=scope if locked_key else "client",
            **detail,
        )


def by_password(
    db_session: Session, *, attempt: Attempt, login: str, password: str
) -> sessions.Issued | RateLimited | None:
    """A new session, or None (wrong: the caller commits the count and refuses), or the
    lock to answer with."""
    key = f"{attempt.center_id}|{login.lower()}"
    try:
        throttles.check(db_session, "account", key, attempt.now)
        throttles.check(db_session, "client", attempt.client, attempt.now)
    except RateLimited as lock:
        audit.record(
            db_session,
            center_id=attempt.center_id,
            action="locked",
            now=attempt.now,
            client=attempt.client,
            login=login,
            refused=True,
        )
        return lock
    account = find_by_login(db_session, attempt.center_id, login)
    usable = account is not None and account.status == "active"
    good = passwords.verify(account.password_hash if usable and account else None, password)
    if not good or account is None:
        _fail(db_session, attempt, "account", key, login=login)
        return None
    if account.password_hash and passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    return _start(db_session, attempt, account, ("account", key), method="password")


def send_code(
    db_session: Session,
    *,
    attempt: Attempt,
    phone: str,
    role: str,
    find_volunteer: FindVolunteer,
) -> str | None:
    """A new code for the phone, or None when there is nobody to send it to (a volunteer's
    code for a phone no volunteer has: the answer is the same, nothing is sent)."""
    digest = phone_hash(phone)
    code = codes.new_code(
        db_session,
        center_id=attempt.center_id,
        phone_hash=digest,
        role=role,
        client=attempt.client,
        now=attempt.now,
    )
    if role == "volunteer" and find_volunteer(attempt.center_id, phone) is None:
        return None
    audit.record(
        db_session,
        center_id=attempt.center_id,
        action="code_sent",
        now=attempt.now,
        client=attempt.client,
        role=role,
    )
    return code


def by_code(
    db_session: Session,
    *,
    attempt: Attempt,
    phone: str,
    code: str,
    role: str,
    find_volunteer: FindVolunteer,
) -> sessions.Issued | RateLimited | None:
    digest = phone_hash(phone)
    key = f"{attempt.center_id}|{digest}"
    try:
        throttles.check(db_session, "phone", key, attempt.now)
        throttles.check(db_session, "client", attempt.client, attempt.now)
    except RateLimited as lock:
        return lock
    if not codes.redeem(
        db_session,
        center_id=attempt.center_id,
        phone_hash=digest,
        role=role,
        code=code,
        now=attempt.now,
    ):
        _fail(db_session, attempt, "phone", key, role=role)
        return None
    account = _phone_account(db_session, attempt, phone, digest, role, find_volunteer)
    if account is None or account.status != "active":
        _fail(db_session, attempt, "phone", key, role=role)
        return None
    return _start(db_session, attempt, account, ("phone", key), method="code")


def _start(
    db_session: Session,
    attempt: Attempt,
    account: Account,
    counted: tuple[str, str],
    *,
    method: str,
) -> sessions.Issued:
    """A good sign-in: the account name's (or phone's) failures forgotten, a session
    started, the audit log told."""
    throttles.clear(db_session, *counted)
    issued = sessions.start(db_session, account=account, client=attempt.client, now=attempt.now)
    audit.record(
        db_session,
        center_id=attempt.center_id,
        action="sign_in",
        now=attempt.now,
        account=account,
        actor=account.person_id,
        client=attempt.client,
        method=method,
    )
    return issued


def _phone_account(
    db_session: Session,
    attempt: Attempt,
    phone: str,
    digest: str,
    role: str,
    find_volunteer: FindVolunteer,
) -> Account | None:
    """The phone's account of that role, made on first sign-in: a resident is the person
    of their phone (whose earlier reports, by phone or on the web, are theirs); a volunteer
    is the directory's volunteer with that phone."""
    account = db_session.scalars(
        select(Account).where(
            Account.center_id == attempt.center_id,
            Account.phone_hash == digest,
            Account.role == role,
        )
    ).first()
    if account is not None:
        return account
    person = (
        person_for_phone(attempt.center_id, phone)
        if role == "resident"
        else find_volunteer(attempt.center_id, phone)
    )
    if person is None:
        return None
    account = Account(
        id=uuid.uuid4().hex,
        center_id=attempt.center_id,
        person_id=person,
        role=role,
        phone_hash=digest,
        centers=[],
        status="active",
        created_at=attempt.now,
        updated_at=attempt.now,
    )
    db_session.add(account)
    audit.record(
        db_session,
        center_id=attempt.center_id,
        action="account_created",
        now=attempt.now,
        account=account,
        actor=person,
        client=attempt.client,
        role=role,
        method="code",
    )
    return account
