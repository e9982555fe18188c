"""What the events service counts, declared once (the kit adds the ``service`` label)."""

from __future__ import annotations

from lianxin.metrics import counter

REGISTRATIONS = counter(
    "lianxin_events_registrations_total",
    "Registrations by outcome (confirmed, waitlisted, pending, cancelled, rejected)",
    ("center", "outcome"),
)
PERSON_TIMES = counter(
    "lianxin_events_person_times_total",
    "Attendance in person-times (人次) by audience",
    ("center", "audience"),
)
ROOM_BOOKINGS = counter(
    "lianxin_events_room_bookings_total", "Room bookings by outcome", ("center", "outcome")
)
