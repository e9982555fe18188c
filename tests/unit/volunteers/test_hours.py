"""The hours ledger: approval, rejection, milestones."""

from datetime import timedelta

import pytest

from lianxin.contracts.volunteers import events as volunteers_events
from lianxin.errors import Conflict
from services.volunteers import hours, totals
from services.volunteers.models import HourEntry

from .conftest import CENTER

DAY = timedelta(days=1)


def test_approved_hours_count_and_crossing_50_hours_reaches_a_milestone(
    db, outbox, volunteer, shift, sign_up, attend, events
):
    v = volunteer("vol-1")
    for day in range(3):  # 3 × 20 h shifts, approved one by one
        s = shift(start_in=DAY * (day + 1), hours=20)
        sign_up(s, v)
        attend(s, v, s.starts_at, s.ends_at)
        [entry] = hours.approve_shift_hours(
            db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id, by="sw-1", now=s.ends_at
        )
        db.commit()
        assert entry.status == "approved"
    record = totals.volunteer_totals(db_session=db, volunteer=v)
    assert record["verified_hours"] == 60 and record["participations"] == 3
    assert [m.milestone_hours for m in record["milestones"]] == [50]
    assert record["next_milestone"] == 100 and record["reliability"] == 1.0
    [milestone] = events(volunteers_events.MILESTONE_REACHED)
    assert milestone["data"] == {
        "volunteer_id": v.id,
        "person_id": "vol-1",
        "milestone_hours": 50,
        "total_hours": 60.0,
    }
    assert [e["data"]["total_hours"] for e in events(volunteers_events.HOURS_APPROVED)] == [
        20,
        40,
        60,
    ]


def test_hours_are_decided_once(db, outbox, held, attend):
    s, v = held
    attend(s, v, s.starts_at, s.ends_at)
    [entry] = db.query(HourEntry).all()
    hours.reject_hours(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        entry_id=entry.id,
        by="sw-1",
        note="未按要求完成服务",
    )
    with pytest.raises(Conflict) as err:
        hours.approve_hours(
            db_session=db, outbox=outbox, center_id=CENTER, entry_id=entry.id, by="sw-1"
        )
    assert err.value.code == "HOURS_ALREADY_DECIDED"
    assert totals.volunteer_totals(db_session=db, volunteer=v)["verified_hours"] == 0
