"""A ticket created over RPC reaches the staff's in-app inbox through the real broker."""

import pytest

from lianxin.testing import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def running(container_factory, service_config):
    from services.notify.service import NotifyService
    from services.tickets.service import TicketsService

    containers = [
        container_factory(TicketsService, service_config("tickets")),
        container_factory(NotifyService, service_config("notify")),
    ]
    for c in containers:
        c.start()
    return containers


def test_created_ticket_becomes_a_staff_notification(running, rpc, token):
    ops = rpc(token("ops", "*"))
    ops.tickets.create_center({"id": "yanminghu", "name": "雁鸣湖镇镇区社区党群服务中心"})
    admin = rpc(token("admin"))
    admin.tickets.add_category(
        "yanminghu", {"code": "sanitation", "name": "环境卫生", "party": "property"}
    )
    staff = rpc(token("staff"))
    ticket = staff.tickets.create_ticket(
        "yanminghu",
        {
            "category": "sanitation",
            "description": "3号楼门口垃圾两天没人清运",
            "channel": "hotline",
        },
    )

    inbox = wait_for(lambda: staff.notify.list_notifications("yanminghu")["items"])
    assert [n["ref_id"] for n in inbox] == [ticket["id"]]
    assert inbox[0]["title"] == "新诉求待签收"
    assert "环境卫生" in inbox[0]["body"] and "物业公司" in inbox[0]["body"]
