"""Notify on PostgreSQL: the migrations apply, the unique constraints hold, and concurrent
dispatchers (replicas) never claim the same delivery twice."""

from datetime import UTC, datetime, timedelta

import eventlet
import pytest
from sqlalchemy import func, select

from lianxin.contracts import make_event, parse_event
from lianxin.contracts.notify.operations import NewContact, NewSubscription
from lianxin.contracts.tickets import events as tk
from lianxin.db import make_engine, make_session_factory
from lianxin.roles import Principal
from services.notify import deliveries, directory, planner, receiving, subscriptions, webhooks
from services.notify.channels import WebhookGuard
from services.notify.models import Delivery, WebhookDelivery
from services.notify.settings import Settings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


@pytest.fixture
def factory(pg_database, migrated):
    engine = make_engine(migrated("notify", pg_database()))
    yield make_session_factory(engine)
    engine.dispose()


def created(n):
    return parse_event(
        make_event(
            tk.TICKET_CREATED,
            center_id="yanminghu",
            subject=f"t-{n}",
            data={
                "ticket_id": f"t-{n}",
                "category": "sanitation",
                "category_name": "环境卫生",
                "party": "property",
                "channel": "hotline",
                "summary": "垃圾",
                "ack_due_at": NOW,
                "resolve_due_at": NOW,
                "duty_person_ids": ["staff-duty-1"],
            },
        )
    )


def test_concurrent_dispatchers_claim_disjoint_deliveries(factory):
    settings = Settings(quiet_start="")
    with factory() as db:
        directory.upsert_contact(
            db_session=db,
            center_id="yanminghu",
            data=NewContact(
                **{
                    "person_id": "staff-duty-1",
                    "name": "李卫东",
                    "role": "staff",
                    "party": None,
                    "phone": None,
                    "email": "d@example.cn",
                    "wechat_openid": None,
                    "webhook_url": None,
                }
            ),
        )
        subscriptions.create_subscription(
            db_session=db,
            now=NOW,
            guard=WebhookGuard.from_config({"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1:9"}),
            data=NewSubscription(
                **{
                    "url": "http://127.0.0.1:9/h",
                    "types": ["cn.lianxin.*"],
                    "centers": ["yanminghu"],
                }
            ),
            principal=Principal(sub="civil", role="department", centers=("yanminghu",)),
        )
        for n in range(20):
            e = created(n)
            subscriptions.fan_out(
                db_session=db,
                event=subscriptions.archive_event(db_session=db, event=e, now=NOW),
                now=NOW,
            )
            for _ in range(2):  # a redelivery changes nothing, on PostgreSQL too
                receiving.apply_plan(
                    db_session=db,
                    center_id="yanminghu",
                    source_id=e["id"],
                    event_type=e["type"],
                    plan=planner.plan_event(e, NOW),
                    now=NOW,
                    settings=settings,
                )
        db.commit()
        assert (
            db.scalar(select(func.count()).select_from(Delivery).where(Delivery.channel == "email"))
            == 20
        )
        assert db.scalar(select(func.count()).select_from(WebhookDelivery)) == 20

    def claim_people(_n):
        with factory() as db:
            rows = deliveries.claim_due(db_session=db, now=NOW, limit=7, lease=timedelta(minutes=1))
            ids = [r.id for r in rows]
            eventlet.sleep(0.05)  # hold the locks while the others claim
            db.commit()
            return ids

    def claim_hooks(_n):
        with factory() as db:
            jobs = webhooks.claim_due(
                db_session=db,
                now=NOW,
                limit=7,
                lease=timedelta(minutes=1),
                per_subscription=20,
                inflight={},
                guard=WebhookGuard.from_config({"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1:9"}),
            )
            eventlet.sleep(0.05)
            db.commit()
            return [j["id"] for j in jobs]

    pool = eventlet.GreenPool(4)
    for claim in (claim_people, claim_hooks):
        claimed = [i for ids in pool.imap(claim, range(4)) for i in ids]
        assert len(claimed) == len(set(claimed)) == 20
