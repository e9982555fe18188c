"""The tickets service's figures of a period (``ticket_stats``): what the monthly report and
``GET /api/v1/tickets/stats`` print, counted on the Asia/Shanghai calendar."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as ops
from services.tickets import configuration
from services.tickets.models import Ticket, TicketLog
from services.tickets.statistics import ticket_stats

CENTER = "yanminghu"
# 1 November 2026, 00:00 in Shanghai.
NOV_START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)


@pytest.fixture
def db(service_session):
    session = service_session("tickets")
    configuration.create_center(
        db_session=session, data=load(ops.CenterCreate, {"id": CENTER, "name": "雁鸣湖"})
    )
    for code, name, party in (
        ("sanitation", "环境卫生", "property"),
        ("elderly_care", "养老服务", "social_work"),
    ):
        configuration.add_category(
            db_session=session,
            center_id=CENTER,
            data=load(ops.CategoryCreate, {"code": code, "name": name, "party": party}),
        )
    session.commit()
    return session


@pytest.fixture
def ticket(db):
    def make(
        created,
        *,
        category="sanitation",
        party="property",
        ack_after=None,
        resolve_after=None,
        breached=False,
        steps=(),
    ):
        tid = str(uuid.uuid4())
        db.add(
            Ticket(
                id=tid,
                center_id=CENTER,
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
                acknowledged_at=created + ack_after if ack_after else None,
                resolved_at=created + resolve_after if resolve_after else None,
                resolve_breached=breached,
                attributes={},
            )
        )
        for action, at in steps:
            db.add(
                TicketLog(
                    center_id=CENTER,
                    ticket_id=tid,
                    action=action,
                    from_state=None,
                    to_state="returned",
                    at=at,
                )
            )
        db.commit()
        return tid

    return make


def november(db):
    return ticket_stats(
        db_session=db, center_id=CENTER, date_from=date(2026, 11, 1), date_to=date(2026, 11, 30)
    )


def test_received_resolved_overdue_and_the_10_minute_share_by_party_and_category(db, ticket):
    day = NOV_START + timedelta(days=3)
    ticket(day, ack_after=timedelta(minutes=4), resolve_after=timedelta(hours=5))
    ticket(day, ack_after=timedelta(minutes=25), resolve_after=timedelta(days=2), breached=True)
    ticket(day, category="elderly_care", party="social_work", ack_after=timedelta(minutes=9))
    stats = november(db)
    total = stats["total"]
    assert (total["received"], total["resolved"], total["overdue"]) == (3, 2, 1)
    assert total["acknowledged_in_10_minutes"] == 2
    assert total["acknowledged_in_10_minutes_rate"] == 66.7
    parties = {r["key"]: r for r in stats["by_party"]}
    assert list(parties) == ["property", "social_work", "owners_committee", "village_committee"]
    assert parties["property"]["received"] == 2 and parties["property"]["label"] == "物业公司"
    assert parties["owners_committee"]["received"] == 0
    assert parties["owners_committee"]["acknowledged_in_10_minutes_rate"] is None
    categories = {r["key"]: r for r in stats["by_category"]}
    assert categories["sanitation"]["label"] == "环境卫生"
    assert categories["elderly_care"]["received"] == 1


def test_the_month_is_shanghais_a_ticket_at_2330_on_31_october_utc_is_novembers(db, ticket):
    ticket(NOV_START - timedelta(minutes=1))  # 23:59 on 31 October in Shanghai
    ticket(NOV_START + timedelta(minutes=1))  # 00:01 on 1 November
    ticket(datetime(2026, 11, 30, 15, 59, tzinfo=UTC))  # 23:59 on 30 November
    ticket(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 00:00 on 1 December
    assert november(db)["total"]["received"] == 2


def test_a_ticket_received_before_and_resolved_in_the_month_counts_as_resolved_only(db, ticket):
    ticket(NOV_START - timedelta(days=5), resolve_after=timedelta(days=6))
    total = november(db)["total"]
    assert (total["received"], total["resolved"]) == (0, 1)


def test_returns_and_escalations_are_counted_when_they_happened(db, ticket):
    inside, before = NOV_START + timedelta(days=1), NOV_START - timedelta(days=1)
    ticket(before, steps=[("return", before), ("return", inside), ("escalate", inside)])
    total = november(db)["total"]
    assert (total["returned"], total["escalated"]) == (1, 1)


def test_resolve_times_fall_in_buckets_and_the_median_is_in_hours(db, ticket):
    day = NOV_START + timedelta(days=2)
    for after in (
        timedelta(hours=2),
        timedelta(hours=20),
        timedelta(days=2),
        timedelta(days=5),
        timedelta(days=9),
    ):
        ticket(day, resolve_after=after)
    stats = november(db)
    assert [b["tickets"] for b in stats["resolve_time"]] == [2, 1, 1, 1]
    assert [b["label"] for b in stats["resolve_time"]][0] == "1 天内"
    assert stats["median_resolve_hours"] == 48.0


def test_another_centers_tickets_are_not_counted(db, ticket):
    configuration.create_center(
        db_session=db, data=load(ops.CenterCreate, {"id": "fenghuangtai", "name": "凤凰台"})
    )
    ticket(NOV_START + timedelta(days=1))
    assert (
        ticket_stats(
            db_session=db,
            center_id="fenghuangtai",
            date_from=date(2026, 11, 1),
            date_to=date(2026, 11, 30),
        )["total"]["received"]
        == 0
    )
