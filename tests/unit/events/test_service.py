"""EventsService entrypoints without a broker: who may call what, input checks, metrics."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from lianxin import metrics
from lianxin.auth import CallerCheck, Verifier, keys_for
from lianxin.errors import Forbidden, InvalidInput
from services.events.metrics import PERSON_TIMES, REGISTRATIONS
from services.events.service import EventsService

CENTER = "yanminghu"


@pytest.fixture
def as_(db, token):
    """``as_(role, center=..., sub=...)`` → an EventsService worker acting for that caller."""

    def make(role: str, center: str = CENTER, sub: str | None = None) -> EventsService:
        caller = CallerCheck(token(role, center=center, sub=sub), Verifier(keys_for({})))
        return worker_factory(
            EventsService,
            db=db.session,
            outbox=db.outbox,
            caller=caller,
            metrics=metrics.for_service("events"),
        )

    return make


def payload(**extra) -> dict:
    starts = datetime.now(UTC) + timedelta(days=2)
    return {
        "title": "趣味益智 健康生活",
        "audience": "elderly",
        "room": "sports",
        "capacity": 20,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        **extra,
    }


def sample(metric: metrics.Metric, **labels: str) -> float:
    return metrics.for_service("events").sample(metric, **labels)


def test_residents_and_volunteers_cannot_publish_activities(as_):
    for role in ("resident", "volunteer"):
        with pytest.raises(Forbidden):
            as_(role).create_activity(CENTER, payload())


def test_a_token_of_another_center_is_refused(as_):
    with pytest.raises(Forbidden) as err:
        as_("staff", center="baiyun").create_activity(CENTER, payload())
    assert err.value.code == "CENTER_FORBIDDEN"


def test_a_bad_payload_names_the_field(as_):
    with pytest.raises(InvalidInput) as err:
        as_("staff").create_activity(CENTER, payload(capacity=0, audience="teenagers"))
    assert set(err.value.fields) == {"capacity", "audience"}
    with pytest.raises(InvalidInput) as err:
        as_("staff").create_activity(CENTER, payload(room=None, place=""))
    assert "place" in err.value.fields


def test_registrations_and_attendance_are_counted_in_metrics(as_):
    activity = as_("staff").create_activity(CENTER, payload(capacity=1))
    before = sample(REGISTRATIONS, center=CENTER, outcome="waitlisted")
    first = as_("resident", sub="res-1").register_for_activity(CENTER, activity["id"], {})
    as_("resident", sub="res-2").register_for_activity(CENTER, activity["id"], {})
    assert sample(REGISTRATIONS, center=CENTER, outcome="waitlisted") == before + 1
    assert first["state"] == "confirmed" and first["code"]
    recorded = as_("staff").record_activities(
        CENTER,
        {
            "items": [
                {
                    "title": "老年太极",
                    "audience": "elderly",
                    "room": "sports",
                    "attendance": 40,
                    "starts_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                    "ends_at": (datetime.now(UTC) - timedelta(days=1, hours=-1)).isoformat(),
                }
            ]
        },
    )
    assert recorded["person_times"] == 40
    assert sample(PERSON_TIMES, center=CENTER, audience="elderly") >= 40


def test_only_staff_read_the_whole_roster_and_residents_their_own(as_):
    activity = as_("staff").create_activity(CENTER, payload())
    as_("resident", sub="res-1").register_for_activity(
        CENTER, activity["id"], {"members": ["张书芬"]}
    )
    as_("resident", sub="res-2").register_for_activity(CENTER, activity["id"], {})
    query = {"activity_id": activity["id"]}
    assert as_("staff").list_registrations(CENTER, query)["total"] == 2
    own = as_("resident", sub="res-2").list_registrations(CENTER, query)
    assert [r["person_id"] for r in own["items"]] == ["res-2"]
    with pytest.raises(Forbidden):
        as_("volunteer").list_registrations(CENTER, query)


def test_attendance_is_read_by_departments_not_by_residents(as_):
    assert as_("department").attendance_stats(CENTER, {"group_by": "month"})["person_times"] == 0
    with pytest.raises(Forbidden):
        as_("resident").attendance_stats(CENTER, {})


def test_ics_exports_are_text(as_):
    activity = as_("staff").create_activity(CENTER, payload())
    text = as_("resident", sub="res-1").activity_ics(CENTER, activity["id"])
    assert text.startswith("BEGIN:VCALENDAR") and "SUMMARY:趣味益智 健康生活" in text
    assert as_("resident", sub="res-1").room_ics(CENTER, "sports").startswith("BEGIN:VCALENDAR")


def test_a_resident_sees_when_a_room_is_taken_but_not_by_whom(as_):
    starts = datetime.now(UTC) + timedelta(days=1)
    slot = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat()}
    as_("staff", sub="sw-1").book_room(CENTER, "sports", {**slot, "purpose": "党员学习会"})
    later = {
        "starts_at": (starts + timedelta(hours=2)).isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(),
    }
    as_("resident", sub="res-1").book_room(CENTER, "sports", {**later, "purpose": "书法小组"})
    seen = as_("resident", sub="res-1").list_room_bookings(CENTER, "sports", {})["items"]
    assert [(b["purpose"], b["booked_by"]) for b in seen] == [
        ("党员学习会", None),
        ("书法小组", "res-1"),
    ]
    assert [
        b["booked_by"] for b in as_("staff").list_room_bookings(CENTER, "sports", {})["items"]
    ] == ["sw-1", "res-1"]


def test_a_refused_request_ends_its_transaction_before_the_reply(as_, db, monkeypatch):
    """Locks taken before a refusal are released at once, not when nameko tears down: the
    entrypoint leaves the refused work uncommitted, and the kit's ``@rpc`` closes (rolls back)
    the worker's session before it sends the reply."""
    from nameko.rpc import Rpc as NamekoRpc

    from lianxin.rpc import Rpc
    from services.events.exceptions import AlreadyRegistered

    activity = as_("staff").create_activity(CENTER, payload())
    resident = as_("resident", sub="res-1")
    resident.register_for_activity(CENTER, activity["id"], {})
    with pytest.raises(AlreadyRegistered) as refused:
        resident.register_for_activity(CENTER, activity["id"], {})
    assert db.session.in_transaction()  # the refused work, not committed

    class Worker:
        """The refused call's worker context (its session is the test's)."""

    worker = Worker()
    EventsService.db.sessions[worker] = db.session
    at_reply = []
    monkeypatch.setattr(
        NamekoRpc,
        "handle_result",
        lambda self, message, worker_ctx, result, exc_info: at_reply.append(
            db.session.in_transaction()
        ),
    )
    entrypoint = Rpc()
    entrypoint.databases = [EventsService.db]
    entrypoint.handle_result(None, worker, None, (AlreadyRegistered, refused.value, None))
    assert at_reply == [False]


def test_anyone_sees_the_published_activities_of_the_coming_week_without_a_token(as_):
    staff = as_("staff")
    soon = staff.create_activity(CENTER, payload(capacity=2, programme="yuedong_elderly"))
    staff.create_activity(CENTER, payload(title="草稿活动 未发布", publish=False, room="children"))
    later = datetime.now(UTC) + timedelta(days=20)
    staff.create_activity(
        CENTER,
        payload(
            title="下个月的活动",
            starts_at=later.isoformat(),
            ends_at=(later + timedelta(hours=1)).isoformat(),
        ),
    )
    as_("resident", sub="res-1").register_for_activity(CENTER, soon["id"], {})
    public = worker_factory(EventsService, db=staff.db, outbox=staff.outbox, caller=staff.caller)
    shown = public.list_public_activities(CENTER, {})
    assert [a["id"] for a in shown] == [soon["id"]]
    assert shown[0]["places_left"] == 1 and "booking_id" not in shown[0]
    assert shown[0]["programme_name"] == "悦动耄耋——老年人康乐服务"
    assert len(public.list_public_activities(CENTER, {"days": 31})) == 2
    with pytest.raises(InvalidInput):
        public.list_public_activities(CENTER, {"days": 0})
