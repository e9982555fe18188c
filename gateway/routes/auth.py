"""Routes of sign-in and accounts (accounts service): tokens for API clients, cookies for
the pages, a center's staff accounts for its admin, the audit log, the public keys.

The sign-in routes are public and pass the client's address on (the accounts service
counts failures and code sends per client); the rest only forward.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.api import ApiRequest, Route, call, expose, route
from gateway.base import GatewayBase
from gateway.dependencies import ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE
from gateway.http import json_response
from lianxin.contracts.accounts import operations as ops
from lianxin.errors import Unauthenticated

#: Where the refresh cookie is sent: the auth routes and the sign-in page, nowhere else.
REFRESH_PATHS = ("/api/v1/auth", "/login")
#: The refresh cookie outlives the access one: as long as a resident's session may last.
REFRESH_MAX_AGE = 30 * 24 * 3600


def is_https(request: Request) -> bool:
    return request.scheme == "https" or request.headers.get("X-Forwarded-Proto") == "https"


def set_session_cookies(response: Response, request: Request, pair: dict[str, Any]) -> Response:
    """A browser session: the access token and refresh token HttpOnly, the CSRF secret
    readable by the pages; SameSite, and Secure when the request came over HTTPS."""
    secure = is_https(request)
    response.set_cookie(
        ACCESS_COOKIE,
        pair["access_token"],
        max_age=int(pair["expires_in"]),
        httponly=True,
        secure=secure,
        samesite="Lax",
        path="/",
    )
    for path in REFRESH_PATHS:
        response.set_cookie(
            REFRESH_COOKIE,
            pair["refresh_token"],
            max_age=REFRESH_MAX_AGE,
            httponly=True,
            secure=secure,
            samesite="Strict",
            path=path,
        )
    response.set_cookie(CSRF_COOKIE, pair["csrf_token"], secure=secure, samesite="Strict", path="/")
    return response


def clear_session_cookies(response: Response) -> Response:
    response.delete_cookie(ACCESS_COOKIE, path="/")
    for path in REFRESH_PATHS:
        response.delete_cookie(REFRESH_COOKIE, path=path)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


class AuthRoutes(GatewayBase):
    """Sign-in, refresh and sign-out, for API clients (JSON) and browsers (cookies)."""

    def client(self, request: Request) -> str:
        return self.throttle.client(request)

    def sign_in(self, request: Request, payload: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = call(
            self.accounts_rpc.sign_in, payload, self.client(request), timeout=15
        )
        return answer

    def send_code(self, request: Request, payload: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = call(
            self.accounts_rpc.send_code, payload, self.client(request), timeout=15
        )
        return answer

    def sign_out(self, request: Request, refresh_token: str | None) -> None:
        """End the request's session: its bearer token's or cookie's, else (an expired
        access token) the refresh token's — given, or the browser's cookie."""
        refresh_token = refresh_token or request.cookies.get(REFRESH_COOKIE)
        payload: dict[str, Any] = {}
        try:
            principal, _claims, _by_cookie = self.auth.verify(request)
            self.auth.forget(principal.session)
        except Unauthenticated:
            self.context.pop("authorization", None)
            if not refresh_token:
                raise
            payload = {"refresh_token": refresh_token}
        call(self.accounts_rpc.sign_out, payload)

    @route("POST", "/api/v1/auth/codes", op=ops.send_code, tag="auth", status=202)
    def post_code(self, req: ApiRequest) -> Any:
        """A 6-digit code by SMS to the phone (5 minutes; at most 5 an hour per phone and
        per client). The answer is the same whether or not the phone has an account."""
        self.throttle.check(req.request)
        return self.send_code(req.request, req.body)

    @route("POST", "/api/v1/auth/token", op=ops.sign_in, tag="auth")
    def post_token(self, req: ApiRequest) -> Any:
        """``{"center", "account", "password"}`` or ``{"center", "phone", "code"}`` →
        ``{"access_token", "refresh_token", "expires_in", "token_type": "Bearer"}``. A wrong
        password or code gets the same 401 whether or not the account exists; repeated
        failures lock the account name (or phone) and the client for a while (429)."""
        return self.sign_in(req.request, req.body)

    @route(
        "POST",
        "/api/v1/auth/refresh",
        tag="auth",
        summary="续期登录（换发令牌；浏览器会话用 Cookie）",
        body=ops.LogoutRequest,
        response=ops.TokenPair,
    )
    def post_refresh(self, req: ApiRequest) -> Any:
        """A new access token and a new refresh token for the old refresh token (in the
        body, or a browser's cookie). A refresh token works once: used again, it ends the
        session."""
        given = (req.body or {}).get("refresh_token")
        from_cookie = given is None
        token = given or req.request.cookies.get(REFRESH_COOKIE)
        if not token:
            raise Unauthenticated("登录已失效，请重新登录", code="REFRESH_MISSING")
        pair = call(self.accounts_rpc.refresh, {"refresh_token": token}, self.client(req.request))
        response = json_response(pair)
        return set_session_cookies(response, req.request, pair) if from_cookie else response

    @route(
        "POST",
        "/api/v1/auth/logout",
        tag="auth",
        summary="退出登录（注销本次会话）",
        body=ops.LogoutRequest,
    )
    def post_logout(self, req: ApiRequest) -> Any:
        """Ends the session of the bearer token (or cookie, or the refresh token given):
        its tokens are refused from now on."""
        self.sign_out(req.request, (req.body or {}).get("refresh_token"))
        return clear_session_cookies(json_response({"signed_out": True}))


#: The routes that only forward to an operation.
ROUTES: list[Route] = [
    expose("GET", "/api/v1/auth/me", ops.get_me, tag="auth", across_centers=True),
    expose("GET", "/api/v1/auth/jwks", ops.get_jwks, tag="auth"),
    expose("POST", "/api/v1/auth/invitations/<token>", ops.accept_invitation, tag="auth"),
    expose("POST", "/api/v1/auth/keys/rotate", ops.rotate_keys, tag="auth", across_centers=True),
    expose("GET", "/api/v1/accounts", ops.list_accounts, tag="accounts"),
    expose("POST", "/api/v1/accounts", ops.create_account, tag="accounts", status=201),
    expose("GET", "/api/v1/accounts/<account_id>", ops.get_account, tag="accounts"),
    expose("PATCH", "/api/v1/accounts/<account_id>", ops.update_account, tag="accounts"),
    expose("POST", "/api/v1/accounts/<account_id>/disable", ops.disable_account, tag="accounts"),
    expose("POST", "/api/v1/accounts/<account_id>/enable", ops.enable_account, tag="accounts"),
    expose(
        "POST",
        "/api/v1/accounts/<account_id>/reset-password",
        ops.reset_password,
        tag="accounts",
    ),
    expose("GET", "/api/v1/audit", ops.list_audit, tag="accounts"),
]
