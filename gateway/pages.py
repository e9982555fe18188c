"""The sign-in pages: ``/login`` (staff: 账号 and 密码; residents and volunteers: 手机号 and
验证码), sign-out, and setting a password from an invitation link.

They work without JavaScript (an old phone, WeChat's browser): plain forms, the code sent
by a second submit button, every error in Chinese on the page. Each form carries a CSRF
secret: before sign-in a random one also kept in a cookie (double submit); after, the
session's own, which the gateway checks on every cookie-carried write.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any
from urllib.parse import quote

from nameko.exceptions import RemoteError
from werkzeug.wrappers import Request, Response

from gateway.api import call
from gateway.dependencies import CSRF_FIELD
from gateway.routes.auth import AuthRoutes, clear_session_cookies, is_https, set_session_cookies
from gateway.web import page
from lianxin.contracts.schema import CENTER_ID_RE
from lianxin.errors import LianxinError, from_remote
from lianxin.privacy import mask
from lianxin.web import http

#: The pre-sign-in CSRF cookie (double submit).
LOGIN_CSRF_COOKIE = "lx_login"
STATUS = {"unauthenticated": 401, "rate_limited": 429, "invalid": 422, "forbidden": 403}


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: a path on this site only (never ``//elsewhere``)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return ""


def _error_of(exc: Exception) -> LianxinError:
    if isinstance(exc, RemoteError):
        mapped = from_remote(exc)
        if mapped is not None:
            return mapped
    if isinstance(exc, LianxinError):
        return exc
    raise exc


def _first_field_message(error: LianxinError) -> str:
    for messages in (error.fields or {}).values():
        if isinstance(messages, list) and messages:
            return f"{error.detail}：{messages[0]}"
    return error.detail


class PageRoutes(AuthRoutes):
    """``/login``, ``/logout`` and ``/login/invitation/<token>``."""

    def _center(self, request: Request) -> str:
        """The center signed in to: the form's or link's, else the deployment's default
        (``DEFAULT_CENTER``: the demo center on a developer machine)."""
        given = request.values.get("center", "")
        if re.fullmatch(CENTER_ID_RE, given):
            return given
        return str(self.settings.get("DEFAULT_CENTER") or "yanminghu")

    def _center_name(self, center_id: str) -> str:
        try:
            return str(call(self.tickets_rpc.get_center, center_id, timeout=3)["name"])
        except Exception:
            return "党群服务中心"

    def _page(
        self,
        request: Request,
        template: str,
        status: int = 200,
        **values: Any,
    ) -> Response:
        login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
        center = values.pop("center", None) or self._center(request)
        response = page(
            request,
            f"signin/{template}",
            status,
            title=values.pop("title", "登录"),
            center=center,
            center_name=self._center_name(center),
            login_csrf=login_csrf,
            **values,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            login_csrf,
            httponly=True,
            secure=is_https(request),
            samesite="Strict",
            path="/login",
        )
        return response

    def _login_csrf_ok(self, request: Request) -> bool:
        sent = request.form.get(CSRF_FIELD, "")
        kept = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        return bool(kept) and hmac.compare_digest(sent.encode(), kept.encode())

    def _me(self, request: Request) -> tuple[dict[str, Any] | None, str]:
        """Who the session cookie belongs to (None: nobody signed in), and its CSRF secret."""
        try:
            _principal, claims, _by_cookie = self.auth.verify(request)
            me: dict[str, Any] = call(self.accounts_rpc.get_me, timeout=5)
            return me, str(claims.get("csrf") or "")
        except Exception:
            return None, ""

    @http("GET", "/login")
    def login_page(self, request: Request) -> Response:
        me, csrf = self._me(request)
        mode = "phone" if request.args.get("as") == "phone" else "staff"
        return self._page(
            request,
            "login.html",
            me=me,
            session_csrf=csrf,
            mode=mode,
            next=safe_next(request.args.get("next")),
            role=request.args.get("role", "resident"),
            account="",
            phone="",
        )

    @http("POST", "/login")
    def login_submit(self, request: Request) -> Response:
        form = request.form
        kind = form.get("kind", "password")
        mode = "staff" if kind == "password" else "phone"
        shown: dict[str, Any] = {
            "mode": mode,
            "next": safe_next(form.get("next")),
            "account": form.get("account", ""),
            "phone": form.get("phone", "").strip(),
            "role": form.get("role", "resident"),
        }
        if not self._login_csrf_ok(request):
            return self._page(request, "login.html", 403, error="页面已过期，请重新提交", **shown)
        center = self._center(request)
        try:
            if kind == "send_code":
                self.send_code(
                    request, {"center": center, "phone": shown["phone"], "role": shown["role"]}
                )
                notice = f"验证码已发送至 {mask(shown['phone'])}，5分钟内有效"
                return self._page(request, "login.html", notice=notice, **shown)
            if kind == "code":
                payload = {
                    "center": center,
                    "phone": shown["phone"],
                    "code": form.get("code", "").strip(),
                    "role": shown["role"],
                }
            else:
                payload = {
                    "center": center,
                    "account": shown["account"].strip(),
                    "password": form.get("password", ""),
                }
            pair = self.sign_in(request, payload)
        except Exception as exc:
            error = _error_of(exc)
            status = STATUS.get(error.kind, 400)
            return self._page(
                request, "login.html", status, error=_first_field_message(error), **shown
            )
        # Nowhere named: "/" leads staff to the console, residents to their center's pages.
        target = shown["next"] or "/"
        response = Response(status=303, headers={"Location": target})
        return set_session_cookies(response, request, pair)

    @http("POST", "/logout")
    def logout_submit(self, request: Request) -> Response:
        center = self._center(request)
        try:
            self.sign_out(request, None)
        except Exception as exc:
            error = _error_of(exc)
            if error.code == "CSRF_FAILED":
                return self._page(
                    request, "login.html", 403, error=error.detail, mode="staff", next=""
                )
        response = Response(status=303, headers={"Location": f"/login?center={quote(center)}"})
        return clear_session_cookies(response)

    @http("GET", "/login/invitation/<token>")
    def invitation_page(self, request: Request, token: str) -> Response:
        return self._page(request, "invitation.html", title="设置登录密码")

    @http("POST", "/login/invitation/<token>")
    def invitation_submit(self, request: Request, token: str) -> Response:
        if not self._login_csrf_ok(request):
            return self._page(
                request,
                "invitation.html",
                403,
                title="设置登录密码",
                error="页面已过期，请重新提交",
            )
        password, again = request.form.get("password", ""), request.form.get("again", "")
        if password != again:
            return self._page(
                request, "invitation.html", 422, title="设置登录密码", error="两次输入的密码不一致"
            )
        try:
            done = call(self.accounts_rpc.accept_invitation, token, {"password": password})
        except Exception as exc:
            error = _error_of(exc)
            return self._page(
                request,
                "invitation.html",
                STATUS.get(error.kind, 400) if error.kind != "not_found" else 404,
                title="设置登录密码",
                error=_first_field_message(error),
            )
        return self._page(
            request,
            "invitation.html",
            title="密码已设置",
            done=done,
            center=done["center_id"] if done["center_id"] != "*" else None,
        )
