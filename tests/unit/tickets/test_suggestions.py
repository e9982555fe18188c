"""Suggestions before and at intake: each center's category model (cached per replica),
the likely categories of a description, and the open tickets it likely repeats."""

import pytest

from lianxin.contracts.schema import load
from lianxin.contracts.tickets.operations import CategoryCreate
from lianxin.errors import NotFound
from services.tickets import configuration, suggestions
from services.tickets.suggest import CategoryInfo, CategoryModel

TEXT = "3号楼门口垃圾两天没人清运"
WHERE = {"address": "东村社区3号楼"}


def test_a_centers_model_is_cached_until_its_ttl_or_forgotten():
    now = [0.0]
    cache = suggestions.SuggestionCache(ttl=600, clock=lambda: now[0])
    built = []

    def build():
        built.append(1)
        return CategoryModel.build([CategoryInfo("sanitation", "环境卫生")])

    first = cache.model("yanminghu", build)
    assert cache.model("yanminghu", build) is first and len(built) == 1
    now[0] = 601.0
    assert cache.model("yanminghu", build) is not first and len(built) == 2
    cache.forget("yanminghu")
    cache.model("yanminghu", build)
    assert len(built) == 3
    cache.forget(None)
    assert cache.centers() == set()


def test_the_least_recently_used_center_goes_first():
    cache = suggestions.SuggestionCache(size=2)
    for center in ("a", "b", "a", "c"):
        cache.model(center, lambda: None)
    assert cache.centers() == {"a", "c"}


def test_the_model_knows_the_active_categories_and_learns_from_handled_tickets(db, service, token):
    configuration.add_category(
        db_session=db,
        center_id="yanminghu",
        data=load(CategoryCreate, {"code": "retired", "name": "停用类别"}),
    )
    db.commit()
    service(token("admin")).update_category("yanminghu", "retired", {"active": False})
    clerk = service(token("staff"))
    for _ in range(3):  # handled: the model learns that 独居老人 is elderly care
        clerk.create_ticket(
            "yanminghu",
            {
                "category": "elderly_care",
                "description": "独居老人家里水管漏水需要帮忙",
                "channel": "walk_in",
                "answer": "社工已联系维修",
            },
        )
    model = suggestions.category_model(db_session=db, center_id="yanminghu")
    assert model is not None
    assert {c.code for c in model.categories} == {"sanitation", "elderly_care"}
    assert model.suggest("独居老人家里水管漏水", limit=1)[0].code == "elderly_care"
    assert suggestions.category_model(db_session=db, center_id="atlantis") is None


def test_suggestions_answer_exactly_categories_and_repeats(service, token):
    service(token("admin")).update_category(
        "yanminghu", "sanitation", {"keywords": ["垃圾", "清运"]}
    )
    reported = service(token("resident", sub="res-1")).create_ticket(
        "yanminghu", {"category": "sanitation", "description": TEXT, **WHERE}
    )
    answer = service().suggest("yanminghu", {"description": TEXT, **WHERE})
    assert set(answer) == {"categories", "repeats"}
    assert [set(c) for c in answer["categories"]] == [{"code", "name", "score"}] * 2
    assert answer["categories"][0]["code"] == "sanitation"
    assert 0 < answer["categories"][0]["score"] <= 1
    assert answer["repeats"] == [
        {"ticket_id": reported["id"], "summary": TEXT, "state": "reported", "distance_m": None}
    ]
    nowhere = service().suggest("yanminghu", {"description": "垃圾两天没人清运"})
    assert nowhere["repeats"] == []  # no place to compare with


def test_suggestions_for_an_unknown_center_are_404_in_chinese(service):
    with pytest.raises(NotFound) as err:
        service().suggest("atlantis", {"description": TEXT})
    assert err.value.detail == "服务中心不存在"


def test_a_category_change_makes_every_replica_rebuild_the_model(service, token, suggestion_models):
    service().suggest("yanminghu", {"description": TEXT})
    assert "yanminghu" in suggestion_models.centers()
    service(token("admin")).update_category("yanminghu", "sanitation", {"keywords": ["垃圾"]})
    assert "yanminghu" not in suggestion_models.centers()
    service().suggest("yanminghu", {"description": TEXT})
    service().forget_routing({"center_id": "yanminghu"})  # the broadcast, on another replica
    assert "yanminghu" not in suggestion_models.centers()


def test_the_same_report_filed_many_times_is_scored_once_and_offered_newest_first():
    model = CategoryModel.build([CategoryInfo("sanitation", "环境卫生", ("垃圾",))])
    place = (TEXT, "东村社区3号楼", None, None)
    pool = suggestions.OpenPool((f"t{i}", "reported", place) for i in range(8))  # newest first
    pool.add("new", "assigned", place)
    pool.add("other", "reported", ("路灯不亮", "东村社区3号楼", None, None))
    found = pool.likely_repeats(
        model, text=TEXT, address="东村社区3号楼", lat=None, long=None, radius_m=100
    )
    assert found == [
        {"ticket_id": "new", "summary": TEXT, "state": "assigned", "distance_m": None},
        {"ticket_id": "t0", "summary": TEXT, "state": "reported", "distance_m": None},
        {"ticket_id": "t1", "summary": TEXT, "state": "reported", "distance_m": None},
    ]
