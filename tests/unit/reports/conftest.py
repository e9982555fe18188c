"""A report's sources, faked: each RPC answers what the owning service would, as JSON."""

from __future__ import annotations

from typing import Any

import pytest

CENTER = {
    "id": "yanminghu",
    "name": "雁鸣湖镇镇区社区党群服务中心",
    "address": "",
    "meeting_day": 25,
}
PARTY_LABELS = {
    "property": "物业公司",
    "social_work": "社工组织",
    "owners_committee": "业主委员会",
    "village_committee": "村支两委",
}


def figures(key: str, label: str, received: int, resolved: int, **more: int) -> dict[str, Any]:
    row = {
        "key": key,
        "label": label,
        "received": received,
        "resolved": resolved,
        "overdue": more.get("overdue", 0),
        "returned": more.get("returned", 0),
        "escalated": more.get("escalated", 0),
        "acknowledged_in_10_minutes": more.get("ack", received),
    }
    row["acknowledged_in_10_minutes_rate"] = (
        round(100 * row["acknowledged_in_10_minutes"] / received, 1) if received else None
    )
    return row


def ticket_stats(month_from: str, month_to: str) -> dict[str, Any]:
    parties = [
        figures("property", "物业公司", 60, 58, overdue=2, returned=1),
        figures("social_work", "社工组织", 40, 40),
        figures("owners_committee", "业主委员会", 30, 29, escalated=1, ack=28),
        figures("village_committee", "村支两委", 70, 70, returned=2),
    ]
    total = figures("all", "合计", 200, 197, overdue=2, returned=3, escalated=1, ack=198)
    return {
        "from": month_from,
        "to": month_to,
        "total": total,
        "by_party": parties,
        "by_category": [
            figures("sanitation", "环境卫生", 70, 69),
            figures("repairs", "设施报修", 50, 49),
            figures("elderly_care", "养老服务", 40, 40),
            figures("estate_rules", "物业管理", 40, 39),
        ],
        "resolve_time": [
            {"key": "within_1d", "label": "1 天内", "tickets": 150},
            {"key": "within_3d", "label": "1–3 天", "tickets": 40},
            {"key": "within_7d", "label": "3–7 天", "tickets": 6},
            {"key": "over_7d", "label": "7 天以上", "tickets": 1},
        ],
        "median_resolve_hours": 6.5,
    }


class Sources:
    """Answers each RPC a report asks; ``calls`` lists what was asked; ``refuse`` names
    ``(service, method)`` pairs that raise the given error instead."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[Any, ...]]] = []
        self.refuse: dict[tuple[str, str], Exception] = {}
        self.bookings = [
            {
                "room": "sports",
                "room_name": "文体活动室",
                "starts_at": "2026-11-03T01:00:00+00:00",
                "ends_at": "2026-11-03T03:00:00+00:00",
            },
            {
                "room": "sports",
                "room_name": "文体活动室",
                "starts_at": "2026-11-10T01:00:00+00:00",
                "ends_at": "2026-11-10T02:30:00+00:00",
            },
            {
                "room": "library",
                "room_name": "阅览室",
                "starts_at": "2026-11-12T06:00:00+00:00",
                "ends_at": "2026-11-12T07:00:00+00:00",
            },
            # starts before the month (Asia/Shanghai): not counted
            {
                "room": "library",
                "room_name": "阅览室",
                "starts_at": "2026-10-31T15:00:00+00:00",
                "ends_at": "2026-10-31T17:00:00+00:00",
            },
        ]

    def __call__(self, service: str, method: str, args: tuple[Any, ...]) -> Any:
        self.calls.append((service, method, args))

        class Pending:
            def result(inner) -> Any:
                if (service, method) in self.refuse:
                    raise self.refuse[service, method]
                return getattr(self, method)(*args)

        return Pending()

    def ticket_stats(self, center_id: str, query: dict[str, Any]) -> dict[str, Any]:
        return ticket_stats(query["from"], query["to"])

    def get_satisfaction(self, center_id: str, query: dict[str, Any]) -> dict[str, Any]:
        if query["group_by"] == "month":
            rates = [80.0, 82.5, 85.0, None, 88.0, 90.0, 91.5, 93.0, 95.0, 96.0, 97.5, 98.5]
            months = [f"2025-{m:02d}" for m in range(12, 13)] + [
                f"2026-{m:02d}" for m in range(1, 12)
            ]
            return {
                "group_by": "month",
                "rows": [
                    {
                        "key": m,
                        "ratings": 20,
                        "satisfied": 15,
                        "basically_satisfied": 4,
                        "dissatisfied": 1,
                        "rate": r,
                    }
                    for m, r in zip(months, rates, strict=True)
                    if r is not None
                ],
            }
        if query["group_by"] == "center":
            return {
                "group_by": "center",
                "rows": [
                    {
                        "key": center_id,
                        "ratings": 200,
                        "satisfied": 131,
                        "basically_satisfied": 66,
                        "dissatisfied": 3,
                        "rate": 98.5,
                    }
                ],
            }
        return {
            "group_by": "party",
            "rows": [
                {
                    "key": p,
                    "ratings": 50,
                    "satisfied": 33,
                    "basically_satisfied": 16,
                    "dissatisfied": 1,
                    "rate": 98.0,
                }
                for p in PARTY_LABELS
            ],
        }

    def get_meeting(self, center_id: str, month: str) -> dict[str, Any]:
        return {
            "id": "m-1",
            "month": month,
            "meeting_date": f"{month}-25",
            "items": [
                {
                    "id": "i-1",
                    "ticket_id": "t-1",
                    "reason": "涉及物业、业委会与村支两委，需党建联席会共同商议",
                    "added_at": f"{month}-10T02:00:00+00:00",
                    "decision": "assigned",
                    "decision_note": "由业委会牵头，物业配合，下月底前增设停车位",
                    "decided_by": "admin-1",
                    "decided_at": f"{month}-25T02:00:00+00:00",
                    "ticket": {
                        "id": "t-1",
                        "description": "新建小区停车位不足，居民要求增设停车场",
                    },
                }
            ],
        }

    def center_stats(self, center_id: str, query: dict[str, Any]) -> dict[str, Any]:
        to_date = "from" not in query  # the running total (累计) up to the month's end
        return {
            "from": query.get("from"),
            "to": query["to"],
            "verified_hours": 1240.5 if to_date else 500.0,
            "participations": 245,
            "beneficiaries_served": 120,
            "service_person_times": 310,
            "volunteers_active": 36,
            "shifts_held": 48,
            "no_shows": 2,
            "pending_hours": 6.5,
        }

    def attendance_stats(self, center_id: str, query: dict[str, Any]) -> dict[str, Any]:
        groups = {
            "programme": [("yilu", "益路成长", 6, 180), ("yuedong", "悦动耄耋", 10, 1290)],
            "audience": [("children", "儿童", 6, 180), ("elderly", "老年人", 10, 1290)],
        }[query["group_by"]]
        return {
            "group_by": query["group_by"],
            "from": query["from"],
            "to": query["to"],
            "activities": 16,
            "person_times": 1470,
            "groups": [
                {"key": k, "label": label, "activities": a, "person_times": p}
                for k, label, a, p in groups
            ],
        }

    def list_bookings(self, center_id: str, query: dict[str, Any]) -> dict[str, Any]:
        items = self.bookings[query["offset"] : query["offset"] + query["limit"]]
        return {
            "items": items,
            "total": len(self.bookings),
            "limit": query["limit"],
            "offset": query["offset"],
        }


@pytest.fixture
def sources() -> Sources:
    return Sources()
