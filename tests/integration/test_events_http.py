"""Activities, registration, check-in, rooms and the calendar over HTTP: the gateway and the
events service on the real broker and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from icalendar import Calendar

from lianxin.contracts.events import events as ev
from lianxin.testing import free_port, wait_for

pytestmark = pytest.mark.integration

CENTER = "yanminghu"
SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOMS = [
    {"code": "sports", "name": "文体活动室", "capacity": 80, "equipment": ["音响"]},
    {"code": "children", "name": "儿童之家", "capacity": 30, "equipment": ["绘本"]},
    {"code": "meeting", "name": "多功能会议室", "capacity": 40, "needs_approval": True},
]


class Api:
    def __init__(self, base: str, token):
        self.base, self.token = base, token

    def __call__(
        self,
        method: str,
        path: str,
        who: str = "staff",
        sub: str | None = None,
        center: str = CENTER,
        **kwargs,
    ) -> requests.Response:
        bearer = self.token(who, center=center, sub=sub)
        headers = {"Authorization": f"Bearer {bearer}", **kwargs.pop("headers_extra", {})}
        return requests.request(method, self.base + path, timeout=15, headers=headers, **kwargs)


@pytest.fixture
def api(container_factory, service_config, pg_database, token, center_registry):
    from gateway.service import GatewayService
    from services.events.service import EventsService

    port = free_port()
    center_registry("yanminghu", "fenghuangtai")
    container_factory(EventsService, service_config("events", db_url=pg_database())).start()
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    ).start()
    call = Api(f"http://127.0.0.1:{port}", token)
    for room in ROOMS:
        assert call("POST", "/api/v1/rooms", "admin", json=room).status_code == 201
    programme = {
        "code": "yuedong_elderly",
        "name": "悦动耄耋——老年人康乐服务",
        "audience": "elderly",
    }
    assert call("POST", "/api/v1/programmes", "admin", json=programme).status_code == 201
    return call


def iso(moment: datetime) -> str:
    return moment.isoformat()


def new_activity(api, starts_in=timedelta(days=2), **extra):
    starts = datetime.now(UTC) + starts_in
    body = {
        "title": "趣味益智 健康生活",
        "programme": "yuedong_elderly",
        "audience": "elderly",
        "starts_at": iso(starts),
        "ends_at": iso(starts + timedelta(hours=1, minutes=30)),
        "room": "sports",
        "capacity": 20,
        "description": "反口令动作、翻花绳等益智游戏",
        **extra,
    }
    response = api("POST", "/api/v1/activities", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_registration_waitlist_and_promotion_reach_the_bus(api, bus):
    promoted_q = bus.bind("events", str(ev.REGISTRATION_PROMOTED))
    cancelled_q = bus.bind("events", str(ev.REGISTRATION_CANCELLED))
    activity = new_activity(api, capacity=2)
    assert activity["room_name"] == "文体活动室" and activity["booking_state"] == "confirmed"
    path = f"/api/v1/activities/{activity['id']}/registrations"
    family = api("POST", path, "resident", sub="res-1", json={"members": ["张书芬"]})
    assert family.status_code == 201, family.text
    assert family.json()["state"] == "confirmed" and family.json()["party_size"] == 2
    waiting = api("POST", path, "resident", sub="res-2", json={})
    assert waiting.json()["state"] == "waitlisted" and waiting.json()["position"] == 1

    again = api("POST", path, "resident", sub="res-2", json={})
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_REGISTERED"
    detail = api("GET", f"/api/v1/activities/{activity['id']}", "resident", sub="res-3").json()
    assert (detail["places_taken"], detail["waitlisted"]) == (2, 1)

    # Someone else's registration does not exist for a resident.
    mine = family.json()["id"]
    assert (
        api("DELETE", f"/api/v1/registrations/{mine}", "resident", sub="res-2").status_code == 404
    )
    cancelled = api(
        "DELETE",
        f"/api/v1/registrations/{mine}",
        "resident",
        sub="res-1",
        params={"reason": "孙子发烧"},
    )
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    now_mine = api("GET", f"/api/v1/registrations/{waiting.json()['id']}", "resident", sub="res-2")
    assert now_mine.json()["state"] == "confirmed" and now_mine.json()["position"] is None

    promoted = wait_for(lambda: bus.get(promoted_q), timeout=10)
    assert promoted["data"]["person_id"] == "res-2"
    assert promoted["data"]["activity_title"] == "趣味益智 健康生活"
    assert promoted["data"]["place"] == "文体活动室"
    assert promoted["data"]["starts_at"] == activity["starts_at"]
    withdrawn = wait_for(lambda: bus.get(cancelled_q), timeout=10)
    assert withdrawn["data"]["person_id"] == "res-1" and withdrawn["data"]["by"] == "resident"

    roster = api("GET", path, params={"limit": 10}).json()
    assert [(r["person_id"], r["state"]) for r in roster["items"]] == [
        ("res-1", "cancelled"),
        ("res-2", "confirmed"),
    ]
    assert api("GET", path, "resident", sub="res-2").json()["total"] == 1


def test_approval_activity_waits_for_staff(api):
    activity = new_activity(api, needs_approval=True)
    path = f"/api/v1/activities/{activity['id']}/registrations"
    pending = api("POST", path, "resident", sub="res-1", json={}).json()
    assert pending["state"] == "pending"
    assert (
        api(
            "POST", f"/api/v1/registrations/{pending['id']}/approve", "resident", sub="res-1"
        ).status_code
        == 403
    )
    approved = api("POST", f"/api/v1/registrations/{pending['id']}/approve")
    assert approved.status_code == 200 and approved.json()["state"] == "confirmed"
    other = api("POST", path, "resident", sub="res-2", json={}).json()
    rejected = api(
        "POST",
        f"/api/v1/registrations/{other['id']}/reject",
        json={"reason": "本次活动仅限东村社区居民"},
    )
    assert (
        rejected.json()["state"] == "rejected"
        and rejected.json()["reason"] == "本次活动仅限东村社区居民"
    )


def test_check_in_at_the_door_counts_person_times(api):
    activity = new_activity(api, starts_in=timedelta(minutes=30))
    path = f"/api/v1/activities/{activity['id']}"
    registration = api(
        "POST",
        f"{path}/registrations",
        "resident",
        sub="res-1",
        json={"members": ["张书芬", "王小明"]},
    ).json()
    checked = api("POST", f"{path}/check-in", "volunteer", json={"code": registration["code"]})
    assert checked.status_code == 200, checked.text
    assert checked.json()["attended"] == 3 and checked.json()["checked_in_at"]
    twice = api("POST", f"{path}/check-in", json={"registration_id": registration["id"]})
    assert twice.status_code == 409 and twice.json()["code"] == "ALREADY_CHECKED_IN"
    assert (
        api(
            "POST", f"{path}/check-in", "resident", sub="res-1", json={"code": registration["code"]}
        ).status_code
        == 403
    )
    walk_ins = api("POST", f"{path}/walk-ins", json={"count": 7})
    assert walk_ins.json()["person_times"] == 10


def test_moving_and_cancelling_an_activity(api, bus):
    changed_q = bus.bind("events", str(ev.ACTIVITY_CHANGED))
    cancelled_q = bus.bind("events", str(ev.ACTIVITY_CANCELLED))
    activity = new_activity(api)
    path = f"/api/v1/activities/{activity['id']}"
    api("POST", f"{path}/registrations", "resident", sub="res-1", json={})
    later = datetime.fromisoformat(activity["starts_at"]) + timedelta(days=1)
    etag = api("GET", path).headers["ETag"]
    moved = api(
        "PATCH",
        path,
        headers_extra={"If-Match": etag},
        json={
            "starts_at": iso(later),
            "ends_at": iso(later + timedelta(hours=2)),
            "room": "children",
        },
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["room_name"] == "儿童之家" and moved.json()["sequence"] == 1
    changed = wait_for(lambda: bus.get(changed_q), timeout=10)
    assert changed["data"]["person_ids"] == ["res-1"] and "room" in changed["data"]["changes"]
    cancelled = api("POST", f"{path}/cancel", json={"reason": "场地维修"})
    assert cancelled.json()["state"] == "cancelled"
    told = wait_for(lambda: bus.get(cancelled_q), timeout=10)
    assert told["data"]["person_ids"] == ["res-1"] and told["data"]["reason"] == "场地维修"
    ics = api("GET", f"{path}.ics", "resident", sub="res-1")
    [event] = Calendar.from_ical(ics.text).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 2
    # The rooms are free again.
    again = new_activity(api, starts_in=later - datetime.now(UTC), room="children")
    assert again["booking_state"] == "confirmed"


def test_rooms_book_weekly_never_overlap_and_export_ics(api):
    starts = datetime.now(UTC) + timedelta(days=1)
    body = {
        "starts_at": iso(starts),
        "ends_at": iso(starts + timedelta(hours=2)),
        "purpose": "社区舞蹈队排练",
        "attendees": 25,
        "repeat_weeks": 3,
    }
    series = api("POST", "/api/v1/rooms/sports/bookings", json=body)
    assert series.status_code == 201, series.text
    assert [b["state"] for b in series.json()["items"]] == ["confirmed"] * 3
    request = api(
        "POST",
        "/api/v1/rooms/meeting/bookings",
        "resident",
        sub="res-1",
        json={**body, "repeat_weeks": 1, "purpose": "书法兴趣小组"},
    )
    assert request.json()["items"][0]["state"] == "pending"
    pending = api("GET", "/api/v1/bookings", params={"state": "pending"}).json()["items"]
    assert [b["purpose"] for b in pending] == ["书法兴趣小组"]
    # The meeting room needs an admin's approval.
    booking_id = pending[0]["id"]
    assert api("POST", f"/api/v1/bookings/{booking_id}/approve").status_code == 403
    assert (
        api("POST", f"/api/v1/bookings/{booking_id}/approve", "admin").json()["state"]
        == "confirmed"
    )

    feed = api("GET", "/api/v1/rooms/sports.ics", "resident", sub="res-1")
    assert (
        feed.status_code == 200 and feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
    )
    events = Calendar.from_ical(feed.text).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["社区舞蹈队排练"] * 3

    year, number, _ = starts.astimezone(SHANGHAI).isocalendar()
    week = f"{year}-W{number:02d}"
    calendar = api("GET", "/api/v1/calendar", "resident", sub="res-2", params={"week": week})
    assert calendar.status_code == 200
    assert {"社区舞蹈队排练", "书法兴趣小组"} <= {i["title"] for i in calendar.json()["items"]}

    cancelled = api(
        "DELETE", f"/api/v1/bookings/{series.json()['items'][1]['id']}", params={"series": "true"}
    )
    assert [b["state"] for b in cancelled.json()["items"]] == ["cancelled"] * 2


def test_attendance_stats_over_http(api):
    held = datetime.now(UTC) - timedelta(days=3)
    records = api(
        "POST",
        "/api/v1/activities/records",
        json={
            "items": [
                {
                    "title": "老年太极",
                    "programme": "yuedong_elderly",
                    "audience": "elderly",
                    "starts_at": iso(held),
                    "ends_at": iso(held + timedelta(hours=1)),
                    "room": "sports",
                    "attendance": 70,
                }
            ]
        },
    )
    assert records.status_code == 201 and records.json()["person_times"] == 70
    stats = api("GET", "/api/v1/attendance/stats", params={"group_by": "programme"})
    assert stats.status_code == 200, stats.text
    assert stats.json()["person_times"] == 70
    assert stats.json()["groups"][0]["label"] == "悦动耄耋——老年人康乐服务"
    department = api(
        "GET",
        "/api/v1/attendance/stats",
        "department",
        center=[CENTER],
        params={"center": CENTER, "group_by": "month"},
    )
    assert department.status_code == 200 and department.json()["person_times"] == 70
    assert api("GET", "/api/v1/attendance/stats", "resident").status_code == 403


def _snapshot(api):
    return (
        api("GET", "/api/v1/activities", params={"limit": 500}).json()["total"],
        api("GET", "/api/v1/bookings", params={"limit": 500}).json()["total"],
        api("GET", "/api/v1/registrations", params={"limit": 500}).json()["total"],
    )


@pytest.mark.parametrize(
    "case",
    [
        "past booking",
        "overlapping booking",
        "another center's room",
        "registration twice",
        "registration before the window",
        "registration after the window",
        "unknown field",
        "bad week",
        "malformed json",
        "resident publishes",
        "activity in a taken room",
        "capacity beyond the room",
    ],
)
def test_bad_input_is_a_clear_4xx_and_changes_nothing(api, case):
    activity = new_activity(api, registration_opens_at=None)
    soon = new_activity(
        api,
        title="老年太极",
        room="children",
        registration_opens_at=iso(datetime.now(UTC) + timedelta(days=1)),
    )
    closed = new_activity(
        api,
        title="健康讲座",
        room=None,
        place="东村社区卫生室",
        registration_closes_at=iso(datetime.now(UTC) - timedelta(minutes=1)),
    )
    api(
        "POST",
        f"/api/v1/activities/{activity['id']}/registrations",
        "resident",
        sub="res-1",
        json={},
    )
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    api(
        "POST",
        "/api/v1/rooms/meeting/bookings",
        "admin",
        json={
            "starts_at": iso(tomorrow),
            "ends_at": iso(tomorrow + timedelta(hours=2)),
            "purpose": "党建联席会",
        },
    )
    before = _snapshot(api)
    send, status, code_or_field = {
        "past booking": (
            lambda: api(
                "POST",
                "/api/v1/rooms/sports/bookings",
                json={
                    "starts_at": iso(tomorrow - timedelta(days=2)),
                    "ends_at": iso(tomorrow - timedelta(days=2, hours=-1)),
                    "purpose": "补订",
                },
            ),
            422,
            "starts_at",
        ),
        "overlapping booking": (
            lambda: api(
                "POST",
                "/api/v1/rooms/meeting/bookings",
                "admin",
                json={
                    "starts_at": iso(tomorrow + timedelta(hours=1)),
                    "ends_at": iso(tomorrow + timedelta(hours=3)),
                    "purpose": "志愿者培训",
                },
            ),
            409,
            "ROOM_UNAVAILABLE",
        ),
        "another center's room": (
            lambda: api(
                "POST",
                "/api/v1/rooms/sports/bookings",
                center="fenghuangtai",
                json={
                    "starts_at": iso(tomorrow),
                    "ends_at": iso(tomorrow + timedelta(hours=1)),
                    "purpose": "会议",
                },
            ),
            404,
            "ROOM_NOT_FOUND",
        ),
        "registration twice": (
            lambda: api(
                "POST",
                f"/api/v1/activities/{activity['id']}/registrations",
                "resident",
                sub="res-1",
                json={},
            ),
            409,
            "ALREADY_REGISTERED",
        ),
        "registration before the window": (
            lambda: api(
                "POST",
                f"/api/v1/activities/{soon['id']}/registrations",
                "resident",
                sub="res-1",
                json={},
            ),
            409,
            "REGISTRATION_CLOSED",
        ),
        "registration after the window": (
            lambda: api(
                "POST",
                f"/api/v1/activities/{closed['id']}/registrations",
                "resident",
                sub="res-1",
                json={},
            ),
            409,
            "REGISTRATION_CLOSED",
        ),
        "unknown field": (
            lambda: api(
                "POST",
                f"/api/v1/activities/{activity['id']}/registrations",
                "resident",
                sub="res-2",
                json={"members": [], "vip": True},
            ),
            422,
            "vip",
        ),
        "bad week": (
            lambda: api("GET", "/api/v1/calendar", params={"week": "2026-W60"}),
            422,
            "week",
        ),
        "malformed json": (
            lambda: api(
                "POST",
                "/api/v1/rooms/sports/bookings",
                data=b'{"starts_at": ',
                headers_extra={"Content-Type": "application/json"},
            ),
            400,
            "MALFORMED_JSON",
        ),
        "resident publishes": (
            lambda: api("POST", "/api/v1/activities", "resident", json={}),
            403,
            "ROLE_FORBIDDEN",
        ),
        "activity in a taken room": (
            lambda: api(
                "POST",
                "/api/v1/activities",
                json={
                    "title": "党员学习会",
                    "starts_at": iso(tomorrow + timedelta(minutes=30)),
                    "ends_at": iso(tomorrow + timedelta(hours=1)),
                    "room": "meeting",
                    "capacity": 10,
                },
            ),
            409,
            "ROOM_UNAVAILABLE",
        ),
        "capacity beyond the room": (
            lambda: api(
                "POST",
                "/api/v1/activities",
                json={
                    "title": "亲子手工",
                    "starts_at": iso(tomorrow + timedelta(days=3)),
                    "ends_at": iso(tomorrow + timedelta(days=3, hours=1)),
                    "room": "children",
                    "capacity": 31,
                },
            ),
            422,
            "capacity",
        ),
    }[case]
    response = send()
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["detail"]
    assert code_or_field == problem["code"] or code_or_field in problem.get("errors", {}), problem
    assert _snapshot(api) == before
