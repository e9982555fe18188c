"""Supporters ("我也遇到了"): a resident joins an open ticket instead of reporting it again —
counted, and named on every later event so that they are told of its progress."""

import pytest

from lianxin.errors import Conflict

REPORT = {"category": "sanitation", "description": "3号楼门口垃圾两天没人清运"}
ALREADY = "您已经反映过这个问题，办理进展会通知您"


def phone_hash(n):
    return f"{n:064x}"


@pytest.fixture
def reported(service, token):
    return service(token("resident", sub="res-1")).create_ticket("yanminghu", REPORT)


def test_a_supporter_is_counted_and_named_on_every_later_event(service, token, reported, events):
    joined = service().support_ticket(
        "yanminghu", reported["id"], {"supporter_id": "supporter-1", "phone_hash": phone_hash(1)}
    )
    assert joined == {
        "ticket_id": reported["id"],
        "state": "reported",
        "supporter_id": "supporter-1",
        "supporters": 1,
    }
    service(token("resident", sub="res-2")).support_ticket(
        "yanminghu", reported["id"], {"supporter_id": "ignored"}
    )
    supported = [e["data"] for e in events() if e["type"].endswith("ticket.supported.v1")]
    assert [(s["supporter_id"], s["supporters"]) for s in supported] == [
        ("supporter-1", 1),
        ("res-2", 2),
    ]
    assert supported[-1]["person_id"] == "res-1"
    staff = service(token("staff"))
    assert staff.get_ticket("yanminghu", reported["id"])["supporters"] == 2
    staff.acknowledge_ticket("yanminghu", reported["id"])
    assert events()[-1]["data"]["supporter_ids"] == ["supporter-1", "res-2"]
    timeline = staff.get_ticket_timeline("yanminghu", reported["id"])
    assert [e["actor_id"] for e in timeline if e["action"] == "support"] == ["supporter-1", "res-2"]


@pytest.mark.parametrize(
    "again",
    [
        {"supporter_id": "supporter-1"},  # the same person
        {"supporter_id": "supporter-9", "phone_hash": phone_hash(1)},  # the same phone
    ],
)
def test_joining_twice_is_refused_and_changes_nothing(service, token, reported, events, again):
    service().support_ticket(
        "yanminghu", reported["id"], {"supporter_id": "supporter-1", "phone_hash": phone_hash(1)}
    )
    with pytest.raises(Conflict) as refused:
        service().support_ticket("yanminghu", reported["id"], again)
    assert refused.value.detail == ALREADY and refused.value.code == "ALREADY_SUPPORTED"
    assert service(token("staff")).get_ticket("yanminghu", reported["id"])["supporters"] == 1
    assert [e["type"].split(".")[4] for e in events()] == ["created", "supported"]


def test_a_reporter_does_not_support_their_own_ticket(service, token, reported):
    with pytest.raises(Conflict) as refused:
        service(token("resident", sub="res-1")).support_ticket(
            "yanminghu", reported["id"], {"supporter_id": "res-1"}
        )
    assert refused.value.code == "OWN_TICKET"


def test_a_ticket_no_longer_open_takes_no_supporters(service, token):
    done = service(token("staff")).create_ticket(
        "yanminghu", {**REPORT, "channel": "walk_in", "answer": "已当面答复"}
    )
    with pytest.raises(Conflict) as refused:
        service().support_ticket("yanminghu", done["id"], {"supporter_id": "supporter-1"})
    assert "已办结" in refused.value.detail


def test_another_centers_resident_cannot_join(service, token, reported):
    from lianxin.errors import Forbidden, NotFound

    with pytest.raises(Forbidden):
        service(token("resident", center="fenghuangtai", sub="res-5")).support_ticket(
            "yanminghu", reported["id"], {"supporter_id": "res-5"}
        )
    with pytest.raises(NotFound):
        service().support_ticket("fenghuangtai", reported["id"], {"supporter_id": "s-1"})


def test_the_same_phone_may_support_two_tickets(service, reported):
    other = service().create_ticket("yanminghu", {**REPORT, "description": "路灯不亮"})
    for ticket in (reported, other):
        service().support_ticket(
            "yanminghu", ticket["id"], {"supporter_id": "supporter-1", "phone_hash": phone_hash(1)}
        )
