"""The metrics the tickets service records, declared once (``lianxin.metrics``).

Label values come from the contracts (``lianxin.contracts.tickets``): ``state`` one of
``OPEN_STATES``, ``channel`` one of ``CHANNELS``, ``rating`` one of ``RATINGS``, ``kind`` one
of ``SLA_KINDS`` and ``level`` 1..3 — so a center adds at most 6 + 4 + 3 + 4 series and a
histogram of 4 (``bench/metrics_cardinality.py`` measures 500 centers)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lianxin.metrics import counter, gauge, histogram

#: A missed deadline announced by the SLA timer (``kind``: acknowledge | resolve; ``level``
#: 1..3).
SLA_BREACHES = counter(
    "lianxin_tickets_sla_breaches_total", "SLA breaches announced", ("center", "kind", "level")
)
#: Tickets still open, by state (refreshed by the SLA timer: each replica exports the same,
#: so dashboards take ``max by (center, state)``).
OPEN_TICKETS = gauge("lianxin_tickets_open", "Open tickets by state", ("center", "state"))
#: Tickets taken in, by channel (web, hotline, walk_in, open311); a repeated submission
#: answered with the first ticket is not counted again.
RECEIVED = counter(
    "lianxin_tickets_received_total", "Tickets taken in, by channel", ("center", "channel")
)
#: From report to acknowledgement (签收). Per center, so one bucket only (each costs 500
#: series at 500 centers; with a second, tickets' /metrics had 3 % left of its 1 MB): 600 s
#: is the ten-minute promise (``le="600.0"`` over ``_count`` is the share kept), ``_sum``
#: over ``_count`` the mean.
ACKNOWLEDGE_SECONDS = histogram(
    "lianxin_tickets_acknowledge_seconds",
    "Time from a ticket's report to its acknowledgement",
    ("center",),
    buckets=(600,),
)
#: Return-visit ratings (回访评价) by value: satisfied, basically_satisfied, dissatisfied.
RATINGS = counter("lianxin_tickets_ratings_total", "Ratings given, by value", ("center", "rating"))


def seconds_to_acknowledge(ticket: Mapping[str, Any]) -> float:
    """Seconds from a dumped ticket's (``TicketRead``) report to its acknowledgement."""
    reported = datetime.fromisoformat(ticket["created_at"])
    return (datetime.fromisoformat(ticket["acknowledged_at"]) - reported).total_seconds()
