"""What every phone page shares: the center it belongs to (a disabled one answers its
Chinese notice, an unknown one a Chinese 404), who is looking (a resident or volunteer of
this center, or nobody), the age-friendly mode, the notices after an action, QR codes —
and :meth:`PhoneBase.phone_page`, which renders a page in the phone layout.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import quote

import segno
from markupsafe import Markup
from werkzeug.wrappers import Request, Response

from gateway.api import call
from gateway.web import page
from gateway.web.views import Refused, Viewer, Views, see_other
from lianxin.centers import is_disabled
from lianxin.contracts.notify import operations as notify_ops
from lianxin.contracts.schema import CENTER_ID_RE
from lianxin.errors import LianxinError, NotFound, from_remote
from lianxin.web import http

log = logging.getLogger(__name__)

#: The cookie that keeps the age-friendly mode (适老化) on: the server renders the large
#: text at once, so a page never flashes small first.
ELDER_COOKIE = "lx_elder"
#: Whom a resident may call when the center keeps no hotline of its own.
HOTLINE = "12345 政务服务便民热线"
#: Center records for the phone pages, asked for at most every few seconds per center (a
#: disabled center's notice shows within that time).
CENTER_SECONDS = 10.0
_CENTERS: dict[str, tuple[float, dict[str, Any]]] = {}

#: What a page says after an action (``?done=``: see :func:`see_other`).
NOTICES = {
    "rated": "感谢您的评价！",
    "reopened": "已申请重新办理，工作人员会再次处理。",
    "registered": "报名成功。",
    "waitlisted": "名额已满，您已进入候补名单，有人取消时将按顺序递补并通知您。",
    "pending": "报名已提交，等待工作人员审核。",
    "cancelled": "已取消报名。",
    "read": "消息已全部标为已读。",
    "signed_up": "报名成功，请按时到岗。",
    "signed_up_waitlist": "名额已满，您已进入候补名单。",
    "signup_cancelled": "已取消该班次的报名。",
    "checked_in": "签到成功，感谢您的服务！",
    "checked_out": "签退成功，服务时长待社工审核。",
    "correction": "补录申请已提交，等待社工审核。",
}


def qr_svg(text: str, label: str) -> Markup:
    """``text`` as a QR code, an inline SVG (drawn here, no script, no request)."""
    svg = segno.make(text, error="m").svg_inline(
        scale=6, border=4, dark="#000", light="#fff", omitsize=True
    )
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))


class PhoneBase(Views):
    """The helpers of the phone pages (``/m/<center>/...``)."""

    # -- the center ------------------------------------------------------------------------

    def phone_center(self, request: Request, center_id: str) -> dict[str, Any]:
        """The center of the page, or :class:`Refused` with the Chinese page that says why
        there is none: unknown (404), disabled (503, whom to turn to), unreachable (503)."""
        kept = _CENTERS.get(center_id)
        if kept and time.monotonic() - kept[0] < CENTER_SECONDS:
            record = kept[1]
        else:
            record = self._fetch_center(request, center_id)
            _CENTERS[center_id] = (time.monotonic(), record)
        if is_disabled(record):
            lines = [
                "该服务中心已暂停线上服务。",
                f"如需反映问题或咨询，请拨打 {record.get('hotline') or HOTLINE}"
                + (
                    f"，或到中心现场办理（地址：{record['address']}）。"
                    if record.get("address")
                    else "。"
                ),
            ]
            raise Refused(self.status_page(request, 503, "该服务中心已暂停线上服务", lines, record))
        return record

    def _fetch_center(self, request: Request, center_id: str) -> dict[str, Any]:
        unknown = Refused(
            self.status_page(
                request, 404, "没有这个服务中心", ["您访问的服务中心不存在，请核对链接或二维码。"]
            )
        )
        if not re.match(CENTER_ID_RE, center_id):
            raise unknown
        try:
            return dict(call(self.tickets_rpc.get_center, center_id, timeout=5))
        except Exception as exc:
            mapped = from_remote(exc) if not isinstance(exc, LianxinError) else exc
            if isinstance(mapped, NotFound):
                raise unknown from None
            log.warning("center %s: tickets can't say (%s)", center_id, exc)
            raise Refused(
                self.status_page(
                    request, 503, "服务暂时无法访问", ["服务中心信息暂时无法查询，请稍后再试。"]
                )
            ) from None

    def status_page(
        self,
        request: Request,
        status: int,
        title: str,
        lines: list[str],
        center: dict[str, Any] | None = None,
    ) -> Response:
        """A page that only says something (a disabled or unknown center, a page not here)."""
        headers = {"Retry-After": "3600"} if status == 503 else {}
        return page(
            request,
            "m/status.html",
            status,
            headers,
            title=title,
            lines=lines,
            center=center or {},
            center_id=(center or {}).get("id", ""),
            elder=request.cookies.get(ELDER_COOKIE) == "1",
            viewer=None,
            here=request.path,
        )

    # -- who is looking --------------------------------------------------------------------

    def phone_viewer(self, request: Request, center_id: str, role: str = "") -> Viewer | None:
        """The resident or volunteer signed in to this center (of ``role`` if given), else
        None (staff and people of another center are treated as not signed in here)."""
        try:
            principal, claims, _by_cookie = self.auth.verify(request)
        except LianxinError as exc:
            if exc.code == "CSRF_FAILED":  # a form of an earlier session: never act as anyone
                raise Refused(
                    self.status_page(
                        request,
                        403,
                        "页面已过期",
                        ["请返回上一页，刷新后再提交。"],
                        _CENTERS.get(center_id, (0, None))[1],
                    )
                ) from None
            return None  # nobody signed in, or a session ended: the page as for anyone
        viewer = Viewer(principal, str(claims.get("csrf") or ""), principal.center or "")
        if viewer.principal.center != center_id:
            return None
        if role and viewer.principal.role != role:
            return None
        if not role and viewer.principal.role not in ("resident", "volunteer"):
            return None
        return viewer

    def require_viewer(self, request: Request, center_id: str, role: str) -> Viewer:
        """The signed-in ``role`` of this center, or :class:`Refused` with a redirect to the
        phone sign-in (back here afterwards)."""
        viewer = self.phone_viewer(request, center_id, role)
        if viewer is None:
            raise Refused(self.phone_sign_in(request, center_id, role))
        return viewer

    def phone_sign_in(self, request: Request, center_id: str, role: str = "resident") -> Response:
        target = request.full_path.rstrip("?") if request.method == "GET" else request.path
        return Response(
            status=303,
            headers={
                "Location": f"/login?as=phone&role={role}&center={quote(center_id)}"
                f"&next={quote(target)}"
            },
        )

    # -- the page --------------------------------------------------------------------------

    def phone_page(
        self,
        request: Request,
        template: str,
        center: dict[str, Any],
        viewer: Viewer | None,
        status: int = 200,
        **values: Any,
    ) -> Response:
        """``m/<template>`` in the phone layout: the center's name, the age-friendly switch,
        the viewer's unread messages, the notice of the action just done."""
        unread = 0
        if viewer is not None:
            try:
                unread = int(self.run(request, notify_ops.unread_count).get("unread", 0))
            except LianxinError:
                unread = 0
        return page(
            request,
            f"m/{template}",
            status,
            center=center,
            center_id=center["id"],
            viewer=viewer,
            unread=unread,
            elder=request.cookies.get(ELDER_COOKIE) == "1",
            notice=NOTICES.get(request.args.get("done", "")),
            here=request.full_path.rstrip("?"),
            **values,
        )

    # -- the age-friendly mode -------------------------------------------------------------

    @http("POST", "/m/<center_id>/elder")
    def toggle_elder(self, request: Request, center_id: str) -> Response:
        """适老化: one tap from every page, kept a year in a cookie (no account needed)."""
        on = request.form.get("on") == "1"
        back = request.form.get("next", "")
        if not back.startswith(f"/m/{center_id}") or "//" in back:
            back = f"/m/{center_id}/"
        response = see_other(back)
        response.set_cookie(
            ELDER_COOKIE,
            "1" if on else "0",
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            path="/",
        )
        return response
