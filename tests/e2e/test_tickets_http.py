"""The resident-issue workflow as the center uses it, over HTTP only."""

import time

import pytest
import requests

from lianxin.concurrency import etag_of

pytestmark = pytest.mark.e2e


def public_post(system, path, body):
    """POST as a polite public client: the intake is throttled per client, so honour
    Retry-After (other tests of this session share the client address)."""
    for _ in range(3):
        response = system.post(path, body)
        if response.status_code != 429:
            return response
        time.sleep(int(response.headers["Retry-After"]))
    return response


def test_public_report_followed_acknowledged_resolved_and_rated_by_the_resident(system, token):
    staff = token("staff", sub="staff-duty-1")
    receipt = public_post(
        system,
        "/api/v1/public/tickets",
        {
            "center_id": "yanminghu",
            "category": "elderly_care",
            "address": "东村社区7号楼",
            "description": "独居老人刘敬州家里的灯坏了，需要帮忙",
            "contact": {"name": "刘建军", "phone": "13912345678"},
        },
    )
    assert receipt.status_code == 201, receipt.text
    ticket = receipt.json()
    code, tid = ticket["follow_code"], ticket["id"]
    assert ticket["party"] == "social_work" and "13912345678" not in receipt.text

    board = system.get("/api/v1/board", token=staff, params={"party": "social_work"}).json()
    assert tid in [t["id"] for t in board["items"]] and board["counts"]["reported"] >= 1

    # 签收 with no body at all, then 办结 with the answer.
    acked = requests.post(
        system.url(f"/api/v1/tickets/{tid}/acknowledge"),
        headers={"Authorization": f"Bearer {staff}"},
        timeout=10,
    )
    assert acked.status_code == 200 and acked.json()["state"] == "assigned", acked.text
    again = system.post(f"/api/v1/tickets/{tid}/acknowledge", {}, staff)
    assert again.status_code == 409 and "已派单" in again.json()["detail"]
    resolved = system.post(
        f"/api/v1/tickets/{tid}/resolve", {"answer": "社工已联系志愿者上门更换灯泡"}, staff
    )
    assert resolved.json()["state"] == "resolved"

    follow = system.get(f"/api/v1/public/centers/yanminghu/tickets/{tid}", params={"code": code})
    assert follow.status_code == 200 and follow.json()["answer"] == "社工已联系志愿者上门更换灯泡"
    assert (
        system.get(
            f"/api/v1/public/centers/yanminghu/tickets/{tid}", params={"code": "wrong-code"}
        ).status_code
        == 404
    )
    rated = public_post(
        system,
        f"/api/v1/public/centers/yanminghu/tickets/{tid}/rating",
        {"rating": "satisfied", "follow_code": code, "comment": "很及时"},
    )
    assert rated.status_code == 200 and rated.json()["state"] == "closed", rated.text

    steps = [e["action"] for e in system.get(f"/api/v1/tickets/{tid}/timeline", token=staff).json()]
    assert steps == ["report", "acknowledge", "assign", "resolve", "rate", "close"]
    satisfaction = system.get("/api/v1/satisfaction", token=staff).json()["rows"][0]
    assert satisfaction["ratings"] >= 201 and 95 <= satisfaction["rate"] <= 100


def test_seeded_center_shows_the_reports_satisfaction_and_a_joint_meeting_agenda(system, token):
    staff = token("staff", sub="staff-duty-1")
    meetings = system.get("/api/v1/joint-meetings", token=staff).json()
    assert meetings, "the seed escalates one issue to the joint meeting"
    agenda = system.get(f"/api/v1/joint-meetings/{meetings[0]['month']}", token=staff).json()
    item = next(i for i in agenda["items"] if "停车" in i["ticket"]["description"])
    decided = system.post(
        f"/api/v1/joint-meetings/items/{item['id']}/decision",
        {
            "decision": "assigned",
            "party": "owners_committee",
            "note": "业委会牵头，物业配合增设停车位",
        },
        staff,
    )
    assert decided.status_code == 200, decided.text
    ticket = system.get(f"/api/v1/tickets/{item['ticket_id']}", token=staff).json()
    assert (ticket["state"], ticket["party"]) == ("assigned", "owners_committee")
    twice = system.post(
        f"/api/v1/joint-meetings/items/{item['id']}/decision", {"decision": "carried_over"}, staff
    )
    assert twice.status_code == 409


def test_open311_client_with_a_key_from_the_admin(system, token):
    admin = token("admin")
    key = system.post("/api/v1/api-keys", {"name": "县12345热线"}, admin).json()["api_key"]
    created = requests.post(
        system.url("/open311/v2/requests.json"),
        data={
            "api_key": key,
            "jurisdiction_id": "yanminghu",
            "service_code": "repairs",
            "attribute[facility]": "light",
            "address_string": "太平庄社区5号楼",
            "description": "路灯不亮",
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    request_id = created.json()[0]["service_request_id"]
    found = requests.get(
        system.url(f"/open311/v2/requests/{request_id}.json"),
        params={"jurisdiction_id": "yanminghu"},
        timeout=10,
    ).json()[0]
    assert found["status"] == "open" and found["agency_responsible"] == "物业公司"
    refused = requests.post(
        system.url("/open311/v2/requests.json"),
        data={
            "api_key": "lx_forged",
            "jurisdiction_id": "yanminghu",
            "service_code": "repairs",
            "address_string": "x",
            "description": "路灯不亮",
        },
        timeout=10,
    )
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403


def test_admin_changes_routing_and_the_next_report_follows_it(system, token):
    admin, staff = token("admin"), token("staff")
    listed = requests.get(
        system.url("/api/v1/categories"),
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    ).json()
    [policy] = [c for c in listed if c["code"] == "policy"]
    changed = requests.patch(
        system.url("/api/v1/categories/policy"),
        json={"party": "social_work"},
        headers={"Authorization": f"Bearer {admin}", "If-Match": etag_of(policy)},
        timeout=10,
    )
    assert changed.status_code == 200 and changed.json()["party"] == "social_work"
    ticket = system.post(
        "/api/v1/tickets",
        {"category": "policy", "description": "咨询低保政策", "channel": "walk_in"},
        staff,
    ).json()
    assert ticket["party"] == "social_work"
    assert system.post("/api/v1/categories", {"code": "x"}, staff).status_code == 403


def test_the_property_company_handles_its_own_ticket_and_nothing_else(system, token):
    """物业's handler sees its party's tickets, starts and resolves them; signing for stays
    with the cadre on duty, and 物业's ticket does not exist for 社工."""
    duty = token("staff", sub="staff-duty-1")
    wy, sg = (
        token("staff", sub="wy-01", party="property"),
        token("staff", sub="sg-01", party="social_work"),
    )
    created = system.post(
        "/api/v1/tickets",
        {
            "category": "sanitation",
            "channel": "walk_in",
            "description": "太平庄社区垃圾桶满了没人收",
        },
        duty,
    )
    assert created.status_code == 201, created.text
    tid = created.json()["id"]

    refused = system.post(f"/api/v1/tickets/{tid}/acknowledge", {}, wy)
    assert refused.status_code == 403 and refused.json()["code"] == "ROLE_FORBIDDEN"
    assert system.post(f"/api/v1/tickets/{tid}/acknowledge", {}, duty).status_code == 200
    assert tid in [t["id"] for t in system.get("/api/v1/board", token=wy).json()["items"]]
    assert tid not in [t["id"] for t in system.get("/api/v1/board", token=sg).json()["items"]]
    other = system.post(f"/api/v1/tickets/{tid}/start", {}, sg)
    assert other.status_code == 404  # another party's ticket does not exist for it
    assert system.get(f"/api/v1/tickets/{tid}", token=sg).status_code == 404
    assert system.post(f"/api/v1/tickets/{tid}/start", {}, wy).json()["state"] == "in_progress"
    done = system.post(f"/api/v1/tickets/{tid}/resolve", {"answer": "已清运并增加收运频次"}, wy)
    assert done.status_code == 200 and done.json()["state"] == "resolved"


def test_a_web_reporters_contact_reaches_them_as_the_ticket_moves(system, token):
    """The issue's first break: a web report with a phone answered ``reporter_id: null`` and
    nothing ever reached the reporter. Now the receipt names them and notify tells them."""
    staff, admin = token("staff", sub="staff-duty-1"), token("admin")
    receipt = public_post(
        system,
        "/api/v1/public/tickets",
        {
            "center_id": "yanminghu",
            "category": "sanitation",
            "address": "太平庄社区8号楼",
            "description": "8号楼楼道里堆满杂物，影响通行",
            "contact": {"name": "赵先生", "phone": "13611112222"},
        },
    )
    assert receipt.status_code == 201, receipt.text
    ticket = receipt.json()
    reporter = ticket["reporter_id"]
    assert reporter and "13611112222" not in receipt.text
    tid = ticket["id"]
    assert system.post(f"/api/v1/tickets/{tid}/acknowledge", {}, staff).status_code == 200
    done = system.post(f"/api/v1/tickets/{tid}/resolve", {"answer": "物业已清理楼道杂物"}, staff)
    assert done.status_code == 200, done.text
    follow = system.get(
        f"/api/v1/public/centers/yanminghu/tickets/{tid}", params={"code": ticket["follow_code"]}
    ).json()
    assert follow["contact_left"] is True

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        items = system.get(
            "/api/v1/deliveries", token=admin, params={"person_id": reporter}
        ).json()["items"]
        if items:
            break
        time.sleep(0.5)
    assert items, "nothing was delivered to the web reporter"


def test_a_clerk_resolves_a_walk_in_at_the_desk_in_one_call(system, token):
    clerk = token("staff", sub="staff-duty-1")
    done = system.post(
        "/api/v1/tickets",
        {
            "category": "policy",
            "channel": "walk_in",
            "description": "咨询老年人优待证办理",
            "answer": "已当面告知所需材料，可在便民服务窗口当场办理",
        },
        clerk,
    )
    assert done.status_code == 201, done.text
    assert done.json()["state"] == "resolved"
    steps = [
        e["action"]
        for e in system.get(f"/api/v1/tickets/{done.json()['id']}/timeline", token=clerk).json()
    ]
    assert steps == ["report", "resolve"]


def test_a_resident_is_offered_the_open_report_and_joins_it_instead(system, token):
    report = {
        "center_id": "yanminghu",
        "category": "sanitation",
        "address": "东漳社区4号楼",
        "description": "东漳社区4号楼下水道堵了，污水漫到路面",
    }
    first = public_post(system, "/api/v1/public/tickets", report)
    assert first.status_code == 201, first.text
    offered = system.post(
        "/api/v1/public/centers/yanminghu/suggestions",
        {"description": report["description"], "address": report["address"]},
    ).json()
    assert len(offered["categories"]) == 3
    assert first.json()["id"] in [r["ticket_id"] for r in offered["repeats"]]
    join = {"center_id": "yanminghu", "name": "钱女士", "phone": "13922223333"}
    path = f"/api/v1/public/tickets/{first.json()['id']}/supporters"
    joined = public_post(system, path, join)
    assert joined.status_code == 201 and joined.json()["supporters"] == 1, joined.text
    again = public_post(system, path, join)
    assert again.status_code == 409 and "您已经反映过" in again.json()["detail"]


def test_a_report_with_half_an_emoji_is_refused_in_chinese_and_a_whole_one_is_taken(system):
    # A phone that cuts a text in the middle of an emoji sends half a surrogate pair
    # ("\ud83d" in the JSON): UTF-8 has no such character, and the report failed at the
    # INSERT with every report gathered with it (a 502). It is the field's 422 now.
    report = {
        "center_id": "yanminghu",
        "category": "sanitation",
        "address": "东村3号楼",
        "contact": {"name": "王秀兰", "phone": "13912345670"},
    }
    refused = public_post(
        system, "/api/v1/public/tickets", {**report, "description": "垃圾三天没人清运\ud83d"}
    )
    assert refused.status_code == 422, refused.text
    assert "残缺的表情符号" in refused.text
    taken = public_post(
        system, "/api/v1/public/tickets", {**report, "description": "垃圾三天没人清运😡"}
    )
    assert taken.status_code == 201, taken.text
