"""The metrics the tickets service records, declared once (``lianxin.metrics``)."""

from __future__ import annotations

from lianxin.metrics import counter, gauge

#: A missed deadline announced by the SLA timer (``kind``: acknowledge | resolve; ``level``
#: 1..3).
SLA_BREACHES = counter(
    "lianxin_tickets_sla_breaches_total", "SLA breaches announced", ("center", "kind", "level")
)
#: Tickets still open, by state (refreshed by the SLA timer: each replica exports the same).
OPEN_TICKETS = gauge("lianxin_tickets_open", "Open tickets by state", ("center", "state"))
