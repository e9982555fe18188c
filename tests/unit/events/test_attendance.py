"""Check-in at the door, walk-ins, recorded activities, and person-times (人次) statistics."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from lianxin.contracts.events.operations import (
    ActivityRecords,
    AttendanceQuery,
    CheckIn,
    NewProgramme,
    NewRegistration,
    NewRoom,
)
from lianxin.contracts.schema import load
from lianxin.errors import InvalidInput
from services.events import activities, attendance, programmes, registrations, views
from services.events.exceptions import (
    ActivityStateConflict,
    AlreadyCheckedIn,
    CheckInClosed,
    RegistrationNotFound,
    RegistrationStateConflict,
)
from services.events.models import Registration

CENTER = "yanminghu"


@pytest.fixture
def activity(new_activity):
    return new_activity(capacity=3)


@pytest.fixture
def registered(db, activity, actors, now):
    """res-1 with two family members (confirmed), res-2 (waitlisted)."""
    made = []
    for n, members in ((1, ["张书芬", "王小明"]), (2, [])):
        made.append(
            registrations.register(
                db_session=db.session,
                outbox=db.outbox,
                center_id=CENTER,
                activity_id=activity.id,
                data=NewRegistration(members=members),
                actor=actors.resident(n),
                now=now + timedelta(seconds=n),
            )
        )
    db.session.commit()
    db.new()
    return made


def check_in(db, activity, actor, when, **payload):
    registration = attendance.check_in(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=activity.id,
        data=load(CheckIn, payload),
        actor=actor,
        now=when,
    )
    db.session.commit()
    return registration


def test_check_in_by_code_counts_the_party_as_person_times(db, activity, registered, actors):
    holder = registered[0]
    at_the_door = activity.starts_at - timedelta(minutes=10)
    checked = check_in(db, activity, actors.volunteer, at_the_door, code=holder.code)
    assert checked.checked_in_at == at_the_door and checked.attended == 3
    assert db.session.get(Registration, holder.id).checked_in_by == "vol-1"
    [event] = db.new()
    assert event["type"].endswith("registration.checked_in.v1")
    assert event["data"]["person_times"] == 3 and event["data"]["person_id"] == "res-1"
    [view] = views.describe(db_session=db.session, activities=[activity])
    assert view["person_times"] == 3


def test_staff_check_in_by_registration_counts_who_actually_came(db, activity, registered, actors):
    checked = check_in(
        db, activity, actors.staff, activity.starts_at, registration_id=registered[0].id, attended=2
    )
    assert checked.attended == 2
    with pytest.raises(InvalidInput) as err:
        check_in(
            db,
            activity,
            actors.staff,
            activity.starts_at,
            registration_id=registered[0].id,
            attended=4,
        )
    assert "attended" in err.value.fields


def test_checking_in_twice_is_refused(db, activity, registered, actors):
    check_in(db, activity, actors.staff, activity.starts_at, code=registered[0].code)
    db.new()
    with pytest.raises(AlreadyCheckedIn):
        check_in(db, activity, actors.staff, activity.starts_at, code=registered[0].code)
    db.session.rollback()
    assert db.new() == []


def test_a_waitlisted_registration_cannot_check_in(db, activity, registered, actors):
    with pytest.raises(RegistrationStateConflict, match="候补"):
        check_in(db, activity, actors.staff, activity.starts_at, code=registered[1].code)


def test_an_unknown_code_is_refused(db, activity, registered, actors, new_activity):
    with pytest.raises(RegistrationNotFound, match="签到码无效"):
        check_in(db, activity, actors.staff, activity.starts_at, code="AAAAAA")
    # A code belongs to its own activity only.
    other = new_activity(room="children", capacity=5)
    with pytest.raises(RegistrationNotFound):
        check_in(db, other, actors.staff, other.starts_at, code=registered[0].code)


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=3)])
def test_check_in_is_open_from_an_hour_before_to_an_hour_after(
    db, activity, registered, actors, offset
):
    with pytest.raises(CheckInClosed):
        check_in(db, activity, actors.staff, activity.starts_at + offset, code=registered[0].code)
    db.session.rollback()
    assert db.session.get(Registration, registered[0].id).checked_in_at is None


def test_a_cancelled_activity_checks_no_one_in(db, activity, registered, actors, now):
    activities.cancel_activity(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=activity.id,
        reason="暴雨预警",
        actor=actors.staff,
        now=now,
    )
    db.session.commit()
    with pytest.raises(ActivityStateConflict):
        check_in(db, activity, actors.staff, activity.starts_at, code=registered[0].code)


def test_walk_ins_add_person_times(db, activity, registered, actors):
    attendance.record_walk_ins(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=activity.id,
        count=12,
        actor=actors.staff,
        now=activity.starts_at,
    )
    db.session.commit()
    check_in(db, activity, actors.staff, activity.starts_at, code=registered[0].code)
    [walk_in, _checked] = db.new()
    assert walk_in["type"].endswith("attendance.recorded.v1")
    assert walk_in["data"]["person_times"] == 12 and walk_in["data"]["source"] == "walk_in"
    [view] = views.describe(db_session=db.session, activities=[activity])
    assert (view["walk_ins"], view["person_times"]) == (12, 15)


def record(db, actors, now, items):
    done = attendance.record_activities(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        items=load(ActivityRecords, {"items": items})["items"],
        actor=actors.staff,
        now=now,
    )
    db.session.commit()
    return done


def past(now, days, **extra):
    starts = now - timedelta(days=days)
    return {
        "title": "老年太极",
        "programme": "yuedong_elderly",
        "audience": "elderly",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "room": "sports",
        "attendance": 50,
        **extra,
    }


def test_recording_a_held_activity_counts_its_sign_in_sheet(db, actors, now):
    [recorded] = record(db, actors, now, [past(now, 3)])
    assert recorded.state == "completed" and recorded.walk_ins == 50
    [event] = db.new()
    assert event["data"]["source"] == "record" and event["data"]["person_times"] == 50


def test_a_bad_record_is_refused_naming_the_item_and_nothing_is_stored(db, actors, now):
    from services.events.models import Activity

    with pytest.raises(InvalidInput) as err:
        record(db, actors, now, [past(now, 3), past(now, -1), past(now, 5, attendance=81)])
    assert set(err.value.fields["items"]) == {1, 2}
    assert "ends_at" in err.value.fields["items"][1]
    assert "attendance" in err.value.fields["items"][2]
    db.session.rollback()
    assert db.session.scalars(select(Activity)).all() == [] and db.new() == []


def stats(db, now, **query):
    return attendance.attendance_stats(
        db_session=db.session, center_id=CENTER, query=load(AttendanceQuery, query), now=now
    )


def test_person_times_by_programme_audience_month_and_activity(
    db, activity, registered, actors, now
):
    record(
        db,
        actors,
        now,
        [
            past(now, 40),
            past(now, 10, attendance=30),
            past(
                now,
                9,
                title="亲子手工",
                programme=None,
                audience="families",
                room="children",
                attendance=20,
            ),
        ],
    )
    check_in(db, activity, actors.staff, activity.starts_at, code=registered[0].code)
    later = activity.ends_at + timedelta(hours=2)
    by_programme = stats(db, later, group_by="programme")
    assert (by_programme["activities"], by_programme["person_times"]) == (4, 103)
    assert [
        (g["key"], g["label"], g["activities"], g["person_times"]) for g in by_programme["groups"]
    ] == [("yuedong_elderly", "悦动耄耋——老年人康乐服务", 3, 83), ("none", "未归入项目", 1, 20)]
    by_audience = stats(db, later, group_by="audience")
    assert {g["label"]: g["person_times"] for g in by_audience["groups"]} == {
        "老年人": 83,
        "家庭": 20,
    }
    by_month = stats(db, later, group_by="month")
    assert [(g["key"], g["person_times"]) for g in by_month["groups"]] == [
        ("2026-10", 50),
        ("2026-11", 50),
        ("2026-12", 3),
    ]
    assert by_month["groups"][0]["label"] == "2026年10月"
    only = stats(db, later, group_by="activity", audience="families")
    assert [g["label"] for g in only["groups"]] == ["亲子手工（2026-11-21）"]


def test_future_and_cancelled_activities_do_not_count(db, activity, registered, actors, now):
    [held] = record(db, actors, now, [past(now, 2)])
    assert stats(db, now)["person_times"] == 50  # the upcoming activity is not held yet
    assert stats(db, now, **{"from": "2026-11-29", "to": "2026-11-29"})["activities"] == 0
    activities.cancel_activity(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=activity.id,
        reason="改期",
        actor=actors.staff,
        now=now,
    )
    db.session.commit()
    assert stats(db, activity.ends_at + timedelta(days=1))["activities"] == 1
    assert held.walk_ins == 50


def test_the_seed_year_of_yuedong_elderly_is_14700_person_times(db, actors, now):
    """The report: 悦动耄耋 served 14,700 person-times in a year."""
    from lianxin import seed
    from services.events.rooms import add_room

    existing = {"sports", "children", "meeting"}
    for room in seed.ROOMS:
        if room["code"] not in existing:
            add_room(
                db_session=db.session,
                center_id=CENTER,
                data=NewRoom(**{"equipment": [], "needs_approval": False, **room}),
            )
    for programme in seed.PROGRAMMES[:2] + seed.PROGRAMMES[3:]:
        programmes.add_programme(
            db_session=db.session,
            center_id=CENTER,
            data=NewProgramme(**{"description": "", **programme}),
        )
    db.session.commit()
    history = seed.activity_history(now)
    record(db, actors, now, history)
    year = stats(db, now, group_by="programme", programme="yuedong_elderly")
    assert year["person_times"] == 14700 and year["activities"] == 52 * 6
    assert year["from_"] == date(2025, 12, 1) and year["to"] == date(2026, 11, 30)
    months = stats(db, now, group_by="month", programme="yuedong_elderly")["groups"]
    assert len(months) == 12 and sum(m["person_times"] for m in months) == 14700
    festivals = stats(db, now, programme="our_festivals")
    assert festivals["groups"][0]["label"] == "我们的节日——社区文化营造"
    assert datetime.fromisoformat(history[0]["starts_at"]) >= now - timedelta(days=365)
