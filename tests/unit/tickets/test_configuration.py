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
