"""Intake: a report is routed by its category, given its deadlines, stored and announced."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lianxin.contracts import parse_event
from lianxin.errors import InvalidInput
from services.tickets import intake
from services.tickets.exceptions import CenterNotFound
from services.tickets.models import Ticket, outbox_table

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
WHERE = {"address": "东村社区3号楼", "lat": None, "long": None, "channel": "web"}


def test_ticket_is_routed_to_the_party_of_its_category(report):
    assert report(when=NOW, **WHERE).party == "property"
    assert report(when=NOW, category="elderly_care", **WHERE).party == "social_work"


def test_unacknowledged_deadline_is_ten_minutes_and_resolve_deadline_per_category(report):
    ticket = report(when=NOW, category="elderly_care", **WHERE)
    assert ticket.ack_due_at == NOW + timedelta(minutes=10)
    assert ticket.resolve_due_at == NOW + timedelta(hours=48)


def test_creation_is_announced_in_the_same_transaction_without_contact_data(db, report):
    ticket = report(when=NOW, **WHERE)
    body = db.execute(select(outbox_table.c.body)).scalar_one()
    event = parse_event(body)
    assert event["type"] == "cn.lianxin.tickets.ticket.created.v1" and event["subject"] == ticket.id
    assert event["data"]["category_name"] == "环境卫生"
    assert "13800000000" not in str(body)


def test_unknown_category_names_the_field_and_stores_nothing(db, report):
    with pytest.raises(InvalidInput) as err:
        report(when=NOW, category="fireworks", **WHERE)
    assert "category" in err.value.fields
    db.rollback()
    assert db.execute(select(outbox_table)).all() == []


def test_unknown_center_is_not_found(report):
    with pytest.raises(CenterNotFound):
        report(center="atlantis", when=NOW, **WHERE)


def test_a_new_ticket_row_has_every_column_of_the_table():
    """The batched INSERT writes a TicketRow's fields: a column added to the table must be
    added there too (mypy then checks every place that builds one)."""
    stored = {f.name for f in dataclasses.fields(intake.TicketRow)} - {"category_name"}
    assert stored == {c.key for c in Ticket.__table__.columns}
