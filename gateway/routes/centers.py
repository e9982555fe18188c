"""Routes of the centers themselves (tickets service, ops): onboarding a center from a
template, the list, one center, its name and address, disabling and enabling it — and the
residents' pages of a center that isn't serving: ``/m/<center>/...`` of a disabled center is
a short Chinese page saying so, of an unknown one a Chinese 404 (the pages of a center in
service come with issue 13; until then its paths are answered as no route).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from nameko.exceptions import RemoteError
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from gateway.api import call, expose
from gateway.base import GatewayBase
from gateway.pages import TEMPLATES
from lianxin.centers import is_disabled
from lianxin.contracts.schema import CENTER_ID_RE
from lianxin.contracts.tickets import operations as ops
from lianxin.errors import NotFound, from_remote

log = logging.getLogger(__name__)

#: Whom a resident of a paused center may turn to (no center phone is kept yet).
HOTLINE = "12345 政务服务便民热线"

ROUTES = [
    expose(
        "POST",
        "/api/v1/centers",
        ops.onboard_center,
        tag="centers",
        status=201,
        across_centers=True,
    ),
    expose("GET", "/api/v1/centers", ops.list_centers, tag="centers", across_centers=True),
    expose(
        "GET", "/api/v1/centers/<center_id>", ops.read_center, tag="centers", across_centers=True
    ),
    expose(
        "PATCH", "/api/v1/centers/<center_id>", ops.edit_center, tag="centers", across_centers=True
    ),
    # disable, then enable: a route table tried in order (the permission matrix) leaves the
    # center as it found it.
    expose(
        "POST",
        "/api/v1/centers/<center_id>/disable",
        ops.disable_center,
        tag="centers",
        across_centers=True,
    ),
    expose(
        "POST",
        "/api/v1/centers/<center_id>/enable",
        ops.enable_center,
        tag="centers",
        across_centers=True,
    ),
]


class CenterPages(GatewayBase):
    """``/m/<center>/...`` of a center that is disabled or unknown (see the module doc)."""

    @http("GET", "/m/<center_id>")
    def center_root(self, request: Request, center_id: str) -> Response:
        return self.center_page(request, center_id, "")

    @http("GET", "/m/<center_id>/<path:rest>")
    def center_page(self, request: Request, center_id: str, rest: str = "") -> Response:
        record = None
        if re.match(CENTER_ID_RE, center_id):
            try:
                record = call(self.tickets_rpc.get_center, center_id, timeout=5)
            except RemoteError as exc:
                if not isinstance(from_remote(exc), NotFound):
                    log.warning("center %s: tickets can't say (%s)", center_id, exc)
                    return _page(
                        503,
                        "服务暂时无法访问",
                        ["服务中心信息暂时无法查询，请稍后再试。"],
                    )
            except Exception as exc:
                log.warning("center %s: tickets can't say (%s)", center_id, exc)
                return _page(503, "服务暂时无法访问", ["服务中心信息暂时无法查询，请稍后再试。"])
        if record is None:
            return _page(
                404,
                "没有这个服务中心",
                ["您访问的服务中心不存在，请核对链接或二维码。"],
            )
        if is_disabled(record):
            lines = [
                "该服务中心已暂停线上服务。",
                f"如需反映问题或咨询，请拨打 {HOTLINE}"
                + (
                    f"，或到中心现场办理（地址：{record['address']}）。"
                    if record.get("address")
                    else "。"
                ),
            ]
            return _page(503, "该服务中心已暂停线上服务", lines, record.get("name"))
        return _page(
            404, "页面尚未开通", ["该服务中心的居民页面即将开通，敬请期待。"], record.get("name")
        )


def _page(status: int, title: str, lines: list[str], center_name: Any = None) -> Response:
    html = TEMPLATES.get_template("center_status.html").render(
        title=title, lines=lines, center_name=center_name
    )
    headers = {"Cache-Control": "no-store"}
    if status == 503:
        headers["Retry-After"] = "3600"
    return Response(html, status=status, mimetype="text/html", headers=headers)
