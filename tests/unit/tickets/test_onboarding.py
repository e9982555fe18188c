"""Onboarding a center from a template: all or nothing, the other services' parts undone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from lianxin.centers import CenterDisabled
from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as ops
from lianxin.contracts.tickets.events import CENTER_CREATED, CENTER_UPDATED
from lianxin.errors import Conflict, InvalidInput, Unavailable
from services.tickets import configuration, intake, onboarding
from services.tickets.exceptions import CenterConflict
from services.tickets.models import Category, Center, outbox_table


class FakeServices:
    """The other services' parts, recorded; ``fail`` names the step that raises."""

    def __init__(self, fail: str | None = None):
        self.fail = fail
        self.calls: list[str] = []
        self.holding: set[str] = set()  # the services that hold a part of the center

    def _step(self, name: str, service: str) -> None:
        self.calls.append(name)
        if self.fail == name:
            raise Unavailable(f"{name} failed")
        self.holding.add(service)

    def copy_events(self, template_id: str, center_id: str) -> dict[str, int]:
        self._step("copy_events", "events")
        return {"rooms": 2, "programmes": 1}

    def drop_events(self, center_id: str) -> None:
        self.calls.append("drop_events")
        self.holding.discard("events")

    def copy_notify(self, template_id: str, center_id: str, admin: dict[str, Any]) -> dict:
        self._step("copy_notify", "notify")
        return {"templates": 1, "contacts": 1}

    def drop_notify(self, center_id: str) -> None:
        self.calls.append("drop_notify")
        self.holding.discard("notify")

    def invite_admin(self, center_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._step("invite_admin", "accounts")
        return {"login": payload["login"] or payload["person_id"], "invitation_url": "http://x/i"}

    def withdraw_accounts(self, center_id: str) -> None:
        self.calls.append("withdraw_accounts")
        self.holding.discard("accounts")


def _request(**overrides: Any) -> ops.NewOnboarding:
    body = {
        "id": "yinying",
        "name": "银莺社区党群服务中心",
        "from": "yanminghu",
        "admin": {"person_id": "yy-admin", "name": "王主任", "phone": "13800001111"},
        **overrides,
    }
    return load(ops.CenterOnboard, body)


def _events(db: Any) -> list[str]:
    return [row.type for row in db.execute(select(outbox_table.c.type))]


def test_a_center_onboarded_from_the_template_has_its_categories_and_is_announced(db, outbox):
    services = FakeServices()
    made = onboarding.onboard(
        db_session=db, outbox=outbox, data=_request(), services=services, actor_id="ops-1"
    )
    assert made.center.status == "active"
    assert made.copied == {
        "rooms": 2,
        "programmes": 1,
        "templates": 1,
        "contacts": 1,
        "categories": 2,
    }
    codes = db.scalars(select(Category.code).where(Category.center_id == "yinying")).all()
    assert sorted(codes) == ["elderly_care", "sanitation"]
    assert _events(db) == [CENTER_CREATED]
    assert services.holding == {"events", "notify", "accounts"}


@pytest.mark.parametrize("fail", ["copy_events", "copy_notify", "invite_admin"])
def test_a_failure_midway_leaves_no_part_of_the_center_in_any_service(db, outbox, fail):
    services = FakeServices(fail=fail)
    with pytest.raises(Unavailable):
        onboarding.onboard(
            db_session=db, outbox=outbox, data=_request(), services=services, actor_id="ops-1"
        )
    assert services.holding == set()
    assert db.get(Center, "yinying") is None
    assert not db.scalars(select(Category).where(Category.center_id == "yinying")).all()
    assert _events(db) == []
    # the step that failed is undone too (it may have done its part before timing out)
    assert "drop_events" in services.calls


def test_a_failing_commit_of_tickets_own_part_undoes_every_service(db, outbox, monkeypatch):
    services = FakeServices()

    def broken(**_: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(onboarding, "_copy_categories", broken)
    with pytest.raises(RuntimeError):
        onboarding.onboard(
            db_session=db, outbox=outbox, data=_request(), services=services, actor_id="ops-1"
        )
    assert services.holding == set()
    assert db.get(Center, "yinying") is None


def test_an_id_in_use_is_refused_before_any_service_is_asked(db, outbox):
    services = FakeServices()
    with pytest.raises(CenterConflict) as refused:
        onboarding.onboard(
            db_session=db,
            outbox=outbox,
            data=_request(id="fenghuangtai"),
            services=services,
            actor_id="ops-1",
        )
    assert refused.value.kind == "conflict"
    assert services.calls == []


def test_an_unknown_template_is_refused_before_any_service_is_asked(db, outbox):
    services = FakeServices()
    with pytest.raises(InvalidInput) as refused:
        onboarding.onboard(
            db_session=db,
            outbox=outbox,
            data=_request(**{"from": "nowhere"}),
            services=services,
            actor_id="ops-1",
        )
    assert refused.value.code == "TEMPLATE_NOT_FOUND"
    assert services.calls == []


@pytest.mark.parametrize("bad", ["Bad_Id", "x", "1abc", "yin ying"])
def test_a_malformed_center_id_is_refused(bad):
    with pytest.raises(InvalidInput) as refused:
        load(
            ops.CenterOnboard,
            {"id": bad, "name": "某中心", "admin": {"person_id": "a", "name": "王"}},
        )
    assert "id" in refused.value.fields


def test_a_disabled_center_refuses_reports_and_configuration_but_keeps_its_data(db, outbox):
    configuration.set_center_status(db_session=db, center_id="yanminghu", status="disabled")
    onboarding.announce(
        outbox=outbox, center=db.get(Center, "yanminghu"), change="disabled", actor_id="ops-1"
    )
    db.commit()
    report = load(ops.TicketCreate, {"category": "sanitation", "description": "路灯不亮了"})
    with pytest.raises(CenterDisabled) as refused:
        intake.create_ticket(
            db_session=db, outbox=outbox, center_id="yanminghu", data=report, reporter_id=None
        )
    assert refused.value.code == "CENTER_DISABLED" and "已停用" in refused.value.detail
    with pytest.raises(Conflict):
        configuration.add_category(
            db_session=db,
            center_id="yanminghu",
            data=load(ops.CategoryCreate, {"code": "noise", "name": "噪音", "party": "property"}),
        )
    assert len(configuration.list_categories(db_session=db, center_id="yanminghu")) == 2
    assert _events(db) == [CENTER_UPDATED]
    # the other center goes on
    intake.create_ticket(
        db_session=db, outbox=outbox, center_id="fenghuangtai", data=report, reporter_id=None
    )


def test_disabling_twice_changes_nothing_the_second_time(db):
    _, changed = configuration.set_center_status(
        db_session=db, center_id="yanminghu", status="disabled"
    )
    _, again = configuration.set_center_status(
        db_session=db, center_id="yanminghu", status="disabled"
    )
    assert changed and not again
