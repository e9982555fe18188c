"""Registration: places, family members, the waitlist and its promotion, approval, cancellation."""

from datetime import UTC, datetime, timedelta

import pytest

from lianxin.contracts.events.operations import NewRegistration
from lianxin.errors import Forbidden, InvalidInput
from services.events import activities, registrations, views
from services.events.exceptions import (
    ActivityNotFound,
    ActivityStateConflict,
    AlreadyRegistered,
    RegistrationClosed,
    RegistrationNotFound,
    RegistrationStateConflict,
)

CENTER = "yanminghu"
#: The suite's clock (tests/unit/events/conftest.py): a cancellation is judged at it.
NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


@pytest.fixture
def register(db, now):
    def reg(activity, actor, members=(), when=None, **extra):
        registration = registrations.register(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            activity_id=activity.id,
            data=NewRegistration(members=list(members), **extra),
            actor=actor,
            now=when or now,
        )
        db.session.commit()
        return registration

    return reg


def states(db, activity):
    from services.events.models import Registration

    rows = (
        db.session.query(Registration)
        .filter_by(activity_id=activity.id)
        .order_by(Registration.created_at, Registration.id)
    )
    return [(r.person_id, r.state) for r in rows]


def test_registration_within_capacity_holds_places_with_a_door_code(
    db, new_activity, register, actors
):
    activity = new_activity()
    registration = register(activity, actors.resident(1))
    assert registration.state == "confirmed" and registration.party_size == 1
    assert len(registration.code) == 6
    [event] = db.new()
    assert event["type"] == "cn.lianxin.events.registration.confirmed.v1"
    data = event["data"]
    assert data["person_id"] == "res-1" and data["activity_title"] == "趣味益智 健康生活"
    assert data["starts_at"] == activity.starts_at and data["place"] == "文体活动室"
    assert data["ends_at"] == activity.ends_at and data["room"] == "sports"


def test_family_members_count_against_capacity(db, new_activity, register, actors):
    activity = new_activity(capacity=4)
    register(activity, actors.resident(1), members=["张书芬", "王小明"])
    second = register(activity, actors.resident(2), members=["李华"])
    assert second.state == "waitlisted"  # 3 + 2 > 4
    [view] = views.describe(db_session=db.session, activities=[activity])
    assert (view["places_taken"], view["places_left"], view["waitlisted"]) == (3, 1, 2)


def test_registrations_past_capacity_wait_in_order(db, new_activity, register, actors, now):
    activity = new_activity(capacity=2)
    for n in range(1, 6):
        register(activity, actors.resident(n), when=now + timedelta(seconds=n))
    assert [s for _, s in states(db, activity)] == ["confirmed"] * 2 + ["waitlisted"] * 3
    items, _ = registrations.list_registrations(
        db_session=db.session,
        center_id=CENTER,
        query={"limit": 50, "offset": 0, "activity_id": activity.id},
        actor=actors.staff,
    )
    shown = views.registration_views(db_session=db.session, registrations=items)
    assert [v["position"] for v in shown] == [None, None, 1, 2, 3]
    assert [e["type"].split(".")[-2] for e in db.new()] == (["confirmed"] * 2 + ["waitlisted"] * 3)


def test_registering_twice_is_refused_and_changes_nothing(db, new_activity, register, actors):
    activity = new_activity()
    register(activity, actors.resident(1))
    db.new()
    with pytest.raises(AlreadyRegistered):
        register(activity, actors.resident(1), members=["家人"])
    db.session.rollback()
    assert states(db, activity) == [("res-1", "confirmed")]
    assert db.new() == []


def test_a_resident_may_register_again_after_cancelling(db, new_activity, register, actors):
    activity = new_activity()
    first = register(activity, actors.resident(1))
    registrations.cancel_registration(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        registration_id=first.id,
        actor=actors.resident(1),
        now=NOW,
    )
    db.session.commit()
    again = register(activity, actors.resident(1))
    assert again.state == "confirmed" and again.id != first.id and again.code


@pytest.mark.parametrize(
    "window, when_hours, message",
    [
        ({"registration_closes_at_hours": 24}, 25, "报名已截止"),
        ({}, 50, "报名已截止"),
        ({"registration_opens_at_hours": 10}, 5, "报名尚未开始"),
    ],
)
def test_registration_outside_its_window_is_refused(
    db, new_activity, register, actors, now, window, when_hours, message
):
    overrides = {
        key.removesuffix("_hours"): now + timedelta(hours=hours) for key, hours in window.items()
    }
    activity = new_activity(**overrides)
    with pytest.raises(RegistrationClosed, match=message):
        register(activity, actors.resident(1), when=now + timedelta(hours=when_hours))
    db.session.rollback()
    assert states(db, activity) == []


def test_party_larger_than_allowed_is_refused(db, new_activity, register, actors):
    activity = new_activity(max_party_size=2)
    with pytest.raises(InvalidInput) as err:
        register(activity, actors.resident(1), members=["甲", "乙"])
    assert "members" in err.value.fields


def test_cancelling_frees_places_for_the_first_waitlisted_party_that_fits(
    db, new_activity, register, actors, now
):
    activity = new_activity(capacity=3)
    holder = register(activity, actors.resident(1), members=["家人"], when=now)
    register(activity, actors.resident(2), when=now + timedelta(seconds=1))
    big = register(
        activity, actors.resident(3), members=["甲", "乙"], when=now + timedelta(seconds=2)
    )
    small = register(activity, actors.resident(4), when=now + timedelta(seconds=3))
    db.new()
    registrations.cancel_registration(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        registration_id=holder.id,
        actor=actors.resident(1),
        reason="临时有事",
        now=now + timedelta(hours=1),
    )
    db.session.commit()
    # Two places free: the party of three waits, the single behind it is promoted.
    assert big.state == "waitlisted" and small.state == "confirmed"
    cancelled, promoted = db.new()
    assert cancelled["type"].endswith("registration.cancelled.v1")
    assert cancelled["data"]["by"] == "resident" and cancelled["data"]["reason"] == "临时有事"
    assert promoted["type"].endswith("registration.promoted.v1")
    assert promoted["data"]["person_id"] == "res-4" and promoted["data"]["place"] == "文体活动室"


def test_cancelling_a_waitlisted_registration_promotes_no_one(
    db, new_activity, register, actors, now
):
    activity = new_activity(capacity=1)
    register(activity, actors.resident(1), when=now)
    waiting = register(activity, actors.resident(2), when=now + timedelta(seconds=1))
    register(activity, actors.resident(3), when=now + timedelta(seconds=2))
    db.new()
    registrations.cancel_registration(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        registration_id=waiting.id,
        actor=actors.resident(2),
        now=now,
    )
    db.session.commit()
    assert db.types() == ["registration.cancelled"]
    assert [s for _, s in states(db, activity)] == ["confirmed", "cancelled", "waitlisted"]


def test_a_resident_cannot_cancel_someone_elses_registration(db, new_activity, register, actors):
    activity = new_activity()
    registration = register(activity, actors.resident(1))
    with pytest.raises(RegistrationNotFound):
        registrations.cancel_registration(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            registration_id=registration.id,
            actor=actors.resident(2),
            now=NOW,
        )
    db.session.rollback()
    assert states(db, activity) == [("res-1", "confirmed")]


def test_a_resident_cannot_cancel_once_the_activity_started_but_staff_can(
    db, new_activity, register, actors
):
    activity = new_activity()
    registration = register(activity, actors.resident(1))
    started = activity.starts_at + timedelta(minutes=5)
    with pytest.raises(RegistrationStateConflict, match="已开始"):
        registrations.cancel_registration(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            registration_id=registration.id,
            actor=actors.resident(1),
            now=started,
        )
    db.session.rollback()
    cancelled = registrations.cancel_registration(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        registration_id=registration.id,
        actor=actors.staff,
        reason="未到场",
        now=started,
    )
    assert cancelled.state == "cancelled"


def test_cancelling_twice_is_refused(db, new_activity, register, actors):
    registration = register(new_activity(), actors.resident(1))
    registrations.cancel_registration(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        registration_id=registration.id,
        actor=actors.resident(1),
        now=NOW,
    )
    db.session.commit()
    with pytest.raises(RegistrationStateConflict, match="已取消"):
        registrations.cancel_registration(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            registration_id=registration.id,
            actor=actors.resident(1),
            now=NOW,
        )


def test_approval_required_registration_waits_for_staff(db, new_activity, register, actors, now):
    activity = new_activity(needs_approval=True, capacity=2)
    first = register(activity, actors.resident(1), members=["家人"])
    second = register(activity, actors.resident(2))
    third = register(activity, actors.resident(3))
    assert (first.state, second.state, third.state) == ("pending", "pending", "pending")
    assert db.types() == ["registration.pending"] * 3
    for registration in (first, second):
        registrations.decide_registration(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            registration_id=registration.id,
            actor=actors.staff,
            approve=True,
            now=now,
        )
    registrations.decide_registration(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        registration_id=third.id,
        actor=actors.staff,
        approve=False,
        reason="本次活动仅限东村社区居民",
        now=now,
    )
    db.session.commit()
    assert (first.state, second.state, third.state) == ("confirmed", "waitlisted", "rejected")
    assert db.types() == [
        "registration.confirmed",
        "registration.waitlisted",
        "registration.rejected",
    ]
    with pytest.raises(RegistrationStateConflict):
        registrations.decide_registration(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            registration_id=first.id,
            actor=actors.staff,
            approve=True,
            now=now,
        )


def test_staff_register_a_resident_by_person_id_without_approval(
    db, new_activity, register, actors
):
    activity = new_activity(needs_approval=True)
    with pytest.raises(InvalidInput) as err:
        register(activity, actors.staff)
    assert "person_id" in err.value.fields
    db.session.rollback()
    registration = register(activity, actors.staff, person_id="res-9")
    assert registration.person_id == "res-9" and registration.state == "confirmed"
    assert registration.registered_by == "sw-1"


def test_a_resident_registers_only_as_themselves(db, new_activity, register, actors):
    with pytest.raises(Forbidden):
        register(new_activity(), actors.resident(1), person_id="res-2")


def test_nobody_registers_for_a_draft_or_a_cancelled_activity(
    db, new_activity, register, actors, now
):
    draft = new_activity(publish=False)
    with pytest.raises(ActivityNotFound):
        register(draft, actors.resident(1))
    db.session.rollback()
    cancelled = new_activity(room=None, place="东村社区文化广场")
    activities.cancel_activity(
        db_session=db.session,
        outbox=db.outbox,
        center_id=CENTER,
        activity_id=cancelled.id,
        reason="天气原因",
        actor=actors.staff,
        now=now,
    )
    db.session.commit()
    with pytest.raises(ActivityStateConflict, match="已取消"):
        register(cancelled, actors.resident(1))


def test_another_centers_activity_is_not_found(db, new_activity, actors, now):
    activity = new_activity()
    with pytest.raises(ActivityNotFound):
        registrations.register(
            db_session=db.session,
            outbox=db.outbox,
            center_id="baiyun",
            activity_id=activity.id,
            data=NewRegistration(),
            actor=actors.resident(1),
            now=now,
        )
