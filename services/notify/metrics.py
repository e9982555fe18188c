"""What notify records, declared once (``lianxin.metrics``: the kit adds the ``service`` label)."""

from __future__ import annotations

from lianxin.metrics import counter, gauge, histogram

#: The channel label of department webhooks (people's channels are sms, wechat, email …).
WEBHOOK_CHANNEL = "subscription"

#: How a delivery ended — what a center's people and departments got. Per center, so only
#: the final outcomes: people's channels sent | failed, department webhooks
#: (channel=subscription) delivered | failed | gone (410: the subscription is disabled).
FINAL_OUTCOMES = ("sent", "failed", "delivered", "gone")
DELIVERIES = counter(
    "lianxin_notify_deliveries_total",
    "Deliveries ended, by channel and outcome (sent, failed; department webhooks: "
    "channel=subscription, delivered, failed, gone)",
    ("center", "channel", "outcome"),
)
#: The steps on the way (queued, deferred to the end of quiet hours, retried after a failed
#: attempt), per service: at 500 centers, per center they would double notify's /metrics.
DELIVERY_STEPS = counter(
    "lianxin_notify_delivery_steps_total",
    "Deliveries queued, deferred or retried, by channel",
    ("channel", "outcome"),
)
SEND_SECONDS = histogram(
    "lianxin_notify_send_seconds", "Time to hand one message to its channel", ("channel",)
)
BACKLOG = gauge(
    "lianxin_notify_backlog_deliveries", "Deliveries waiting to be sent, by channel", ("channel",)
)
