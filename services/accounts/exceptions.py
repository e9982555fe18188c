"""The accounts service's refusals (kit error kinds, codes of their own)."""

from __future__ import annotations

from lianxin.errors import Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated

#: One answer whether the account exists or the password is wrong (no account probing).
SIGN_IN_FAILED = "账号或密码错误"
CODE_FAILED = "验证码错误或已失效，请重新获取"


def sign_in_failed() -> Unauthenticated:
    return Unauthenticated(SIGN_IN_FAILED, code="SIGN_IN_FAILED")


def code_failed() -> Unauthenticated:
    return Unauthenticated(CODE_FAILED, code="CODE_INVALID")


def locked(retry_after: int) -> RateLimited:
    minutes = max(1, (retry_after + 59) // 60)
    return RateLimited(
        f"尝试次数过多，请 {minutes} 分钟后再试",
        code="SIGN_IN_LOCKED",
        extra={"retry_after": retry_after},
    )


def account_not_found() -> NotFound:
    return NotFound("找不到该账号", code="ACCOUNT_NOT_FOUND")


def weak_password(reason: str) -> InvalidInput:
    return InvalidInput(
        f"密码不符合要求：{reason}", code="WEAK_PASSWORD", fields={"password": [reason]}
    )


def not_yours() -> Forbidden:
    return Forbidden("只能管理本中心的账号", code="CENTER_FORBIDDEN")
