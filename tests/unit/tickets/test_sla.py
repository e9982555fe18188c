"""Deadlines: each breach announced once per level; the open tickets counted."""

from datetime import UTC, datetime, timedelta

from lianxin.contracts.schema import load
from lianxin.contracts.tickets.operations import DutyShiftCreate
from lianxin.roles import Principal
from services.tickets import configuration, sla, workflow

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Yanming Lake
STAFF = Principal.person("duty-1", "staff")


def test_sla_breaches_are_announced_once_per_level(db, outbox, ticket, events):
    configuration.add_duty_shift(
        db_session=db,
        center_id="yanminghu",
        data=load(
            DutyShiftCreate,
            {
                "person_id": "duty-1",
                "name": "李卫东",
                "starts_at": (NOW - timedelta(hours=1)).isoformat(),
                "ends_at": (NOW + timedelta(hours=8)).isoformat(),
            },
        ),
    )

    def check(minutes):
        return sla.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(minutes=minutes))

    assert check(9) == []
    assert check(11) == [sla.Breach("yanminghu", "acknowledge", 1)]
    assert check(12) == []
    assert check(21) == [sla.Breach("yanminghu", "acknowledge", 2)]
    assert check(30) == []
    breaches = [e["data"] for e in events() if e["type"].endswith("sla_breached.v1")]
    assert [(b["kind"], b["level"], b["duty_person_id"]) for b in breaches] == [
        ("acknowledge", 1, "duty-1"),
        ("acknowledge", 2, "duty-1"),
    ]


def test_resolve_deadline_breach_is_announced_once(db, outbox, ticket, events):
    workflow.acknowledge_ticket(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    later = ticket.resolve_due_at + timedelta(minutes=1)
    assert len(sla.check_sla(db_session=db, outbox=outbox, now=later)) == 1
    assert sla.check_sla(db_session=db, outbox=outbox, now=later + timedelta(hours=1)) == []
    assert events()[-1]["data"]["kind"] == "resolve"


def test_open_tickets_are_counted_per_center_and_state_zeros_included(db, outbox, ticket, created):
    created(center="fenghuangtai")
    workflow.acknowledge_ticket(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    counts = sla.open_tickets(db_session=db)
    assert counts["yanminghu"]["assigned"] == 1 and counts["yanminghu"]["reported"] == 0
    assert counts["fenghuangtai"] == {
        "reported": 1,
        "acknowledged": 0,
        "assigned": 0,
        "in_progress": 0,
        "returned": 0,
        "escalated": 0,
    }
