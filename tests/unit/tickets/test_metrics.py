"""The tickets service's per-center business metrics are recorded where they happen."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from lianxin.metrics import ServiceMetrics
from services.tickets.metrics import ACKNOWLEDGE_SECONDS, RATINGS, RECEIVED
from services.tickets.models import Ticket

PAYLOAD = {"category": "sanitation", "description": "路灯坏了三天了"}


def recording(worker):
    worker.metrics = recorded = ServiceMetrics("tickets")
    return worker, recorded


def test_intake_is_counted_per_center_and_channel_and_a_repeat_is_not(service, token):
    clerk = token("staff", sub="clerk-1")
    worker, recorded = recording(service(clerk))
    worker.create_ticket("yanminghu", {**PAYLOAD, "channel": "hotline"})
    item = {"center_id": "yanminghu", "payload": PAYLOAD, "intake_key": "k-1"}
    first = worker.create_tickets([item])
    again = worker.create_tickets([item])
    assert "ticket" in first[0] and again[0].get("repeat") is True
    assert recorded.sample(RECEIVED, center="yanminghu", channel="hotline") == 1
    assert recorded.sample(RECEIVED, center="yanminghu", channel="web") == 1
    assert recorded.sample(RECEIVED, center="fenghuangtai", channel="web") == 0


def test_acknowledge_latency_lands_in_the_ten_minute_bucket_or_past_it(service, token, db):
    worker, recorded = recording(service(token("staff", sub="duty-1")))
    quick = worker.create_ticket("yanminghu", {**PAYLOAD, "channel": "hotline"})
    slow = worker.create_ticket("yanminghu", {**PAYLOAD, "channel": "walk_in"})
    late = db.get(Ticket, slow["id"])
    db.execute(
        update(Ticket)
        .where(Ticket.id == slow["id"])
        .values(created_at=late.created_at - timedelta(minutes=15))
    )
    db.commit()
    worker.acknowledge_ticket("yanminghu", quick["id"])
    worker.acknowledge_ticket("yanminghu", slow["id"])
    within = recorded.sample(ACKNOWLEDGE_SECONDS, "_bucket", center="yanminghu", le="600.0")
    assert within == 1
    assert recorded.sample(ACKNOWLEDGE_SECONDS, "_count", center="yanminghu") == 2
    assert recorded.sample(ACKNOWLEDGE_SECONDS, "_sum", center="yanminghu") >= 15 * 60


def test_ratings_are_counted_by_value_from_staff_and_from_the_follow_code(service, token):
    worker, recorded = recording(service(token("staff", sub="duty-1")))
    for rating in ("satisfied", "dissatisfied"):
        ticket = worker.create_ticket("yanminghu", {**PAYLOAD, "channel": "hotline"})
        worker.acknowledge_ticket("yanminghu", ticket["id"])
        worker.resolve_ticket("yanminghu", ticket["id"], {"answer": "已处理"})
        worker.rate_ticket("yanminghu", ticket["id"], {"rating": rating, "via": "phone"})
    receipt = worker.create_ticket(
        "yanminghu",
        {**PAYLOAD, "channel": "walk_in", "answer": "已当面答复", "reporter_id": "r-1"},
    )
    public = service()
    public.metrics = recorded
    public.rate_public_ticket(
        "yanminghu", receipt["id"], {"rating": "satisfied", "follow_code": receipt["follow_code"]}
    )
    assert recorded.sample(RATINGS, center="yanminghu", rating="satisfied") == 2
    assert recorded.sample(RATINGS, center="yanminghu", rating="dissatisfied") == 1
    assert recorded.sample(RATINGS, center="yanminghu", rating="basically_satisfied") == 0
