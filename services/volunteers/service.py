"""VolunteersService: entrypoints only."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from lianxin.auth import Caller
from lianxin.contracts.schema import load
from lianxin.contracts.volunteers import (
    VolunteerCreate,
    VolunteerList,
    VolunteerQuery,
    VolunteerRead,
)
from lianxin.db import Database
from lianxin.errors import EXPECTED
from lianxin.health import HealthCheck
from lianxin.metrics import Metrics
from lianxin.outbox import Outbox
from services.volunteers import domain
from services.volunteers.models import Base, outbox_table

_create, _read, _query, _list = VolunteerCreate(), VolunteerRead(), VolunteerQuery(), VolunteerList()


class VolunteersService(HealthCheck):
    name = "volunteers"

    db = Database(Base.metadata)
    outbox = Outbox(outbox_table)
    caller = Caller()
    metrics = Metrics()

    @rpc(expected_exceptions=EXPECTED)
    def register_volunteer(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.caller.require(center_id, roles=("staff", "admin"))
        volunteer = domain.register_volunteer(db_session=self.db, outbox=self.outbox,
                                              center_id=center_id, data=load(_create, payload))
        self.db.commit()
        return _read.dump(volunteer)

    @rpc(expected_exceptions=EXPECTED)
    def list_volunteers(self, center_id: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        self.caller.require(center_id, roles=("staff", "admin"))
        q = load(_query, query or {})
        items, total = domain.list_volunteers(db_session=self.db, center_id=center_id, query=q)
        return _list.dump({"items": items, "total": total, "limit": q["limit"], "offset": q["offset"]})
