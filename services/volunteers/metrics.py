"""The volunteers service's own metrics, declared once (the kit adds the ``service`` label)."""

from __future__ import annotations

from lianxin.metrics import counter

SIGNUPS = counter(
    "lianxin_volunteers_signups_total",
    "Shift sign-ups by outcome (confirmed, waitlisted, promoted, cancelled, no_show)",
    ("center", "outcome"),
)
#: Verified service approved (attendance, corrections, recorded visits), in hours: the unit
#: every report, certificate and milestone of the volunteers service speaks (志愿服务时长).
HOURS_APPROVED = counter(
    "lianxin_volunteers_hours_approved_total",
    "Verified service hours approved (attendance, corrections, recorded visits)",
)
