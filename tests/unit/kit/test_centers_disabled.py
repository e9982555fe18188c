"""A disabled center in the kit's registry: writes and public operations refused, reads go on;
the center events put a center's new record in at once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lianxin.centers import CenterDisabled, CenterRegistry, CenterScoped, refuse_disabled, writes
from lianxin.contracts.events import operations as events_ops
from lianxin.contracts.notify import operations as notify_ops
from lianxin.contracts.tickets import operations as tickets_ops
from lianxin.contracts.volunteers import operations as volunteers_ops

DISABLED = {"id": "yinying", "name": "银莺社区党群服务中心", "status": "disabled"}


def test_reads_and_writes_are_told_apart_by_the_operation_name():
    assert writes(events_ops.add_room) and writes(volunteers_ops.check_in)
    assert writes(notify_ops.upsert_contact) and writes(events_ops.book_room)
    assert not writes(events_ops.list_rooms) and not writes(events_ops.room_ics)
    assert not writes(notify_ops.check_reachable) and not writes(volunteers_ops.center_stats)


def test_a_disabled_center_refuses_writes_and_public_reads_but_not_staff_reads():
    with pytest.raises(CenterDisabled) as refused:
        refuse_disabled(DISABLED, events_ops.add_room)
    assert refused.value.code == "CENTER_DISABLED" and "该服务中心已停用" in refused.value.detail
    assert refused.value.kind == "conflict"
    with pytest.raises(CenterDisabled):
        refuse_disabled(DISABLED, tickets_ops.list_public_categories)
    refuse_disabled(DISABLED, events_ops.list_rooms)
    refuse_disabled({**DISABLED, "status": "active"}, events_ops.add_room)
    refuse_disabled({"id": "old", "name": "a record from before statuses"}, events_ops.add_room)


class _Service(CenterScoped):
    def __init__(self, registry: CenterRegistry, fetch):
        principal = SimpleNamespace(id="staff-1")
        self.caller = SimpleNamespace(require=lambda center_id, op: principal)
        self.centers = SimpleNamespace(
            registry=registry, require=lambda center_id: registry.require(center_id, fetch)
        )


def test_a_center_event_replaces_the_cached_record_at_once():
    registry = CenterRegistry(ttl=300)
    asked = []

    def fetch(center_id):
        asked.append(center_id)
        return {**DISABLED, "status": "active"}

    service = _Service(registry, fetch)
    service.require("yinying", events_ops.add_room)  # active: allowed, and now cached
    service.learn_center({"data": {**DISABLED, "actor_id": "ops-1", "change": "disabled"}})
    with pytest.raises(CenterDisabled):
        service.require("yinying", events_ops.add_room)
    service.require("yinying", events_ops.list_rooms)
    assert asked == ["yinying"]
