"""Failed sign-ins and the locks they earn, per account name (or phone) and per client.

An account name that fails ``ACCOUNT_FREE`` times in a row is locked for a minute, then
for twice as long after each further failure (up to an hour); a success clears it. A
client (an address) may fail ``CLIENT_FREE`` times in a quarter of an hour, over any
account names, before it is locked for a quarter of an hour. The same counting applies
to an account name that doesn't exist, so a lock says nothing about whether it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from services.accounts.exceptions import locked
from services.accounts.models import Throttle


@dataclass(frozen=True)
class Policy:
    free: int
    window: timedelta
    first_lock: timedelta
    max_lock: timedelta
    #: Each failure beyond ``free`` doubles the lock.
    doubling: bool


ACCOUNT = Policy(5, timedelta(hours=1), timedelta(minutes=1), timedelta(hours=1), True)
CLIENT = Policy(20, timedelta(minutes=15), timedelta(minutes=15), timedelta(minutes=15), False)
POLICIES = {"account": ACCOUNT, "phone": ACCOUNT, "client": CLIENT}


def check(db_session: Session, scope: str, key: str | None, now: datetime) -> None:
    """Refuse at once while ``key`` is locked (the password is not even looked at)."""
    if key is None:
        return
    row = db_session.get(Throttle, (scope, key))
    if row is not None and row.locked_until is not None and row.locked_until > now:
        raise locked(int((row.locked_until - now).total_seconds()) + 1)


def fail(db_session: Session, scope: str, key: str | None, now: datetime) -> bool:
    """Count a failure; True when it locks ``key`` now."""
    if key is None:
        return False
    policy = POLICIES[scope]
    row = db_session.get(Throttle, (scope, key))
    if row is None:
        row = Throttle(scope=scope, key=key, failures=0, window_start=now)
        db_session.add(row)
    if now - row.window_start > policy.window:
        row.failures, row.window_start = 0, now
    row.failures += 1
    beyond = row.failures - policy.free
    if beyond < 0:
        return False
    lock = policy.first_lock * (2**beyond if policy.doubling else 1)
    row.locked_until = now + min(lock, policy.max_lock)
    return True


def clear(db_session: Session, scope: str, key: str | None) -> None:
    if key is None:
        return
    row = db_session.get(Throttle, (scope, key))
    if row is not None:
        db_session.delete(row)
        db_session.flush()
