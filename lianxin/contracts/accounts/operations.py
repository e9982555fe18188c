"""What the accounts service offers over RPC: sign-in, sessions, the accounts of a
center's people, the audit log, and the public keys every service verifies tokens with.

Accounts own identity only: credentials, sessions and who holds which role. A person's
name, phone and e-mail stay in notify's directory; an account names the person by the
directory's person id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from marshmallow import ValidationError, fields, validate, validates_schema

from lianxin.contracts.notify.operations import PHONE_RE
from lianxin.contracts.schema import CENTER_ID_RE, BaseSchema, Page, page_of
from lianxin.operations import Operations
from lianxin.roles import ADMIN, ALL_CENTERS, OPS, PARTIES, ROLES

#: What an account's holder types as their account name (账号).
LOGIN_RE = r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$"
#: Where an account is (the grant of a department or ops account may span centers).
CENTER_OR_ALL_RE = rf"({CENTER_ID_RE[1:-1]}|\{ALL_CENTERS})"
#: The roles an account signs in with a password; residents and volunteers use a code.
PASSWORD_ROLES = ("staff", "admin", "department", "ops")
#: The roles a center admin may give (department and ops accounts are made by ops).
CENTER_ROLES = ("staff", "admin")
CODE_LENGTH = 6
STATUSES = {"invited": "待激活", "active": "正常", "disabled": "已停用"}
AUDIT_ACTIONS = {
    "sign_in": "登录成功",
    "sign_in_failed": "登录失败",
    "locked": "账号或来源被暂时锁定",
    "code_sent": "发送验证码",
    "code_refused": "验证码错误、过期或已使用",
    "refreshed": "续期登录",
    "refresh_reused": "已用过的续期凭证再次出现（会话已注销）",
    "signed_out": "退出登录",
    "account_created": "新建账号",
    "account_invited": "发出邀请",
    "invitation_accepted": "接受邀请并设置密码",
    "account_changed": "修改账号角色或单位",
    "account_disabled": "停用账号",
    "account_enabled": "重新启用账号",
    "password_reset": "重置密码",
    "keys_rotated": "轮换签名密钥",
}


# -- sign-in ---------------------------------------------------------------------------------


class CodeRequest(BaseSchema):
    center = fields.Str(required=True, validate=validate.Regexp(CENTER_ID_RE))
    phone = fields.Str(required=True, validate=validate.Regexp(PHONE_RE, error="手机号格式无效"))
    #: Who the code is for: a resident (the default) or a volunteer.
    role = fields.Str(load_default="resident", validate=validate.OneOf(["resident", "volunteer"]))


class CodeSent(BaseSchema):
    sent = fields.Bool()
    expires_in = fields.Int(metadata={"description": "Seconds the code is valid."})
    detail = fields.Str()


class TokenRequest(BaseSchema):
    """``{"center", "account", "password"}`` (staff, admins, departments, ops) or
    ``{"center", "phone", "code"}`` (residents and volunteers)."""

    center = fields.Str(required=True, validate=validate.Regexp(f"^{CENTER_OR_ALL_RE}$"))
    account = fields.Str(validate=validate.Length(min=1, max=64))
    password = fields.Str(validate=validate.Length(min=1, max=128))
    phone = fields.Str(validate=validate.Regexp(PHONE_RE, error="手机号格式无效"))
    code = fields.Str(validate=validate.Regexp(rf"^\d{{{CODE_LENGTH}}}$", error="验证码为6位数字"))
    role = fields.Str(load_default="resident", validate=validate.OneOf(["resident", "volunteer"]))

    @validates_schema
    def _one_way(self, data: dict[str, Any], **_: Any) -> None:
        by_password = "account" in data or "password" in data
        by_code = "phone" in data or "code" in data
        if by_password == by_code:
            raise ValidationError("请提供 账号和密码，或 手机号和验证码", "_schema")
        needed = ("account", "password") if by_password else ("phone", "code")
        missing = {name: ["必填项"] for name in needed if name not in data}
        if missing:
            raise ValidationError(missing)


class RefreshRequest(BaseSchema):
    refresh_token = fields.Str(required=True, validate=validate.Length(min=20, max=200))


class LogoutRequest(BaseSchema):
    refresh_token = fields.Str(load_default=None, validate=validate.Length(min=20, max=200))


class TokenPair(BaseSchema):
    access_token = fields.Str()
    refresh_token = fields.Str()
    expires_in = fields.Int()
    token_type = fields.Str()
    #: Who signed in (what a page shows in its header).
    person_id = fields.Str()
    role = fields.Str()
    role_name = fields.Str()
    party = fields.Str(allow_none=True)
    duty = fields.Str(allow_none=True)
    duty_name = fields.Str(allow_none=True)
    centers = fields.List(fields.Str())
    #: A browser session's CSRF secret (sent back in ``X-CSRF-Token`` by the pages).
    csrf_token = fields.Str()


class Me(BaseSchema):
    person_id = fields.Str()
    role = fields.Str()
    role_name = fields.Str()
    party = fields.Str(allow_none=True)
    duty = fields.Str(allow_none=True)
    duty_name = fields.Str(allow_none=True)
    centers = fields.List(fields.Str())
    account = fields.Str(allow_none=True)


class RevocationsQuery(BaseSchema):
    since = fields.AwareDateTime(load_default=None)


class Revocations(BaseSchema):
    sessions = fields.List(fields.Str())
    until = fields.Str(metadata={"description": "Ask again with since=until."})


# -- accounts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    person_id: str
    role: str
    login: str | None
    party: str | None
    password: str | None
    centers: list[str] | None


class AccountCreate(BaseSchema):
    model = NewAccount
    person_id = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    role = fields.Str(required=True, validate=validate.OneOf(ROLES))
    #: The account name staff type at 账号 (default: the person id).
    login = fields.Str(load_default=None, validate=validate.Regexp(LOGIN_RE, error="账号格式无效"))
    party = fields.Str(load_default=None, allow_none=True, validate=validate.OneOf(PARTIES))
    #: Set at once (``lianxin account add --password-stdin``); without, an invitation.
    password = fields.Str(load_default=None, validate=validate.Length(max=128), load_only=True)
    #: A department's or ops account's centers (ops only).
    centers = fields.List(
        fields.Str(validate=validate.Regexp(f"^{CENTER_OR_ALL_RE}$")),
        load_default=None,
        validate=validate.Length(min=1, max=600),
    )

    @validates_schema
    def _party_of_staff(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("party") and data.get("role") != "staff":
            raise ValidationError({"party": ["只有工作人员属于责任单位"]})


class AccountChanges(TypedDict, total=False):
    role: str
    party: str | None
    login: str


class AccountUpdate(BaseSchema):
    role = fields.Str(validate=validate.OneOf(CENTER_ROLES))
    party = fields.Str(allow_none=True, validate=validate.OneOf(PARTIES))
    login = fields.Str(validate=validate.Regexp(LOGIN_RE, error="账号格式无效"))


class AccountQuery(Page):
    status = fields.Str(load_default=None, validate=validate.OneOf(list(STATUSES)))
    role = fields.Str(load_default=None, validate=validate.OneOf(ROLES))


class AccountRead(BaseSchema):
    id = fields.Str()
    center_id = fields.Str()
    login = fields.Str(allow_none=True)
    person_id = fields.Str()
    role = fields.Str()
    party = fields.Str(allow_none=True)
    duty = fields.Str(allow_none=True)
    duty_name = fields.Str(allow_none=True)
    status = fields.Str()
    status_name = fields.Str()
    centers = fields.List(fields.Str())
    created_at = fields.AwareDateTime()
    last_sign_in_at = fields.AwareDateTime(allow_none=True)
    locked_until = fields.AwareDateTime(allow_none=True)
    #: Only in the answer to an invitation or a reset: the link to set a password
    #: (valid 72 hours, once).
    invitation_url = fields.Str()
    invitation_expires_at = fields.AwareDateTime()


AccountList = page_of(AccountRead, "AccountList")


class InvitationAccept(BaseSchema):
    password = fields.Str(required=True, validate=validate.Length(min=1, max=128))


class AuditQuery(Page):
    action = fields.Str(load_default=None, validate=validate.OneOf(list(AUDIT_ACTIONS)))
    account_id = fields.Str(load_default=None)


class AuditRead(BaseSchema):
    id = fields.Int()
    at = fields.AwareDateTime()
    center_id = fields.Str()
    action = fields.Str()
    action_name = fields.Str()
    actor = fields.Str(allow_none=True, metadata={"description": "Who acted (person id)."})
    account_id = fields.Str(allow_none=True)
    login = fields.Str(allow_none=True)
    client = fields.Str(allow_none=True)
    detail = fields.Dict()


AuditList = page_of(AuditRead, "AuditList")


class Jwks(BaseSchema):
    keys = fields.List(fields.Dict())


class KeyRotation(BaseSchema):
    active = fields.Str()
    published = fields.List(fields.Str())


# -- the operation table ---------------------------------------------------------------------

OPERATIONS = Operations("accounts")

# sign-in (public: the gateway passes the client's address along)
send_code = OPERATIONS.add(
    "send_code",
    roles=None,
    body=CodeRequest,
    response=CodeSent,
    summary="发送登录验证码（短信，5 分钟内有效）",
)
sign_in = OPERATIONS.add(
    "sign_in",
    roles=None,
    body=TokenRequest,
    response=TokenPair,
    summary="登录（账号密码，或手机号验证码）",
)
refresh = OPERATIONS.add(
    "refresh", roles=None, body=RefreshRequest, response=TokenPair, summary="续期登录"
)
sign_out = OPERATIONS.add(
    "sign_out",
    roles=None,
    body=LogoutRequest,
    summary="退出登录（注销本次会话）",
    description="With a bearer token: its session; with a refresh token: that one's.",
)
accept_invitation = OPERATIONS.add(
    "accept_invitation",
    roles=None,
    body=InvitationAccept,
    response=AccountRead,
    summary="接受邀请，设置密码",
)
get_me = OPERATIONS.add(
    "get_me",
    roles=ROLES,
    response=Me,
    summary="当前登录人",
)
get_jwks = OPERATIONS.add(
    "get_jwks", roles=None, response=Jwks, summary="验证身份令牌的公钥（JWKS）"
)
list_revocations = OPERATIONS.add(
    "list_revocations",
    roles=None,
    query=RevocationsQuery,
    response=Revocations,
    summary="已注销的会话（网关定时读取）",
)
rotate_keys = OPERATIONS.add("rotate_keys", roles=OPS, response=KeyRotation, summary="轮换签名密钥")

# a center's accounts (its admin), and departments' and ops' (ops)
create_account = OPERATIONS.add(
    "create_account",
    roles=(*ADMIN, *OPS),
    body=AccountCreate,
    response=AccountRead,
    summary="新建账号（无密码时发出邀请链接）",
)
list_accounts = OPERATIONS.add(
    "list_accounts",
    roles=(*ADMIN, *OPS),
    query=AccountQuery,
    response=AccountList,
    summary="中心账号列表",
)
get_account = OPERATIONS.add(
    "get_account", roles=(*ADMIN, *OPS), response=AccountRead, summary="账号详情"
)
update_account = OPERATIONS.add(
    "update_account",
    roles=ADMIN,
    body=AccountUpdate,
    response=AccountRead,
    summary="修改账号的角色或所属单位",
)
disable_account = OPERATIONS.add(
    "disable_account",
    roles=(*ADMIN, *OPS),
    response=AccountRead,
    summary="停用账号（一分钟内结束其全部会话）",
)
enable_account = OPERATIONS.add(
    "enable_account", roles=(*ADMIN, *OPS), response=AccountRead, summary="重新启用账号"
)
reset_password = OPERATIONS.add(
    "reset_password",
    roles=(*ADMIN, *OPS),
    response=AccountRead,
    summary="重置密码（发出设置新密码的链接，结束其全部会话）",
)
list_audit = OPERATIONS.add(
    "list_audit",
    roles=(*ADMIN, *OPS),
    query=AuditQuery,
    response=AuditList,
    summary="登录与权限审计日志",
)
