"""notify's batch handler: ``handle_events`` records for a batch exactly what ``handle_event``
records event by event — the same deliveries, archived events, webhooks and reminders, the
same outcomes counted — in one INSERT per table, after every read."""

import json
import types
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import event as sa_event
from sqlalchemy import select

from lianxin.contracts import load_catalogue, parse_event
from lianxin.contracts.notify.operations import NewContact, NewSubscription
from lianxin.contracts.tickets import events as tk
from lianxin.contracts.volunteers import events as vo
from lianxin.db import make_engine, make_session_factory
from lianxin.roles import Principal
from services.notify import directory, handlers, subscriptions
from services.notify.cache import ReadCache
from services.notify.centers import CenterNames
from services.notify.channels import WebhookGuard
from services.notify.models import Delivery, EventRecord, ScheduledMessage, WebhookDelivery
from services.notify.service import NotifyService
from services.notify.settings import Settings

GOLDEN = Path(__file__).resolve().parent.parent / "kit" / "golden"
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, days before the samples' shifts
CENTER_NAME = "雁鸣湖镇镇区社区党群服务中心"
DEPARTMENT = Principal(sub="civil-affairs", role="department", centers=("yanminghu",))


def golden(etype):
    return json.loads((GOLDEN / f"{etype}.json").read_text(encoding="utf-8"))


def every_event():
    """A sample of every type notify receives, and a signup cancelled after its confirmation
    in the same batch (its reminders scheduled, then withdrawn)."""
    bodies = [golden(t) for t in load_catalogue().values() if t.service != "notify"]
    confirmed = golden(vo.SIGNUP_CONFIRMED)
    cancelled = golden(vo.SIGNUP_CANCELLED)
    cancelled["id"] = "0b7e3a36-2a55-4c34-9a39-0c1e7b0f9d01"
    cancelled["data"].update(
        shift_id=confirmed["data"]["shift_id"], person_id=confirmed["data"]["person_id"]
    )
    bodies.append(cancelled)
    return [parse_event(b, expected=b["type"]) for b in bodies]


def ticket_events(n):
    body = golden(tk.TICKET_CREATED)
    out = []
    for i in range(n):
        one = {
            **body,
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "data": {**body["data"], "ticket_id": f"t-{i}"},
        }
        out.append(parse_event(one, expected=tk.TICKET_CREATED))
    return out


@pytest.fixture
def notify(sqlite_url, migrated, monkeypatch):
    """``notify(name)`` → (service, session, counted): NotifyService on a database of its own,
    its directory filled (everyone the samples name reachable by SMS and e-mail, the staff,
    a property handler) and a department subscribed to every type."""
    monkeypatch.setattr(handlers, "now_utc", lambda: NOW)
    opened = []

    def make(name):
        engine = make_engine(migrated("notify", sqlite_url(name)))
        session = make_session_factory(engine)()
        opened.append((engine, session))
        people = {
            e["data"][k]
            for e in every_event()
            for k in ("person_id", "actor_id")
            if e["data"].get(k)
        }
        people |= {p for e in every_event() for p in e["data"].get("person_ids") or ()}
        for n, person in enumerate(sorted(people)):
            directory.upsert_contact(
                db_session=session,
                center_id="yanminghu",
                data=NewContact(
                    **{
                        "person_id": person,
                        "name": f"居民{n}",
                        "role": "resident",
                        "party": None,
                        "phone": f"1380000{n:04d}",
                        "email": f"p{n}@example.cn",
                        "wechat_openid": None,
                        "webhook_url": None,
                    }
                ),
            )
        for person, role, party in (
            ("staff-1", "staff", None),
            ("admin-1", "admin", None),
            ("wy-1", "staff", "property"),
        ):
            directory.upsert_contact(
                db_session=session,
                center_id="yanminghu",
                data=NewContact(
                    **{
                        "person_id": person,
                        "name": person,
                        "role": role,
                        "party": party,
                        "phone": "13900000000",
                        "email": f"{person}@example.cn",
                        "wechat_openid": "wx",
                        "webhook_url": None,
                    }
                ),
            )
        subscriptions.create_subscription(
            db_session=session,
            principal=DEPARTMENT,
            now=NOW,
            guard=WebhookGuard.from_config({"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1:9"}),
            data=NewSubscription(
                **{
                    "url": "http://127.0.0.1:9/hook",
                    "types": ["cn.lianxin.*"],
                    "centers": ["yanminghu"],
                }
            ),
        )
        session.commit()
        counted = []
        service = worker_factory(
            NotifyService,
            db=session,
            cache=ReadCache(ttl=5),
            dispatcher=types.SimpleNamespace(settings=Settings(), count=counted.extend),
            centers=CenterNames(),
            tickets_rpc=types.SimpleNamespace(get_center=lambda c: {"id": c, "name": CENTER_NAME}),
        )
        return service, session, counted

    yield make
    for engine, session in opened:
        session.close()
        engine.dispose()


def recorded(session):
    """Everything handling wrote, minus the random ids (the subscription's too), comparable
    across databases."""

    def rows(model, skip=("id",)):
        cols = [c for c in model.__table__.columns if c.name not in skip]
        return sorted(tuple(map(repr, r)) for r in session.execute(select(*cols)))

    return {
        "deliveries": rows(Delivery),
        "event_log": rows(EventRecord, skip=()),
        "webhooks": rows(WebhookDelivery, skip=("id", "subscription_id")),
        "scheduled": rows(ScheduledMessage),
    }


def test_a_batch_records_exactly_what_its_events_record_one_at_a_time(notify):
    events = every_event()
    one_by_one, s1, counted1 = notify("one_by_one")
    for e in events:
        one_by_one.handle_event(e)
        s1.commit()
    batched, s2, counted2 = notify("batched")
    batched.handle_events(events)
    s2.commit()

    alone, together = recorded(s1), recorded(s2)
    assert together == alone
    assert len(alone["event_log"]) == len(events) and alone["webhooks"] and alone["scheduled"]
    assert {"sms", "email", "in_app"} <= {d.channel for d in s2.scalars(select(Delivery))}
    # An e-mail's footer names the center, as the tickets service does.
    assert all(
        d.body.endswith(f"连心桥 · {CENTER_NAME}\n本邮件由系统自动发送，请勿直接回复。")
        for d in s2.scalars(select(Delivery).filter_by(channel="email"))
    )
    assert Counter(map(repr, counted2)) == Counter(map(repr, counted1))
    # The signup confirmed and cancelled in the same batch: its reminders are withdrawn.
    person = golden(vo.SIGNUP_CONFIRMED)["data"]["person_id"]
    assert {m.state for m in s2.scalars(select(ScheduledMessage).filter_by(person_id=person))} == {
        "cancelled"
    }


def test_a_batch_takes_one_insert_per_table_after_every_read(notify):
    service, session, _counted = notify("statements")
    statements = []

    def seen(_conn, _cursor, statement, _params, _context, executemany):
        statements.append(
            statement.split()[0].upper()
            + " "
            + (statement.split()[2] if statement.upper().startswith("INSERT") else "")
        )

    engine = session.get_bind()
    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        events = ticket_events(10)
        service.handle_events(events)
        session.commit()
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert sorted(inserts) == ["INSERT deliveries", "INSERT event_log", "INSERT webhook_deliveries"]
    first_write = statements.index(inserts[0])
    assert not [s for s in statements[first_write:] if s.startswith("SELECT")]
    assert set(session.scalars(select(Delivery.source_id))) == {e["id"] for e in events}


def test_a_batch_with_an_event_already_recorded_adds_and_counts_only_the_new_ones(notify):
    service, session, counted = notify("repeat")
    old, new = ticket_events(2)
    service.handle_events([old])
    session.commit()
    before, outcomes = recorded(session), len(counted)

    service.handle_events([old, new])
    session.commit()
    after = recorded(session)
    added = {k: len(after[k]) - len(before[k]) for k in after}
    assert added == {"deliveries": outcomes, "event_log": 1, "webhooks": 1, "scheduled": 0}
    assert len(counted) == 2 * outcomes  # the repeat counted nothing
