"""Notify's domain on a SQLite database built by its real migrations (no broker)."""

import pytest

from lianxin.contracts import make_event, parse_event


@pytest.fixture
def db(service_session):
    """A session on a fresh copy of the migrated notify database."""
    return service_session("notify")


@pytest.fixture
def settings():
    from services.notify.settings import Settings

    return Settings(retry_base=10, retry_cap=60, max_attempts=3)


@pytest.fixture
def event():
    """``event(TYPE, data, center="yanminghu")`` → a validated envelope, as the kit hands it."""

    def make(etype, data, center="yanminghu", subject="s-1"):
        return parse_event(
            make_event(etype, center_id=center, subject=subject, data=data), expected=etype
        )

    return make


@pytest.fixture
def contacts(db):
    """``contacts(*entries)`` → the directory of yanminghu filled with them."""
    from lianxin.contracts.notify.operations import NewContact
    from services.notify import directory

    def add(*entries):
        for entry in entries:
            data = {"role": "staff", **entry}
            data.setdefault("name", data["person_id"])
            directory.upsert_contact(db_session=db, center_id="yanminghu", data=NewContact(**data))
        db.commit()

    return add


@pytest.fixture
def ticket_created(event):
    """``ticket_created(duty=(), now=…, **data)`` → a validated ticket.created of yanminghu
    (ticket 5f0c9a8e…, sanitation, for the property company), ``duty`` on duty."""
    from datetime import UTC, datetime, timedelta

    from lianxin.contracts.tickets import events as tk

    def make(duty=(), now=datetime(2026, 11, 27, 3, 0, tzinfo=UTC), **data):
        return event(
            tk.TICKET_CREATED,
            {
                "ticket_id": "5f0c9a8e-1b2c-4d3e-9f00-1234567890ab",
                "category": "sanitation",
                "category_name": "环境卫生",
                "party": "property",
                "channel": "hotline",
                "summary": "3号楼门口垃圾两天没人清运",
                "ack_due_at": now + timedelta(minutes=10),
                "resolve_due_at": now + timedelta(hours=24),
                "duty_person_ids": list(duty),
                **data,
            },
        )

    return make
