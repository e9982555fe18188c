"""A center's totals for a period, on the Shanghai calendar."""

from datetime import date, timedelta

from lianxin.clock import SHANGHAI
from lianxin.contracts.schema import load
from lianxin.contracts.volunteers import operations as vc
from services.volunteers import totals, visits

from .conftest import CENTER, NOW


def test_center_totals_count_hours_participations_and_people_served(
    db, outbox, volunteer, beneficiary, shift, sign_up, attend
):
    volunteer("vol-1")
    volunteer("vol-2")
    a, b = beneficiary("刘敬州"), beneficiary("王素芳")
    for who, day in ((a, 3), (a, 2), (b, 1)):
        visits.record_visit(
            db_session=db,
            outbox=outbox,
            center_id=CENTER,
            beneficiary_ref=who.id,
            by="sw-1",
            now=NOW,
            data=load(
                vc.VisitCreate,
                {
                    "visited_at": (NOW - timedelta(days=day)).isoformat(),
                    "volunteers": [
                        {"volunteer_id": "vol-1", "hours": 2},
                        {"volunteer_id": "vol-2", "hours": 0.5},
                    ],
                },
            ),
        )
    s = shift()
    pending = volunteer("vol-3")
    sign_up(s, pending)
    attend(s, pending, s.starts_at, s.ends_at)
    db.commit()
    stats = totals.center_stats(db_session=db, center_id=CENTER)
    assert (stats["verified_hours"], stats["participations"]) == (7.5, 6)
    assert (stats["beneficiaries_served"], stats["service_person_times"]) == (2, 3)
    assert (stats["volunteers_active"], stats["pending_hours"], stats["shifts_held"]) == (2, 2, 1)
    local_today = NOW.astimezone(SHANGHAI).date()
    recent = totals.center_stats(
        db_session=db,
        center_id=CENTER,
        date_from=local_today - timedelta(days=1),
        date_to=local_today,
    )
    assert (recent["verified_hours"], recent["beneficiaries_served"]) == (2.5, 1)
    assert totals.center_stats(db_session=db, center_id="fenghuangtai")["participations"] == 0


def test_period_bounds_follow_the_shanghai_calendar():
    start, end = totals.period_bounds(date(2026, 12, 1), date(2026, 12, 1))
    assert start.isoformat() == "2026-11-30T16:00:00+00:00"
    assert end.isoformat() == "2026-12-01T16:00:00+00:00"
