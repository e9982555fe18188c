"""Check-in and check-out, no-shows, the sweep of shifts long over, reliability."""

from datetime import timedelta

import pytest

from lianxin.contracts.volunteers import events as volunteers_events
from lianxin.errors import Conflict, InvalidInput
from lianxin.roles import Principal
from services.volunteers import attendance, signups, totals
from services.volunteers.models import HourEntry, Signup

from .conftest import CENTER, NOW, STAFF

DAY = timedelta(days=1)


def test_check_out_counts_the_minutes_inside_the_shift_and_awaits_approval(
    held, attend, db, events
):
    s, v = held
    signup = attend(s, v, s.starts_at - timedelta(minutes=20), s.starts_at + timedelta(minutes=95))
    assert signup.status == "completed" and signup.minutes == 95 and signup.hours == 1.58
    [entry] = db.query(HourEntry).all()
    assert (entry.status, entry.minutes, entry.source) == ("pending", 95, "attendance")
    [out] = events(volunteers_events.CHECKED_OUT)
    assert out["data"]["hours"] == 1.58 and out["data"]["person_id"] == "vol-1"
    assert len(events(volunteers_events.CHECKED_IN)) == 1


def test_check_out_without_check_in_is_refused(db, outbox, held):
    s, v = held
    with pytest.raises(Conflict) as err:
        attendance.check_out(
            db_session=db,
            outbox=outbox,
            center_id=CENTER,
            shift_ref=s.id,
            volunteer=v,
            actor=STAFF,
            now=s.starts_at + timedelta(hours=1),
        )
    assert err.value.code == "NOT_CHECKED_IN" and err.value.detail == "尚未签到，不能签退"


def test_check_out_before_the_check_in_time_is_refused(db, outbox, held):
    s, v = held
    attendance.check_in(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        shift_ref=s.id,
        volunteer=v,
        actor=STAFF,
        now=s.starts_at + timedelta(minutes=30),
    )
    with pytest.raises(InvalidInput) as err:
        attendance.check_out(
            db_session=db,
            outbox=outbox,
            center_id=CENTER,
            shift_ref=s.id,
            volunteer=v,
            actor=STAFF,
            at=s.starts_at,
            now=s.starts_at + timedelta(hours=1),
        )
    assert "at" in err.value.fields
    assert db.get(Signup, signups.live_signup(db, s, v).id).status == "checked_in"


def test_check_in_is_open_from_an_hour_before_until_the_end(db, outbox, held):
    s, v = held
    with pytest.raises(Conflict) as err:
        attendance.check_in(
            db_session=db,
            outbox=outbox,
            center_id=CENTER,
            shift_ref=s.id,
            volunteer=v,
            actor=STAFF,
            now=s.starts_at - timedelta(minutes=61),
        )
    assert err.value.code == "OUTSIDE_CHECK_IN_WINDOW"
    signup = attendance.check_in(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        shift_ref=s.id,
        volunteer=v,
        actor=STAFF,
        now=s.starts_at - timedelta(minutes=59),
    )
    assert signup.status == "checked_in"


def test_a_waitlisted_volunteer_cannot_check_in(db, outbox, shift, volunteer, sign_up):
    s = shift(capacity=1)
    sign_up(s, volunteer("vol-0"))
    waiting = volunteer("vol-1")
    sign_up(s, waiting)
    with pytest.raises(Conflict) as err:
        attendance.check_in(
            db_session=db,
            outbox=outbox,
            center_id=CENTER,
            shift_ref=s.id,
            volunteer=waiting,
            actor=STAFF,
            now=s.starts_at,
        )
    assert err.value.code == "CANNOT_CHECK_IN"


def test_only_staff_may_record_an_earlier_time(db, outbox, held):
    s, v = held
    me = Principal(sub="vol-1", role="volunteer", centers=(CENTER,))
    with pytest.raises(InvalidInput) as err:
        attendance.check_in(
            db_session=db,
            outbox=outbox,
            center_id=CENTER,
            shift_ref=s.id,
            volunteer=v,
            actor=me,
            at=s.starts_at,
            now=s.starts_at + timedelta(minutes=10),
        )
    assert "at" in err.value.fields


def test_a_no_show_is_refused_until_the_shift_has_ended(db, outbox, held, events):
    s, v = held
    for moment in (s.starts_at - timedelta(minutes=5), s.starts_at + timedelta(minutes=30)):
        with pytest.raises(Conflict) as err:
            attendance.mark_no_show(
                db_session=db,
                outbox=outbox,
                center_id=CENTER,
                shift_ref=s.id,
                volunteer=v,
                now=moment,
            )
        assert err.value.code == "SHIFT_NOT_ENDED"
        assert err.value.detail.startswith("班次尚未结束，不能标记未到")
    assert signups.live_signup(db, s, v).status == "confirmed" and not events(
        volunteers_events.NO_SHOW
    )
    # Still on time to come: the volunteer may check in up to the end of the shift.
    late = attendance.check_in(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        shift_ref=s.id,
        volunteer=v,
        actor=STAFF,
        now=s.ends_at - timedelta(minutes=1),
    )
    assert late.status == "checked_in"


def test_a_no_show_is_recorded_by_staff_once_the_shift_has_ended(db, outbox, held, events):
    s, v = held
    signup = attendance.mark_no_show(
        db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id, volunteer=v, now=s.ends_at
    )
    assert (
        signup.status == "no_show"
        and events(volunteers_events.NO_SHOW)[0]["data"]["person_id"] == "vol-1"
    )


def test_sweep_marks_who_never_came_and_checks_out_who_forgot(
    db, outbox, shift, volunteer, sign_up, attend, events
):
    s = shift(hours=2)
    came, absent, forgetful = volunteer("vol-1"), volunteer("vol-2"), volunteer("vol-3")
    for v in (came, absent, forgetful):
        sign_up(s, v)
    attend(s, came, s.starts_at, s.ends_at)
    attendance.check_in(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        shift_ref=s.id,
        volunteer=forgetful,
        actor=STAFF,
        now=s.starts_at,
    )
    grace = timedelta(hours=1)
    assert attendance.sweep_finished_shifts(
        db_session=db, outbox=outbox, grace=grace, now=s.ends_at + timedelta(minutes=30)
    ) == {"no_shows": 0, "checked_out": 0}
    assert attendance.sweep_finished_shifts(
        db_session=db, outbox=outbox, grace=grace, now=s.ends_at + timedelta(hours=2)
    ) == {"no_shows": 1, "checked_out": 1}
    db.commit()
    assert totals.volunteer_totals(db_session=db, volunteer=absent)["reliability"] == 0.0
    assert totals.volunteer_totals(db_session=db, volunteer=came)["reliability"] == 1.0
    swept = signups.live_signup(db, s, forgetful)
    assert (swept.status, swept.checked_out_at, swept.checked_out_by) == (
        "completed",
        s.ends_at,
        "system",
    )
    assert swept.minutes == 120 and swept.hours_status == "pending"
    assert [e["data"]["person_id"] for e in events(volunteers_events.NO_SHOW)] == ["vol-2"]


def test_check_out_before_the_shift_starts_is_refused(db, outbox, held):
    s, v = held
    attendance.check_in(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        shift_ref=s.id,
        volunteer=v,
        actor=STAFF,
        now=s.starts_at - timedelta(minutes=30),
    )
    with pytest.raises(Conflict) as err:
        attendance.check_out(
            db_session=db,
            outbox=outbox,
            center_id=CENTER,
            shift_ref=s.id,
            volunteer=v,
            actor=STAFF,
            now=s.starts_at - timedelta(minutes=10),
        )
    assert err.value.code == "SHIFT_NOT_STARTED"


def test_reliability_counts_attended_against_no_shows_and_late_cancellations(
    db, outbox, shift, volunteer, sign_up, attend
):
    v = volunteer("vol-1")
    me = Principal(sub="vol-1", role="volunteer", centers=(CENTER,))
    for day in (1, 2, 3):
        s = shift(start_in=DAY * day)
        sign_up(s, v)
        attend(s, v, s.starts_at, s.ends_at)
    missed = shift(start_in=DAY * 4)
    sign_up(missed, v)
    attendance.mark_no_show(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        shift_ref=missed.id,
        volunteer=v,
        now=missed.ends_at + timedelta(hours=1),
    )
    dropped = shift(start_in=timedelta(hours=3))
    late = sign_up(dropped, v)
    signups.cancel_signup(db_session=db, outbox=outbox, signup=late, actor=me, reason=None, now=NOW)
    record = totals.volunteer_totals(db_session=db, volunteer=v)
    assert (record["shifts_completed"], record["no_shows"], record["late_cancellations"]) == (
        3,
        1,
        1,
    )
    assert record["reliability"] == 0.6
