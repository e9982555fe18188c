"""Notify's domain on a SQLite database built by its real migrations (no broker)."""

import pytest

from lianxin.contracts import make_event, parse_event


@pytest.fixture
def db(sqlite_url, migrated):
    """A session on a freshly migrated notify database."""
    from lianxin.db import make_engine, make_session_factory

    engine = make_engine(migrated("notify", sqlite_url("notify")))
    session = make_session_factory(engine)()
    yield session
    session.close()
    engine.dispose()


@pytest.fixture
def settings():
    from services.notify.domain import Settings

    return Settings(retry_base=10, retry_cap=60, max_attempts=3)


@pytest.fixture
def event():
    """``event(TYPE, data, center="yanminghu")`` → a validated envelope, as the kit hands it."""

    def make(etype, data, center="yanminghu", subject="s-1"):
        return parse_event(make_event(etype, center_id=center, subject=subject, data=data),
                           expected=etype)

    return make


@pytest.fixture
def contacts(db):
    """``contacts(*entries)`` → the directory of yanminghu filled with them."""
    from services.notify import domain

    def add(*entries):
        for entry in entries:
            data = {"role": "staff", "party": None, "phone": None, "email": None,
                    "wechat_openid": None, "webhook_url": None, **entry}
            data.setdefault("name", data["person_id"])
            domain.upsert_contact(db_session=db, center_id="yanminghu", data=data)
        db.commit()

    return add

