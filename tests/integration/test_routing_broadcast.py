"""A routing change reaches every tickets replica over the broker, not only the one that made it."""

import pytest

from lianxin.testing import wait_for

pytestmark = pytest.mark.integration


def test_every_replica_gets_its_own_copy_of_a_routing_change(
    container_factory, service_config, demo_center, rpc, token
):
    from nameko.testing.services import entrypoint_waiter

    from services.tickets.service import TicketsService

    config = service_config("tickets")
    replicas = [container_factory(TicketsService, config) for _ in range(2)]
    for replica in replicas:
        replica.start()
    demo_center()
    admin = rpc(token("admin"))
    with (
        entrypoint_waiter(replicas[0], "forget_routing"),
        entrypoint_waiter(replicas[1], "forget_routing"),
    ):
        admin.tickets.update_category("yanminghu", "sanitation", {"party": "village_committee"})
    # …and intake on either replica routes by the new rule.
    staff = rpc(token("staff"))
    routed = wait_for(
        lambda: staff.tickets.create_ticket(
            "yanminghu",
            {"category": "sanitation", "description": "村口垃圾堆放", "channel": "hotline"},
        )
    )
    assert routed["party"] == "village_committee"
