"""满意度与统计: residents' satisfaction per party, category and month, and the ticket figures
— as charts (inline SVG) with the same numbers in a table beside each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.web import LOCAL, charts
from gateway.web.console.base import ConsoleBase, failed, party_name
from gateway.web.console.tickets import names_of
from gateway.web.views import guarded
from lianxin.contracts.tickets import operations as ops
from lianxin.web import http

#: The periods a person may look at, in days back from now.
PERIODS = {"month": ("本月", None), "quarter": ("近3个月", 91), "year": ("近12个月", 365)}


def period_start(period: str, now: datetime) -> datetime:
    days = PERIODS[period][1]
    if days is None:
        local = now.astimezone(LOCAL)
        return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    return now - timedelta(days=days)


def month_label(key: str) -> str:
    year, month = key.split("-")[:2]
    return f"{int(month)}月"


class StatsPages(ConsoleBase):
    @http("GET", "/console/stats")
    @guarded
    def stats_page(self, request: Request) -> Response:
        viewer = self.staff(request)
        period = request.args.get("period", "year")
        if period not in PERIODS:
            period = "year"
        now = datetime.now(UTC)
        start = period_start(period, now).isoformat()
        year_ago = (now - timedelta(days=365)).isoformat()

        def satisfaction(group: str, since: str) -> Any:
            return self.run(
                request, ops.get_satisfaction, query={"group_by": group, "start": since}
            )["rows"]

        calls: dict[str, Any] = {
            "by_party": lambda: satisfaction("party", start),
            "by_category": lambda: satisfaction("category", start),
            "by_month": lambda: satisfaction("month", year_ago),
            "overall": lambda: satisfaction("center", start),
            "categories": lambda: self.run(request, ops.list_categories),
        }
        for state in ops.STATES:
            calls[f"state_{state}"] = lambda s=state: self.run(
                request, ops.list_tickets, query={"state": s, "limit": 1}
            )["total"]
        parts = self.gather(**calls)
        names = names_of(parts.pop("categories"))
        counts = {s: parts.pop(f"state_{s}") for s in ops.STATES}
        by_party = parts["by_party"] if not failed(parts["by_party"]) else []
        by_category = parts["by_category"] if not failed(parts["by_category"]) else []
        by_month = parts["by_month"] if not failed(parts["by_month"]) else []
        overall = (
            parts["overall"][0] if isinstance(parts["overall"], list) and parts["overall"] else None
        )
        label = PERIODS[period][0]
        return self.show(
            request,
            viewer,
            "console/stats.html",
            active="stats",
            title="满意度与统计",
            period=period,
            periods=PERIODS,
            overall=overall,
            by_party=[{**r, "name": party_name(r["key"])} for r in by_party],
            by_category=[{**r, "name": names.get(r["key"], r["key"])} for r in by_category],
            by_month=[{**r, "name": month_label(r["key"])} for r in by_month],
            party_chart=charts.bars(
                [(party_name(r["key"]), r["rate"]) for r in by_party],
                title=f"{label}各责任方满意率",
                unit="%",
                top=100,
            ),
            category_chart=charts.bars(
                [(names.get(r["key"], r["key"]), r["rate"]) for r in by_category],
                title=f"{label}各类诉求满意率",
                unit="%",
                top=100,
            ),
            month_chart=charts.line(
                [(month_label(r["key"]), r["rate"]) for r in by_month],
                title="近12个月满意率走势",
                low=min([50.0] + [r["rate"] for r in by_month if r["rate"] is not None]) // 10 * 10,
            ),
            state_chart=charts.bars(
                [
                    (ops.STATE_NAMES[s], counts[s] if isinstance(counts[s], int) else None)
                    for s in ops.STATES
                ],
                title="各状态工单数",
                unit="件",
            ),
            counts=counts,
            state_names=ops.STATE_NAMES,
            failures=[k for k, v in parts.items() if failed(v)],
        )
