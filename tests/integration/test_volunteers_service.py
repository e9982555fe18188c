"""The volunteers service on PostgreSQL and the real broker, called as its users call it."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from nameko.exceptions import RemoteError

from lianxin.contracts.volunteers import events as vc
from lianxin.errors import from_remote
from lianxin.metrics import for_service
from lianxin.testing import wait_for
from services.volunteers.metrics import HOURS_APPROVED, SIGNUPS

pytestmark = pytest.mark.integration

CENTER = "yanminghu"


@pytest.fixture
def running(container_factory, service_config, pg_database, center_registry):
    from services.volunteers.service import VolunteersService

    center_registry(CENTER, "fenghuangtai")
    container = container_factory(
        VolunteersService, service_config("volunteers", db_url=pg_database())
    )
    container.start()
    return container


@pytest.fixture
def staff(running, rpc, token):
    proxy = rpc(token("staff", sub="sw-1", party="social_work"))
    for person_id, name, skills in (
        ("vol-1", "张志强", ["cleaning", "life_care"]),
        ("vol-2", "刘慧", ["emotional_support", "cleaning"]),
    ):
        proxy.volunteers.register_volunteer(
            CENTER, {"name": name, "person_id": person_id, "skills": skills}
        )
    proxy.volunteers.register_beneficiary(
        CENTER,
        {
            "file_no": "YM-001",
            "name": "刘敬州",
            "category": "elderly_alone",
            "birth_year": 1944,
            "care_needs": ["life_care", "emotional_support"],
            "address": "雁鸣湖镇东村社区 6 号楼 1 单元 101 室",
            "guardian": {"name": "刘建军", "relation": "儿子"},
        },
    )
    return proxy


def refused(call, *args):
    """The kit error a call was refused with."""
    with pytest.raises(RemoteError) as err:
        call(*args)
    error = from_remote(err.value)
    assert error is not None, err.value
    return error


def shift_payload(hours=2, **extra):
    starts = datetime.now(UTC) + timedelta(days=2)
    return {
        "title": "刘敬州家打扫卫生",
        "kind": "cleaning",
        "beneficiary_id": "YM-001",
        "place": "雁鸣湖镇东村社区 6 号楼 1 单元 101 室",
        "capacity": 1,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=hours)).isoformat(),
        "required_skills": ["cleaning"],
        "tasks": ["打扫卫生", "整理客厅", "赠送绿植"],
        **extra,
    }


def drain(bus, queue, count):
    got = []

    def enough():
        while (body := bus.get(queue)) is not None:
            got.append(body)
        return len(got) >= count

    wait_for(enough, timeout=15)
    return got


def test_sign_up_cancellation_and_promotion_reach_the_bus_with_what_reminders_need(
    staff, rpc, token, bus
):
    queues = {
        t: bus.bind("volunteers", str(t))
        for t in (
            vc.SIGNUP_CONFIRMED,
            vc.SIGNUP_WAITLISTED,
            vc.SIGNUP_CANCELLED,
            vc.SIGNUP_PROMOTED,
        )
    }
    metrics = for_service("volunteers")
    outcomes = ("confirmed", "waitlisted", "cancelled", "promoted")
    before = {o: metrics.sample(SIGNUPS, center=CENTER, outcome=o) for o in outcomes}
    shift = staff.volunteers.publish_shift(CENTER, shift_payload())
    me, other = rpc(token("volunteer", sub="vol-1")), rpc(token("volunteer", sub="vol-2"))
    mine = me.volunteers.sign_up(CENTER, shift["id"], {})
    assert other.volunteers.sign_up(CENTER, shift["id"], {})["status"] == "waitlisted"
    me.volunteers.cancel_signup(CENTER, mine["id"], {"reason": "家里有事"})
    for outcome in outcomes:
        assert metrics.sample(SIGNUPS, center=CENTER, outcome=outcome) == before[outcome] + 1

    [confirmed] = drain(bus, queues[vc.SIGNUP_CONFIRMED], 1)
    assert confirmed["data"]["person_id"] == "vol-1"
    assert confirmed["data"]["shift_title"] == "刘敬州家打扫卫生"
    assert confirmed["data"]["place"] == "雁鸣湖镇东村社区 6 号楼 1 单元 101 室"
    assert datetime.fromisoformat(confirmed["data"]["starts_at"]) == datetime.fromisoformat(
        shift["starts_at"]
    )
    [cancelled] = drain(bus, queues[vc.SIGNUP_CANCELLED], 1)
    assert (cancelled["data"]["person_id"], cancelled["data"]["reason"]) == ("vol-1", "家里有事")
    [promoted] = drain(bus, queues[vc.SIGNUP_PROMOTED], 1)
    assert promoted["data"]["person_id"] == "vol-2" and promoted["centerid"] == CENTER
    mine_now = other.volunteers.list_shift_signups(CENTER, shift["id"], {})
    assert [s["status"] for s in mine_now["items"]] == ["confirmed"]  # only their own


def test_bad_requests_are_refused_with_a_reason_and_change_nothing(staff, rpc, token):
    too_long = refused(staff.volunteers.publish_shift, CENTER, shift_payload(hours=25))
    assert too_long.kind == "invalid" and too_long.fields == {"ends_at": ["班次不能超过 24 小时"]}
    unknown_skill = refused(
        staff.volunteers.publish_shift, CENTER, shift_payload(required_skills=["cooking"])
    )
    assert unknown_skill.kind == "invalid" and "required_skills" in unknown_skill.fields
    assert staff.volunteers.list_shifts(CENTER, {})["total"] == 0

    elsewhere = rpc(
        token("staff", center="fenghuangtai", party="social_work")
    ).volunteers.publish_shift("fenghuangtai", shift_payload(beneficiary_id=None))
    me = rpc(token("volunteer", sub="vol-1"))
    assert refused(me.volunteers.sign_up, CENTER, elsewhere["id"], {}).kind == "not_found"
    assert (
        refused(me.volunteers.sign_up, "fenghuangtai", elsewhere["id"], {}).code
        == "CENTER_FORBIDDEN"
    )

    shift = staff.volunteers.publish_shift(CENTER, shift_payload())
    me.volunteers.sign_up(CENTER, shift["id"], {})
    early = refused(me.volunteers.check_out, CENTER, shift["id"], {})
    assert (early.kind, early.code, early.detail) == (
        "conflict",
        "NOT_CHECKED_IN",
        "尚未签到，不能签退",
    )
    overlapping = staff.volunteers.publish_shift(
        CENTER, {**shift_payload(), "title": "探访王素芳", "beneficiary_id": None}
    )
    assert refused(me.volunteers.sign_up, CENTER, overlapping["id"], {}).code == "OVERLAPPING_SHIFT"
    assert me.volunteers.list_volunteer_signups(CENTER, "me", {})["total"] == 1
    assert (
        refused(me.volunteers.sign_up, CENTER, shift["id"], {"volunteer_id": "vol-2"}).code
        == "NOT_YOUR_RECORD"
    )
    bad = refused(me.volunteers.sign_up, CENTER, shift["id"], {"who": "vol-2"})
    assert bad.fields == {"who": ["未知字段"]}


def test_beneficiary_details_are_for_that_centers_staff_only(staff, rpc, token):
    record = staff.volunteers.get_beneficiary(CENTER, "YM-001")
    assert record["age"] >= 82 and record["guardian"]["name"] == "刘建军"
    volunteer = rpc(token("volunteer", sub="vol-1"))
    assert refused(volunteer.volunteers.get_beneficiary, CENTER, "YM-001").code == "ROLE_FORBIDDEN"
    assert refused(volunteer.volunteers.list_beneficiaries, CENTER, {}).code == "ROLE_FORBIDDEN"
    other_center = rpc(token("staff", center="fenghuangtai", party="social_work"))
    assert (
        refused(other_center.volunteers.get_beneficiary, "fenghuangtai", record["id"]).kind
        == "not_found"
    )
    assert (
        refused(other_center.volunteers.get_beneficiary, CENTER, record["id"]).code
        == "CENTER_FORBIDDEN"
    )
    assert refused(volunteer.volunteers.get_volunteer, CENTER, "vol-2").code == "NOT_YOUR_RECORD"
    assert volunteer.volunteers.get_volunteer(CENTER, "me")["person_id"] == "vol-1"


def test_recorded_service_earns_a_milestone_and_a_downloadable_certificate(staff, rpc, token, bus):
    milestones = bus.bind("volunteers", str(vc.MILESTONE_REACHED))
    approved_before = for_service("volunteers").sample(HOURS_APPROVED, center=CENTER)
    for days in (3, 2, 1):
        staff.volunteers.record_visit(
            CENTER,
            "YM-001",
            {
                "visited_at": (datetime.now(UTC) - timedelta(days=days)).isoformat(),
                "volunteers": [{"volunteer_id": "vol-1", "hours": 20}],
                "tasks": ["打扫卫生", "整理客厅", "赠送绿植"],
                "care_types": ["life_care"],
            },
        )
    [event] = drain(bus, milestones, 1)
    assert event["data"]["milestone_hours"] == 50 and event["data"]["person_id"] == "vol-1"
    approved = for_service("volunteers").sample(HOURS_APPROVED, center=CENTER)
    assert approved - approved_before == 60

    me = rpc(token("volunteer", sub="vol-1"))
    profile = me.volunteers.get_volunteer(CENTER, "me")
    assert profile["totals"]["verified_hours"] == 60 and profile["totals"]["next_milestone"] == 100
    assert [m["milestone_hours"] for m in me.volunteers.list_certificates(CENTER, "me")] == [50]
    cert = me.volunteers.get_certificate(CENTER, "me", 50)
    assert cert["content_type"] == "application/pdf" and cert["filename"].endswith("50小时.pdf")
    assert base64.b64decode(cert["data_base64"]).startswith(b"%PDF-")
    not_yet = refused(me.volunteers.get_certificate, CENTER, "me", 100)
    assert not_yet.kind == "not_found" and "尚未达到 100 小时" in not_yet.detail

    stats = staff.volunteers.center_stats(CENTER, {})
    assert (stats["verified_hours"], stats["participations"], stats["beneficiaries_served"]) == (
        60,
        3,
        1,
    )
    assert staff.volunteers.list_visits(CENTER, "YM-001", {})["total"] == 3
