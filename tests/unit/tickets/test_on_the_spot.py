"""Resolve on the spot (当场办结): a clerk registers a walk-in or a call and resolves it in one
step, with the answer; a resident's, web or Open311 report with an answer is refused."""

import pytest

from lianxin.errors import InvalidInput

CALL = {
    "category": "sanitation",
    "description": "咨询垃圾分类投放时间",
    "channel": "walk_in",
    "answer": "已当面告知投放时间",
}
REFUSAL = {"answer": ["当场办结仅限工作人员登记的热线或来访诉求"]}


def test_a_clerk_registers_and_resolves_in_one_call(service, token, events):
    clerk = service(token("staff", sub="clerk-1"))
    receipt = clerk.create_ticket("yanminghu", CALL)
    assert (receipt["state"], receipt["answer"]) == ("resolved", "已当面告知投放时间")
    timeline = clerk.get_ticket_timeline("yanminghu", receipt["id"])
    assert [(e["action"], e["actor_id"]) for e in timeline] == [
        ("report", None),
        ("resolve", "clerk-1"),
    ]
    assert events.types() == ["created", "resolved"]
    assert "assigned" not in events.types() and "acknowledged" not in events.types()


def test_gathered_intake_resolves_on_the_spot_too(service, token, events):
    clerk = token("staff", sub="clerk-1")
    [answer] = service().create_tickets(
        [{"center_id": "yanminghu", "payload": CALL, "authorization": clerk}]
    )
    assert answer["ticket"]["state"] == "resolved"
    assert events.types() == ["created", "resolved"]
    assert [e["data"]["on_the_spot"] for e in events()] == [True, True]


def test_its_rating_counts_in_the_satisfaction_rate_like_any_other(service, token):
    clerk = service(token("staff", sub="clerk-1"))
    receipt = clerk.create_ticket("yanminghu", {**CALL, "reporter_id": "reporter-1"})
    rated = service().rate_public_ticket(
        "yanminghu",
        receipt["id"],
        {"rating": "satisfied", "follow_code": receipt["follow_code"]},
    )
    assert rated["state"] == "closed"
    rate = clerk.get_satisfaction("yanminghu", {"group_by": "party"})
    assert rate["rows"][0]["ratings"] == 1 and rate["rows"][0]["rate"] == 100.0


@pytest.mark.parametrize(
    "who, channel",
    [(None, "web"), ("resident", "web"), ("staff", "web")],
)
def test_only_staff_resolve_on_the_spot_by_hotline_or_walk_in(service, token, who, channel):
    caller = service(token(who) if who else None)
    with pytest.raises(InvalidInput) as refused:
        caller.create_ticket("yanminghu", {**CALL, "channel": channel})
    assert refused.value.fields == REFUSAL


def test_an_open311_report_cannot_be_resolved_at_intake(service, token, db):
    from services.tickets import configuration

    key = configuration.create_api_key(db_session=db, center_id="yanminghu", name="县12345热线")
    db.commit()
    with pytest.raises(InvalidInput) as refused:
        service().create_open311_ticket(
            "yanminghu",
            key,
            {"service_code": "sanitation", "description": "垃圾没人清运", "answer": "已清运"},
        )
    assert refused.value.fields == REFUSAL


def test_a_gathered_call_refuses_an_answer_from_a_resident_alone(service, token):
    answers = service().create_tickets(
        [
            {"center_id": "yanminghu", "payload": {**CALL, "channel": "web"}},
            {"center_id": "yanminghu", "payload": {**CALL, "channel": "hotline"},
             "authorization": token("staff")},
        ]
    )  # fmt: skip
    assert answers[0]["error"]["fields"] == REFUSAL
    assert answers[1]["ticket"]["state"] == "resolved"
