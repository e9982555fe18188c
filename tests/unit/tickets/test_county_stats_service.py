"""``county_ticket_stats`` (internal, for the reports service's county view): departments and
ops for the centers their token grants — as the county view's own rule — nobody else."""

import pytest

from lianxin.errors import Forbidden

DAYS = {"from": "2026-11-01", "to": "2026-11-30"}


def test_a_department_reads_its_granted_centers_at_once(service, token):
    lines = service(token("department", center=["yanminghu", "fenghuangtai"])).county_ticket_stats(
        ["yanminghu", "fenghuangtai"], DAYS
    )
    assert [line["center_id"] for line in lines] == ["yanminghu", "fenghuangtai"]
    assert lines[0]["total"]["received"] == 0 and lines[0]["satisfaction"] is None
    assert len(service(token("ops", center="*")).county_ticket_stats(["yanminghu"], DAYS)) == 1


def test_a_center_not_granted_or_a_center_role_is_refused(service, token):
    with pytest.raises(Forbidden) as err:
        service(token("department", center=["fenghuangtai"])).county_ticket_stats(
            ["yanminghu", "fenghuangtai"], DAYS
        )
    assert err.value.code == "CENTER_FORBIDDEN"
    for role in ("admin", "staff", "resident"):
        with pytest.raises(Forbidden) as err:
            service(token(role, center="yanminghu")).county_ticket_stats(["yanminghu"], DAYS)
        assert err.value.code == "ROLE_FORBIDDEN"
