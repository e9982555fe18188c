"""Routes of the volunteer register (volunteers service)."""

from __future__ import annotations

from typing import Any

from gateway.api import call, route
from gateway.routes import ADMIN, MEMBERS, STAFF  # noqa: F401
from lianxin.contracts import volunteers as vo


class VolunteerRoutes:
    # -- volunteers ------------------------------------------------------------------------

    @route("POST", "/api/v1/volunteers", summary="登记志愿者", tag="volunteers", roles=STAFF,
           body=vo.VolunteerCreate, response=vo.VolunteerRead, status=201)
    def register_volunteer(self, req) -> Any:  # noqa: ANN001
        return call(self.volunteers_rpc.register_volunteer, req.center, req.body)

    @route("GET", "/api/v1/volunteers", summary="志愿者名册", tag="volunteers", roles=STAFF,
           query=vo.VolunteerQuery, response=vo.VolunteerList)
    def list_volunteers(self, req) -> Any:  # noqa: ANN001
        return call(self.volunteers_rpc.list_volunteers, req.center, req.query)
