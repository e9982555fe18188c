"""AccountsService: entrypoints only — identity of the people of every center.

It alone holds credentials (argon2id password hashes, sign-in codes, refresh tokens) and
the private signing keys; every other service verifies its tokens with the public keys it
publishes (``get_jwks``). Contact data stays in notify's directory: an account names the
person by the directory's person id.
"""

from __future__ import annotations

from typing import Any

from nameko.rpc import RpcProxy

from lianxin.auth import Caller
from lianxin.centers import (
    CenterNotFound,
    CenterScoped,
    KnownCenters,
    refuse_disabled,
    writes,
)
from lianxin.clock import now_utc, rfc3339
from lianxin.contracts.accounts import operations as ops
from lianxin.contracts.schema import dump, load
from lianxin.db import Database
from lianxin.errors import RateLimited, Unauthenticated, Unavailable
from lianxin.health import HealthCheck
from lianxin.metrics import Metrics
from lianxin.roles import ALL_CENTERS, DUTY_NAMES, ROLE_NAMES, Principal
from lianxin.rpc import rpc
from lianxin.timer import timer
from lianxin.tracing import Tracing
from services.accounts import audit, keyring, onboarding, registry, sessions, signin
from services.accounts.exceptions import code_failed, sign_in_failed
from services.accounts.issuer import Issuer, jwks_reader
from services.accounts.metrics import CODES_SENT, SIGN_INS
from services.accounts.models import Account, Base


class AccountsService(CenterScoped, HealthCheck):
    name = "accounts"

    db = Database(Base.metadata)
    caller = Caller(keys_from=jwks_reader)
    #: Whether a center is disabled (asked of tickets, kept ``CENTER_KNOWN_SECONDS``).
    centers = KnownCenters()
    issuer: Any = Issuer()
    notify_rpc: Any = RpcProxy("notify")
    metrics = Metrics()
    tracing = Tracing()

    # -- helpers ---------------------------------------------------------------------------

    def _attempt(self, center_id: str, client: str | None) -> signin.Attempt:
        return signin.Attempt(center_id, client, now_utc())

    def _find_volunteer(self, center_id: str, phone: str) -> str | None:
        try:
            found = self.notify_rpc.person_by_phone(center_id, phone, "volunteer")
        except Exception as exc:
            raise Unavailable(
                "暂时无法核对志愿者登记，请稍后再试", code="DIRECTORY_UNAVAILABLE"
            ) from exc
        return found.get("person_id") if found else None

    def _tokens(self, account: Account, issued: Any, refresh_token: str) -> dict[str, Any]:
        key = self.issuer.signing_key(self.db)
        answer = sessions.tokens(key, account, issued, refresh_token, self.issuer.access_ttl)
        self.db.commit()
        return dump(ops.TokenPair, answer)

    def _signed_in(self, method: str, center_id: str, outcome: Any) -> dict[str, Any]:
        """Answer a sign-in attempt: the failure counted and logged first (committed),
        then the refusal; or the new session's tokens."""
        if outcome is None or isinstance(outcome, RateLimited):
            self.db.commit()
            label = "locked" if outcome is not None else "refused"
            self.metrics.get(SIGN_INS).labels(center_id, method, label).inc()
            if outcome is not None:
                raise outcome
            raise sign_in_failed() if method == "password" else code_failed()
        account = self.db.get(Account, outcome.session.account_id)
        self.metrics.get(SIGN_INS).labels(center_id, method, "ok").inc()
        return self._tokens(account, outcome, outcome.refresh_token)

    def _admin(self, center_id: str, op: Any) -> Principal:
        """The caller, if it may call ``op`` for a center the tickets service knows (503
        when it can't be asked) — a change only for a center not disabled. Ops alone may
        act for a center tickets doesn't know yet: the one being onboarded, whose first
        admin is invited before tickets stores it (``tickets.onboard_center``)."""
        principal: Principal = self.caller.require(center_id, op)
        if center_id == ALL_CENTERS:
            return principal
        if writes(op):  # rare: asked afresh (accounts keeps no center event queue)
            self.centers.registry.forget(center_id)
        record = self.centers.lookup(center_id)
        if record is None and principal.role != "ops":
            raise CenterNotFound()
        refuse_disabled(record, op)
        return principal

    # -- sign-in -----------------------------------------------------------------------------

    @rpc
    def send_code(self, payload: dict[str, Any], client: str | None = None) -> dict[str, Any]:
        """Send a 6-digit code by SMS (through notify) to the phone."""
        data = load(ops.CodeRequest, payload)
        attempt = self._attempt(data["center"], client)
        code = signin.send_code(
            self.db,
            attempt=attempt,
            phone=data["phone"],
            role=data["role"],
            find_volunteer=self._find_volunteer,
        )
        if code is not None:
            self.notify_rpc.send_sign_in_code(
                data["center"], {"phone": data["phone"], "code": code, "minutes": 5}
            )
        self.db.commit()
        outcome = "sent" if code is not None else "no_volunteer"
        self.metrics.get(CODES_SENT).labels(data["center"], outcome).inc()
        detail = "验证码已发送，5分钟内有效"
        if data["role"] == "volunteer":
            detail += "（须是已在中心登记的志愿者手机号）"
        return dump(ops.CodeSent, {"sent": True, "expires_in": 300, "detail": detail})

    @rpc
    def sign_in(self, payload: dict[str, Any], client: str | None = None) -> dict[str, Any]:
        data = load(ops.TokenRequest, payload)
        attempt = self._attempt(data["center"], client)
        if "account" in data:
            outcome = signin.by_password(
                self.db, attempt=attempt, login=data["account"], password=data["password"]
            )
            return self._signed_in("password", data["center"], outcome)
        outcome = signin.by_code(
            self.db,
            attempt=attempt,
            phone=data["phone"],
            code=data["code"],
            role=data["role"],
            find_volunteer=self._find_volunteer,
        )
        return self._signed_in("code", data["center"], outcome)

    @rpc
    def refresh(self, payload: dict[str, Any], client: str | None = None) -> dict[str, Any]:
        data = load(ops.RefreshRequest, payload)
        now = now_utc()
        session, replaced = sessions.find(self.db, data["refresh_token"])
        account = self.db.get(Account, session.account_id) if session else None
        if session is None or account is None:
            raise Unauthenticated("登录已失效，请重新登录", code="REFRESH_INVALID")
        center = account.center_id
        if replaced:
            sessions.revoke(session, now=now, reason="refresh_reused")
            audit.record(
                self.db,
                center_id=center,
                action="refresh_reused",
                now=now,
                account=account,
                client=client,
            )
            self.db.commit()
            raise Unauthenticated("登录已失效，请重新登录", code="REFRESH_REUSED")
        if not sessions.usable(session, now) or account.status != "active":
            raise Unauthenticated("登录已失效，请重新登录", code="REFRESH_INVALID")
        refresh_token = sessions.renew(session, now=now)
        return self._tokens(account, session, refresh_token)

    @rpc
    def sign_out(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """End the session of the bearer token in the context, or of a refresh token."""
        data = load(ops.LogoutRequest, payload or {})
        now = now_utc()
        session = None
        if data.get("refresh_token"):
            session, _replaced = sessions.find(self.db, data["refresh_token"])
        else:
            principal = self.caller.optional()
            if principal is not None and principal.session:
                session = self.db.get(sessions.Session, principal.session)
        if session is not None and session.revoked_at is None:
            sessions.revoke(session, now=now, reason="signed_out")
            account = self.db.get(Account, session.account_id)
            audit.record(
                self.db,
                center_id=account.center_id if account else "",
                action="signed_out",
                now=now,
                account=account,
                actor=account.person_id if account else None,
            )
            self.db.commit()
        return {"signed_out": True}

    @rpc
    def accept_invitation(self, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        data = load(ops.InvitationAccept, payload)
        account = registry.accept(self.db, token=token, password=data["password"], now=now_utc())
        self.db.commit()
        return dump(ops.AccountRead, registry.view(account))

    @rpc
    def get_me(self) -> dict[str, Any]:
        principal = self.caller.require_across(ops.get_me)
        account = None
        if principal.session:
            session = self.db.get(sessions.Session, principal.session)
            account = self.db.get(Account, session.account_id) if session else None
        return dump(
            ops.Me,
            {
                "person_id": principal.id,
                "role": principal.role,
                "role_name": ROLE_NAMES[principal.role],
                "party": principal.party,
                "duty": principal.duty,
                "duty_name": DUTY_NAMES.get(principal.duty or ""),
                "centers": list(principal.centers),
                "account": account.login if account else None,
            },
        )

    # -- keys and revocations ---------------------------------------------------------------------

    @rpc
    def get_jwks(self) -> dict[str, Any]:
        self.issuer.signing_key(self.db)  # the first key is made on first use
        answer = keyring.jwks(self.db, now=now_utc())
        self.db.commit()
        return answer

    @rpc
    def list_revocations(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        data = load(ops.RevocationsQuery, query or {})
        now = now_utc()
        revoked = sessions.revoked_since(
            self.db, since=data["since"], now=now, ttl=self.issuer.access_ttl
        )
        return {"sessions": revoked, "until": rfc3339(now)}

    @rpc
    def rotate_keys(self) -> dict[str, Any]:
        principal = self.caller.require_across(ops.rotate_keys)
        now = now_utc()
        key = keyring.rotate(self.db, now=now, overlap=self.issuer.overlap)
        audit.record(
            self.db, center_id="*", action="keys_rotated", now=now, actor=principal.id, kid=key.kid
        )
        published = [k.kid for k in keyring.published(self.db, now=now)]
        self.db.commit()
        return {"active": key.kid, "published": published}

    @timer("KEY_CHECK_SECONDS", default=3600)
    def rotate_when_due(self) -> None:
        """Hourly: a key older than ``KEY_ROTATE_DAYS`` hands over to a new one."""
        self.issuer.signing_key(self.db)
        self.db.commit()

    # -- accounts ------------------------------------------------------------------------------

    @rpc
    def create_account(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        principal = self._admin(center_id, ops.create_account)
        made = registry.create(
            self.db,
            center_id=center_id,
            data=load(ops.AccountCreate, payload),
            actor=principal,
            public_url=self.issuer.public_url,
            now=now_utc(),
        )
        self.db.commit()
        return dump(ops.AccountRead, registry.view(made.account, made.invitation_url))

    @rpc
    def withdraw_center_accounts(self, center_id: str) -> dict[str, int]:
        """Undo the first admin's invitation of an onboarding that failed later on (part of
        the tickets operation ``onboard_center``; only for a center tickets doesn't know)."""
        self.undoing(center_id)
        gone = onboarding.withdraw_center(db_session=self.db, center_id=center_id)
        self.db.commit()
        return {"accounts": gone}

    @rpc
    def list_accounts(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self._admin(center_id, ops.list_accounts)
        data = load(ops.AccountQuery, query or {})
        rows, total = registry.listing(self.db, center_id=center_id, **data)
        return dump(
            ops.AccountList,
            {
                "items": [registry.view(row) for row in rows],
                "total": total,
                "limit": data["limit"],
                "offset": data["offset"],
            },
        )

    @rpc
    def get_account(self, center_id: str, account_id: str) -> dict[str, Any]:
        principal = self._admin(center_id, ops.get_account)
        account = registry.get(self.db, center_id=center_id, account_id=account_id, actor=principal)
        return dump(ops.AccountRead, registry.view(account))

    @rpc
    def update_account(
        self, center_id: str, account_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        principal = self._admin(center_id, ops.update_account)
        changes = load(ops.AccountUpdate, payload)
        account = registry.get(self.db, center_id=center_id, account_id=account_id, actor=principal)
        registry.change(
            self.db,
            center_id=center_id,
            account=account,
            changes=changes,
            actor=principal,
            now=now_utc(),
        )
        self.db.commit()
        return dump(ops.AccountRead, registry.view(account))

    @rpc
    def disable_account(self, center_id: str, account_id: str) -> dict[str, Any]:
        return self._set_status(center_id, account_id, ops.disable_account, registry.disable)

    @rpc
    def enable_account(self, center_id: str, account_id: str) -> dict[str, Any]:
        return self._set_status(center_id, account_id, ops.enable_account, registry.enable)

    def _set_status(self, center_id: str, account_id: str, op: Any, change: Any) -> dict[str, Any]:
        """Disable or re-enable one of the center's accounts (``change``: the registry's)."""
        principal = self._admin(center_id, op)
        account = registry.get(self.db, center_id=center_id, account_id=account_id, actor=principal)
        change(self.db, center_id=center_id, account=account, actor=principal, now=now_utc())
        self.db.commit()
        return dump(ops.AccountRead, registry.view(account))

    @rpc
    def reset_password(self, center_id: str, account_id: str) -> dict[str, Any]:
        principal = self._admin(center_id, ops.reset_password)
        account = registry.get(self.db, center_id=center_id, account_id=account_id, actor=principal)
        made = registry.reset(
            self.db,
            center_id=center_id,
            account=account,
            actor=principal,
            public_url=self.issuer.public_url,
            now=now_utc(),
        )
        self.db.commit()
        return dump(ops.AccountRead, registry.view(made.account, made.invitation_url))

    @rpc
    def list_audit(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self._admin(center_id, ops.list_audit)
        data = load(ops.AuditQuery, query or {})
        items, total = audit.entries(self.db, center_id=center_id, **data)
        return dump(
            ops.AuditList,
            {"items": items, "total": total, "limit": data["limit"], "offset": data["offset"]},
        )
