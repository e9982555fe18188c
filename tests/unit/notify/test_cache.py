"""What the hot path reads is cached for seconds, yet a change through this process applies
to the very next event; another replica's change applies within the TTL."""

from datetime import UTC, datetime

import pytest

from lianxin.contracts.notify.operations import (
    NewContact,
    NewSubscription,
    PreferenceChoice,
    QuietWindow,
    TemplateText,
)
from lianxin.contracts.tickets import events as tk
from lianxin.roles import Principal
from services.notify import directory, preferences, receiving, subscriptions, templates
from services.notify.cache import ReadCache, invalidate_on_commit
from services.notify.channels import WebhookGuard
from services.notify.models import Delivery

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
CIVIL = Principal(sub="civil-affairs", role="department", centers=("yanminghu",))


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def factory(db):
    """Sessions on the test database, as the service's: commits that touched a center
    invalidate the cache."""
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(db.get_bind(), expire_on_commit=False)


@pytest.fixture
def cache(factory, clock):
    cache = ReadCache(ttl=5, clock=clock)
    invalidate_on_commit(factory, cache)
    return cache


def staff(factory, cache):
    with factory() as session:
        return directory.Directory(session, cache=cache).members("yanminghu", ("staff",), None)


def add_contact(session, person_id, **extra):
    directory.upsert_contact(
        db_session=session,
        center_id="yanminghu",
        data=NewContact(
            **{
                "person_id": person_id,
                "name": person_id,
                "role": "staff",
                "party": None,
                "phone": None,
                "email": None,
                "wechat_openid": None,
                "webhook_url": None,
                **extra,
            }
        ),
    )


def created(event, ticket="t-1"):
    return event(
        tk.TICKET_CREATED,
        {
            "ticket_id": ticket,
            "category": "sanitation",
            "category_name": "环境卫生",
            "party": "property",
            "channel": "hotline",
            "summary": "垃圾没人清运",
            "ack_due_at": NOW,
            "resolve_due_at": NOW,
        },
    )


def returned(event, ticket="t-1"):
    """An event every staff member hears of, not critical (muting and quiet hours apply)."""
    return event(
        tk.TICKET_RETURNED,
        {
            "ticket_id": ticket,
            "category": "sanitation",
            "party": "property",
            "actor_id": "wy-1",
            "person_id": None,
            "reason": "不属于物业服务范围",
        },
    )


def test_kept_values_are_reloaded_after_the_ttl(clock):
    cache, loads = ReadCache(ttl=5, clock=clock), []

    def load():
        loads.append(1)
        return len(loads)

    assert [cache.get("yanminghu", "k", load) for _ in range(3)] == [1, 1, 1]
    clock.now += 5.01
    assert cache.get("yanminghu", "k", load) == 2


def test_a_load_overtaken_by_an_invalidation_is_used_once_but_not_kept(clock):
    cache = ReadCache(ttl=5, clock=clock)

    def load_while_someone_commits():
        cache.invalidate("yanminghu")  # a commit lands while this load reads the old rows
        return "old"

    assert cache.get("yanminghu", "k", load_while_someone_commits) == "old"
    assert cache.get("yanminghu", "k", lambda: "new") == "new"


def test_invalidating_one_center_keeps_the_others(clock):
    cache = ReadCache(ttl=5, clock=clock)
    cache.get("yanminghu", "k", lambda: "a")
    cache.get("fenghuang", "k", lambda: "b")
    cache.invalidate("yanminghu")
    assert cache.get("yanminghu", "k", lambda: "a2") == "a2"
    assert cache.get("fenghuang", "k", lambda: "b2") == "b"


def test_the_cache_stays_within_its_size(clock):
    cache = ReadCache(ttl=5, maxsize=100, clock=clock)
    for n in range(1000):
        cache.get("yanminghu", n, lambda n=n: n)
    assert len(cache._entries) <= 100
    assert cache.get("yanminghu", 999, lambda: "reloaded") == 999  # the newest are kept


def test_a_ttl_of_zero_reads_the_database_every_time(factory, clock):
    cache = ReadCache(ttl=0, clock=clock)
    with factory() as session:
        add_contact(session, "sw-1")
        session.commit()
    assert staff(factory, cache) == ("sw-1",)
    with factory() as session:
        add_contact(session, "sw-2")
        session.flush()
        # uncached, the directory reads through the caller's own session: its own writes count
        assert directory.Directory(session, cache=cache).members("yanminghu", ("staff",), None) == (
            "sw-1",
            "sw-2",
        )


def test_a_directory_change_committed_here_applies_to_the_next_read(factory, cache):
    with factory() as session:
        add_contact(session, "sw-1")
        session.commit()
    assert staff(factory, cache) == ("sw-1",)
    with factory() as session:
        add_contact(session, "sw-2")
        session.commit()
    assert staff(factory, cache) == ("sw-1", "sw-2")
    with factory() as session:
        directory.delete_contact(db_session=session, center_id="yanminghu", person_id="sw-1")
        session.commit()
    assert staff(factory, cache) == ("sw-2",)


def test_an_uncommitted_change_is_not_cached(factory, cache):
    with factory() as session:
        add_contact(session, "sw-1")
        session.commit()
    with factory() as writer:
        add_contact(writer, "sw-2")
        writer.flush()
        # a cached read loads on a connection of its own: it never keeps an uncommitted view
        assert staff(factory, cache) == ("sw-1",)
        writer.rollback()
    assert staff(factory, cache) == ("sw-1",)


def test_another_replicas_change_applies_within_the_ttl(db, factory, cache, clock):
    with factory() as session:
        add_contact(session, "sw-1")
        session.commit()
    assert staff(factory, cache) == ("sw-1",)
    add_contact(db, "sw-2")  # a session this process's cache does not hear from
    db.commit()
    assert staff(factory, cache) == ("sw-1",)
    clock.now += 5.01
    assert staff(factory, cache) == ("sw-1", "sw-2")


def test_muting_and_quiet_hours_apply_to_the_next_event(factory, cache, settings, event):
    from services.notify import planner

    with factory() as session:
        add_contact(session, "sw-1", email="sw1@example.cn")
        session.commit()

    def pushed(e):
        with factory() as session:
            receiving.apply_plan(
                db_session=session,
                center_id="yanminghu",
                source_id=e["id"],
                event_type=e["type"],
                plan=planner.plan_event(e, NOW),
                now=NOW,
                settings=settings,
                directory=directory.Directory(session, cache=cache),
            )
            session.commit()
            return [
                (d.channel, d.state)
                for d in session.query(Delivery).filter_by(source_id=e["id"], channel="email")
            ]

    assert pushed(returned(event, "t-1")) == [("email", "pending")]
    with factory() as session:
        preferences.set_preference(
            db_session=session,
            center_id="yanminghu",
            person_id="sw-1",
            message_type="ticket.returned",
            data=PreferenceChoice(**{"muted": True}),
        )
        session.commit()
    assert pushed(returned(event, "t-2")) == []
    with factory() as session:
        preferences.set_preference(
            db_session=session,
            center_id="yanminghu",
            person_id="sw-1",
            message_type="ticket.returned",
            data=PreferenceChoice(**{"muted": False}),
        )
        preferences.set_quiet_hours(
            db_session=session,
            center_id="yanminghu",
            person_id="sw-1",
            data=QuietWindow(**{"start": "10:00", "end": "12:00", "enabled": True}),
        )  # NOW is 11:00
        session.commit()
    [(channel, state)] = pushed(returned(event, "t-3"))
    assert state == "pending"
    with factory() as session:
        [row] = session.query(Delivery).filter_by(channel="email", ref_id="t-3")
        assert row.deferred_until is not None


def test_a_center_template_saved_here_is_used_for_the_next_event(factory, cache, settings, event):
    from services.notify import planner

    with factory() as session:
        add_contact(session, "sw-1")
        session.commit()

    def inbox_title(e):
        with factory() as session:
            receiving.apply_plan(
                db_session=session,
                center_id="yanminghu",
                source_id=e["id"],
                event_type=e["type"],
                plan=planner.plan_event(e, NOW),
                now=NOW,
                settings=settings,
                directory=directory.Directory(session, cache=cache),
            )
            session.commit()
            return (
                session.query(Delivery).filter_by(source_id=e["id"], channel="in_app").one().title
            )

    assert inbox_title(created(event, "t-1")) == "新诉求待签收"
    with factory() as session:
        templates.save_template(
            db_session=session,
            center_id="yanminghu",
            message_type="ticket.created",
            channel="in_app",
            by="admin-1",
            data=TemplateText(
                **{"title": "【雁鸣湖】新诉求：{{ category_name }}", "body": "{{ summary }}"}
            ),
        )
        session.commit()
    assert inbox_title(created(event, "t-2")) == "【雁鸣湖】新诉求：环境卫生"


def test_subscribing_and_unsubscribing_apply_to_the_next_event(factory, cache, event):
    def forwarded(e):
        with factory() as session:
            body = subscriptions.archive_event(db_session=session, event=e, now=NOW)
            count = subscriptions.fan_out(
                db_session=session,
                event=body,
                now=NOW,
                active=subscriptions.active_subscriptions(db_session=session, cache=cache),
            )
            session.commit()
            return count

    assert forwarded(created(event, "t-1")) == 0
    with factory() as session:
        sub = subscriptions.create_subscription(
            db_session=session,
            principal=CIVIL,
            now=NOW,
            guard=WebhookGuard.from_config({"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1:9"}),
            data=NewSubscription(
                **{
                    "url": "http://127.0.0.1:9/hook",
                    "types": ["cn.lianxin.tickets.*"],
                    "centers": ["yanminghu"],
                }
            ),
        )
        session.commit()
    assert forwarded(created(event, "t-2")) == 1
    with factory() as session:
        subscriptions.update_subscription(
            db_session=session, principal=CIVIL, subscription_id=sub.id, data={"active": False}
        )
        session.commit()
    assert forwarded(created(event, "t-3")) == 0
