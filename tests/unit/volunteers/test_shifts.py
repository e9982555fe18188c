"""Publishing shifts, signing up, the waitlist and cancellations."""

from datetime import timedelta

import pytest

from lianxin.contracts.schema import load
from lianxin.contracts.volunteers import events as volunteers_events
from lianxin.contracts.volunteers import operations as vc
from lianxin.errors import Conflict, Forbidden, InvalidInput, NotFound
from lianxin.roles import Principal
from services.volunteers import shifts, signups, totals
from services.volunteers.models import Signup

from .conftest import CENTER, NOW, STAFF


def _shift_payload(**overrides):
    starts = NOW + timedelta(days=1)
    return {
        "title": "陪同就医",
        "kind": "escort",
        "place": "中牟县人民医院",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(),
        "capacity": 2,
        **overrides,
    }


def test_shift_longer_than_24_hours_is_refused():
    starts = NOW + timedelta(days=1)
    with pytest.raises(InvalidInput) as err:
        load(vc.ShiftCreate, _shift_payload(ends_at=(starts + timedelta(hours=25)).isoformat()))
    assert err.value.fields == {"ends_at": ["班次不能超过 24 小时"]}


def test_shift_ending_before_it_starts_is_refused():
    with pytest.raises(InvalidInput) as err:
        load(vc.ShiftCreate, _shift_payload(ends_at=NOW.isoformat()))
    assert "ends_at" in err.value.fields


def test_unknown_skill_on_a_shift_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as err:
        load(vc.ShiftCreate, _shift_payload(required_skills=["escort", "juggling"]))
    assert list(err.value.fields) == ["required_skills"]
    assert 1 in err.value.fields["required_skills"]


def test_shift_times_without_a_time_zone_are_refused():
    with pytest.raises(InvalidInput) as err:
        load(vc.ShiftCreate, _shift_payload(starts_at="2026-12-02T09:00:00"))
    assert err.value.fields["starts_at"] == ["时间须带时区"]


def test_publishing_announces_the_shift_with_its_window_and_place(shift, events):
    s = shift(capacity=4, required_skills=["cleaning"], tasks=["打扫卫生", "整理客厅", "赠送绿植"])
    [event] = events(volunteers_events.SHIFT_PUBLISHED)
    assert event["subject"] == s.id
    assert event["data"]["capacity"] == 4 and event["data"]["required_skills"] == ["cleaning"]
    assert event["data"]["place"] == "东村社区 3 号楼 2 单元"
    assert s.tasks == ["打扫卫生", "整理客厅", "赠送绿植"]


def test_shift_for_an_unknown_beneficiary_is_refused(shift):
    with pytest.raises(InvalidInput) as err:
        shift(beneficiary_id="no-such-person")
    assert err.value.fields == {"beneficiary_id": ["帮扶对象不存在"]}


def test_shift_names_its_beneficiary_by_file_number(shift, beneficiary):
    b = beneficiary(file_no="YM-001")
    assert shift(beneficiary_id="YM-001").beneficiary_id == b.id


def test_sign_ups_past_capacity_join_the_waitlist_in_order(shift, volunteer, sign_up, events):
    s = shift(capacity=2)
    results = [sign_up(s, volunteer(f"vol-{i}")) for i in range(4)]
    assert [r.status for r in results] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [r.waitlist_position for r in results] == [None, None, 1, 2]
    assert (
        len(events(volunteers_events.SIGNUP_CONFIRMED)) == 2
        and len(events(volunteers_events.SIGNUP_WAITLISTED)) == 2
    )


def test_confirmation_event_carries_what_a_reminder_needs(shift, volunteer, sign_up, events):
    s = shift()
    signup = sign_up(s, volunteer("vol-1"))
    [event] = events(volunteers_events.SIGNUP_CONFIRMED)
    data = event["data"]
    assert data["person_id"] == "vol-1" and data["shift_title"] == "刘敬州家打扫卫生"
    assert data["place"] == "东村社区 3 号楼 2 单元" and data["signup_id"] == signup.id
    assert data["starts_at"].startswith("2026-12-02T01:00:00")


def test_cancelling_a_confirmed_place_promotes_the_first_waitlisted(
    db, outbox, shift, volunteer, sign_up, events
):
    s = shift(capacity=1)
    first, second, third = (sign_up(s, volunteer(f"vol-{i}")) for i in range(3))
    cancelled, promoted = signups.cancel_signup(
        db_session=db, outbox=outbox, signup=first, actor=STAFF, reason="临时有事", now=NOW
    )
    db.commit()
    assert cancelled.status == "cancelled" and [p.id for p in promoted] == [second.id]
    assert db.get(Signup, second.id).status == "confirmed" and db.get(Signup, second.id).promoted
    assert db.get(Signup, third.id).status == "waitlisted"
    [event] = events(volunteers_events.SIGNUP_PROMOTED)
    assert event["data"]["person_id"] == "vol-1"
    [cancel] = events(volunteers_events.SIGNUP_CANCELLED)
    assert cancel["data"]["person_id"] == "vol-0" and cancel["data"]["reason"] == "临时有事"


def test_cancelling_a_waitlisted_place_promotes_nobody(
    db, outbox, shift, volunteer, sign_up, events
):
    s = shift(capacity=1)
    sign_up(s, volunteer("vol-0"))
    waiting = sign_up(s, volunteer("vol-1"))
    _, promoted = signups.cancel_signup(
        db_session=db, outbox=outbox, signup=waiting, actor=STAFF, reason=None, now=NOW
    )
    assert promoted == [] and events(volunteers_events.SIGNUP_PROMOTED) == []


def test_a_volunteer_cannot_hold_two_overlapping_shifts(shift, volunteer, sign_up):
    v = volunteer("vol-1")
    morning = shift(hours=3)
    overlapping = shift(start_in=timedelta(days=1, hours=2), hours=2)
    sign_up(morning, v)
    with pytest.raises(Conflict) as err:
        sign_up(overlapping, v)
    assert err.value.code == "OVERLAPPING_SHIFT" and "刘敬州家打扫卫生" in err.value.detail


def test_a_waitlisted_shift_also_blocks_an_overlapping_sign_up(shift, volunteer, sign_up):
    full = shift(capacity=1)
    sign_up(full, volunteer("vol-0"))
    v = volunteer("vol-1")
    assert sign_up(full, v).status == "waitlisted"
    with pytest.raises(Conflict) as err:
        sign_up(shift(start_in=timedelta(days=1, hours=1)), v)
    assert err.value.code == "OVERLAPPING_SHIFT" and "候补" in err.value.detail


def test_back_to_back_shifts_do_not_overlap(shift, volunteer, sign_up):
    v = volunteer("vol-1")
    sign_up(shift(hours=2), v)
    assert sign_up(shift(start_in=timedelta(days=1, hours=2)), v).status == "confirmed"


def test_signing_up_twice_for_one_shift_is_a_conflict(shift, volunteer, sign_up):
    s, v = shift(), volunteer("vol-1")
    sign_up(s, v)
    with pytest.raises(Conflict) as err:
        sign_up(s, v)
    assert err.value.code == "ALREADY_SIGNED_UP"


def test_after_cancelling_a_volunteer_may_sign_up_again(db, outbox, shift, volunteer, sign_up):
    s, v = shift(), volunteer("vol-1")
    first = sign_up(s, v)
    signups.cancel_signup(
        db_session=db, outbox=outbox, signup=first, actor=STAFF, reason=None, now=NOW
    )
    db.commit()
    assert sign_up(s, v).status == "confirmed"


def test_missing_required_skill_is_refused(shift, volunteer, sign_up):
    s = shift(required_skills=["escort"])
    with pytest.raises(Conflict) as err:
        sign_up(s, volunteer("vol-1", skills=["cleaning"]))
    assert err.value.code == "SKILLS_MISSING" and "陪同就医" in err.value.detail


def test_signing_up_after_the_shift_started_is_refused(shift, volunteer, sign_up):
    s = shift(start_in=timedelta(hours=1))
    with pytest.raises(Conflict) as err:
        sign_up(s, volunteer("vol-1"), now=NOW + timedelta(hours=2))
    assert err.value.code == "SHIFT_CLOSED"


def test_another_centers_shift_is_not_found(db, outbox, shift, volunteer):
    s = shift(center="fenghuangtai")
    with pytest.raises(NotFound):
        signups.sign_up(
            db_session=db,
            outbox=outbox,
            center_id=CENTER,
            shift_ref=s.id,
            volunteer=volunteer("vol-1"),
            now=NOW,
        )


def test_volunteer_may_not_cancel_someone_elses_sign_up(shift, volunteer, sign_up):
    volunteer("vol-1")
    theirs = sign_up(shift(), volunteer("vol-2"))
    me = Principal(sub="vol-1", role="volunteer", centers=(CENTER,))
    with pytest.raises(Forbidden) as err:
        vc.cancel_signup.authorize(me, theirs)
    assert err.value.code == "NOT_YOUR_RECORD"
    vc.cancel_signup.authorize(STAFF, theirs)


def test_volunteer_cancelling_within_a_day_is_a_late_cancellation(
    db, outbox, shift, volunteer, sign_up
):
    v = volunteer("vol-1")
    me = Principal(sub="vol-1", role="volunteer", centers=(CENTER,))
    soon, later = shift(start_in=timedelta(hours=5)), shift(start_in=timedelta(days=3))
    a, b = sign_up(soon, v), sign_up(later, v)
    for signup in (a, b):
        signups.cancel_signup(
            db_session=db, outbox=outbox, signup=signup, actor=me, reason=None, now=NOW
        )
    assert (a.late_cancel, b.late_cancel) == (True, False)
    assert totals.volunteer_totals(db_session=db, volunteer=v)["late_cancellations"] == 1


def test_more_places_promote_the_waitlist(db, outbox, shift, volunteer, sign_up):
    s = shift(capacity=1)
    sign_up(s, volunteer("vol-0"))
    waiting = sign_up(s, volunteer("vol-1"))
    updated, promoted = shifts.update_shift(
        db_session=db, outbox=outbox, center_id=CENTER, ref=s.id, data={"capacity": 2}, now=NOW
    )
    assert [p.id for p in promoted] == [waiting.id]
    assert (updated.confirmed, updated.waitlisted) == (2, 0)


def test_capacity_below_confirmed_places_is_refused(db, outbox, shift, volunteer, sign_up):
    s = shift(capacity=2)
    sign_up(s, volunteer("vol-0"))
    sign_up(s, volunteer("vol-1"))
    with pytest.raises(Conflict) as err:
        shifts.update_shift(
            db_session=db, outbox=outbox, center_id=CENTER, ref=s.id, data={"capacity": 1}, now=NOW
        )
    assert err.value.code == "CAPACITY_BELOW_CONFIRMED"


def test_cancelling_a_shift_cancels_and_announces_every_sign_up(
    db, outbox, shift, volunteer, sign_up, events
):
    s = shift(capacity=1)
    sign_up(s, volunteer("vol-0"))
    sign_up(s, volunteer("vol-1"))
    shifts.cancel_shift(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        ref=s.id,
        reason="暴雨预警",
        by="sw-1",
        now=NOW,
    )
    db.commit()
    cancelled = events(volunteers_events.SIGNUP_CANCELLED)
    assert sorted(e["data"]["person_id"] for e in cancelled) == ["vol-0", "vol-1"]
    assert events(volunteers_events.SIGNUP_PROMOTED) == []
    [event] = events(volunteers_events.SHIFT_CANCELLED)
    assert event["data"]["reason"] == "暴雨预警"


def test_shifts_are_found_by_their_ref_and_listed_with_free_places(db, shift, volunteer, sign_up):
    full = shift(capacity=1, ref="demo-full")
    sign_up(full, volunteer("vol-0"))
    open_ = shift(capacity=2, start_in=timedelta(days=2), ref="demo-open")
    assert shifts.get_shift(db_session=db, center_id=CENTER, ref="demo-full").id == full.id
    items, total = shifts.list_shifts(
        db_session=db, center_id=CENTER, query={"available": True, "limit": 10, "offset": 0}
    )
    assert [s.id for s in items] == [open_.id] and total == 1
