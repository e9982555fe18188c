"""Reading tickets: scoped to the center, filtered, the board by deadline, satisfaction."""

from datetime import UTC, datetime, timedelta

import pytest

from lianxin.contracts.tickets.operations import RatingGiven, Resolution, TicketFilter
from lianxin.errors import NotFound
from lianxin.roles import PARTIES, Principal
from services.tickets import queries, workflow

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Yanming Lake
STAFF = Principal.person("duty-1", "staff")
PAGE = TicketFilter(limit=50, offset=0, state=None, category=None, party=None)


def test_another_centers_ticket_is_not_found(db, report):
    ticket = report(center="fenghuangtai")
    with pytest.raises(NotFound):
        queries.get_ticket(db_session=db, center_id="yanminghu", ticket_id=ticket.id)
    assert (
        queries.get_ticket(db_session=db, center_id="fenghuangtai", ticket_id=ticket.id).id
        == ticket.id
    )


def test_a_resident_sees_only_their_own_ticket(db, ticket):
    mine = Principal.person("res-1", "resident")
    assert (
        queries.visible_ticket(
            db_session=db, center_id="yanminghu", ticket_id=ticket.id, reader=mine
        )
        is ticket
    )
    with pytest.raises(NotFound):
        queries.visible_ticket(
            db_session=db,
            center_id="yanminghu",
            ticket_id=ticket.id,
            reader=Principal.person("res-2", "resident"),
        )


def test_list_is_scoped_to_the_center_and_filtered(db, report):
    report()
    report(category="elderly_care")
    report(center="fenghuangtai")
    items, total = queries.list_tickets(db_session=db, center_id="yanminghu", query=PAGE)
    assert total == 2 and {t.center_id for t in items} == {"yanminghu"}
    items, total = queries.list_tickets(
        db_session=db, center_id="yanminghu", query=TicketFilter(50, 0, None, None, "social_work")
    )
    assert total == 1 and items[0].category == "elderly_care"


def test_a_party_handler_reads_only_its_own_partys_tickets():
    handler = Principal("wy-1", "staff", ("yanminghu",), party="property")
    assert queries.as_seen_by(handler, PAGE).party == "property"
    asked = TicketFilter(50, 0, None, None, "social_work")
    assert queries.as_seen_by(handler, asked).party not in PARTIES  # another party's: none
    assert queries.as_seen_by(STAFF, PAGE).party is None


def test_satisfaction_rate_per_party_and_month(db, outbox, created):
    ratings = ["satisfied"] * 130 + ["basically_satisfied"] * 67 + ["dissatisfied"] * 3
    for i, rating in enumerate(ratings):
        t = created(
            reporter=f"r{i}",
            description=f"诉求{i}",
            category="sanitation" if i % 2 else "elderly_care",
        )
        common = {"db_session": db, "outbox": outbox, "ticket": t, "actor": STAFF, "now": NOW}
        workflow.acknowledge_ticket(**common)
        workflow.resolve_ticket(**common, data=Resolution("已处理"))
        workflow.rate_ticket(**common, data=RatingGiven(rating, via="phone"))
    rows = queries.satisfaction(
        db_session=db, center_id="yanminghu", group_by="center", start=None, end=None
    )
    assert rows == [
        {
            "key": "yanminghu",
            "ratings": 200,
            "satisfied": 130,
            "basically_satisfied": 67,
            "dissatisfied": 3,
            "rate": 98.5,
        }
    ]
    by_party = queries.satisfaction(
        db_session=db, center_id="yanminghu", group_by="party", start=None, end=None
    )
    assert {r["key"] for r in by_party} == {"property", "social_work"}
    by_month = queries.satisfaction(
        db_session=db, center_id="yanminghu", group_by="month", start=None, end=None
    )
    assert [r["key"] for r in by_month] == ["2026-12"]


def test_board_sorts_open_tickets_by_deadline_with_counts(db, outbox, ticket, created):
    urgent = created(
        reporter=None,
        when=NOW - timedelta(minutes=5),
        category="elderly_care",
        description="独居老人刘敬州家中停水",
        channel="hotline",
    )
    workflow.acknowledge_ticket(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    result = queries.board(
        db_session=db,
        center_id="yanminghu",
        query=TicketFilter(limit=10, offset=0, state=None, category=None, party=None),
    )
    assert [t.id for t in result["items"]] == [urgent.id, ticket.id]
    assert result["counts"]["reported"] == 1 and result["counts"]["assigned"] == 1
    only = queries.board(
        db_session=db, center_id="yanminghu", query=TicketFilter(10, 0, None, None, "social_work")
    )
    assert [t.id for t in only["items"]] == [urgent.id] and only["total"] == 1
