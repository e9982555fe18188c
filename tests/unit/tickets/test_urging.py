"""Urging (催办): the admin presses whoever holds an open ticket; on its timeline, announced
with who holds it; refused once it is resolved, closed or merged."""

from datetime import UTC, datetime, timedelta

import pytest

from lianxin.errors import Conflict, Forbidden, InvalidInput

CALL = {"category": "sanitation", "description": "菜市场门口污水外溢", "channel": "hotline"}


def urged(events):
    return [e["data"] for e in events() if e["type"].endswith("ticket.urged.v1")]


def test_the_admin_urges_the_cadre_on_duty_then_the_party(service, token, events):
    now = datetime.now(UTC)
    admin, duty = service(token("admin", sub="admin-1")), service(token("staff", sub="duty-1"))
    admin.add_duty_shift(
        "yanminghu",
        {
            "person_id": "duty-1",
            "name": "李卫东",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
    )
    ticket = duty.create_ticket("yanminghu", CALL)
    admin.urge_ticket("yanminghu", ticket["id"], {"note": "群众多次来电，请尽快签收"})
    duty.acknowledge_ticket("yanminghu", ticket["id"])
    after = admin.urge_ticket("yanminghu", ticket["id"], {"note": "请物业今天处理完"})
    assert after["state"] == "assigned"
    first, second = urged(events)
    assert (first["holder"], first["duty_person_ids"]) == ("duty", ["duty-1"])
    assert first["note"] == "群众多次来电，请尽快签收" and first["actor_id"] == "admin-1"
    assert (second["holder"], second["duty_person_ids"], second["party"]) == (
        "party",
        [],
        "property",
    )
    timeline = admin.get_ticket_timeline("yanminghu", ticket["id"])
    urges = [(e["action"], e["actor_id"], e["reason"]) for e in timeline if e["action"] == "urge"]
    assert urges == [
        ("urge", "admin-1", "群众多次来电，请尽快签收"),
        ("urge", "admin-1", "请物业今天处理完"),
    ]


def test_a_returned_ticket_is_the_cadres_again(service, token, events):
    duty, wy = service(token("staff")), service(token("staff", sub="wy-1", party="property"))
    ticket = duty.create_ticket("yanminghu", CALL)
    duty.acknowledge_ticket("yanminghu", ticket["id"])
    wy.return_ticket("yanminghu", ticket["id"], {"reason": "不属于物业服务范围"})
    service(token("admin")).urge_ticket("yanminghu", ticket["id"], {"note": "请尽快改派"})
    assert urged(events)[-1]["holder"] == "duty"


def test_only_the_admin_urges_and_with_a_note(service, token):
    ticket = service(token("staff")).create_ticket("yanminghu", CALL)
    with pytest.raises(Forbidden):
        service(token("staff")).urge_ticket("yanminghu", ticket["id"], {"note": "快点"})
    with pytest.raises(InvalidInput) as err:
        service(token("admin")).urge_ticket("yanminghu", ticket["id"], {})
    assert "note" in err.value.fields


def test_a_resolved_ticket_is_not_urged(service, token, events):
    clerk = service(token("staff"))
    ticket = clerk.create_ticket("yanminghu", {**CALL, "answer": "已电话答复"})
    with pytest.raises(Conflict) as refused:
        service(token("admin")).urge_ticket("yanminghu", ticket["id"], {"note": "请尽快办理"})
    assert refused.value.detail == "工单当前为「已办结」，不能催办"
    assert urged(events) == []
