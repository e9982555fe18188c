"""Check-in and check-out, the hours ledger, corrections, no-shows, milestones, reliability."""

from datetime import timedelta

import pytest

from lianxin.contracts.volunteers import events as vc
from lianxin.errors import Conflict, InvalidInput
from lianxin.roles import Principal
from services.volunteers import domain
from services.volunteers.models import HourEntry, Signup

from .conftest import CENTER, NOW, STAFF

DAY = timedelta(days=1)


@pytest.fixture
def held(shift, volunteer, sign_up):
    """A 2-hour shift tomorrow 09:00 (Shanghai) and a volunteer confirmed on it."""
    s, v = shift(hours=2), volunteer("vol-1")
    sign_up(s, v)
    return s, v


def test_check_out_counts_the_minutes_inside_the_shift_and_awaits_approval(held, attend, db,
                                                                         events):
    s, v = held
    signup = attend(s, v, s.starts_at - timedelta(minutes=20), s.starts_at + timedelta(minutes=95))
    assert signup.status == "completed" and signup.minutes == 95 and signup.hours == 1.58
    [entry] = db.query(HourEntry).all()
    assert (entry.status, entry.minutes, entry.source) == ("pending", 95, "attendance")
    [out] = events(vc.CHECKED_OUT)
    assert out["data"]["hours"] == 1.58 and out["data"]["person_id"] == "vol-1"
    assert len(events(vc.CHECKED_IN)) == 1


def test_check_out_without_check_in_is_refused(db, outbox, held):
    s, v = held
    with pytest.raises(Conflict) as err:
        domain.check_out(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id,
                         volunteer=v, principal=STAFF, now=s.starts_at + timedelta(hours=1))
    assert err.value.code == "NOT_CHECKED_IN" and err.value.detail == "尚未签到，不能签退"


def test_check_out_before_the_check_in_time_is_refused(db, outbox, held):
    s, v = held
    domain.check_in(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id, volunteer=v,
                    principal=STAFF, now=s.starts_at + timedelta(minutes=30))
    with pytest.raises(InvalidInput) as err:
        domain.check_out(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id,
                         volunteer=v, principal=STAFF, at=s.starts_at,
                         now=s.starts_at + timedelta(hours=1))
    assert "at" in err.value.fields
    assert db.get(Signup, domain._live_signup(db, s, v).id).status == "checked_in"


def test_check_in_is_open_from_an_hour_before_until_the_end(db, outbox, held):
    s, v = held
    with pytest.raises(Conflict) as err:
        domain.check_in(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id,
                        volunteer=v, principal=STAFF, now=s.starts_at - timedelta(minutes=61))
    assert err.value.code == "OUTSIDE_CHECK_IN_WINDOW"
    signup = domain.check_in(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id,
                             volunteer=v, principal=STAFF, now=s.starts_at - timedelta(minutes=59))
    assert signup.status == "checked_in"


def test_a_waitlisted_volunteer_cannot_check_in(db, outbox, shift, volunteer, sign_up):
    s = shift(capacity=1)
    sign_up(s, volunteer("vol-0"))
    waiting = volunteer("vol-1")
    sign_up(s, waiting)
    with pytest.raises(Conflict) as err:
        domain.check_in(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id,
                        volunteer=waiting, principal=STAFF, now=s.starts_at)
    assert err.value.code == "CANNOT_CHECK_IN"


def test_only_staff_may_record_an_earlier_time(db, outbox, held):
    s, v = held
    me = Principal(sub="vol-1", role="volunteer", centers=(CENTER,))
    with pytest.raises(InvalidInput) as err:
        domain.check_in(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id,
                        volunteer=v, principal=me, at=s.starts_at,
                        now=s.starts_at + timedelta(minutes=10))
    assert "at" in err.value.fields


def test_approved_hours_count_and_crossing_50_hours_reaches_a_milestone(db, outbox, volunteer,
                                                                        shift, sign_up, attend,
                                                                        events):
    v = volunteer("vol-1")
    for day in range(3):  # 3 × 20 h shifts, approved one by one
        s = shift(start_in=DAY * (day + 1), hours=20)
        sign_up(s, v)
        attend(s, v, s.starts_at, s.ends_at)
        [entry] = domain.approve_shift_hours(db_session=db, outbox=outbox, center_id=CENTER,
                                             shift_ref=s.id, by="sw-1", now=s.ends_at)
        db.commit()
        assert entry.status == "approved"
    totals = domain.volunteer_totals(db_session=db, volunteer=v)
    assert totals["verified_hours"] == 60 and totals["participations"] == 3
    assert [m.milestone_hours for m in totals["milestones"]] == [50]
    assert totals["next_milestone"] == 100 and totals["reliability"] == 1.0
    [milestone] = events(vc.MILESTONE_REACHED)
    assert milestone["data"] == {"volunteer_id": v.id, "person_id": "vol-1",
                                 "milestone_hours": 50, "total_hours": 60.0}
    assert [e["data"]["total_hours"] for e in events(vc.HOURS_APPROVED)] == [20, 40, 60]


def test_hours_are_decided_once(db, outbox, held, attend):
    s, v = held
    attend(s, v, s.starts_at, s.ends_at)
    [entry] = db.query(HourEntry).all()
    domain.reject_hours(db_session=db, outbox=outbox, center_id=CENTER, entry_id=entry.id,
                        by="sw-1", note="未按要求完成服务")
    with pytest.raises(Conflict) as err:
        domain.approve_hours(db_session=db, outbox=outbox, center_id=CENTER, entry_id=entry.id,
                             by="sw-1")
    assert err.value.code == "HOURS_ALREADY_DECIDED"
    assert domain.volunteer_totals(db_session=db, volunteer=v)["verified_hours"] == 0


def test_approved_correction_replaces_the_counted_hours(db, outbox, held, attend, events):
    s, v = held
    signup = attend(s, v, s.starts_at, s.starts_at + timedelta(minutes=30))  # forgot to check out
    [entry] = db.query(HourEntry).all()
    domain.approve_hours(db_session=db, outbox=outbox, center_id=CENTER, entry_id=entry.id,
                         by="sw-1")
    me = Principal(sub="vol-1", role="volunteer", centers=(CENTER,))
    correction = domain.request_correction(
        db_session=db, outbox=outbox, center_id=CENTER, principal=me,
        data={"signup_id": signup.id, "checked_in_at": s.starts_at,
              "checked_out_at": s.ends_at, "reason": "忘记签退"}, now=s.ends_at + DAY)
    assert correction.hours == 2 and events(vc.CORRECTION_REQUESTED)
    domain.approve_correction(db_session=db, outbox=outbox, center_id=CENTER,
                              correction_id=correction.id, by="sw-1", now=s.ends_at + DAY)
    db.commit()
    assert db.get(HourEntry, entry.id).status == "superseded"
    totals = domain.volunteer_totals(db_session=db, volunteer=v)
    assert totals["verified_hours"] == 2 and totals["participations"] == 1
    assert v.verified_minutes == 120
    assert events(vc.HOURS_APPROVED)[-1]["data"]["correction_id"] == correction.id


def test_a_second_pending_correction_for_one_sign_up_is_a_conflict(db, outbox, held, attend):
    s, v = held
    signup = attend(s, v, s.starts_at, s.starts_at + timedelta(minutes=30))
    data = {"signup_id": signup.id, "checked_in_at": s.starts_at, "checked_out_at": s.ends_at,
            "reason": "忘记签退"}
    domain.request_correction(db_session=db, outbox=outbox, center_id=CENTER, principal=STAFF,
                              data=data, now=s.ends_at + DAY)
    with pytest.raises(Conflict):
        domain.request_correction(db_session=db, outbox=outbox, center_id=CENTER,
                                  principal=STAFF, data=data, now=s.ends_at + DAY)


def test_rejected_correction_changes_nothing(db, outbox, held, attend, events):
    s, v = held
    signup = attend(s, v, s.starts_at, s.starts_at + timedelta(minutes=30))
    correction = domain.request_correction(
        db_session=db, outbox=outbox, center_id=CENTER, principal=STAFF,
        data={"signup_id": signup.id, "checked_in_at": s.starts_at, "checked_out_at": s.ends_at,
              "reason": "忘记签退"}, now=s.ends_at + DAY)
    domain.reject_correction(db_session=db, outbox=outbox, center_id=CENTER,
                             correction_id=correction.id, by="sw-1", note="签退记录无误")
    assert correction.status == "rejected" and signup.minutes == 30
    assert events(vc.CORRECTION_REJECTED)[0]["data"]["reason"] == "签退记录无误"


def test_no_show_is_recorded_by_staff_once_the_shift_started(db, outbox, held, events):
    s, v = held
    with pytest.raises(Conflict):
        domain.mark_no_show(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id,
                            volunteer=v, now=s.starts_at - timedelta(minutes=5))
    signup = domain.mark_no_show(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id,
                                 volunteer=v, now=s.starts_at + timedelta(minutes=30))
    assert signup.status == "no_show" and events(vc.NO_SHOW)[0]["data"]["person_id"] == "vol-1"


def test_sweep_marks_who_never_came_and_checks_out_who_forgot(db, outbox, shift, volunteer,
                                                              sign_up, attend, events):
    s = shift(hours=2)
    came, absent, forgetful = volunteer("vol-1"), volunteer("vol-2"), volunteer("vol-3")
    for v in (came, absent, forgetful):
        sign_up(s, v)
    attend(s, came, s.starts_at, s.ends_at)
    domain.check_in(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id,
                    volunteer=forgetful, principal=STAFF, now=s.starts_at)
    grace = timedelta(hours=1)
    assert domain.sweep_finished_shifts(db_session=db, outbox=outbox, grace=grace,
                                        now=s.ends_at + timedelta(minutes=30)) == \
        {"no_shows": 0, "checked_out": 0}
    assert domain.sweep_finished_shifts(db_session=db, outbox=outbox, grace=grace,
                                        now=s.ends_at + timedelta(hours=2)) == \
        {"no_shows": 1, "checked_out": 1}
    db.commit()
    assert domain.volunteer_totals(db_session=db, volunteer=absent)["reliability"] == 0.0
    assert domain.volunteer_totals(db_session=db, volunteer=came)["reliability"] == 1.0
    swept = domain._live_signup(db, s, forgetful)
    assert (swept.status, swept.checked_out_at, swept.checked_out_by) == \
        ("completed", s.ends_at, "system")
    assert swept.minutes == 120 and swept.hours_status == "pending"
    assert [e["data"]["person_id"] for e in events(vc.NO_SHOW)] == ["vol-2"]


def test_check_out_before_the_shift_starts_is_refused(db, outbox, held):
    s, v = held
    domain.check_in(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id, volunteer=v,
                    principal=STAFF, now=s.starts_at - timedelta(minutes=30))
    with pytest.raises(Conflict) as err:
        domain.check_out(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id,
                         volunteer=v, principal=STAFF, now=s.starts_at - timedelta(minutes=10))
    assert err.value.code == "SHIFT_NOT_STARTED"


def test_reliability_counts_attended_against_no_shows_and_late_cancellations(
        db, outbox, shift, volunteer, sign_up, attend):
    v = volunteer("vol-1")
    me = Principal(sub="vol-1", role="volunteer", centers=(CENTER,))
    for day in (1, 2, 3):
        s = shift(start_in=DAY * day)
        sign_up(s, v)
        attend(s, v, s.starts_at, s.ends_at)
    missed = shift(start_in=DAY * 4)
    sign_up(missed, v)
    domain.mark_no_show(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=missed.id,
                        volunteer=v, now=missed.starts_at + timedelta(hours=1))
    dropped = shift(start_in=timedelta(hours=3))
    late = sign_up(dropped, v)
    domain.cancel_signup(db_session=db, outbox=outbox, center_id=CENTER, signup_id=late.id,
                         principal=me, reason=None, now=NOW)
    totals = domain.volunteer_totals(db_session=db, volunteer=v)
    assert (totals["shifts_completed"], totals["no_shows"], totals["late_cancellations"]) == (3, 1, 1)
    assert totals["reliability"] == 0.6


def test_a_no_show_with_an_approved_correction_counts_as_attended(db, outbox, held):
    s, v = held
    signup = domain.mark_no_show(db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id,
                                 volunteer=v, now=s.ends_at)
    correction = domain.request_correction(
        db_session=db, outbox=outbox, center_id=CENTER, principal=STAFF,
        data={"signup_id": signup.id, "checked_in_at": s.starts_at, "checked_out_at": s.ends_at,
              "reason": "手机没电，未能签到"}, now=s.ends_at + DAY)
    domain.approve_correction(db_session=db, outbox=outbox, center_id=CENTER,
                              correction_id=correction.id, by="sw-1", now=s.ends_at + DAY)
    totals = domain.volunteer_totals(db_session=db, volunteer=v)
    assert signup.status == "completed" and totals["no_shows"] == 0
    assert totals["verified_hours"] == 2
