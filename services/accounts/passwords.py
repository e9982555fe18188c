"""Passwords: argon2id hashes (argon2-cffi), the password policy, and a verification that
costs the same whether or not the account exists."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.accounts.exceptions import weak_password

#: argon2id with argon2-cffi's RFC 9106 "low memory" profile (64 MiB, 3 passes).
HASHER = PasswordHasher()
#: What every account of the demo center signs in with on a developer machine
#: (``lianxin seed``); ``LIANXIN_ENV=production`` refuses to start while any has it.
DEV_PASSWORD = "lianxin-demo-2026"
MIN_LENGTH = 10
#: Passwords people pick first; refused whatever their length.
COMMON = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "1111111111",
        "qwertyuiop",
        "password123",
        "password1234",
        "admin12345",
        "admin123456",
        "abc1234567",
        "a123456789",
        "1q2w3e4r5t",
        "qwer123456",
        "woaini1314",
        "iloveyou12",
    }
)
_DUMMY = HASHER.hash("not-a-password-of-anyone")


def check_policy(password: str, *, login: str | None = None) -> None:
    """Refuse a password that is short, common, all one kind of character, or the account
    name itself (at least 10 characters, letters and digits)."""
    if len(password) < MIN_LENGTH:
        raise weak_password(f"至少 {MIN_LENGTH} 个字符")
    if password.lower() in COMMON or len(set(password)) < 4:
        raise weak_password("过于常见或简单")
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        raise weak_password("须同时包含字母和数字")
    if login and login.lower() in password.lower():
        raise weak_password("不能包含账号名")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (no such account, not yet activated) a
    dummy hash is checked, so the answer takes as long either way."""
    try:
        return HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
