"""Correction requests: approved ones replace the counted hours, rejected ones change nothing."""

from datetime import timedelta

import pytest

from lianxin.contracts.volunteers import events as volunteers_events
from lianxin.contracts.volunteers.operations import NewCorrection
from lianxin.errors import Conflict
from lianxin.roles import Principal
from services.volunteers import attendance, corrections, hours, totals
from services.volunteers.models import HourEntry

from .conftest import CENTER, STAFF

DAY = timedelta(days=1)


def test_approved_correction_replaces_the_counted_hours(db, outbox, held, attend, events):
    s, v = held
    signup = attend(s, v, s.starts_at, s.starts_at + timedelta(minutes=30))  # forgot to check out
    [entry] = db.query(HourEntry).all()
    hours.approve_hours(
        db_session=db, outbox=outbox, center_id=CENTER, entry_id=entry.id, by="sw-1"
    )
    me = Principal(sub="vol-1", role="volunteer", centers=(CENTER,))
    correction = corrections.request_correction(
        db_session=db,
        outbox=outbox,
        signup=signup,
        requested_by=me.id,
        data=NewCorrection(signup.id, s.starts_at, s.ends_at, "忘记签退"),
        now=s.ends_at + DAY,
    )
    assert correction.hours == 2 and events(volunteers_events.CORRECTION_REQUESTED)
    corrections.approve_correction(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        correction_id=correction.id,
        by="sw-1",
        now=s.ends_at + DAY,
    )
    db.commit()
    assert db.get(HourEntry, entry.id).status == "superseded"
    record = totals.volunteer_totals(db_session=db, volunteer=v)
    assert record["verified_hours"] == 2 and record["participations"] == 1
    assert v.verified_minutes == 120
    assert events(volunteers_events.HOURS_APPROVED)[-1]["data"]["correction_id"] == correction.id


def test_a_second_pending_correction_for_one_sign_up_is_a_conflict(db, outbox, held, attend):
    s, v = held
    signup = attend(s, v, s.starts_at, s.starts_at + timedelta(minutes=30))
    data = NewCorrection(signup.id, s.starts_at, s.ends_at, "忘记签退")
    corrections.request_correction(
        db_session=db,
        outbox=outbox,
        signup=signup,
        requested_by=STAFF.id,
        data=data,
        now=s.ends_at + DAY,
    )
    with pytest.raises(Conflict):
        corrections.request_correction(
            db_session=db,
            outbox=outbox,
            signup=signup,
            requested_by=STAFF.id,
            data=data,
            now=s.ends_at + DAY,
        )


def test_rejected_correction_changes_nothing(db, outbox, held, attend, events):
    s, v = held
    signup = attend(s, v, s.starts_at, s.starts_at + timedelta(minutes=30))
    correction = corrections.request_correction(
        db_session=db,
        outbox=outbox,
        signup=signup,
        requested_by=STAFF.id,
        data=NewCorrection(signup.id, s.starts_at, s.ends_at, "忘记签退"),
        now=s.ends_at + DAY,
    )
    corrections.reject_correction(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        correction_id=correction.id,
        by="sw-1",
        note="签退记录无误",
    )
    assert correction.status == "rejected" and signup.minutes == 30
    assert events(volunteers_events.CORRECTION_REJECTED)[0]["data"]["reason"] == "签退记录无误"


def test_a_no_show_with_an_approved_correction_counts_as_attended(db, outbox, held):
    s, v = held
    signup = attendance.mark_no_show(
        db_session=db, outbox=outbox, center_id=CENTER, shift_ref=s.id, volunteer=v, now=s.ends_at
    )
    correction = corrections.request_correction(
        db_session=db,
        outbox=outbox,
        signup=signup,
        requested_by=STAFF.id,
        data=NewCorrection(signup.id, s.starts_at, s.ends_at, "手机没电，未能签到"),
        now=s.ends_at + DAY,
    )
    corrections.approve_correction(
        db_session=db,
        outbox=outbox,
        center_id=CENTER,
        correction_id=correction.id,
        by="sw-1",
        now=s.ends_at + DAY,
    )
    record = totals.volunteer_totals(db_session=db, volunteer=v)
    assert signup.status == "completed" and record["no_shows"] == 0
    assert record["verified_hours"] == 2
