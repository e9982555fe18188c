"""The care file of one beneficiary (帮扶档案), across the three services: the volunteers
service's part (record, visits, next planned visit — its opening logged there), the tickets
the person reported and their activity registrations, joined by the directory's person id
the beneficiary was linked to once a staff member confirmed it.

Each service answers the reader with the caller's own token, so the file shows only what the
reader may see: a party's staff (the social workers among them) see their party's tickets.
"""

from __future__ import annotations

from typing import Any

from lianxin.roles import PARTY_NAMES, Principal
from services.reports.gather import Ask, answer

#: Tickets and registrations a file lists, latest first.
SHOWN = 50
#: Activities looked up for their titles, at most.
TITLES = 20


def care_file(ask: Ask, center_id: str, beneficiary_ref: str, reader: Principal) -> dict[str, Any]:
    """The whole file (a ``CareFile``). The volunteers service is asked first: an unknown
    beneficiary is its 404, before anything else is read."""
    record = answer(ask("volunteers", "read_care_file", (center_id, beneficiary_ref)))
    person = record["beneficiary"].get("person_id")
    tickets: dict[str, Any] = {"items": [], "total": 0}
    registrations: dict[str, Any] = {"items": [], "total": 0}
    if person:
        asked_tickets = ask(
            "tickets", "list_tickets", (center_id, {"reporter_id": person, "limit": SHOWN})
        )
        asked_regs = ask(
            "events", "list_registrations", (center_id, {"person_id": person, "limit": SHOWN})
        )
        tickets, registrations = answer(asked_tickets), answer(asked_regs)
    return {
        **record,
        "person_id": person,
        "tickets": tickets["items"],
        "tickets_total": tickets["total"],
        "tickets_scope": PARTY_NAMES[reader.party] if reader.party else "全部",
        "registrations": with_titles(ask, center_id, registrations["items"]),
        "registrations_total": registrations["total"],
    }


def with_titles(ask: Ask, center_id: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Registrations with their activity's title and start (asked once per activity, at once)."""
    ids = list(dict.fromkeys(r["activity_id"] for r in items))[:TITLES]
    pending = {i: ask("events", "get_activity", (center_id, i)) for i in ids}
    found: dict[str, dict[str, Any]] = {}
    for activity_id, reply in pending.items():
        try:
            found[activity_id] = answer(reply)
        except Exception:  # a title is a nicety: the registration shows without it
            found[activity_id] = {}
    return [
        {
            **r,
            "activity_title": found.get(r["activity_id"], {}).get("title"),
            "activity_starts_at": found.get(r["activity_id"], {}).get("starts_at"),
        }
        for r in items
    ]
