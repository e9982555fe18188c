"""The resident-issue workflow across the real broker: RPC in, events out, SLA timer, PostgreSQL."""

from datetime import UTC, datetime, timedelta

import eventlet
import pytest
from nameko.exceptions import RemoteError
from sqlalchemy import create_engine, update

from lianxin.errors import Conflict, from_remote
from lianxin.testing import wait_for
from services.tickets.models import Ticket

pytestmark = pytest.mark.integration


@pytest.fixture
def tickets(container_factory, service_config):
    from services.tickets.service import TicketsService

    def start(**overrides):
        config = service_config("tickets", **overrides)
        container_factory(TicketsService, config).start()
        return config

    return start


@pytest.fixture
def notify(container_factory, service_config):
    """notify running too: the roster asks it whether the cadre on duty can be reached."""
    from services.notify.service import NotifyService

    def start():
        container_factory(NotifyService, service_config("notify")).start()

    return start


def drain(bus, queue):
    return list(iter(lambda: bus.get(queue), None))


def test_a_ticket_travels_the_whole_workflow_and_every_fact_is_on_the_bus(
    tickets, demo_center, rpc, token, bus
):
    tickets()
    everything = bus.bind("tickets", "cn.lianxin.tickets.#")
    demo_center()
    resident, staff = rpc(token("resident", sub="res-1")), rpc(token("staff", sub="duty-1"))
    ticket = resident.tickets.create_ticket(
        "yanminghu", {"category": "sanitation", "description": "3号楼门口垃圾两天没人清运"}
    )
    staff.tickets.acknowledge_ticket("yanminghu", ticket["id"], {})
    staff.tickets.start_ticket("yanminghu", ticket["id"], {})
    staff.tickets.resolve_ticket("yanminghu", ticket["id"], {"answer": "已安排保洁清运"})
    closed = resident.tickets.rate_ticket(
        "yanminghu", ticket["id"], {"rating": "satisfied", "comment": "很及时"}
    )
    assert closed["state"] == "closed" and closed["rating"] == "satisfied"

    timeline = resident.tickets.get_ticket_timeline("yanminghu", ticket["id"])
    assert [e["action"] for e in timeline] == [
        "report",
        "acknowledge",
        "assign",
        "start",
        "resolve",
        "rate",
        "close",
    ]
    facts = wait_for(lambda: (got := drain(bus, everything)) and len(got) >= 6 and got)
    assert [f["type"].split(".")[4] for f in facts] == [
        "created",
        "acknowledged",
        "assigned",
        "resolved",
        "rated",
        "closed",
    ]
    assert all(f["data"].get("person_id") == "res-1" for f in facts)
    rate = staff.tickets.get_satisfaction("yanminghu", {"group_by": "party"})
    assert rate["rows"] == [
        {
            "key": "property",
            "ratings": 1,
            "satisfied": 1,
            "basically_satisfied": 0,
            "dissatisfied": 0,
            "rate": 100.0,
        }
    ]


def test_illegal_and_repeated_transitions_are_refused_with_a_clear_error(
    tickets, demo_center, rpc, token
):
    tickets()
    demo_center()
    staff = rpc(token("staff"))
    ticket = staff.tickets.create_ticket(
        "yanminghu", {"category": "sanitation", "description": "路灯坏了", "channel": "hotline"}
    )
    with pytest.raises(RemoteError) as err:
        staff.tickets.resolve_ticket("yanminghu", ticket["id"], {"answer": "已修好"})
    error = from_remote(err.value)
    assert isinstance(error, Conflict) and error.code == "INVALID_TRANSITION"
    assert "待签收" in error.detail
    staff.tickets.acknowledge_ticket("yanminghu", ticket["id"], {})
    with pytest.raises(RemoteError):
        staff.tickets.acknowledge_ticket("yanminghu", ticket["id"], {})
    assert staff.tickets.get_ticket("yanminghu", ticket["id"])["state"] == "assigned"


def test_sla_timer_announces_an_unacknowledged_ticket_to_the_cadre_on_duty(
    tickets, notify, demo_center, rpc, token, bus
):
    config = tickets(SLA_CHECK_SECONDS=0.2)
    notify()
    breaches = bus.bind("tickets", "cn.lianxin.tickets.ticket.sla_breached.v1")
    demo_center()
    admin = rpc(token("admin"))
    admin.notify.upsert_contact(
        "yanminghu",
        {"person_id": "staff-duty-1", "name": "李卫东", "role": "staff", "phone": "13800000001"},
    )
    now = datetime.now(UTC)
    admin.tickets.add_duty_shift(
        "yanminghu",
        {
            "person_id": "staff-duty-1",
            "name": "李卫东",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=8)).isoformat(),
        },
    )
    ticket = admin.tickets.create_ticket(
        "yanminghu", {"category": "sanitation", "description": "垃圾未清运", "channel": "hotline"}
    )
    # The ticket came in 11 minutes ago and nobody acknowledged it.
    engine = create_engine(config["DB_URL"])
    with engine.begin() as conn:
        conn.execute(
            update(Ticket)
            .where(Ticket.id == ticket["id"])
            .values(created_at=now - timedelta(minutes=11), ack_due_at=now - timedelta(minutes=1))
        )
    engine.dispose()
    breach = wait_for(lambda: bus.get(breaches))
    assert breach["subject"] == ticket["id"]
    assert (breach["data"]["kind"], breach["data"]["level"]) == ("acknowledge", 1)
    assert breach["data"]["duty_person_id"] == "staff-duty-1"
    assert breach["data"]["duty_person_ids"] == ["staff-duty-1"]
    eventlet.sleep(0.6)  # several more timer rounds: still one breach at this level
    assert bus.get(breaches) is None


def test_concurrent_acknowledgements_on_postgresql_let_exactly_one_through(
    tickets, demo_center, rpc, token, pg_database
):
    tickets(db_url=pg_database())
    demo_center()
    ticket = rpc(token("staff")).tickets.create_ticket(
        "yanminghu", {"category": "sanitation", "description": "垃圾未清运", "channel": "hotline"}
    )
    clients = [rpc(token("staff", sub=f"duty-{i}")) for i in range(6)]

    def acknowledge(client):
        try:
            client.tickets.acknowledge_ticket("yanminghu", ticket["id"], {})
            return "ok"
        except RemoteError as exc:
            error = from_remote(exc)
            return error.code if error else str(exc)

    outcomes = list(eventlet.GreenPool().imap(acknowledge, clients))
    assert sorted(outcomes) == ["INVALID_TRANSITION"] * 5 + ["ok"]
    timeline = clients[0].tickets.get_ticket_timeline("yanminghu", ticket["id"])
    assert [e["action"] for e in timeline].count("acknowledge") == 1


def test_two_replicas_on_postgresql_announce_each_level_of_a_three_step_ladder_once(
    container_factory, service_config, demo_center, rpc, token, bus, pg_database
):
    """The center's ladder has a third step at three times the limit: a ticket 31 minutes
    unacknowledged breaches at levels 1, 2 and 3 — each announced once, though two
    replicas' timers look every 0.1 s."""
    from services.tickets.service import TicketsService

    config = service_config("tickets", db_url=pg_database(), SLA_CHECK_SECONDS=0.1)
    for _ in range(2):
        container_factory(TicketsService, config).start()
    breaches = bus.bind("tickets", "cn.lianxin.tickets.ticket.sla_breached.v1")
    demo_center()
    admin = rpc(token("admin"))
    admin.tickets.update_center("yanminghu", {"escalation_level3_factor": 3})
    ticket = admin.tickets.create_ticket(
        "yanminghu", {"category": "sanitation", "description": "垃圾未清运", "channel": "hotline"}
    )
    now = datetime.now(UTC)
    engine = create_engine(config["DB_URL"])
    with engine.begin() as conn:
        conn.execute(
            update(Ticket)
            .where(Ticket.id == ticket["id"])
            .values(created_at=now - timedelta(minutes=31), ack_due_at=now - timedelta(minutes=21))
        )
    engine.dispose()
    first = wait_for(lambda: bus.get(breaches))
    eventlet.sleep(1.0)  # ten more rounds of each replica's timer
    levels = [first["data"]["level"]] + [b["data"]["level"] for b in drain(bus, breaches)]
    assert levels == [1, 2, 3]
