"""Room bookings: never overlapping, weekly series, approval, cancellation."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from lianxin.contracts.schema import load
from lianxin.errors import Forbidden, InvalidInput
from services.events import bookings
from services.events.exceptions import (
    BookingNotFound,
    BookingStateConflict,
    RoomNotFound,
    RoomUnavailable,
)
from services.events.models import RoomBooking

CENTER = "yanminghu"


@pytest.fixture
def book(db, now):
    from lianxin.contracts.events.operations import BookingCreate

    def make(actor, room="sports", start_hours=26, hours=2, **extra):
        starts = now + timedelta(hours=start_hours)
        data = load(
            BookingCreate,
            {
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=hours)).isoformat(),
                "purpose": extra.pop("purpose", "社区舞蹈队排练"),
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

    return make


def stored(db):
    return [
        (b.room, b.state)
        for b in db.session.scalars(
            select(RoomBooking).order_by(RoomBooking.starts_at, RoomBooking.id)
        )
    ]


def test_a_staff_booking_of_a_free_room_is_confirmed_and_announced(db, book, actors):
    [booking] = book(actors.staff)
    assert booking.state == "confirmed" and booking.booked_by == "sw-1"
    [event] = db.new()
    assert event["type"].endswith("room.booked.v1")
    assert event["data"]["room_name"] == "文体活动室" and event["data"]["activity_id"] is None


@pytest.mark.parametrize("start_hours, hours", [(26, 2), (25, 2), (27, 0.5), (24, 10)])
def test_an_overlapping_booking_is_refused_and_nothing_is_stored(
    db, book, actors, start_hours, hours
):
    book(actors.staff)
    db.new()
    with pytest.raises(RoomUnavailable, match="社区舞蹈队排练"):
        book(actors.admin, start_hours=start_hours, hours=hours, purpose="党员学习会")
    db.session.rollback()
    assert stored(db) == [("sports", "confirmed")] and db.new() == []


def test_back_to_back_bookings_and_other_rooms_do_not_clash(db, book, actors):
    book(actors.staff)
    book(actors.staff, start_hours=28)  # starts when the first ends
    book(actors.staff, start_hours=24, hours=2)  # ends when the first starts
    book(actors.staff, room="children")  # same time, another room
    assert len(stored(db)) == 4


def test_a_past_booking_is_refused(db, book, actors):
    with pytest.raises(InvalidInput) as err:
        book(actors.staff, start_hours=-1)
    assert "starts_at" in err.value.fields


def test_another_centers_room_is_not_found(db, actors, now):
    from lianxin.contracts.events.operations import BookingCreate

    data = load(
        BookingCreate,
        {
            "starts_at": (now + timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=1, hours=1)).isoformat(),
            "purpose": "会议",
        },
    )
    with pytest.raises(RoomNotFound):
        bookings.book_room(
            db_session=db.session,
            outbox=db.outbox,
            center_id="baiyun",
            code="sports",
            data=data,
            actor=actors.staff,
            now=now,
        )
    db.session.rollback()
    assert stored(db) == []


def test_attendees_beyond_the_room_capacity_are_refused(db, book, actors):
    with pytest.raises(InvalidInput) as err:
        book(actors.staff, room="children", attendees=31)
    assert "attendees" in err.value.fields


def test_a_weekly_series_books_every_week_or_none(db, book, actors):
    series = book(actors.staff, repeat_weeks=4)
    assert [b.starts_at - series[0].starts_at for b in series] == [
        timedelta(weeks=k) for k in range(4)
    ]
    assert len({b.series_id for b in series}) == 1 and series[0].series_id
    assert db.types() == ["room.booked"] * 4


def test_a_series_clashing_in_one_week_books_nothing(db, book, actors):
    book(actors.staff, start_hours=26 + 24 * 14, purpose="党员学习会")
    db.new()
    with pytest.raises(RoomUnavailable, match="党员学习会"):
        book(actors.staff, repeat_weeks=4)
    db.session.rollback()
    assert len(stored(db)) == 1 and db.new() == []


def test_cancelling_a_series_releases_this_and_later_weeks(db, book, actors, now):
    series = book(actors.staff, repeat_weeks=4)
    db.new()
    cancelled = bookings.cancel_booking(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        booking_id=series[1].id,
        actor=actors.staff,
        series=True,
        now=now,
    )
    db.session.commit()
    assert [b.id for b in cancelled] == [b.id for b in series[1:]]
    assert [s for _, s in stored(db)] == ["confirmed", "cancelled", "cancelled", "cancelled"]
    assert db.types() == ["room.released"] * 3


def test_a_residents_request_waits_for_staff_and_holds_the_slot(db, book, actors, now):
    [request] = book(actors.resident(1), purpose="书法兴趣小组练习")
    assert request.state == "pending" and db.types() == ["room.requested"]
    with pytest.raises(RoomUnavailable):
        book(actors.staff)
    db.session.rollback()
    approved = bookings.decide_booking(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        booking_id=request.id,
        actor=actors.staff,
        approve=True,
        now=now,
    )
    db.session.commit()
    assert approved.state == "confirmed" and approved.decided_by == "sw-1"
    assert db.types() == ["room.booked"]


def test_a_declined_request_frees_the_slot(db, book, actors, now):
    [request] = book(actors.resident(1))
    db.new()
    bookings.decide_booking(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        booking_id=request.id,
        actor=actors.staff,
        approve=False,
        reason="该时段中心有安排",
        now=now,
    )
    db.session.commit()
    [event] = db.new()
    assert (
        event["type"].endswith("room.rejected.v1") and event["data"]["reason"] == "该时段中心有安排"
    )
    assert event["data"]["booked_by"] == "res-1"
    [booking] = book(actors.staff)
    assert booking.state == "confirmed"


def test_a_room_that_needs_approval_is_approved_by_an_admin_only(db, book, actors, now):
    [booking] = book(actors.staff, room="meeting", purpose="党建联席会")
    assert booking.state == "pending"
    with pytest.raises(Forbidden):
        bookings.decide_booking(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            booking_id=booking.id,
            actor=actors.staff,
            approve=True,
            now=now,
        )
    db.session.rollback()
    bookings.decide_booking(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        booking_id=booking.id,
        actor=actors.admin,
        approve=True,
        now=now,
    )
    db.session.commit()
    assert db.session.get(RoomBooking, booking.id).state == "confirmed"
    [own] = book(actors.admin, room="meeting", start_hours=50)
    assert own.state == "confirmed"


def test_a_resident_cancels_only_their_own_request(db, book, actors, now):
    [request] = book(actors.resident(1))
    with pytest.raises(BookingNotFound):
        bookings.cancel_booking(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            booking_id=request.id,
            actor=actors.resident(2),
            now=now,
        )
    db.session.rollback()
    [cancelled] = bookings.cancel_booking(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        booking_id=request.id,
        actor=actors.resident(1),
        now=now,
    )
    assert cancelled.state == "cancelled"
    with pytest.raises(BookingStateConflict):
        bookings.cancel_booking(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            booking_id=request.id,
            actor=actors.resident(1),
            now=now,
        )


def test_an_activitys_booking_is_changed_through_the_activity(db, new_activity, actors, now):
    activity = new_activity()
    with pytest.raises(BookingStateConflict, match="活动"):
        bookings.cancel_booking(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            booking_id=activity.booking_id,
            actor=actors.staff,
            now=now,
        )


def test_a_residents_list_shows_their_own_requests(db, book, actors):
    book(actors.resident(1))
    book(actors.staff, start_hours=50)
    mine, total = bookings.list_bookings(
        db_session=db.session,
        center_id=CENTER,
        query={"limit": 50, "offset": 0},
        actor=actors.resident(1),
        mine=True,
    )
    assert total == 1 and mine[0].booked_by == "res-1"
    room_items, room_total = bookings.list_bookings(
        db_session=db.session,
        center_id=CENTER,
        query={"limit": 50, "offset": 0},
        actor=actors.resident(1),
        room="sports",
    )
    assert room_total == 2
