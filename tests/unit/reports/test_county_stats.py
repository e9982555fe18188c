"""The county view's ticket figures (``county_ticket_stats``), counted in SQL for many centers
at once: each center's line equals its own ``ticket_stats`` total and satisfaction by center
for the same days."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as ops
from services.tickets import configuration, queries
from services.tickets.models import Rating, Ticket, TicketLog
from services.tickets.statistics import county_ticket_stats, period_bounds, ticket_stats

CENTERS = ("yanminghu", "fenghuangtai", "quiet")
# 1 November 2026, 00:00 in Shanghai.
NOV_START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)


@pytest.fixture
def db(service_session):
    return with_centers(service_session("tickets"))


def with_centers(session):
    """``session`` with the three centers and two categories each, committed."""
    for center in CENTERS:
        configuration.create_center(
            db_session=session, data=load(ops.CenterCreate, {"id": center, "name": center})
        )
        for code, name, party in (
            ("sanitation", "环境卫生", "property"),
            ("elderly_care", "养老服务", "social_work"),
        ):
            configuration.add_category(
                db_session=session,
                center_id=center,
                data=load(ops.CategoryCreate, {"code": code, "name": name, "party": party}),
            )
    session.commit()
    return session


def make(db, center, created, *, ack=None, resolve=None, breached=False, steps=(), rating=None):
    tid = str(uuid.uuid4())
    party, category = ("property", "sanitation")
    db.add(
        Ticket(
            id=tid,
            center_id=center,
            category=category,
            party=party,
            state="reported",
            channel="web",
            description="测试",
            follow_code=tid[:8],
            created_at=created,
            updated_at=created,
            ack_due_at=created + timedelta(minutes=10),
            resolve_due_at=created + timedelta(days=3),
            acknowledged_at=created + ack if ack is not None else None,
            resolved_at=created + resolve if resolve is not None else None,
            resolve_breached=breached,
            attributes={},
        )
    )
    for action, at in steps:
        db.add(
            TicketLog(
                center_id=center,
                ticket_id=tid,
                action=action,
                from_state=None,
                to_state="returned",
                at=at,
            )
        )
    if rating:
        value, at = rating
        db.add(
            Rating(
                center_id=center,
                ticket_id=tid,
                party=party,
                category=category,
                rating=value,
                via="phone",
                comment="",
                rated_at=at,
            )
        )


@pytest.fixture
def month(db):
    """Two busy centers (one with an even number of resolutions: the median is the middle
    two's mean) and one quiet one; edges on both ends of the month and of the 10 minutes."""
    day = NOV_START + timedelta(days=3)
    a, b = CENTERS[0], CENTERS[1]
    make(db, a, day, ack=timedelta(minutes=10), resolve=timedelta(hours=5))  # exactly 10 min
    make(db, a, day, ack=timedelta(minutes=10, seconds=1), resolve=timedelta(days=2))
    make(db, a, day, ack=timedelta(minutes=3), breached=True)
    make(db, a, NOV_START - timedelta(days=2), resolve=timedelta(days=3))  # resolved only
    make(db, a, NOV_START - timedelta(minutes=1), resolve=timedelta(hours=1))  # resolved only
    make(
        db,
        a,
        NOV_START - timedelta(days=1),
        steps=[("return", NOV_START - timedelta(hours=1)), ("return", day), ("escalate", day)],
        rating=("satisfied", day),
    )
    make(db, a, day, rating=("dissatisfied", day + timedelta(days=1)))
    make(db, a, day, rating=("basically_satisfied", datetime(2026, 11, 30, 16, 0, tzinfo=UTC)))
    for hours in (1, 2, 7, 30):
        make(db, b, day, ack=timedelta(minutes=1), resolve=timedelta(hours=hours))
    make(db, b, datetime(2026, 11, 30, 15, 59, tzinfo=UTC), steps=[("escalate", day)])
    make(db, b, day, rating=("satisfied", day), breached=True)
    db.commit()
    return db


def own(db, center):
    """The center's own answers: ``ticket_stats`` and the satisfaction by center."""
    stats = ticket_stats(db_session=db, center_id=center, date_from=FIRST, date_to=LAST)
    start, end = period_bounds(FIRST, LAST)
    rated = queries.satisfaction(
        db_session=db, center_id=center, group_by="center", start=start, end=end
    )
    return {
        "center_id": center,
        "center_name": center,
        "total": stats["total"],
        "median_resolve_hours": stats["median_resolve_hours"],
        "ratings": rated[0]["ratings"] if rated else 0,
        "satisfaction": rated[0]["rate"] if rated else None,
    }


def test_each_centers_line_equals_its_own_statistics(month):
    lines = county_ticket_stats(
        db_session=month, center_ids=list(CENTERS), date_from=FIRST, date_to=LAST
    )
    assert [line["center_id"] for line in lines] == list(CENTERS)
    for line in lines:
        assert line == own(month, line["center_id"])


def test_the_figures_are_those_of_the_month(month):
    a, b, quiet = county_ticket_stats(
        db_session=month, center_ids=list(CENTERS), date_from=FIRST, date_to=LAST
    )
    total = a["total"]
    assert (total["received"], total["resolved"], total["overdue"]) == (5, 4, 1)
    assert total["acknowledged_in_10_minutes"] == 2  # 10 minutes exactly counts, 10:01 not
    assert (total["returned"], total["escalated"]) == (1, 1)
    assert a["ratings"] == 2 and a["satisfaction"] == 50.0
    assert b["median_resolve_hours"] == 4.5  # (2 + 7) / 2
    assert b["total"]["escalated"] == 1 and b["satisfaction"] == 100.0
    assert quiet["total"]["received"] == 0 and quiet["median_resolve_hours"] is None
    assert quiet["total"]["acknowledged_in_10_minutes_rate"] is None
    assert quiet["ratings"] == 0 and quiet["satisfaction"] is None


def test_only_the_centers_asked_are_counted(month):
    [line] = county_ticket_stats(
        db_session=month, center_ids=[CENTERS[1]], date_from=FIRST, date_to=LAST
    )
    assert line["center_id"] == CENTERS[1] and line["total"]["received"] == 6
    assert county_ticket_stats(db_session=month, center_ids=[], date_from=FIRST, date_to=LAST) == []


def test_every_center_by_id_and_only_centers_that_exist(month):
    every = county_ticket_stats(db_session=month, center_ids=None, date_from=FIRST, date_to=LAST)
    assert [line["center_id"] for line in every] == sorted(CENTERS)
    assert every == sorted(
        county_ticket_stats(
            db_session=month, center_ids=list(CENTERS), date_from=FIRST, date_to=LAST
        ),
        key=lambda line: line["center_id"],
    )
    # a department granted a center that was never created: no line for it
    [line] = county_ticket_stats(
        db_session=month, center_ids=["nowhere", CENTERS[0]], date_from=FIRST, date_to=LAST
    )
    assert line["center_id"] == CENTERS[0]
