"""The events domain on a migrated SQLite database, with its outbox read back as events."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lianxin.contracts import parse_event
from lianxin.contracts.schema import load
from lianxin.outbox import OutboxWriter

CENTER = "yanminghu"
#: The tests' clock: a Monday morning in Asia/Shanghai (2026-11-30 08:00 +08:00).
NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


class Events:
    """The center's rooms and programmes, a session, and what the outbox holds."""

    def __init__(self, session, outbox_table):
        self.session = session
        self.table = outbox_table
        self.outbox = OutboxWriter(session, outbox_table)
        self.seen = 0

    def all(self) -> list[dict]:
        rows = self.session.execute(select(self.table.c.body).order_by(self.table.c.id)).scalars()
        return [parse_event(body) for body in rows]

    def new(self) -> list[dict]:
        """Events written since the last call, validated against their contracts."""
        events = self.all()
        fresh, self.seen = events[self.seen :], len(events)
        return fresh

    def types(self) -> list[str]:
        return [e["type"].split(".", 3)[3].rsplit(".", 1)[0] for e in self.new()]


@pytest.fixture
def db(service_session):
    from lianxin.contracts.events.operations import NewProgramme, NewRoom
    from services.events.models import outbox_table
    from services.events.programmes import add_programme
    from services.events.rooms import add_room

    session = service_session("events")
    for code, name, capacity, approval in [
        ("sports", "文体活动室", 80, False),
        ("children", "儿童之家", 30, False),
        ("meeting", "多功能会议室", 40, True),
    ]:
        add_room(
            db_session=session,
            center_id=CENTER,
            data=NewRoom(
                code=code, name=name, capacity=capacity, equipment=["音响"], needs_approval=approval
            ),
        )
    add_programme(
        db_session=session,
        center_id=CENTER,
        data=NewProgramme(
            code="yuedong_elderly",
            name="悦动耄耋——老年人康乐服务",
            description="",
            audience="elderly",
        ),
    )
    session.commit()
    return Events(session, outbox_table)


@pytest.fixture
def actors():
    from lianxin.roles import Principal

    class Actors:
        staff = Principal.person("sw-1", "staff")
        admin = Principal.person("admin-1", "admin")
        volunteer = Principal.person("vol-1", "volunteer")

        @staticmethod
        def resident(n: int = 1) -> Principal:
            return Principal.person(f"res-{n}", "resident")

    return Actors


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def activity_data():
    """``activity_data(**overrides)`` → a loaded ActivityCreate payload (趣味益智 健康生活,
    Wednesday 09:30 in 文体活动室, 20 places)."""
    from lianxin.contracts.events.operations import ActivityCreate, NewActivity

    def make(**overrides) -> NewActivity:
        starts = NOW + timedelta(days=2, hours=1, minutes=30)
        payload = {
            "title": "趣味益智 健康生活",
            "programme": "yuedong_elderly",
            "audience": "elderly",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=1, minutes=30),
            "room": "sports",
            "capacity": 20,
            "description": "反口令动作、翻花绳等益智游戏",
        }
        payload.update(overrides)
        return load(
            ActivityCreate,
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in payload.items()},
        )

    return make


@pytest.fixture
def new_activity(db, actors, activity_data):
    """``new_activity(**overrides)`` → an activity created by staff at NOW (committed)."""
    from services.events import activities

    def make(**overrides):
        activity = activities.create_activity(
            db_session=db.session,
            outbox=db.outbox,
            center_id=CENTER,
            data=activity_data(**overrides),
            actor=actors.staff,
            now=NOW,
        )
        db.session.commit()
        db.new()
        return activity

    return make
