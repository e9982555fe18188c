"""The week's calendar and the iCalendar exports of an activity and of a room."""

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from lianxin.contracts.events.operations import BookingCreate, CalendarQuery, NewRoom
from lianxin.contracts.schema import load
from lianxin.errors import InvalidInput
from services.events import activities, bookings, schedule
from services.events.exceptions import ActivityNotFound, RoomNotFound

CENTER = "yanminghu"


def book(db, actor, now, start, hours=2, room="dance", **extra):
    data = load(
        BookingCreate,
        {
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=hours)).isoformat(),
            "purpose": "社区舞蹈队排练",
            **extra,
        },
    )
    made = bookings.book_room(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        code=room,
        data=data,
        actor=actor,
        now=now,
    )
    db.session.commit()
    return made


@pytest.fixture
def week(db, new_activity, actors, now):
    """This week (2026-W49): an activity, a draft, a rehearsal series and a resident's request."""
    from services.events.rooms import add_room

    add_room(
        db_session=db.session,
        center_id=CENTER,
        data=NewRoom(
            code="dance", name="舞蹈排练室", capacity=40, equipment=[], needs_approval=False
        ),
    )
    db.session.commit()
    activity = new_activity()
    draft = new_activity(
        publish=False,
        title="迎新春 写福字",
        room="children",
        starts_at=now + timedelta(days=4),
        ends_at=now + timedelta(days=4, hours=2),
    )
    series = book(db, actors.staff, now, now + timedelta(days=1, hours=11), repeat_weeks=2)
    request = book(db, actors.resident(1), now, now + timedelta(days=5), purpose="书法小组")
    return activity, draft, series, request


def test_the_week_lists_activities_and_other_bookings_in_time_order(db, week, actors, now):
    activity, draft, series, request = week
    cal = schedule.week_calendar(
        db_session=db.session, center_id=CENTER, week="2026-W49", actor=actors.staff, now=now
    )
    assert cal["week"] == "2026-W49"
    assert cal["starts_at"] == datetime(2026, 11, 29, 16, tzinfo=UTC)  # Monday 00:00 +08:00
    assert [(i["kind"], i["id"]) for i in cal["items"]] == [
        ("booking", series[0].id),
        ("activity", activity.id),
        ("activity", draft.id),
        ("booking", request[0].id),
    ]
    assert cal["items"][1]["room_name"] == "文体活动室" and cal["items"][1]["place"] == "文体活动室"
    # The activity's own room booking is not listed twice.
    assert activity.booking_id not in {i["id"] for i in cal["items"]}


def test_residents_see_no_drafts_and_no_pending_requests(db, week, actors, now):
    activity, _draft, series, _request = week
    cal = schedule.week_calendar(
        db_session=db.session, center_id=CENTER, week=None, actor=actors.resident(2), now=now
    )
    assert cal["week"] == "2026-W49"
    assert [i["id"] for i in cal["items"]] == [series[0].id, activity.id]


def test_the_next_week_and_one_room(db, week, actors, now):
    _activity, _draft, series, _request = week
    cal = schedule.week_calendar(
        db_session=db.session,
        center_id=CENTER,
        week="2026-W50",
        room="dance",
        actor=actors.staff,
        now=now,
    )
    assert [i["id"] for i in cal["items"]] == [series[1].id]
    with pytest.raises(RoomNotFound):
        schedule.week_calendar(
            db_session=db.session,
            center_id=CENTER,
            week="2026-W50",
            room="ballroom",
            actor=actors.staff,
            now=now,
        )


@pytest.mark.parametrize("week", ["2026-W54", "2026-49", "W49", "2026-W00", "2025-W53"])
def test_a_week_that_does_not_exist_is_refused(week):
    with pytest.raises(InvalidInput) as err:
        load(CalendarQuery(), {"week": week})
    assert "week" in err.value.fields


def test_an_activity_exports_as_one_icalendar_event(db, week, actors, now):
    activity, *_ = week
    text = schedule.activity_ics(
        db_session=db.session,
        center_id=CENTER,
        activity_id=activity.id,
        actor=actors.resident(1),
        now=now,
    )
    cal = Calendar.from_ical(text)
    [event] = cal.walk("VEVENT")
    assert str(event["summary"]) == "趣味益智 健康生活"
    assert (
        event.decoded("dtstart") == activity.starts_at
        and event.decoded("dtend") == activity.ends_at
    )
    assert str(event["location"]) == "文体活动室" and str(event["status"]) == "CONFIRMED"
    assert str(event["uid"]) == f"activity-{activity.id}@lianxin.cn"
    assert "悦动耄耋" in str(event["description"]) and "老年人" in str(event["description"])
    assert str(cal["version"]) == "2.0" and "PRODID" in text


def test_a_changed_then_cancelled_activity_exports_a_later_sequence(db, week, actors, now):
    activity, *_ = week
    activities.update_activity(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=activity.id,
        actor=actors.staff,
        now=now,
        changes={"title": "趣味益智 快乐生活"},
    )
    activities.cancel_activity(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=activity.id,
        reason="场地维修",
        actor=actors.staff,
        now=now,
    )
    db.session.commit()
    [event] = Calendar.from_ical(
        schedule.activity_ics(
            db_session=db.session,
            center_id=CENTER,
            activity_id=activity.id,
            actor=actors.staff,
            now=now,
        )
    ).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 2
    assert "场地维修" in str(event["description"])


def test_a_draft_does_not_export_to_residents(db, week, actors, now):
    _activity, draft, *_ = week
    with pytest.raises(ActivityNotFound):
        schedule.activity_ics(
            db_session=db.session,
            center_id=CENTER,
            activity_id=draft.id,
            actor=actors.resident(1),
            now=now,
        )


def test_the_centers_public_calendar_has_what_residents_see_and_no_drafts(db, week, actors, now):
    activity, draft, *_ = week
    later = activities.get_activity(
        db_session=db.session, center_id=CENTER, activity_id=activity.id, actor=actors.staff
    )
    cancelled = activities.cancel_activity(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=later.id,
        reason="场地维修",
        actor=actors.staff,
        now=now,
    )
    db.session.commit()
    cal = Calendar.from_ical(
        schedule.center_activities_ics(
            db_session=db.session,
            center_id=CENTER,
            name="雁鸣湖镇镇区社区党群服务中心活动",
            now=now,
        )
    )
    assert str(cal["x-wr-calname"]) == "雁鸣湖镇镇区社区党群服务中心活动"
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert f"activity-{cancelled.id}@lianxin.cn" in events
    assert str(events[f"activity-{cancelled.id}@lianxin.cn"]["status"]) == "CANCELLED"
    assert f"activity-{draft.id}@lianxin.cn" not in events
    assert (
        schedule.center_activities_ics(
            db_session=db.session, center_id="nowhere", name="x", now=now
        ).count("VEVENT")
        == 0
    )


def test_a_room_exports_its_bookings_with_pending_ones_tentative(db, week, actors, now):
    _activity, _draft, series, _request = week
    book(db, actors.resident(3), now, now + timedelta(days=3), purpose="广场舞队加练")
    cal = Calendar.from_ical(
        schedule.room_ics(db_session=db.session, center_id=CENTER, code="dance", now=now)
    )
    assert str(cal["x-wr-calname"]) == "舞蹈排练室"
    events = cal.walk("VEVENT")
    assert [(str(e["summary"]), str(e["status"])) for e in events] == [
        ("社区舞蹈队排练", "CONFIRMED"),
        ("广场舞队加练", "TENTATIVE"),
        ("书法小组", "TENTATIVE"),
        ("社区舞蹈队排练", "CONFIRMED"),
    ]
    assert str(events[0]["uid"]) == f"booking-{series[0].id}@lianxin.cn"
