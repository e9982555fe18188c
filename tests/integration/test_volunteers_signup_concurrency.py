"""Sign-ups racing for places on PostgreSQL: capacity and no-overlap hold, nothing is lost."""

from datetime import UTC, datetime, timedelta

import eventlet
import pytest
from nameko.exceptions import RemoteError

from lianxin.contracts.volunteers import events as vc
from lianxin.errors import from_remote
from lianxin.testing import wait_for

pytestmark = pytest.mark.integration

CENTER = "yanminghu"


@pytest.fixture
def volunteers_on_pg(container_factory, service_config, pg_database, center_registry):
    from services.volunteers.service import VolunteersService

    center_registry()
    container = container_factory(
        VolunteersService, service_config("volunteers", db_url=pg_database())
    )
    container.start()
    return container


def _shift(staff, capacity, starts_in=timedelta(days=1), hours=2, title="刘敬州家打扫卫生"):
    starts = datetime.now(UTC) + starts_in
    return staff.volunteers.publish_shift(
        CENTER,
        {
            "title": title,
            "kind": "cleaning",
            "place": "东村社区 6 号楼 1 单元 101 室",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=hours)).isoformat(),
            "capacity": capacity,
        },
    )


def test_fifty_volunteers_at_once_for_ten_places_give_ten_confirmed_and_forty_waitlisted(
    volunteers_on_pg, rpc, token, bus
):
    confirmed_q = bus.bind("volunteers", str(vc.SIGNUP_CONFIRMED))
    waitlisted_q = bus.bind("volunteers", str(vc.SIGNUP_WAITLISTED))
    staff = rpc(token("staff", party="social_work"))
    for i in range(50):
        staff.volunteers.register_volunteer(
            CENTER, {"name": f"志愿者{i:02d}", "person_id": f"vol-{i}"}
        )
    shift = _shift(staff, capacity=10)
    # One proxy per green thread: a ClusterRpcProxy is not safe to share between them.
    proxies = [rpc(token("volunteer", sub=f"vol-{i}")) for i in range(50)]
    pool = eventlet.GreenPool(50)
    results = list(
        pool.imap(lambda proxy: proxy.volunteers.sign_up(CENTER, shift["id"], {}), proxies)
    )

    statuses = [r["status"] for r in results]
    assert statuses.count("confirmed") == 10 and statuses.count("waitlisted") == 40
    assert sorted(r["waitlist_position"] for r in results if r["status"] == "waitlisted") == list(
        range(1, 41)
    )
    listed = staff.volunteers.list_shift_signups(CENTER, shift["id"], {"limit": 100})
    assert listed["total"] == 50
    assert len({s["volunteer_id"] for s in listed["items"]}) == 50
    detail = staff.volunteers.get_shift(CENTER, shift["id"])
    assert (detail["confirmed"], detail["waitlisted"]) == (10, 40)

    def drained(queue, n):
        seen = []

        def more():
            while (body := bus.get(queue)) is not None:
                seen.append(body)
            return len(seen) >= n

        wait_for(more, timeout=20)
        return seen

    assert len(drained(confirmed_q, 10)) == 10
    assert len(drained(waitlisted_q, 40)) == 40

    # A freed place goes to the first in line, and only to them.
    first_in_line = next(s for s in listed["items"] if s["waitlist_position"] == 1)
    leaving = next(r for r in results if r["status"] == "confirmed")
    staff.volunteers.cancel_signup(CENTER, leaving["id"], {"reason": "临时有事"})
    after = {
        s["id"]: s
        for s in staff.volunteers.list_shift_signups(CENTER, shift["id"], {"limit": 100})["items"]
    }
    assert after[first_in_line["id"]]["status"] == "confirmed"
    assert sum(s["status"] == "confirmed" for s in after.values()) == 10


def test_one_volunteer_racing_for_two_overlapping_shifts_gets_exactly_one(
    volunteers_on_pg, rpc, token
):
    staff = rpc(token("staff", party="social_work"))
    staff.volunteers.register_volunteer(CENTER, {"name": "张志强", "person_id": "vol-1"})
    # Six two-hour shifts ten minutes apart: every pair overlaps.
    shifts = [
        _shift(staff, capacity=5, title=f"探访{i}", starts_in=timedelta(days=1, minutes=10 * i))
        for i in range(6)
    ]
    proxies = [rpc(token("volunteer", sub="vol-1")) for _ in shifts]

    def attempt(pair):
        proxy, shift = pair
        try:
            return proxy.volunteers.sign_up(CENTER, shift["id"], {})["status"]
        except RemoteError as exc:
            return from_remote(exc).code

    outcomes = list(eventlet.GreenPool(6).imap(attempt, zip(proxies, shifts, strict=True)))
    assert outcomes.count("confirmed") == 1
    assert outcomes.count("OVERLAPPING_SHIFT") == 5
    mine = staff.volunteers.list_volunteer_signups(CENTER, "vol-1", {})
    assert mine["total"] == 1
