"""Issue 14 over HTTP on the real broker (tickets, notify and the gateway in containers): a
repeat is offered before sending and kept when posted anyway; a supporter joins once and is
told of progress; the roster takes only people notify can reach; a clerk resolves on the
spot in one call; an urge is on the timeline; every reporter's contact reaches notify."""

import functools

import pytest
import requests

from lianxin.contracts.tickets import events as tk
from lianxin.testing import free_port, wait_for

pytestmark = pytest.mark.integration

CENTER = "yanminghu"
REPORT = {
    "center_id": CENTER,
    "category": "sanitation",
    "description": "东村社区3号楼门口垃圾两天没人清运",
    "address": "东村社区3号楼",
}


@pytest.fixture
def api(container_factory, service_config, demo_center, rpc, token):
    """The gateway's base URL, with tickets and notify behind it; the demo center with its
    cadre on duty's contact in notify's directory."""
    from gateway.service import GatewayService
    from services.notify.service import NotifyService
    from services.tickets.service import TicketsService

    port = free_port()
    container_factory(TicketsService, service_config("tickets")).start()
    container_factory(NotifyService, service_config("notify", QUIET_HOURS="off")).start()
    container_factory(
        GatewayService,
        service_config("gateway", WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", PUBLIC_BURST=100),
    ).start()
    demo_center()
    admin = rpc(token("admin"))
    admin.tickets.update_category(CENTER, "sanitation", {"keywords": ["垃圾", "清运"]})
    admin.notify.upsert_contact(
        CENTER,
        {"person_id": "staff-duty-1", "name": "李卫东", "role": "staff", "phone": "13800000001"},
    )
    return f"http://127.0.0.1:{port}/api/v1"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def drain(bus, queue):
    return list(iter(lambda: bus.get(queue), None))


def reachable(admin, person):
    """Whether notify's directory can reach ``person`` (their contact has arrived)."""
    return admin.notify.check_reachable(CENTER, person)["reachable"]


def test_a_repeat_is_offered_before_sending_and_kept_when_posted_anyway(api, token):
    first = requests.post(f"{api}/public/tickets", json=REPORT, timeout=30)
    assert first.status_code == 201, first.text
    offered = requests.post(
        f"{api}/public/centers/{CENTER}/suggestions",
        json={"description": REPORT["description"], "address": REPORT["address"]},
        timeout=30,
    )
    assert offered.status_code == 200, offered.text
    answer = offered.json()
    assert set(answer) == {"categories", "repeats"}
    assert [c["code"] for c in answer["categories"]] == ["sanitation"]  # its one category
    assert answer["repeats"] == [
        {
            "ticket_id": first.json()["id"],
            "summary": REPORT["description"],
            "state": "reported",
            "distance_m": None,
        }
    ]
    again = requests.post(
        f"{api}/tickets",
        json={k: v for k, v in REPORT.items() if k != "center_id"},
        headers=bearer(token("resident", sub="res-2")),
        timeout=30,
    )
    assert again.status_code == 201, again.text
    assert [c["ticket_id"] for c in again.json()["repeat_candidates"]] == [first.json()["id"]]
    staff = bearer(token("staff", sub="staff-duty-1"))
    seen = requests.get(f"{api}/tickets/{again.json()['id']}", headers=staff, timeout=30).json()
    assert seen["repeat_candidates"][0]["ticket_id"] == first.json()["id"]
    merged = requests.post(
        f"{api}/tickets/{again.json()['id']}/merge",
        json={"primary_id": first.json()["id"]},
        headers=staff,
        timeout=30,
    )
    assert merged.status_code == 200 and merged.json()["state"] == "merged"
    primary = requests.get(f"{api}/tickets/{first.json()['id']}", headers=staff, timeout=30)
    assert primary.json()["merged_ids"] == [again.json()["id"]]


def test_suggestions_for_an_unknown_center_are_404_in_chinese(api):
    response = requests.post(
        f"{api}/public/centers/atlantis/suggestions", json={"description": "路灯不亮"}, timeout=30
    )
    assert response.status_code == 404 and response.json()["detail"] == "服务中心不存在"


def test_a_supporter_joins_once_and_is_on_the_next_event(api, token, rpc, bus):
    everything = bus.bind("tickets", "cn.lianxin.tickets.#")
    ticket = requests.post(f"{api}/public/tickets", json=REPORT, timeout=30).json()
    join = {"center_id": CENTER, "name": "钱女士", "phone": "13922223333"}
    joined = requests.post(f"{api}/public/tickets/{ticket['id']}/supporters", json=join, timeout=30)
    assert joined.status_code == 201, joined.text
    assert joined.json()["supporters"] == 1 and "13922223333" not in joined.text
    supporter = joined.json()["supporter_id"]
    twice = requests.post(f"{api}/public/tickets/{ticket['id']}/supporters", json=join, timeout=30)
    assert twice.status_code == 409
    assert twice.json()["detail"] == "您已经反映过这个问题，办理进展会通知您"
    resident = requests.post(
        f"{api}/public/tickets/{ticket['id']}/supporters",
        json={"center_id": CENTER},
        headers=bearer(token("resident", sub="res-8")),
        timeout=30,
    )
    assert resident.status_code == 201 and resident.json()["supporter_id"] == "res-8"
    anonymous = requests.post(
        f"{api}/public/tickets/{ticket['id']}/supporters", json={"center_id": CENTER}, timeout=30
    )
    assert anonymous.status_code == 422 and "phone" in anonymous.json()["errors"]

    staff = bearer(token("staff", sub="staff-duty-1"))
    acked = requests.post(f"{api}/tickets/{ticket['id']}/acknowledge", headers=staff, timeout=30)
    assert acked.status_code == 200, acked.text
    assert acked.json()["supporters"] == 2

    def acknowledged():
        facts = [f for f in drain(bus, everything) if f["type"] == str(tk.TICKET_ACKNOWLEDGED)]
        return facts and facts[0]

    fact = wait_for(acknowledged)
    assert fact["data"]["supporter_ids"] == [supporter, "res-8"]
    # notify keeps the supporter's phone (the ticket only its hash): it can tell them.
    admin = rpc(token("admin"))
    assert wait_for(functools.partial(reachable, admin, supporter)) is True


def test_the_roster_takes_only_someone_notify_can_reach(api, token, rpc):
    admin = bearer(token("admin"))
    shift = {
        "name": "赵晓雯",
        "starts_at": "2026-12-02T08:00:00+08:00",
        "ends_at": "2026-12-02T20:00:00+08:00",
    }
    unknown = requests.post(
        f"{api}/duty", json={**shift, "person_id": "staff-duty-2"}, headers=admin, timeout=30
    )
    assert unknown.status_code == 422 and unknown.json()["errors"] == {
        "person_id": ["通讯录中没有此人"]
    }
    rpc(token("admin")).notify.upsert_contact(
        CENTER, {"person_id": "staff-duty-2", "name": "赵晓雯", "role": "staff"}
    )  # in the directory, but no phone, WeChat or e-mail
    unreachable = requests.post(
        f"{api}/duty", json={**shift, "person_id": "staff-duty-2"}, headers=admin, timeout=30
    )
    assert unreachable.status_code == 422, unreachable.text
    assert unreachable.json()["errors"] == {"person_id": ["值班人员缺少联系方式"]}
    saved = requests.post(
        f"{api}/duty", json={**shift, "person_id": "staff-duty-1"}, headers=admin, timeout=30
    )
    assert saved.status_code == 201, saved.text
    roster = requests.get(
        f"{api}/duty", params={"start": "2026-12-02T00:00:00+08:00"}, headers=admin, timeout=30
    ).json()
    assert [s["person_id"] for s in roster] == ["staff-duty-1"]


def test_a_walk_in_resolved_on_the_spot_in_one_call_dispatches_nothing(api, token, bus):
    everything = bus.bind("tickets", "cn.lianxin.tickets.#")
    clerk = bearer(token("staff", sub="staff-duty-1"))
    done = requests.post(
        f"{api}/tickets",
        json={
            "category": "sanitation",
            "channel": "walk_in",
            "description": "咨询垃圾分类投放时间",
            "answer": "已当面告知：早 7 点至 9 点、晚 6 点至 8 点",
            "contact": {"name": "孙大爷", "phone": "13733334444"},
        },
        headers=clerk,
        timeout=30,
    )
    assert done.status_code == 201, done.text
    assert done.json()["state"] == "resolved" and done.json()["reporter_id"]
    timeline = requests.get(f"{api}/tickets/{done.json()['id']}/timeline", headers=clerk).json()
    # The clerk resolved it (their token, not the gateway's, after handing the contact over).
    assert [(e["action"], e["actor_id"]) for e in timeline][-1] == ("resolve", "staff-duty-1")
    facts = wait_for(lambda: (got := drain(bus, everything)) and got)
    assert [f["type"].split(".")[4] for f in facts] == ["created", "resolved"]
    assert all(f["data"]["on_the_spot"] for f in facts)
    resident = requests.post(
        f"{api}/public/tickets", json={**REPORT, "answer": "自己解决了"}, timeout=30
    )
    assert resident.status_code == 422
    assert resident.json()["errors"] == {"answer": ["当场办结仅限工作人员登记的热线或来访诉求"]}


def test_an_urge_is_on_the_timeline(api, token):
    staff = bearer(token("staff", sub="staff-duty-1"))
    ticket = requests.post(
        f"{api}/tickets",
        json={"category": "sanitation", "channel": "hotline", "description": "菜市场门口污水外溢"},
        headers=staff,
        timeout=30,
    ).json()
    admin = bearer(token("admin", sub="admin-1"))
    urged = requests.post(
        f"{api}/tickets/{ticket['id']}/urge", json={"note": "请尽快签收"}, headers=admin
    )
    assert urged.status_code == 200, urged.text
    timeline = requests.get(f"{api}/tickets/{ticket['id']}/timeline", headers=staff).json()
    assert ("urge", "admin-1", "请尽快签收") in [
        (e["action"], e["actor_id"], e["reason"]) for e in timeline
    ]
    refused = requests.post(
        f"{api}/tickets/{ticket['id']}/urge", json={"note": "快"}, headers=staff
    )
    assert refused.status_code == 403


def test_every_reporters_contact_reaches_notify_and_the_receipt_names_them(api, token, rpc):
    web = requests.post(
        f"{api}/public/tickets",
        json={
            **REPORT,
            "description": "路灯不亮",
            "contact": {"name": "赵先生", "phone": "13611112222"},
        },
        timeout=30,
    )
    assert web.status_code == 201, web.text
    reporter = web.json()["reporter_id"]
    assert reporter and "13611112222" not in web.text
    clerk = bearer(token("staff", sub="staff-duty-1"))
    call = requests.post(
        f"{api}/tickets",
        json={
            "category": "sanitation",
            "channel": "hotline",
            "description": "楼道灯不亮",
            "contact": {"name": "王阿姨", "email": "wang@example.cn"},
        },
        headers=clerk,
        timeout=30,
    )
    assert call.status_code == 201, call.text
    caller = call.json()["reporter_id"]
    assert caller and caller != reporter
    admin = rpc(token("admin"))

    for person in (reporter, caller):
        assert wait_for(functools.partial(reachable, admin, person))
    follow = requests.get(
        f"{api}/public/centers/{CENTER}/tickets/{web.json()['id']}",
        params={"code": web.json()["follow_code"]},
    ).json()
    assert follow["contact_left"] is True and follow["photo_ids"] == []
    named = requests.post(f"{api}/public/tickets", json={**REPORT, "reporter_id": "res-1"})
    assert named.status_code == 422 and "reporter_id" in named.json()["errors"]


def test_a_web_reporter_with_a_phone_hears_the_four_steps_once_each(api, token, rpc):
    """The issue's first break, through every service: a web report with a phone is
    acknowledged, dispatched by the routing rules and resolved over HTTP; notify sends its
    reporter the acknowledgement, the dispatch, the answer and the return-visit request by
    SMS, each once."""
    web = requests.post(
        f"{api}/public/tickets",
        json={**REPORT, "contact": {"name": "赵先生", "phone": "13611112222"}},
        timeout=30,
    )
    assert web.status_code == 201, web.text
    ticket, reporter = web.json()["id"], web.json()["reporter_id"]
    admin = rpc(token("admin"))
    assert wait_for(functools.partial(reachable, admin, reporter))
    duty = bearer(token("staff", sub="staff-duty-1"))
    for step, body in (("acknowledge", {}), ("resolve", {"answer": "已安排保洁当天清运"})):
        done = requests.post(f"{api}/tickets/{ticket}/{step}", json=body, headers=duty, timeout=30)
        assert done.status_code == 200, done.text

    def told() -> list[str]:
        rows = admin.notify.list_deliveries(
            CENTER, {"person_id": reporter, "channel": "sms", "limit": 50}
        )["items"]
        return sorted(d["message_type"] for d in rows)

    expected = [
        "ticket.acknowledged.reporter",
        "ticket.assigned.reporter",
        "ticket.resolved.reporter",
        "ticket.survey",
    ]
    assert wait_for(lambda: told() == expected, timeout=20), told()
    import eventlet

    eventlet.sleep(1)  # nothing more arrives later
    assert told() == expected
