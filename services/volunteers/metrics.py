"""The volunteers service's own metrics, declared once (the kit adds the ``service`` label)."""

from __future__ import annotations

from lianxin.metrics import counter

SIGNUPS = counter(
    "lianxin_volunteers_signups_total",
    "Shift sign-ups by outcome (confirmed, waitlisted, promoted, cancelled, no_show)",
    ("center", "outcome"),
)
APPROVED_SERVICE = counter(
    "lianxin_volunteers_approved_service_seconds_total",
    "Verified service time approved (attendance, corrections, recorded visits), in seconds",
)
