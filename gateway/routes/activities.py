"""Routes of programmes, activities and rooms (events service)."""

from __future__ import annotations

from typing import Any

from gateway.api import call, route
from gateway.routes import ADMIN, MEMBERS, STAFF  # noqa: F401
from lianxin.contracts import events as ev


class ActivityRoutes:
    # -- activities and rooms --------------------------------------------------------------

    @route("POST", "/api/v1/activities", summary="发布活动", tag="activities", roles=STAFF,
           body=ev.ActivityCreate, response=ev.ActivityRead, status=201)
    def create_activity(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.create_activity, req.center, req.body)

    @route("GET", "/api/v1/activities", summary="活动列表", tag="activities", roles=MEMBERS,
           query=ev.ActivityQuery, response=ev.ActivityList)
    def list_activities(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.list_activities, req.center, req.query)

    @route("GET", "/api/v1/programmes", summary="服务项目", tag="activities", roles=MEMBERS,
           response=ev.ProgrammeRead, many=True)
    def list_programmes(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.list_programmes, req.center)

    @route("POST", "/api/v1/programmes", summary="新增服务项目", tag="activities", roles=ADMIN,
           body=ev.ProgrammeCreate, response=ev.ProgrammeRead, status=201)
    def add_programme(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.add_programme, req.center, req.body)

    @route("GET", "/api/v1/rooms", summary="功能室", tag="activities", roles=MEMBERS,
           response=ev.RoomRead, many=True)
    def list_rooms(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.list_rooms, req.center)

    @route("POST", "/api/v1/rooms", summary="新增功能室", tag="activities", roles=ADMIN,
           body=ev.RoomCreate, response=ev.RoomRead, status=201)
    def add_room(self, req) -> Any:  # noqa: ANN001
        return call(self.events_rpc.add_room, req.center, req.body)
