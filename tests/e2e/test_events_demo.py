"""The demo center's programmes, activities and rooms, as a resident and staff meet them over HTTP."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_centers_twelve_function_rooms_are_there(system, token):
    rooms = system.get("/api/v1/rooms", token=token("resident", sub="res-e2e-1")).json()
    names = {r["name"] for r in rooms}
    assert len(rooms) == 12
    assert {"党建活动室", "日间托老室", "文体活动室", "电子阅览室"} <= names


def test_the_reports_programmes_and_activities_are_there(system, token):
    staff = token("staff")
    programmes = {
        p["code"]: p["name"] for p in system.get("/api/v1/programmes", token=staff).json()
    }
    assert programmes["yuedong_elderly"].startswith("悦动耄耋")
    assert programmes["our_festivals"].startswith("我们的节日")
    upcoming = system.get(
        "/api/v1/activities", token=staff, params={"state": "published", "limit": 50}
    ).json()["items"]
    titles = {a["title"] for a in upcoming}
    assert {"趣味益智 健康生活", "绿色手工坊 环保小花盆"} <= titles
    held = system.get(
        "/api/v1/activities", token=staff, params={"programme": "our_festivals", "when": "past"}
    ).json()["items"]
    assert any("国庆晚会" in a["title"] and a["person_times"] > 0 for a in held)


def test_anyone_can_subscribe_to_the_centers_activity_calendar(system):
    """A phone's calendar app subscribes without logging in; an unknown center is a 404."""
    feed = system.get("/api/v1/public/centers/yanminghu/activities.ics")
    assert feed.status_code == 200 and feed.headers["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(feed.text)
    assert str(cal["x-wr-calname"]) == "雁鸣湖镇镇区社区党群服务中心活动"
    titles = {str(e["summary"]) for e in cal.walk("VEVENT")}
    assert {"趣味益智 健康生活", "绿色手工坊 环保小花盆"} <= titles
    assert system.get("/api/v1/public/centers/atlantis/activities.ics").status_code == 404


def test_yuedong_elderly_served_14700_person_times_in_a_year(system, token):
    stats = system.get(
        "/api/v1/attendance/stats", token=token("staff"), params={"programme": "yuedong_elderly"}
    ).json()
    assert stats["person_times"] == 14700
    assert stats["groups"][0]["label"] == "悦动耄耋——老年人康乐服务"


def test_a_resident_registers_and_takes_the_activity_home_as_ics(system, token):
    resident = token("resident", sub="res-e2e-2")
    items = system.get(
        "/api/v1/activities",
        token=resident,
        params={"programme": "yuedong_elderly", "state": "published"},
    ).json()["items"]
    activity = next(a for a in items if a["title"] == "趣味益智 健康生活")
    registered = system.post(
        f"/api/v1/activities/{activity['id']}/registrations", {"members": ["张书芬"]}, resident
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["state"] == "confirmed" and len(registered.json()["code"]) == 6
    again = system.post(f"/api/v1/activities/{activity['id']}/registrations", {}, resident)
    assert again.status_code == 409

    ics = system.get(f"/api/v1/activities/{activity['id']}.ics", token=resident)
    assert ics.headers["Content-Type"].startswith("text/calendar")
    [event] = Calendar.from_ical(ics.text).walk("VEVENT")
    assert str(event["summary"]) == "趣味益智 健康生活" and str(event["location"]) == "文体活动室"

    year, week, _ = datetime.fromisoformat(activity["starts_at"]).astimezone(SHANGHAI).isocalendar()
    calendar = system.get(
        "/api/v1/calendar", token=resident, params={"week": f"{year}-W{week:02d}"}
    )
    assert calendar.status_code == 200
    assert activity["id"] in {i["id"] for i in calendar.json()["items"]}


def test_the_dance_rooms_weekly_rehearsals_are_booked(system, token):
    bookings = system.get(
        "/api/v1/rooms/dance/bookings", token=token("staff"), params={"limit": 100}
    ).json()
    assert bookings["total"] == 24
    feed = system.get("/api/v1/rooms/dance.ics", token=token("resident", sub="res-e2e-3"))
    assert len(Calendar.from_ical(feed.text).walk("VEVENT")) == 24
