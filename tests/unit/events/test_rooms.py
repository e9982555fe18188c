"""Rooms: their configuration holds what is planned in them."""

import pytest

from services.events import rooms
from services.events.exceptions import CapacityConflict

CENTER = "yanminghu"


def test_room_capacity_cannot_drop_below_a_planned_activity(db, new_activity, now):
    new_activity(capacity=60)
    with pytest.raises(CapacityConflict):
        rooms.update_room(
            db_session=db.session,
            center_id=CENTER,
            code="sports",
            changes={"capacity": 50},
            now=now,
        )
    db.session.rollback()
    room = rooms.update_room(
        db_session=db.session,
        center_id=CENTER,
        code="sports",
        changes={"capacity": 60, "equipment": ["音响", "乒乓球台"]},
        now=now,
    )
    assert room.capacity == 60
