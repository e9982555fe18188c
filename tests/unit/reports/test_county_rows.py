"""The county view asks one batched RPC per service for all its centers, and its lines are
those the per-center statistics make (:func:`gather.county_row`)."""

from typing import Any

from services.reports import gather
from services.reports.months import Month
from tests.unit.reports.conftest import CENTER

NOVEMBER = Month(2026, 11)
OTHER = {**CENTER, "id": "fenghuangtai", "name": "凤凰台社区党群服务中心"}


class Batched:
    """The batched RPCs answered from the per-center fakes (``sources``), as the services
    answer them: tickets a line per existing center asked (``None``: every center, by id),
    named; volunteers and events a line per center asked (``None``: those with figures —
    here none but the demo center)."""

    def __init__(self, sources: Any, known: tuple[dict[str, Any], ...] = ()) -> None:
        self.sources = sources
        self.known = {c["id"]: c for c in known}
        self.calls: list[tuple[str, str, tuple[Any, ...]]] = []

    def __call__(self, service: str, method: str, args: tuple[Any, ...]) -> Any:
        self.calls.append((service, method, args))
        asked, query = args
        s = self.sources
        if method == "county_ticket_stats":
            ids = sorted(self.known) if asked is None else [c for c in asked if c in self.known]
        else:
            ids = [CENTER["id"]] if asked is None else asked

        def line(cid: str) -> dict[str, Any]:
            if method == "county_ticket_stats":
                stats = s.ticket_stats(cid, query)
                rated = s.get_satisfaction(cid, {"group_by": "center"})["rows"][0]
                return {
                    "center_id": cid,
                    "center_name": self.known[cid]["name"],
                    "total": stats["total"],
                    "median_resolve_hours": stats["median_resolve_hours"],
                    "ratings": rated["ratings"],
                    "satisfaction": rated["rate"],
                }
            if method == "county_center_stats":
                return {"center_id": cid, **s.center_stats(cid, query)}
            assert method == "county_attendance_stats"
            return {"center_id": cid, **s.attendance_stats(cid, query)}

        class Pending:
            def result(inner) -> Any:
                if method == "county_ticket_stats":  # the view's order: tickets' lines
                    return [line(cid) for cid in ids]
                return [line(cid) for cid in reversed(ids)]  # any order: matched by id

        return Pending()


def test_one_rpc_per_service_for_every_center(sources):
    ask = Batched(sources, (CENTER, OTHER))
    lines = gather.county_rows(ask, [CENTER["id"], OTHER["id"]], NOVEMBER)
    assert sorted(method for _s, method, _a in ask.calls) == [
        "county_attendance_stats",
        "county_center_stats",
        "county_ticket_stats",
    ]
    assert all(args[0] == [CENTER["id"], OTHER["id"]] for _s, _m, args in ask.calls)
    assert all(args[1]["from"] == "2026-11-01" for _s, _m, args in ask.calls)
    assert [line["center_id"] for line in lines] == [CENTER["id"], OTHER["id"]]
    assert lines[1]["center_name"] == OTHER["name"]


def test_the_lines_are_those_of_the_per_center_statistics(sources):
    [line] = gather.county_rows(Batched(sources, (CENTER,)), [CENTER["id"]], NOVEMBER)
    assert line == gather.county_row(sources, CENTER, NOVEMBER)


def test_every_center_without_a_list_first(sources):
    """An ops account's view asks for every center at once — no list of centers before the
    statistics; a center without volunteering or activities counts zeros."""
    ask = Batched(sources, (OTHER, CENTER))
    lines = gather.county_rows(ask, None, NOVEMBER)
    assert len(ask.calls) == 3 and all(args[0] is None for _s, _m, args in ask.calls)
    assert [line["center_id"] for line in lines] == sorted([CENTER["id"], OTHER["id"]])
    quiet = next(line for line in lines if line["center_id"] == OTHER["id"])
    assert quiet["center_name"] == OTHER["name"]
    assert (quiet["verified_hours"], quiet["participations"], quiet["activities"]) == (0, 0, 0)
    mine = next(line for line in lines if line["center_id"] == CENTER["id"])
    assert mine == gather.county_row(sources, CENTER, NOVEMBER)


def test_no_centers_no_rpc(sources):
    ask = Batched(sources)
    assert gather.county_rows(ask, [], NOVEMBER) == [] and ask.calls == []
