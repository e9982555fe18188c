"""The console's view helpers, without a broker: deadlines as the board shows them, the
actions a person is offered (from the operation table), forms as API bodies, the charts,
times in Beijing time, the static files' caching, and every template compiling."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.web import ASSETS, ROOT, TEMPLATES, asset, local_time, static_response
from gateway.web.charts import bars, line
from gateway.web.console.base import MENU
from gateway.web.console.tickets import actions_for, deadline
from gateway.web.views import Viewer, field_errors, form_body
from lianxin.contracts.tickets import operations as ops
from lianxin.errors import InvalidInput
from lianxin.roles import Principal

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 14:00 in Beijing


def viewer(role="staff", party=None):
    return Viewer(Principal("p-1", role, centers=("yanminghu",), party=party), "x", "yanminghu")


def ticket(state="reported", party="property", **extra):
    created = NOW - timedelta(minutes=8)
    return {
        "id": "t-1",
        "state": state,
        "party": party,
        "reporter_id": None,
        "created_at": created.isoformat(),
        "acknowledged_at": None,
        "due_at": (created + timedelta(minutes=10)).isoformat(),
        **extra,
    }


def test_a_ticket_two_minutes_from_its_acknowledge_deadline_is_due_soon():
    shown = deadline(ticket(), NOW)
    assert shown["level"] == "soon" and shown["what"] == "签收"
    assert shown["words"] == "即将到期 剩余 2分00秒"


def test_a_ticket_past_its_deadline_says_how_late_in_words():
    shown = deadline(ticket(), NOW + timedelta(minutes=5))
    assert shown["level"] == "late" and shown["words"] == "已超时 3分00秒"


def test_a_resolve_deadline_days_away_is_neither_soon_nor_late():
    t = ticket(
        "assigned",
        acknowledged_at=(NOW - timedelta(hours=1)).isoformat(),
        due_at=(NOW + timedelta(days=2, hours=3)).isoformat(),
    )
    shown = deadline(t, NOW)
    assert shown["level"] == "" and shown["what"] == "办结" and shown["words"] == "剩余 2天3小时"


def test_a_cadre_is_offered_acknowledge_and_merge_on_a_new_ticket_not_resolve():
    keys = [a.key for a in actions_for(viewer(), ticket())]
    assert keys == ["acknowledge", "merge"]


def test_a_handler_may_work_only_its_own_partys_ticket():
    mine = [a.key for a in actions_for(viewer(party="property"), ticket("assigned"))]
    assert mine == ["start", "resolve", "return"]
    other = actions_for(viewer(party="property"), ticket("assigned", party="social_work"))
    assert other == []


def test_the_admin_closes_rates_or_reopens_a_resolved_ticket():
    keys = [a.key for a in actions_for(viewer("admin"), ticket("resolved"))]
    assert keys == ["rate", "close", "reopen"]


def test_a_handler_sees_no_admin_menu_and_the_admin_does():
    def menu(v):
        return [i.key for i in MENU if v.may(i.op) and (not i.party_only or v.principal.party)]

    assert "settings" not in menu(viewer(party="property"))
    assert "board" not in menu(viewer(party="property"))
    assert "queue" in menu(viewer(party="property"))
    assert {"board", "settings", "intake"} <= set(menu(viewer("admin")))


def test_a_form_becomes_the_apis_body_empty_fields_left_out():
    form = MultiDict([("party", "property"), ("reason", " "), ("other", "x")])
    assert form_body(form, ops.AssignIn) == {"party": "property"}


def test_nested_field_errors_are_named_by_their_path():
    error = InvalidInput(
        fields={"contact": {"phone": ["手机号码格式无效"]}, "category": ["必填项"]}
    )
    assert field_errors(error) == {"contact.phone": "手机号码格式无效", "category": "必填项"}


def test_times_are_shown_in_beijing_time():
    assert local_time("2026-12-01T06:05:00Z") == "12月1日 14:05"
    assert local_time("2026-12-01T16:30:00+00:00", "day") == "12月2日 周三"


def test_charts_are_labelled_svg_with_their_numbers_and_escape_labels():
    svg = bars([("物业公司", 97.1), ("<b>", None)], title="各责任方满意率", unit="%", top=100)
    assert 'aria-label="各责任方满意率"' in svg and "97.1%" in svg and "暂无" in svg
    assert "<b>" not in svg
    trend = line([("11月", 80.0), ("12月", 98.5)], title="走势", low=50)
    assert "<polyline" in trend and "98.5%" in trend


def request(path, headers=None):
    return Request(EnvironBuilder(path=path, headers=headers or {}).get_environ())


def test_a_static_file_asked_for_by_its_version_is_kept_a_year_and_gzipped():
    url = asset("console.js")
    name, version = url.removeprefix("/static/").split("?v=")
    answer = static_response(request(url, {"Accept-Encoding": "gzip"}), name)
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.headers["Content-Encoding"] == "gzip"
    again = static_response(request(url, {"If-None-Match": f'"{version}"'}), name)
    assert again.status_code == 304
    assert static_response(request("/static/nothing.js"), "nothing.js").status_code == 404


@pytest.mark.parametrize(
    "name", sorted(p.relative_to(ROOT).as_posix() for p in Path(ROOT).rglob("*.html"))
)
def test_every_template_compiles(name):
    TEMPLATES.get_template(name)


def test_every_static_file_is_served():
    assert {"console.css", "console.js", "icon.svg"} <= set(ASSETS)


def test_no_view_of_one_area_hides_another_areas_under_the_same_name():
    """The page classes are mixed into one service class: two methods of one name would
    leave one route without its view (the later base's shadows it)."""
    from gateway.service import GatewayService

    seen: dict[str, str] = {}
    for klass in GatewayService.__mro__[1:]:
        for name, member in vars(klass).items():
            if callable(member) and not name.startswith("__"):
                assert seen.setdefault(name, klass.__name__) == klass.__name__ or name in (
                    "name",
                ), f"{name} is defined in {seen[name]} and {klass.__name__}"
