"""Registrations and room bookings racing on PostgreSQL: capacity and no-overlap hold."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import eventlet
import pytest
from nameko.exceptions import RemoteError
from sqlalchemy.exc import IntegrityError

from lianxin.contracts.events import events as ev
from lianxin.errors import from_remote
from lianxin.testing import wait_for

pytestmark = pytest.mark.integration

CENTER = "yanminghu"


@pytest.fixture
def pg_url(pg_database, migrated):
    return migrated("events", pg_database())


@pytest.fixture
def events_on_pg(container_factory, service_config, pg_url, rpc, token, center_registry):
    from services.events.service import EventsService

    center_registry()
    container = container_factory(EventsService, service_config("events", db_url=pg_url))
    container.start()
    admin = rpc(token("admin"))
    admin.events.add_room(
        CENTER,
        {"code": "sports", "name": "文体活动室", "capacity": 80, "equipment": ["音响", "乒乓球台"]},
    )
    admin.events.add_room(CENTER, {"code": "dance", "name": "舞蹈排练室", "capacity": 40})
    return container


def _activity(staff, capacity):
    starts = datetime.now(UTC) + timedelta(days=2)
    return staff.events.create_activity(
        CENTER,
        {
            "title": "趣味益智 健康生活",
            "audience": "elderly",
            "room": "sports",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1.5)).isoformat(),
            "capacity": capacity,
        },
    )


def _attempt(call):
    """The call's result, or the kit error it raised (as its code)."""
    try:
        return call()
    except RemoteError as exc:
        error = from_remote(exc)
        if error is None:
            raise
        return error.code


def test_thirty_residents_at_once_for_twenty_places_give_twenty_places_and_ten_waitlisted(
    events_on_pg, rpc, token, bus
):
    confirmed_q = bus.bind("events", str(ev.REGISTRATION_CONFIRMED))
    waitlisted_q = bus.bind("events", str(ev.REGISTRATION_WAITLISTED))
    staff = rpc(token("staff"))
    activity = _activity(staff, capacity=20)
    # One proxy per green thread: a ClusterRpcProxy is not safe to share between them.
    proxies = [rpc(token("resident", sub=f"res-{n:02d}")) for n in range(30)]
    pool = eventlet.GreenPool(30)
    results = list(
        pool.imap(
            lambda proxy: proxy.events.register_for_activity(CENTER, activity["id"], {}), proxies
        )
    )

    assert Counter(r["state"] for r in results) == {"confirmed": 20, "waitlisted": 10}
    assert sorted(r["position"] for r in results if r["state"] == "waitlisted") == list(
        range(1, 11)
    )
    detail = staff.events.get_activity(CENTER, activity["id"])
    assert (detail["places_taken"], detail["places_left"], detail["waitlisted"]) == (20, 0, 10)
    listed = staff.events.list_registrations(CENTER, {"activity_id": activity["id"], "limit": 100})
    assert listed["total"] == 30 and len({r["person_id"] for r in listed["items"]}) == 30
    assert len({r["code"] for r in listed["items"]}) == 30
    # Every fact reached the bus, with the person notify will tell.
    confirmed = _drain(bus, confirmed_q, 20)
    waitlisted = _drain(bus, waitlisted_q, 10)
    assert {e["data"]["person_id"] for e in confirmed} == {
        r["person_id"] for r in results if r["state"] == "confirmed"
    }
    assert {e["data"]["person_id"] for e in waitlisted} == {
        r["person_id"] for r in results if r["state"] == "waitlisted"
    }


def _drain(bus, queue, expected):
    """The first ``expected`` messages of ``queue``, waiting for them to arrive."""
    got: list = []

    def enough():
        while (body := bus.get(queue)) is not None:
            got.append(body)
        return len(got) >= expected

    wait_for(enough, timeout=15)
    return got


def test_cancellations_racing_promote_each_waitlisted_resident_once(events_on_pg, rpc, token):
    staff = rpc(token("staff"))
    activity = _activity(staff, capacity=5)
    residents = [rpc(token("resident", sub=f"res-{n:02d}")) for n in range(10)]
    registrations = [r.events.register_for_activity(CENTER, activity["id"], {}) for r in residents]
    assert [r["state"] for r in registrations] == ["confirmed"] * 5 + ["waitlisted"] * 5
    pool = eventlet.GreenPool(5)
    list(
        pool.imap(
            lambda pair: pair[0].events.cancel_registration(CENTER, pair[1]["id"]),
            zip(residents[:5], registrations[:5], strict=True),
        )
    )
    listed = staff.events.list_registrations(CENTER, {"activity_id": activity["id"], "limit": 100})
    states = {r["person_id"]: r["state"] for r in listed["items"]}
    assert Counter(states.values()) == {"cancelled": 5, "confirmed": 5}
    assert all(states[f"res-{n:02d}"] == "confirmed" for n in range(5, 10))


def test_one_resident_registering_five_times_at_once_holds_one_registration(
    events_on_pg, rpc, token
):
    staff = rpc(token("staff"))
    activity = _activity(staff, capacity=20)
    proxies = [rpc(token("resident", sub="res-01")) for _ in range(5)]
    pool = eventlet.GreenPool(5)
    outcomes = list(
        pool.imap(
            lambda proxy: _attempt(
                lambda: proxy.events.register_for_activity(CENTER, activity["id"], {})
            ),
            proxies,
        )
    )
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["ALREADY_REGISTERED"] * 4
    assert staff.events.get_activity(CENTER, activity["id"])["places_taken"] == 1


def test_overlapping_bookings_at_once_leave_exactly_one(events_on_pg, rpc, token):
    starts = datetime.now(UTC) + timedelta(days=3)
    proxies = [rpc(token("staff", sub=f"sw-{n}")) for n in range(10)]

    def book(n_proxy):
        n, proxy = n_proxy
        start = starts + timedelta(minutes=10 * n)  # every pair of these overlaps
        return _attempt(
            lambda: proxy.events.book_room(
                CENTER,
                "dance",
                {
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=2)).isoformat(),
                    "purpose": f"社区舞蹈队排练 {n}",
                },
            )
        )

    outcomes = list(eventlet.GreenPool(10).imap(book, enumerate(proxies)))
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["ROOM_UNAVAILABLE"] * 9
    listed = proxies[0].events.list_room_bookings(CENTER, "dance", {})
    assert listed["total"] == 1


def test_concurrent_weekly_series_never_share_a_week(events_on_pg, rpc, token):
    starts = datetime.now(UTC) + timedelta(days=1)
    proxies = [rpc(token("staff", sub=f"sw-{n}")) for n in range(6)]

    def book(n_proxy):
        n, proxy = n_proxy
        first = starts + timedelta(weeks=n)  # series n covers weeks n .. n+3: neighbours clash
        return _attempt(
            lambda: proxy.events.book_room(
                CENTER,
                "dance",
                {
                    "starts_at": first.isoformat(),
                    "ends_at": (first + timedelta(hours=2)).isoformat(),
                    "purpose": f"排练 {n}",
                    "repeat_weeks": 4,
                },
            )
        )

    list(eventlet.GreenPool(6).imap(book, enumerate(proxies)))
    bookings = proxies[0].events.list_room_bookings(CENTER, "dance", {"limit": 500})["items"]
    spans = sorted((b["starts_at"], b["ends_at"]) for b in bookings)
    assert spans and all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_postgres_itself_refuses_overlapping_bookings(pg_url):
    """The exclusion constraint holds the rule even for a writer that skips the room lock."""
    from lianxin.db import make_engine, make_session_factory
    from services.events.models import Room, RoomBooking

    engine = make_engine(pg_url)
    Session = make_session_factory(engine)
    starts = datetime.now(UTC) + timedelta(days=1)

    def booking(room, offset_minutes, state="confirmed"):
        import uuid

        start = starts + timedelta(minutes=offset_minutes)
        return RoomBooking(
            id=str(uuid.uuid4()),
            center_id=CENTER,
            room=room,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            purpose="测试",
            state=state,
            booked_by="sw-1",
            created_at=datetime.now(UTC),
        )

    try:
        with Session() as session:
            session.add_all(
                [
                    Room(
                        center_id=CENTER,
                        code=c,
                        name=c,
                        capacity=10,
                        equipment=[],
                        needs_approval=False,
                        lock_version=0,
                    )
                    for c in ("a", "b")
                ]
            )
            session.add_all(
                [
                    booking("a", 0),
                    booking("a", 60),
                    booking("b", 30),
                    booking("a", 30, state="cancelled"),
                ]
            )
            session.commit()
            session.add(booking("a", 30, state="pending"))
            with pytest.raises(IntegrityError, match="room_bookings_no_overlap"):
                session.commit()
    finally:
        engine.dispose()


def test_a_clash_only_postgres_caught_is_still_a_clear_conflict(pg_url, monkeypatch):
    """Were the overlap check ever to miss a clash, the constraint's error becomes a 409."""
    from dataclasses import replace

    from lianxin.contracts.events.operations import NewBooking, NewRoom
    from lianxin.db import make_engine, make_session_factory
    from lianxin.outbox import OutboxWriter
    from lianxin.roles import Principal
    from services.events import bookings, rooms
    from services.events.exceptions import RoomUnavailable
    from services.events.models import RoomBooking, outbox_table

    engine = make_engine(pg_url)
    session = make_session_factory(engine)()
    staff = Principal.person("sw-1", "staff")
    starts = datetime.now(UTC) + timedelta(days=1)
    data = NewBooking(starts_at=starts, ends_at=starts + timedelta(hours=2), purpose="排练")
    try:
        rooms.add_room(
            db_session=session,
            center_id=CENTER,
            data=NewRoom(code="dance", name="舞蹈排练室", capacity=40),
        )
        bookings.book_room(
            db_session=session,
            outbox=OutboxWriter(session, outbox_table),
            center_id=CENTER,
            code="dance",
            data=data,
            actor=staff,
        )
        session.commit()
        monkeypatch.setattr(bookings, "overlapping", lambda **_: [])
        with pytest.raises(RoomUnavailable):
            bookings.book_room(
                db_session=session,
                outbox=OutboxWriter(session, outbox_table),
                center_id=CENTER,
                code="dance",
                data=replace(
                    data, starts_at=starts + timedelta(hours=1), ends_at=starts + timedelta(hours=3)
                ),
                actor=staff,
            )
        session.rollback()  # as the service does on any error
        assert session.query(RoomBooking).count() == 1
    finally:
        session.close()
        engine.dispose()


def test_on_sqlite_too_places_and_rooms_hold_under_concurrent_requests(
    container_factory, service_config, rpc, token, center_registry
):
    """The embedded default (one center on a laptop) keeps the same rules."""
    from services.events.service import EventsService

    center_registry()
    container_factory(EventsService, service_config("events")).start()
    rpc(token("admin")).events.add_room(
        CENTER, {"code": "sports", "name": "文体活动室", "capacity": 80}
    )
    staff = rpc(token("staff"))
    activity = _activity(staff, capacity=20)
    residents = [rpc(token("resident", sub=f"res-{n:02d}")) for n in range(30)]
    results = list(
        eventlet.GreenPool(30).imap(
            lambda proxy: proxy.events.register_for_activity(CENTER, activity["id"], {}), residents
        )
    )
    assert Counter(r["state"] for r in results) == {"confirmed": 20, "waitlisted": 10}

    starts = datetime.now(UTC) + timedelta(days=5)
    bookers = [rpc(token("staff", sub=f"sw-{n}")) for n in range(8)]
    outcomes = list(
        eventlet.GreenPool(8).imap(
            lambda proxy: _attempt(
                lambda: proxy.events.book_room(
                    CENTER,
                    "sports",
                    {
                        "starts_at": starts.isoformat(),
                        "ends_at": (starts + timedelta(hours=1)).isoformat(),
                        "purpose": "党员学习会",
                    },
                )
            ),
            bookers,
        )
    )
    assert sum(isinstance(o, dict) for o in outcomes) == 1
