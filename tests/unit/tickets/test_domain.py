from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lianxin.contracts import parse_event
from lianxin.errors import InvalidInput, NotFound
from services.tickets import domain
from services.tickets.exceptions import CenterConflict, CenterNotFound
from services.tickets.models import outbox_table

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def report(db, outbox, center="yanminghu", **overrides):
    data = {"category": "sanitation", "description": "3号楼门口垃圾两天没人清运", "address": "东村社区3号楼",
            "lat": None, "long": None, "channel": "web", **overrides}
    ticket = domain.create_ticket(db_session=db, outbox=outbox, center_id=center, data=data,
                                  reporter_id=None, now=NOW)
    db.commit()
    return ticket


def test_ticket_is_routed_to_the_party_of_its_category(db, outbox):
    assert report(db, outbox).party == "property"
    assert report(db, outbox, category="elderly_care").party == "social_work"


def test_unacknowledged_deadline_is_ten_minutes_and_resolve_deadline_per_category(db, outbox):
    ticket = report(db, outbox, category="elderly_care")
    assert ticket.ack_due_at == NOW + timedelta(minutes=10)
    assert ticket.resolve_due_at == NOW + timedelta(hours=48)


def test_creation_is_announced_in_the_same_transaction_without_contact_data(db, outbox):
    ticket = report(db, outbox)
    body = db.execute(select(outbox_table.c.body)).scalar_one()
    event = parse_event(body)
    assert event["type"] == "cn.lianxin.tickets.ticket.created.v1" and event["subject"] == ticket.id
    assert event["data"]["category_name"] == "环境卫生"
    assert "13800000000" not in str(body)


def test_unknown_category_names_the_field_and_stores_nothing(db, outbox):
    with pytest.raises(InvalidInput) as err:
        report(db, outbox, category="fireworks")
    assert "category" in err.value.fields
    db.rollback()
    assert db.execute(select(outbox_table)).all() == []


def test_unknown_center_is_not_found(db, outbox):
    with pytest.raises(CenterNotFound):
        report(db, outbox, center="atlantis")


def test_another_centers_ticket_is_not_found(db, outbox):
    ticket = report(db, outbox, center="fenghuangtai")
    with pytest.raises(NotFound):
        domain.get_ticket(db_session=db, center_id="yanminghu", ticket_id=ticket.id)
    assert domain.get_ticket(db_session=db, center_id="fenghuangtai", ticket_id=ticket.id).id == ticket.id


def test_list_is_scoped_to_the_center_and_filtered(db, outbox):
    report(db, outbox)
    report(db, outbox, category="elderly_care")
    report(db, outbox, center="fenghuangtai")
    q = {"limit": 50, "offset": 0}
    items, total = domain.list_tickets(db_session=db, center_id="yanminghu", query=q)
    assert total == 2 and {t.center_id for t in items} == {"yanminghu"}
    items, total = domain.list_tickets(db_session=db, center_id="yanminghu",
                                       query={**q, "party": "social_work"})
    assert total == 1 and items[0].category == "elderly_care"


def test_center_ids_are_unique(db):
    with pytest.raises(CenterConflict):
        domain.create_center(db_session=db, data={"id": "yanminghu", "name": "重复"})
