"""EventsService: entrypoints only (programmes, activities, rooms)."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from lianxin.auth import Caller
from lianxin.contracts.events import (
    ActivityCreate,
    ActivityList,
    ActivityQuery,
    ActivityRead,
    ProgrammeCreate,
    ProgrammeRead,
    RoomCreate,
    RoomRead,
)
from lianxin.contracts.schema import load
from lianxin.db import Database
from lianxin.errors import EXPECTED
from lianxin.health import HealthCheck
from lianxin.metrics import Metrics
from lianxin.outbox import Outbox
from services.events import domain
from services.events.models import Base, outbox_table

ADMIN = ("admin", "ops")
STAFF = ("staff", "admin")
EVERYONE = ("resident", "volunteer", "staff", "admin")


class EventsService(HealthCheck):
    name = "events"

    db = Database(Base.metadata)
    outbox = Outbox(outbox_table)
    caller = Caller()
    metrics = Metrics()

    @rpc(expected_exceptions=EXPECTED)
    def add_room(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=ADMIN)
        room = domain.add_room(db_session=self.db, center_id=center_id,
                               data=load(RoomCreate(), payload))
        self.db.commit()
        return RoomRead().dump(room)

    @rpc(expected_exceptions=EXPECTED)
    def list_rooms(self, center_id: str) -> list[dict[str, Any]]:
        self.caller.require(center_id, roles=EVERYONE)
        return RoomRead(many=True).dump(domain.list_rooms(db_session=self.db, center_id=center_id))

    @rpc(expected_exceptions=EXPECTED)
    def add_programme(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=ADMIN)
        programme = domain.add_programme(db_session=self.db, center_id=center_id,
                                         data=load(ProgrammeCreate(), payload))
        self.db.commit()
        return ProgrammeRead().dump(programme)

    @rpc(expected_exceptions=EXPECTED)
    def list_programmes(self, center_id: str) -> list[dict[str, Any]]:
        self.caller.require(center_id, roles=EVERYONE)
        return ProgrammeRead(many=True).dump(
            domain.list_programmes(db_session=self.db, center_id=center_id))

    @rpc(expected_exceptions=EXPECTED)
    def create_activity(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=STAFF)
        activity = domain.create_activity(db_session=self.db, outbox=self.outbox,
                                          center_id=center_id, data=load(ActivityCreate(), payload))
        self.db.commit()
        return ActivityRead().dump(activity)

    @rpc(expected_exceptions=EXPECTED)
    def list_activities(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.caller.require(center_id, roles=EVERYONE)
        q = load(ActivityQuery(), query or {})
        items, total = domain.list_activities(db_session=self.db, center_id=center_id, query=q)
        return ActivityList().dump({"items": items, "total": total, "limit": q["limit"],
                                    "offset": q["offset"]})
