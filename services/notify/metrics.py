"""What notify records, declared once (``lianxin.metrics``: the kit adds the ``service`` label)."""

from __future__ import annotations

from lianxin.metrics import counter, gauge, histogram

#: The channel label of department webhooks (people's channels are sms, wechat, email …).
WEBHOOK_CHANNEL = "subscription"

DELIVERIES = counter(
    "lianxin_notify_deliveries_total",
    "Deliveries by channel and outcome (queued, deferred, sent, retried, failed; "
    "department webhooks: channel=subscription, delivered/gone)",
    ("center", "channel", "outcome"),
)
SEND_SECONDS = histogram(
    "lianxin_notify_send_seconds", "Time to hand one message to its channel", ("channel",)
)
BACKLOG = gauge(
    "lianxin_notify_backlog_deliveries", "Deliveries waiting to be sent, by channel", ("channel",)
)
