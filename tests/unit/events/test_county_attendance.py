"""The county view's activity figures (``county_attendance_stats``): per center at once, the
totals ``attendance_stats`` answers for the same query."""

from datetime import timedelta

from lianxin.contracts.events.operations import AttendanceQuery
from lianxin.contracts.schema import load
from services.events import attendance
from tests.unit.events import test_attendance as base

from .conftest import CENTER

# The attendance tests' fixtures and helpers: an activity with registrations, held ones.
activity, registered = base.activity, base.registered
check_in, past, record = base.check_in, base.past, base.record


def test_each_centers_totals_equal_its_attendance_stats(db, activity, registered, actors, now):
    record(
        db,
        actors,
        now,
        [
            past(now, 40),
            past(now, 10, attendance=30),
            past(now, 9, programme=None, audience="families", room="children", attendance=20),
        ],
    )
    check_in(db, activity, actors.staff, activity.starts_at, code=registered[0].code)
    later = activity.ends_at + timedelta(hours=2)
    for query in (
        {},
        {"from": "2026-11-01", "to": "2026-11-30"},
        {"audience": "families"},
        {"from": "2026-12-01", "group_by": "month"},
    ):
        q = load(AttendanceQuery, query)
        own = attendance.attendance_stats(
            db_session=db.session, center_id=CENTER, query=q, now=later
        )
        mine, quiet = attendance.county_attendance_stats(
            db_session=db.session, center_ids=[CENTER, "fenghuangtai"], query=q, now=later
        )
        assert mine == {
            "center_id": CENTER,
            "activities": own["activities"],
            "person_times": own["person_times"],
        }, query
        assert quiet == {"center_id": "fenghuangtai", "activities": 0, "person_times": 0}
        # every center (the county view of an ops account): those that held activities only;
        # the report counts a center missing here as zeros, which is what it is above
        every = attendance.county_attendance_stats(
            db_session=db.session, center_ids=None, query=q, now=later
        )
        assert every == ([mine] if mine["activities"] else []), query
    whole = attendance.county_attendance_stats(
        db_session=db.session, center_ids=[CENTER], query=load(AttendanceQuery, {}), now=later
    )
    assert whole[0]["person_times"] == 103
    assert (
        attendance.county_attendance_stats(
            db_session=db.session, center_ids=[], query=load(AttendanceQuery, {}), now=later
        )
        == []
    )
