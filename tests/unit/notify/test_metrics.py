"""Notify counts how deliveries ended per center, and the steps on the way per service."""

from __future__ import annotations

from lianxin.metrics import ServiceMetrics
from services.notify.deliveries import Outcome
from services.notify.dispatch import Dispatcher
from services.notify.metrics import DELIVERIES, DELIVERY_STEPS, WEBHOOK_CHANNEL


def test_ended_deliveries_count_per_center_and_steps_per_service():
    recorded = ServiceMetrics("notify")
    dispatcher = Dispatcher()
    dispatcher.deliveries = recorded.get(DELIVERIES)
    dispatcher.steps = recorded.get(DELIVERY_STEPS)
    dispatcher.count(
        [
            Outcome("yanminghu", "sms", "queued"),
            Outcome("yanminghu", "sms", "sent"),
            Outcome("yanminghu", "webhook", "failed"),
            Outcome("fenghuangtai", "wechat", "retried"),
        ]
    )
    dispatcher.count_one("yanminghu", WEBHOOK_CHANNEL, "gone")
    sample = recorded.sample
    assert sample(DELIVERIES, center="yanminghu", channel="sms", outcome="sent") == 1
    assert sample(DELIVERIES, center="yanminghu", channel="webhook", outcome="failed") == 1
    assert sample(DELIVERIES, center="yanminghu", channel="subscription", outcome="gone") == 1
    assert sample(DELIVERIES, center="yanminghu", channel="sms", outcome="queued") == 0
    assert sample(DELIVERY_STEPS, channel="sms", outcome="queued") == 1
    assert sample(DELIVERY_STEPS, channel="wechat", outcome="retried") == 1
