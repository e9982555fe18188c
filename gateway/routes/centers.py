"""Routes of the centers themselves (tickets service, ops): onboarding a center from a
template, the list, one center, its name and address, disabling and enabling it — and the
residents' and volunteers' pages of a center (``/m/<center>/...``, :mod:`gateway.web.m`): a
disabled center's pages show a short Chinese notice saying whom to turn to, an unknown
one's a Chinese 404.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from gateway.api import expose
from gateway.web.m import PhonePages
from gateway.web.views import guarded
from lianxin.contracts.tickets import operations as ops
from lianxin.web import http

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


class CenterPages(PhonePages):
    """The residents' and volunteers' pages of a center (``gateway.web.m``), and any other
    path under ``/m/<center>/``: a Chinese 404 — or, for a disabled or unknown center, what
    each of its pages says (see :meth:`PhoneBase.phone_center`)."""

    @http("GET", "/m/<center_id>/<path:rest>")
    @guarded
    def center_page(self, request: Request, center_id: str, rest: str = "") -> Response:
        center = self.phone_center(request, center_id)
        return self.status_page(
            request,
            404,
            "没有这个页面",
            ["您访问的页面不存在，请回到中心首页查看。"],
            center,
        )
