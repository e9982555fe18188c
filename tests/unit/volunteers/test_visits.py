"""The visit log: visits recorded by a social worker, and those a shift's check-outs make."""

from datetime import timedelta

import pytest

from lianxin.contracts.schema import load
from lianxin.contracts.volunteers import events as volunteers_events
from lianxin.contracts.volunteers import operations as vc
from lianxin.errors import InvalidInput
from services.volunteers import visits
from services.volunteers.models import HourEntry

from .conftest import CENTER, NOW


def test_recorded_visit_approves_each_volunteers_hours(db, outbox, volunteer, beneficiary, events):
    v1, v2 = volunteer("vol-1"), volunteer("vol-2")
    b = beneficiary(file_no="YM-001")
    visit = visits.record_visit(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        beneficiary_ref="YM-001",
        by="sw-1",
        now=NOW,
        data=load(
            vc.VisitCreate(),
            {
                "visited_at": (NOW - timedelta(days=1)).isoformat(),
                "volunteers": [
                    {"volunteer_id": "vol-1", "hours": 2},
                    {"volunteer_id": "vol-2", "hours": 1.5},
                ],
                "tasks": ["打扫卫生", "整理客厅", "赠送绿植"],
                "care_types": ["life_care"],
                "notes": "老人精神很好",
            },
        ),
    )
    db.commit()
    assert [p.hours for p in visit.participants] == [2, 1.5]
    assert {e.status for e in db.query(HourEntry)} == {"approved"}
    assert (v1.verified_hours, v2.verified_hours) == (2, 1.5)
    assert events(volunteers_events.VISIT_RECORDED)[0]["data"]["beneficiary_id"] == b.id
    assert len(events(volunteers_events.HOURS_APPROVED)) == 2
    log, total = visits.list_visits(
        db_session=db, center_id=CENTER, beneficiary_ref=b.id, query={"limit": 10, "offset": 0}
    )
    assert total == 1 and log[0].notes == "老人精神很好"


def test_a_visit_in_the_future_is_refused(db, outbox, volunteer, beneficiary):
    volunteer("vol-1")
    b = beneficiary()
    with pytest.raises(InvalidInput) as err:
        visits.record_visit(
            db_session=db,
            outbox=outbox,
            center_id=CENTER,
            beneficiary_ref=b.id,
            by="sw-1",
            now=NOW,
            data=load(
                vc.VisitCreate,
                {
                    "visited_at": (NOW + timedelta(days=1)).isoformat(),
                    "volunteers": [{"volunteer_id": "vol-1", "hours": 2}],
                },
            ),
        )
    assert "visited_at" in err.value.fields


def test_check_outs_on_a_beneficiarys_shift_fill_one_visit(
    db, outbox, volunteer, beneficiary, shift, sign_up, attend, events
):
    b = beneficiary()
    s = shift(beneficiary_id=b.id, tasks=["打扫卫生", "整理客厅"])
    v1, v2 = volunteer("vol-1"), volunteer("vol-2")
    for v in (v1, v2):
        sign_up(s, v)
        attend(s, v, s.starts_at, s.ends_at)
    [visit], _ = visits.list_visits(
        db_session=db, center_id=CENTER, beneficiary_ref=b.id, query={"limit": 10, "offset": 0}
    )
    assert visit.shift_id == s.id and visit.tasks == ["打扫卫生", "整理客厅"]
    assert [p.volunteer_id for p in visit.participants] == [v1.id, v2.id]
    assert visit.care_types == ["life_care"] and len(events(volunteers_events.VISIT_RECORDED)) == 1
