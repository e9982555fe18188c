"""Deadlines: each breach announced once per level; the open tickets counted."""

from datetime import UTC, datetime, timedelta

from lianxin.contracts.schema import load
from lianxin.contracts.tickets.operations import DutyShiftCreate
from lianxin.roles import Principal
from services.tickets import configuration, sla, workflow

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Yanming Lake
STAFF = Principal.person("duty-1", "staff")


def test_sla_breaches_are_announced_once_per_level(db, outbox, ticket, events, directory):
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
        check_reachable=directory,
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


def breaches_of(events):
    return [e["data"] for e in events() if e["type"].endswith("sla_breached.v1")]


def test_a_center_with_a_third_step_escalates_at_its_factor_of_the_limit(
    db, outbox, ticket, events
):
    """Level 1 at the 10-minute limit, 2 at twice it, 3 at three times it: each once."""
    from services.tickets.models import Center

    db.get(Center, "yanminghu").escalation_level3_factor = 3
    db.commit()

    def check(minutes):
        return sla.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(minutes=minutes))

    assert [b.level for b in check(11)] == [1]
    assert [b.level for b in check(21)] == [2]
    assert check(29) == []
    assert [b.level for b in check(31)] == [3]
    assert check(60) == []
    assert [(b["kind"], b["level"]) for b in breaches_of(events)] == [
        ("acknowledge", 1),
        ("acknowledge", 2),
        ("acknowledge", 3),
    ]


def test_a_two_step_ladder_never_reaches_level_three(db, outbox, ticket, events):
    for minutes in (11, 21, 31, 600):
        sla.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(minutes=minutes))
    assert [b["level"] for b in breaches_of(events)] == [1, 2]


def test_a_late_timer_announces_every_level_it_skipped_in_order(db, outbox, ticket, events):
    from services.tickets.models import Center

    db.get(Center, "yanminghu").escalation_level3_factor = 2.5
    assert [
        b.level
        for b in sla.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(minutes=40))
    ] == [1, 2, 3]


def test_a_breach_names_everyone_on_duty_at_that_moment(db, outbox, ticket, events, on_duty):
    """The roster at the breach, not at intake: whoever's shift covers the moment it breached
    (the latest-starting first), and nobody once the shifts are over."""
    on_duty("duty-1", NOW - timedelta(hours=1), NOW + timedelta(minutes=15))
    on_duty("duty-2", NOW + timedelta(minutes=5), NOW + timedelta(hours=8))
    sla.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(minutes=11))
    [first] = breaches_of(events)
    assert first["duty_person_ids"] == ["duty-2", "duty-1"] and first["duty_person_id"] == "duty-2"
    late = created(db, outbox)
    sla.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(hours=20))
    last = [b for b in breaches_of(events) if b["ticket_id"] == late.id][-1]
    assert last["duty_person_ids"] == [] and last["duty_person_id"] is None


def created(db, outbox):
    from lianxin.contracts.tickets.operations import TicketCreate
    from services.tickets import intake

    row = intake.create_ticket(
        db_session=db,
        outbox=outbox,
        center_id="yanminghu",
        data=load(TicketCreate, {"category": "sanitation", "description": "路灯不亮"}),
        reporter_id=None,
        now=NOW + timedelta(hours=8),
    )
    db.commit()
    return row
