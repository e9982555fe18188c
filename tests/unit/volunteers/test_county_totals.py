"""The county view's volunteer figures (``county_center_stats``): per center at once, those
``center_stats`` answers for the same period."""

from datetime import timedelta

from lianxin.clock import SHANGHAI
from lianxin.contracts.schema import load
from lianxin.contracts.volunteers import operations as vc
from services.volunteers import totals, visits

from .conftest import CENTER, NOW

OTHER = "fenghuangtai"


def test_each_centers_line_equals_its_center_stats(
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
    today = NOW.astimezone(SHANGHAI).date()
    for date_from, date_to in ((None, None), (today - timedelta(days=1), today), (None, today)):
        own = totals.center_stats(
            db_session=db, center_id=CENTER, date_from=date_from, date_to=date_to
        )
        mine, quiet = totals.county_center_stats(
            db_session=db, center_ids=[CENTER, OTHER], date_from=date_from, date_to=date_to
        )
        assert mine == {
            "center_id": CENTER,
            **{k: own[k] for k in ("verified_hours", "participations", "beneficiaries_served")},
        }
        assert quiet == {
            "center_id": OTHER,
            "verified_hours": 0.0,
            "participations": 0,
            "beneficiaries_served": 0,
        }
        # every center (an ops account's county view): those with figures, the quiet one
        # left out (the report counts it as the zeros above)
        every = totals.county_center_stats(
            db_session=db, center_ids=None, date_from=date_from, date_to=date_to
        )
        assert every == [mine]
    [whole] = totals.county_center_stats(db_session=db, center_ids=[CENTER])
    assert (whole["verified_hours"], whole["participations"]) == (7.5, 6)
    assert whole["beneficiaries_served"] == 2
    assert totals.county_center_stats(db_session=db, center_ids=[]) == []
