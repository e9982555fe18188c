"""A center's configuration: centers, categories, the duty roster, Open311 keys."""

import pytest

from lianxin.contracts.schema import load
from lianxin.contracts.tickets import operations as ops
from services.tickets import configuration
from services.tickets.exceptions import CategoryConflict, CenterConflict, InvalidApiKey


def test_center_ids_are_unique(db):
    with pytest.raises(CenterConflict):
        configuration.create_center(
            db_session=db, data=load(ops.CenterCreate, {"id": "yanminghu", "name": "重复"})
        )


def test_a_category_is_its_own_open311_service_unless_it_names_one(db):
    category = configuration.add_category(
        db_session=db,
        center_id="yanminghu",
        data=load(ops.CategoryCreate, {"code": "repairs", "name": "公共设施维修"}),
    )
    assert category.service_code == "repairs"
    with pytest.raises(CategoryConflict) as err:
        configuration.add_category(
            db_session=db,
            center_id="yanminghu",
            data=load(
                ops.CategoryCreate, {"code": "lights", "name": "路灯", "service_code": "repairs"}
            ),
        )
    assert "service_code" in err.value.fields


def test_retired_categories_are_left_out_of_the_active_list(db):
    configuration.update_category(
        db_session=db,
        center_id="yanminghu",
        code="elderly_care",
        changes=load(ops.CategoryUpdate, {"active": False}),
    )
    active = configuration.list_categories(db_session=db, center_id="yanminghu", active_only=True)
    every = configuration.list_categories(db_session=db, center_id="yanminghu")
    assert [c.code for c in active] == ["sanitation"]
    assert [c.code for c in every] == ["elderly_care", "sanitation"]


def test_an_api_key_is_valid_only_for_its_center(db):
    key = configuration.create_api_key(db_session=db, center_id="yanminghu", name="县12345热线")
    assert (
        configuration.check_api_key(db_session=db, center_id="yanminghu", key=key).name
        == "县12345热线"
    )
    with pytest.raises(InvalidApiKey):
        configuration.check_api_key(db_session=db, center_id="fenghuangtai", key=key)
    with pytest.raises(InvalidApiKey):
        configuration.check_api_key(db_session=db, center_id="yanminghu", key=None)


def test_a_roster_entry_is_saved_only_for_someone_notify_can_reach(db, on_duty, directory):
    """The roster decides who is alerted: someone notify doesn't know, or can reach only in
    the app, is refused with the reason (field person_id), and nothing is stored."""
    from datetime import UTC, datetime, timedelta

    from lianxin.errors import InvalidInput

    start = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    end = start + timedelta(hours=12)
    with pytest.raises(InvalidInput) as unreachable:
        on_duty("in-app-only", start, end)
    assert unreachable.value.fields == {"person_id": ["值班人员缺少联系方式"]}
    assert unreachable.value.detail == "值班人员缺少联系方式"
    db.rollback()
    with pytest.raises(InvalidInput) as unknown:
        on_duty("staff-duty-9", start, end)
    assert unknown.value.fields == {"person_id": ["通讯录中没有此人"]}
    db.rollback()
    assert configuration.list_duty(db_session=db, center_id="yanminghu", start=start, end=end) == []
    shift = on_duty("duty-1", start, end)
    assert shift.person_id == "duty-1"
    assert directory.asked[-1] == ("yanminghu", "duty-1")


def test_a_roster_entry_for_an_unknown_center_asks_notify_nothing(db, directory):
    from lianxin.contracts.tickets.operations import DutyShiftCreate
    from services.tickets.exceptions import CenterNotFound

    data = load(
        DutyShiftCreate,
        {
            "person_id": "duty-1",
            "name": "李卫东",
            "starts_at": "2026-12-01T08:00:00+08:00",
            "ends_at": "2026-12-01T20:00:00+08:00",
        },
    )
    with pytest.raises(CenterNotFound):
        configuration.add_duty_shift(
            db_session=db, center_id="atlantis", data=data, check_reachable=directory
        )
    assert directory.asked == []


def test_everyone_on_duty_at_a_moment_each_once_the_latest_shift_first(db, on_duty):
    from datetime import UTC, datetime, timedelta

    at = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    on_duty("duty-1", at - timedelta(hours=4), at + timedelta(hours=4))
    on_duty("duty-2", at - timedelta(hours=1), at + timedelta(hours=1))
    on_duty("duty-1", at - timedelta(minutes=30), at + timedelta(hours=1))  # a second shift
    on_duty("duty-3", at + timedelta(hours=1), at + timedelta(hours=2))  # later
    on_duty("duty-3", at - timedelta(hours=2), at + timedelta(hours=2), center="fenghuangtai")
    found = configuration.on_duty(db_session=db, center_ids=["yanminghu", "fenghuangtai"], at=at)
    assert found == {"yanminghu": ["duty-1", "duty-2"], "fenghuangtai": ["duty-3"]}
    assert configuration.on_duty(db_session=db, center_ids=[], at=at) == {}


def test_the_roster_read_through_its_cache_is_exact_for_every_moment_of_its_window(db, on_duty):
    from datetime import UTC, datetime, timedelta

    from services.tickets.models import DutyShift

    at = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    clock = [0.0]
    cache = configuration.DutyCache(ttl=30, horizon=timedelta(minutes=10), clock=lambda: clock[0])
    on_duty("duty-1", at - timedelta(hours=1), at + timedelta(minutes=5))  # hands over ...
    on_duty("duty-2", at + timedelta(minutes=5), at + timedelta(hours=4))  # ... to duty-2

    def duty(moment):
        return configuration.on_duty(
            db_session=db, center_ids=["yanminghu"], at=moment, cache=cache
        )

    assert duty(at) == {"yanminghu": ["duty-1"]}
    db.query(DutyShift).delete()  # from here on, only the cache can answer
    assert duty(at + timedelta(minutes=4)) == {"yanminghu": ["duty-1"]}
    assert duty(at + timedelta(minutes=5)) == {"yanminghu": ["duty-2"]}  # the hand-over
    assert duty(at + timedelta(minutes=11)) == {}  # past the window: read again (none left)
    later = at + timedelta(minutes=12)
    on_duty("duty-3", at - timedelta(hours=1), at + timedelta(hours=1))
    assert duty(later) == {}  # the window read at 04:11 still answers ...
    clock[0] = 31.0  # ... until it expires
    assert duty(later) == {"yanminghu": ["duty-3"]}
    on_duty("duty-2", at + timedelta(minutes=11), at + timedelta(hours=1))
    cache.forget("yanminghu")  # what a roster change does, in every replica
    assert duty(later) == {"yanminghu": ["duty-2", "duty-3"]}


@pytest.mark.parametrize(
    "factor, ok", [(3, True), (2.5, True), (None, True), (2, False), (1, False)]
)
def test_the_third_step_of_the_ladder_comes_after_the_second(factor, ok):
    from lianxin.errors import InvalidInput

    if ok:
        assert load(ops.CenterSettings, {"escalation_level3_factor": factor}) == {
            "escalation_level3_factor": factor
        }
    else:
        with pytest.raises(InvalidInput) as err:
            load(ops.CenterSettings, {"escalation_level3_factor": factor})
        assert "大于 2" in err.value.fields["escalation_level3_factor"][0]
