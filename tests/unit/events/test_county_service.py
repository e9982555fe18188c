"""``county_attendance_stats`` (internal, for the reports service's county view): departments
and ops for the centers their token grants, nobody else."""

import pytest
from nameko.testing.services import worker_factory

from lianxin import metrics
from lianxin.auth import CallerCheck, Verifier, keys_for
from lianxin.errors import Forbidden
from services.events.service import EventsService


@pytest.fixture
def as_(db, token):
    def make(role: str, center) -> EventsService:
        caller = CallerCheck(token(role, center=center), Verifier(keys_for({})))
        return worker_factory(
            EventsService,
            db=db.session,
            outbox=db.outbox,
            caller=caller,
            metrics=metrics.for_service("events"),
        )

    return make


def test_departments_read_their_granted_centers_others_are_refused(as_):
    both = ["yanminghu", "fenghuangtai"]
    lines = as_("department", both).county_attendance_stats(both, {"from": "2026-11-01"})
    assert lines == [
        {"center_id": c, "activities": 0, "person_times": 0} for c in ("yanminghu", "fenghuangtai")
    ]
    with pytest.raises(Forbidden) as err:
        as_("department", ["fenghuangtai"]).county_attendance_stats(both, {})
    assert err.value.code == "CENTER_FORBIDDEN"
    # no list: the centers the token grants — a department's own, not every center
    assert as_("department", ["fenghuangtai"]).county_attendance_stats(None, {}) == [
        {"center_id": "fenghuangtai", "activities": 0, "person_times": 0}
    ]
    with pytest.raises(Forbidden) as err:
        as_("admin", "yanminghu").county_attendance_stats(["yanminghu"], {})
    assert err.value.code == "ROLE_FORBIDDEN"
