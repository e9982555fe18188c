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


def test_a_roster_change_reaches_every_replicas_intake_at_once(
    container_factory, service_config, demo_center, rpc, token, bus
):
    """Intake caches who is on duty; a new shift, added through either replica, is named
    by the very next ticket on both."""
    from datetime import UTC, datetime, timedelta

    from nameko.testing.services import entrypoint_waiter

    from lianxin.contracts.tickets.events import TICKET_CREATED
    from services.notify.service import NotifyService
    from services.tickets.service import TicketsService

    config = service_config("tickets")
    replicas = [container_factory(TicketsService, config) for _ in range(2)]
    for replica in replicas:
        replica.start()
    container_factory(NotifyService, service_config("notify")).start()
    created = bus.bind("tickets", str(TICKET_CREATED))
    demo_center()
    admin = rpc(token("admin"))
    now = datetime.now(UTC)
    for n, name in ((1, "李卫东"), (2, "王芳")):
        admin.notify.upsert_contact(
            "yanminghu",
            {
                "person_id": f"staff-duty-{n}",
                "name": name,
                "role": "staff",
                "phone": f"1380000000{n}",
            },
        )

    def shift(person: str) -> dict:
        return {
            "person_id": person,
            "name": "值班干部",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(hours=8)).isoformat(),
        }

    def duty_of_next(count: int) -> list[list[str]]:
        staff = rpc(token("staff"))
        for i in range(count):
            staff.tickets.create_ticket(
                "yanminghu", {"category": "sanitation", "description": f"垃圾未清运{i}"}
            )
        return [wait_for(lambda: bus.get(created))["data"]["duty_person_ids"] for _ in range(count)]

    admin.tickets.add_duty_shift("yanminghu", shift("staff-duty-1"))
    assert duty_of_next(6) == [["staff-duty-1"]] * 6  # both replicas have the roster cached
    with (
        entrypoint_waiter(replicas[0], "forget_routing"),
        entrypoint_waiter(replicas[1], "forget_routing"),
    ):
        admin.tickets.add_duty_shift("yanminghu", shift("staff-duty-2"))
    assert [sorted(d) for d in duty_of_next(6)] == [["staff-duty-1", "staff-duty-2"]] * 6
