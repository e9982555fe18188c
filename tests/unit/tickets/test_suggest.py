"""Category suggestions and repeat detection at intake (issue 14): services/tickets/suggest.py,
and where a report is: services/tickets/places.py."""

import subprocess
import sys
from pathlib import Path

import pytest

from lianxin.seed import CATEGORIES, HISTORY
from services.tickets import places
from services.tickets.suggest import CategoryInfo, CategoryModel, OpenTicket, find_repeats

ROOT = Path(__file__).resolve().parents[3]
COMMUNITIES = ("东村社区", "太平庄社区", "东漳社区")
LANDMARKS = ("菜市场", "卫生院", "文化广场", ("北门", "北大门"), "大门")

# 东村社区 3号楼, and points 20 m and 2 km from it.
D3 = (34.82720, 114.09270)
D3_NEAR = (34.82738, 114.09270)
FAR = (34.84520, 114.09270)

HANDLED = [
    ("东村社区3号楼门口垃圾两天没人清运", "sanitation"),
    ("楼下垃圾桶满了好几天没人倒，臭得很", "sanitation"),
    ("绿化带的草好久没人修剪了", "sanitation"),
    ("楼道里贴满了小广告，麻烦清理一下", "sanitation"),
    ("太平庄社区5号楼路灯不亮", "repairs"),
    ("电梯坏了停运两天了，老人下不来楼", "repairs"),
    ("地下室水管漏水，地上全是水", "repairs"),
    ("楼道的声控灯坏了，晚上上楼摸黑", "repairs"),
    ("北门门禁坏了，外人随便进出", "security"),
    ("楼道里电动车充电，飞线充电太危险", "security"),
    ("独居老人好几天没出门了，麻烦社工去看看", "elderly_care"),
    ("老人一个人住，想请志愿者定期上门陪着说说话", "elderly_care"),
    ("家里孩子上学交不起学费，生活困难", "family_support"),
    ("残疾人家庭冬天取暖费交不起", "family_support"),
    ("小区内乱停车堵住消防通道", "estate_rules"),
    ("公共车位被人装了地锁", "estate_rules"),
    ("楼上装修噪音太大，商量了不管用，请社区调解", "neighbour_dispute"),
    ("邻居家的狗天天叫，两家为这事吵了好几回", "neighbour_dispute"),
    ("咨询搬迁安置房产证办理进度", "policy"),
    ("城乡居民养老保险一年交多少钱", "policy"),
]


def categories():
    return [
        CategoryInfo(c["code"], c["name"], tuple(c["keywords"]), c["description"])
        for c in CATEGORIES
    ]


@pytest.fixture(scope="module")
def model():
    return CategoryModel.build(categories(), HANDLED, communities=COMMUNITIES, landmarks=LANDMARKS)


@pytest.fixture(scope="module")
def keywords_only():
    return CategoryModel.build(categories(), communities=COMMUNITIES, landmarks=LANDMARKS)


def ticket(ticket_id, description, address=None, point=None, state="reported"):
    lat, long = point or (None, None)
    return OpenTicket(ticket_id, description, description[:60], state, address, lat, long)


# ---------------------------------------------------------------------------- categories


@pytest.mark.parametrize("fixture", ["model", "keywords_only"])
def test_a_street_light_out_is_a_repair_first(fixture, request):
    first = request.getfixturevalue(fixture).suggest("路灯不亮")[0]
    assert (first.code, first.name) == ("repairs", "公共设施维修")


def test_without_examples_categories_are_suggested_from_their_keywords(keywords_only):
    assert keywords_only.suggest("楼下垃圾没人管")[0].code == "sanitation"
    assert keywords_only.suggest("小区门禁坏了")[0].code == "security"
    assert keywords_only.suggest("想咨询社保政策")[0].code == "policy"
    assert keywords_only.suggest("跟邻居有纠纷，想请人调解")[0].code == "neighbour_dispute"


def test_handled_tickets_teach_what_the_keywords_do_not_say(keywords_only, model):
    text = "楼上天天装修砸墙，噪音吵得睡不着，商量了也不听"
    assert keywords_only.suggest(text)[0].code != "neighbour_dispute"
    assert model.suggest(text)[0].code == "neighbour_dispute"


def test_the_seed_history_is_suggested_its_own_category(model):
    for category, description, *_ in HISTORY:
        assert category in [s.code for s in model.suggest(description)]


@pytest.mark.parametrize(
    "text", ["路灯不亮", "东村社区3号楼门口垃圾两天没人清运", "", "？？", "abc"]
)
def test_three_suggestions_best_first_with_scores_between_0_and_1(model, text):
    suggestions = model.suggest(text)
    assert len(suggestions) == 3
    assert len({s.code for s in suggestions}) == 3
    scores = [s.score for s in suggestions]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)


def test_all_scores_are_a_distribution(model):
    everything = model.suggest("3号楼电梯坏了", limit=len(CATEGORIES))
    assert sum(s.score for s in everything) == pytest.approx(1.0)
    assert model.suggest("3号楼电梯坏了", limit=1)[0].code == "repairs"


def test_typos_and_full_width_digits_still_read(model):
    assert model.suggest("太平庄５号楼那的路登晚上不亮了")[0].code == "repairs"
    assert model.suggest("门口的垃级没人收好几天了")[0].code == "sanitation"


def test_examples_of_unknown_categories_are_skipped():
    built = CategoryModel.build(categories(), [("垃圾没人收", "no_such_category")])
    assert built.suggest("垃圾没人收")[0].code == "sanitation"


def test_a_model_needs_a_category():
    with pytest.raises(ValueError):
        CategoryModel.build([])


# ---------------------------------------------------------------------------- places


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("河南省郑州市中牟县雁鸣湖镇东村社区 6 号楼 1 单元 101 室", "东村社区6号楼1单元101室"),
        ("东村社区三号楼门口", "东村社区3号楼"),
        ("东村社区３栋２单元附近", "东村社区3号楼2单元"),
        ("太平庄社区十五幢旁边", "太平庄社区15号楼"),
        ("东村社区3#楼对面", "东村社区3号楼"),
        ("雁鸣湖镇菜市场", "菜市场"),
        (None, ""),
    ],
)
def test_addresses_are_normalised(text, expected):
    assert places.normalise_address(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("东村社区3号楼门口垃圾没人清运", "东村社区3号楼"),
        ("东村3号楼门口的垃圾没人收", "东村社区3号楼"),
        ("俺家住东村社区十二号楼", "东村社区12号楼"),
        ("3号楼下面垃圾桶满了", "3号楼"),
        ("菜市场门口污水外溢", None),
        ("", None),
    ],
)
def test_the_building_a_text_names(text, expected):
    assert places.building_of(text, COMMUNITIES) == expected


def test_without_the_communities_only_a_leading_one_is_recognised():
    assert places.building_of("东村社区 6 号楼 1 单元") == "东村社区6号楼"
    assert places.building_of("俺家住东村社区三号楼") == "3号楼"


def test_haversine_distance():
    assert places.haversine_m(*D3, *D3) == 0.0
    assert places.haversine_m(*D3, *D3_NEAR) == pytest.approx(20.0, abs=0.5)
    assert places.haversine_m(*D3, *FAR) == pytest.approx(2001.5, abs=2)
    # one degree of longitude on the equator
    assert places.haversine_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-3)


# ---------------------------------------------------------------------------- repeats

GARBAGE = ticket("t-garbage", "东村社区3号楼门口垃圾两天没人清运", "东村社区3号楼", D3)


def test_another_residents_report_of_the_same_buildings_garbage_is_a_repeat(model):
    found = find_repeats(
        "3号楼下面的垃圾桶早满了，垃圾都堆到地上了，快来拉走",
        address="东村社区3号楼1单元", lat=D3_NEAR[0], long=D3_NEAR[1],
        candidates=[GARBAGE], model=model,
    )  # fmt: skip
    assert [c.ticket_id for c in found] == ["t-garbage"]
    assert found[0].distance_m == pytest.approx(20.0, abs=0.5)
    assert 0.0 < found[0].similarity <= 1.0
    assert (found[0].summary, found[0].state) == (GARBAGE.summary, "reported")


def test_the_address_may_be_in_the_description_alone(model):
    found = find_repeats(
        "俺家住东村三号楼，楼门口的垃圾堆成小山了也没人管",
        address=None, lat=None, long=None, candidates=[GARBAGE], model=model,
    )  # fmt: skip
    assert [c.ticket_id for c in found] == ["t-garbage"]
    assert found[0].distance_m is None


def test_the_same_text_2_km_away_is_not_a_repeat(model):
    found = find_repeats(
        GARBAGE.description, address=None, lat=FAR[0], long=FAR[1], candidates=[GARBAGE],
        model=model,
    )  # fmt: skip
    assert found == []


def test_the_same_problem_at_another_building_nearby_is_not_a_repeat(model):
    found = find_repeats(
        "东村社区4号楼门口垃圾两天没人清运", address="东村社区4号楼", lat=D3_NEAR[0],
        long=D3_NEAR[1], candidates=[GARBAGE], model=model,
    )  # fmt: skip
    assert found == []


def test_the_same_problem_in_another_community_is_not_a_repeat(model):
    found = find_repeats(
        "东漳社区3号楼门口垃圾没人清运", address="东漳社区3号楼", lat=None, long=None,
        candidates=[GARBAGE], model=model,
    )  # fmt: skip
    assert found == []


def test_a_different_problem_at_the_same_address_is_not_a_repeat(model):
    for text in ("东村社区3号楼电梯坏了，按键不管用", "东村社区3号楼的独居老人好几天没出门了"):
        found = find_repeats(
            text, address="东村社区3号楼", lat=D3[0], long=D3[1], candidates=[GARBAGE],
            model=model,
        )  # fmt: skip
        assert found == [], text


def test_landmarks_are_places_too(model):
    market = ticket("t-market", "菜市场门口污水外溢", "雁鸣湖镇菜市场")
    found = find_repeats(
        "菜市场门口的污水漫到路上了，一股臭味", address=None, lat=None, long=None,
        candidates=[market], model=model,
    )  # fmt: skip
    assert [c.ticket_id for c in found] == ["t-market"]
    elsewhere = find_repeats(
        "卫生院门口的污水漫到路上了，一股臭味", address=None, lat=None, long=None,
        candidates=[market], model=model,
    )  # fmt: skip
    assert elsewhere == []


def test_a_gate_belongs_to_what_is_named_before_it(model):
    gate = ticket("t-gate", "东漳社区大门口晚上没人值守，车辆随便进出", "东漳社区大门")
    found = find_repeats(
        "卫生院大门口晚上没人值守，车辆随便进出", address=None, lat=None, long=None,
        candidates=[gate], model=model,
    )  # fmt: skip
    assert found == []


def test_without_coordinates_or_a_place_nothing_is_near(model):
    assert find_repeats("垃圾没人清运", address=None, lat=None, long=None,
                        candidates=[GARBAGE], model=model) == []  # fmt: skip


def test_candidates_best_first_and_the_ticket_itself_left_out(model):
    other = ticket("t-other", "3号楼垃圾桶满了", "东村社区3号楼", D3)
    lift = ticket("t-lift", "东村社区3号楼电梯坏了", "东村社区3号楼", D3)
    found = find_repeats(
        GARBAGE.description, address=GARBAGE.address, lat=D3[0], long=D3[1],
        candidates=[lift, other, GARBAGE], model=model, exclude_id="t-garbage",
    )  # fmt: skip
    assert [c.ticket_id for c in found] == ["t-other"]
    found = find_repeats(
        "3号楼垃圾桶满了，垃圾两天没人清运", address="东村社区3号楼", lat=D3[0], long=D3[1],
        candidates=[other, GARBAGE], model=model,
    )  # fmt: skip
    similarities = [c.similarity for c in found]
    assert similarities == sorted(similarities, reverse=True) and len(found) == 2


def test_radius_and_min_similarity_are_the_callers(model):
    text, place = "3号楼下面的垃圾桶满了没人倒", "东村社区3号楼"
    near = find_repeats(text, address=place, lat=D3_NEAR[0], long=D3_NEAR[1],
                        candidates=[GARBAGE], model=model)  # fmt: skip
    assert near
    assert find_repeats(text, address=None, lat=D3_NEAR[0], long=D3_NEAR[1],
                        candidates=[GARBAGE], model=model, radius_m=10) == []  # fmt: skip
    assert find_repeats(text, address=place, lat=D3_NEAR[0], long=D3_NEAR[1],
                        candidates=[GARBAGE], model=model, min_similarity=1.01) == []  # fmt: skip


def test_repeats_are_found_without_a_model_too():
    found = find_repeats(
        "3号楼门口垃圾好几天没人清运了", address="东村社区3号楼", lat=None, long=None,
        candidates=[GARBAGE],
    )  # fmt: skip
    assert [c.ticket_id for c in found] == ["t-garbage"]


def test_jieba_loads_quietly():
    """jieba logs its dictionary loading to stderr; intake's logs stay clean."""
    code = (
        "from services.tickets.suggest import CategoryInfo, CategoryModel\n"
        "m = CategoryModel.build([CategoryInfo('repairs', '公共设施维修', ('路灯',))])\n"
        "print(m.suggest('路灯不亮')[0].code)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)  # fmt: skip
    assert done.stdout.strip() == "repairs"
    assert done.stderr == ""
