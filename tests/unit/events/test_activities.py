"""Activities: publish (booking the room), drafts, changes told to registrants, cancellation."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from lianxin.contracts.events.operations import NewRegistration
from lianxin.contracts.schema import load
from lianxin.errors import InvalidInput
from lianxin.roles import Principal
from services.events import activities, attendance, registrations, views
from services.events.exceptions import (
    ActivityNotFound,
    ActivityStateConflict,
    CapacityConflict,
    InvalidProgramme,
    InvalidRoom,
    RoomUnavailable,
)
from services.events.models import Activity, RoomBooking

CENTER = "yanminghu"


def create(db, data, actor, now):
    activity = activities.create_activity(
        db_session=db.session, outbox=db.outbox, center_id=CENTER, data=data, actor=actor, now=now
    )
    db.session.commit()
    return activity


def register(db, activity, n, now, members=()):
    registration = registrations.register(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=activity.id,
        data=NewRegistration(members=list(members)),
        actor=Principal.person(f"res-{n}", "resident"),
        now=now,
    )
    db.session.commit()
    return registration


def bookings(db):
    return [
        (b.room, b.state, b.activity_id)
        for b in db.session.scalars(
            select(RoomBooking).order_by(RoomBooking.created_at, RoomBooking.id)
        )
    ]


def test_published_activity_books_its_room_and_is_announced(db, activity_data, actors, now):
    activity = create(db, activity_data(), actors.staff, now)
    assert activity.state == "published"
    assert bookings(db) == [("sports", "confirmed", activity.id)]
    booked, published = db.new()
    assert (
        booked["type"].endswith("room.booked.v1")
        and booked["data"]["purpose"] == "趣味益智 健康生活"
    )
    assert published["type"].endswith("activity.published.v1")
    assert published["data"]["place"] == "文体活动室" and published["data"]["capacity"] == 20
    [view] = views.describe(db_session=db.session, activities=[activity])
    assert view["room_name"] == "文体活动室" and view["booking_state"] == "confirmed"
    assert view["registration_closes_at"] == activity.starts_at and view["places_left"] == 20


def test_activity_outside_the_center_needs_a_place_not_a_room(db, activity_data, actors, now):
    activity = create(
        db, activity_data(room=None, place="凤凰台街道党群服务中心"), actors.staff, now
    )
    assert bookings(db) == [] and activity.place == "凤凰台街道党群服务中心"


@pytest.mark.parametrize(
    "overrides, error, field",
    [
        ({"starts_at_days": -1}, InvalidInput, "starts_at"),
        ({"capacity": 81}, InvalidInput, "capacity"),
        ({"room": "ballroom"}, InvalidRoom, "room"),
        ({"programme": "unknown"}, InvalidProgramme, "programme"),
    ],
)
def test_bad_activity_is_refused_naming_the_field_and_nothing_is_stored(
    db, activity_data, actors, now, overrides, error, field
):
    if "starts_at_days" in overrides:
        starts = now + timedelta(days=overrides.pop("starts_at_days"))
        overrides = {"starts_at": starts, "ends_at": starts + timedelta(hours=1)}
    with pytest.raises(error) as err:
        create(db, activity_data(**overrides), actors.staff, now)
    assert field in err.value.fields
    db.session.rollback()
    assert db.session.scalars(select(Activity)).all() == [] and bookings(db) == []
    assert db.new() == []


def test_activity_in_a_room_already_booked_is_refused(db, activity_data, actors, now):
    first = create(db, activity_data(), actors.staff, now)
    db.new()
    with pytest.raises(RoomUnavailable, match="已被占用"):
        create(
            db,
            activity_data(
                title="老年太极",
                starts_at=first.starts_at + timedelta(minutes=30),
                ends_at=first.ends_at + timedelta(hours=1),
            ),
            actors.staff,
            now,
        )
    db.session.rollback()
    assert [a.title for a in db.session.scalars(select(Activity))] == ["趣味益智 健康生活"]
    assert len(bookings(db)) == 1 and db.new() == []


def test_staff_activity_in_a_room_that_needs_approval_waits_for_an_admin(
    db, activity_data, actors, now
):
    activity = create(db, activity_data(room="meeting"), actors.staff, now)
    [view] = views.describe(db_session=db.session, activities=[activity])
    assert view["booking_state"] == "pending"
    assert db.types() == ["room.requested", "activity.published"]


def test_a_draft_is_hidden_from_residents_until_published(db, activity_data, actors, now):
    draft = create(db, activity_data(publish=False), actors.staff, now)
    assert db.types() == ["room.booked"]  # the room is held, nobody is told
    with pytest.raises(ActivityNotFound):
        activities.get_activity(
            db_session=db.session, center_id=CENTER, activity_id=draft.id, actor=actors.resident(1)
        )
    items, total = activities.list_activities(
        db_session=db.session,
        center_id=CENTER,
        query={"limit": 50, "offset": 0},
        actor=actors.resident(1),
    )
    assert (items, total) == ([], 0)
    activities.publish_activity(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=draft.id,
        actor=actors.staff,
        now=now,
    )
    db.session.commit()
    assert db.types() == ["activity.published"]
    assert (
        activities.get_activity(
            db_session=db.session, center_id=CENTER, activity_id=draft.id, actor=actors.resident(1)
        ).state
        == "published"
    )
    with pytest.raises(ActivityStateConflict):
        activities.publish_activity(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            activity_id=draft.id,
            actor=actors.staff,
            now=now,
        )


def test_moving_an_activity_tells_registrants_and_moves_its_room_booking(
    db, new_activity, actors, now
):
    activity = new_activity(capacity=1)
    register(db, activity, 1, now)
    register(db, activity, 2, now + timedelta(seconds=1))
    db.new()
    later = activity.starts_at + timedelta(days=1)
    activities.update_activity(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=activity.id,
        actor=actors.staff,
        now=now,
        changes={"starts_at": later, "ends_at": later + timedelta(hours=2), "room": "children"},
    )
    db.session.commit()
    released, booked, changed = db.new()
    assert released["type"].endswith("room.released.v1") and released["data"]["room"] == "sports"
    assert booked["type"].endswith("room.booked.v1") and booked["data"]["room"] == "children"
    assert changed["type"].endswith("activity.changed.v1")
    assert changed["data"]["changes"] == ["starts_at", "ends_at", "room"]
    assert changed["data"]["person_ids"] == ["res-1", "res-2"]  # the waitlisted are told too
    assert changed["data"]["starts_at"] == later and changed["data"]["place"] == "儿童之家"
    assert activity.sequence == 1
    assert sorted(b[:2] for b in bookings(db)) == [
        ("children", "confirmed"),
        ("sports", "cancelled"),
    ]


def test_a_description_edit_tells_no_one(db, new_activity, actors, now):
    activity = new_activity()
    register(db, activity, 1, now)
    db.new()
    activities.update_activity(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=activity.id,
        actor=actors.staff,
        now=now,
        changes={"description": "请自带水杯"},
    )
    db.session.commit()
    assert db.new() == [] and activity.sequence == 0 and activity.description == "请自带水杯"


def test_a_change_that_breaks_the_rules_is_refused_and_changes_nothing(
    db, new_activity, actors, now
):
    activity = new_activity()
    with pytest.raises(InvalidInput) as err:
        activities.update_activity(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            activity_id=activity.id,
            actor=actors.staff,
            now=now,
            changes={"ends_at": activity.starts_at - timedelta(hours=1)},
        )
    assert "ends_at" in err.value.fields
    db.session.rollback()
    assert db.session.get(Activity, activity.id).ends_at > activity.starts_at and db.new() == []


def test_capacity_cannot_drop_below_the_places_taken(db, new_activity, actors, now):
    activity = new_activity(capacity=5)
    register(db, activity, 1, now, members=["甲", "乙"])
    with pytest.raises(CapacityConflict, match="不能少于 3"):
        activities.update_activity(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            activity_id=activity.id,
            actor=actors.staff,
            now=now,
            changes={"capacity": 2},
        )


def test_raising_capacity_promotes_the_waitlist(db, new_activity, actors, now):
    activity = new_activity(capacity=1)
    register(db, activity, 1, now)
    waiting = register(db, activity, 2, now + timedelta(seconds=1))
    db.new()
    activities.update_activity(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=activity.id,
        actor=actors.staff,
        now=now,
        changes={"capacity": 2},
    )
    db.session.commit()
    assert waiting.state == "confirmed"
    assert db.types() == ["activity.changed", "registration.promoted"]


def test_cancelling_tells_everyone_withdraws_registrations_and_frees_the_room(
    db, new_activity, actors, now
):
    activity = new_activity(capacity=1)
    first = register(db, activity, 1, now)
    second = register(db, activity, 2, now + timedelta(seconds=1))
    db.new()
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
    assert activity.state == "cancelled" and first.state == second.state == "cancelled"
    events = db.new()
    assert [e["type"].split(".")[-3] + "." + e["type"].split(".")[-2] for e in events] == [
        "registration.cancelled",
        "registration.cancelled",
        "room.released",
        "activity.cancelled",
    ]
    assert all(e["data"]["by"] == "activity" for e in events[:2])
    assert events[3]["data"]["person_ids"] == ["res-1", "res-2"]
    assert events[3]["data"]["reason"] == "场地维修"
    assert bookings(db)[0][1] == "cancelled"
    with pytest.raises(ActivityStateConflict):
        activities.cancel_activity(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            activity_id=activity.id,
            reason="重复",
            actor=actors.staff,
            now=now,
        )
    with pytest.raises(ActivityStateConflict):
        activities.update_activity(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            activity_id=activity.id,
            actor=actors.staff,
            now=now,
            changes={"title": "新标题"},
        )


def test_the_freed_room_can_be_booked_again(db, new_activity, activity_data, actors, now):
    activity = new_activity()
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
    again = create(db, activity_data(title="老年太极"), actors.staff, now)
    assert ("sports", "confirmed", again.id) in bookings(db)
    assert ("sports", "cancelled", activity.id) in bookings(db)


def test_the_list_shows_upcoming_activities_first_and_the_record_on_request(
    db, new_activity, actors, now
):
    from lianxin.contracts.events.operations import ActivityQuery, ActivityRecords

    later = new_activity(
        title="老年太极",
        starts_at=now + timedelta(days=5),
        ends_at=now + timedelta(days=5, hours=1),
    )
    sooner = new_activity(room="children")
    held = now - timedelta(days=30)
    items = load(
        ActivityRecords,
        {
            "items": [
                {
                    "title": f"健康讲座 {n}",
                    "place": "东村社区卫生室",
                    "attendance": 20,
                    "starts_at": (held + timedelta(days=n)).isoformat(),
                    "ends_at": (held + timedelta(days=n, hours=1)).isoformat(),
                }
                for n in range(3)
            ]
        },
    )
    attendance.record_activities(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        items=items["items"],
        actor=actors.staff,
        now=now,
    )
    db.session.commit()

    def titles(**query):
        found, _ = activities.list_activities(
            db_session=db.session,
            center_id=CENTER,
            query=load(ActivityQuery, query),
            actor=actors.resident(1),
            now=now,
        )
        return [a.title for a in found]

    assert titles() == [sooner.title, later.title]
    assert titles(when="past") == ["健康讲座 2", "健康讲座 1", "健康讲座 0"]
    assert len(titles(when="all")) == 5 and titles(when="all")[0] == "健康讲座 0"
