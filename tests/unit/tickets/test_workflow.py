"""The resident-issue workflow: every transition audited, announced, and refused when illegal."""

from datetime import UTC, datetime, timedelta

import pytest

from lianxin.contracts.tickets.operations import (
    Assignment,
    MergeInto,
    RatingGiven,
    Reason,
    Resolution,
)
from lianxin.errors import Forbidden
from lianxin.roles import Principal
from services.tickets import queries, workflow
from services.tickets.exceptions import InvalidTransition, ReopenWindowClosed
from services.tickets.models import Center

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Yanming Lake
STAFF = Principal.person("duty-1", "staff")
PROPERTY = Principal.person("wuye-1", "staff")
RESIDENT = Principal.person("res-1", "resident")


def step(action, db, outbox, ticket, actor=STAFF, data=None, now=NOW):
    """Take a workflow step as its entrypoint does (``data``: the action's loaded payload)."""
    fn = getattr(workflow, f"{action}_ticket")
    extra = {} if data is None else {"data": data}
    return fn(db_session=db, outbox=outbox, ticket=ticket, actor=actor, now=now, **extra)


def test_acknowledging_routes_the_ticket_to_its_party_automatically(db, outbox, ticket, events):
    step("acknowledge", db, outbox, ticket, now=NOW + timedelta(minutes=4))
    assert ticket.state == "assigned" and ticket.party == "property"
    assert ticket.due_at == ticket.resolve_due_at
    assert events.types() == ["created", "acknowledged", "assigned"]
    ack = events()[1]["data"]
    assert ack["late"] is False and ack["actor_id"] == "duty-1" and ack["person_id"] == "res-1"


def test_without_auto_assign_the_cadre_chooses_the_party(db, outbox, ticket):
    db.get(Center, "yanminghu").auto_assign = False
    step("acknowledge", db, outbox, ticket)
    assert ticket.state == "acknowledged"
    step("assign", db, outbox, ticket, data=Assignment("owners_committee", None))
    assert (ticket.state, ticket.party) == ("assigned", "owners_committee")


def test_a_late_acknowledgement_is_marked_late(db, outbox, ticket, events):
    step("acknowledge", db, outbox, ticket, now=NOW + timedelta(minutes=11))
    assert events()[1]["data"]["late"] is True


def test_full_path_to_closed_is_on_the_timeline(db, outbox, ticket, events):
    step("acknowledge", db, outbox, ticket)
    step("start", db, outbox, ticket, actor=PROPERTY)
    step(
        "resolve",
        db,
        outbox,
        ticket,
        actor=PROPERTY,
        data=Resolution("已安排保洁当天清运，并增加巡查频次"),
        now=NOW + timedelta(hours=3),
    )
    step(
        "rate",
        db,
        outbox,
        ticket,
        actor=RESIDENT,
        data=RatingGiven("satisfied", comment="很及时", via="web"),
        now=NOW + timedelta(hours=5),
    )
    assert ticket.state == "closed" and ticket.rating == "satisfied" and ticket.due_at is None
    steps = [
        (e.action, e.from_state, e.to_state, e.actor_id)
        for e in queries.timeline(db_session=db, ticket=ticket)
    ]
    assert steps == [
        ("report", None, "reported", "res-1"),
        ("acknowledge", "reported", "acknowledged", "duty-1"),
        ("assign", "acknowledged", "assigned", None),
        ("start", "assigned", "in_progress", "wuye-1"),
        ("resolve", "in_progress", "resolved", "wuye-1"),
        ("rate", "resolved", "resolved", "res-1"),
        ("close", "resolved", "closed", "res-1"),
    ]
    assert events.types() == ["created", "acknowledged", "assigned", "resolved", "rated", "closed"]


@pytest.mark.parametrize(
    "action, data",
    [
        ("resolve", Resolution("已处理")),
        ("return", Reason("不归我们管")),
        ("start", None),
        ("rate", RatingGiven("satisfied")),
        ("reopen", Reason("没修好")),
        ("close", Reason("联系不上")),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(
    db, outbox, ticket, events, action, data
):
    with pytest.raises(InvalidTransition) as err:
        step(action, db, outbox, ticket, data=data)
    assert "待签收" in err.value.detail
    db.rollback()
    assert ticket.state == "reported" and events.types() == ["created"]


def test_acknowledging_twice_is_refused(db, outbox, ticket):
    step("acknowledge", db, outbox, ticket)
    with pytest.raises(InvalidTransition):
        step("acknowledge", db, outbox, ticket)


def test_returned_ticket_is_redispatched_with_reason_on_record(db, outbox, ticket, events):
    step("acknowledge", db, outbox, ticket)
    step(
        "return", db, outbox, ticket, actor=PROPERTY, data=Reason("属于邻里纠纷，不在物业服务范围")
    )
    assert ticket.state == "returned"
    step("assign", db, outbox, ticket, data=Assignment("village_committee", "改派村支两委"))
    assert (ticket.state, ticket.party) == ("assigned", "village_committee")
    returned = events()[-2]
    assert returned["data"]["reason"] == "属于邻里纠纷，不在物业服务范围"
    assert events()[-1]["data"]["previous_party"] == "property"


def test_repeat_reports_are_merged_and_follow_the_primary(db, outbox, ticket, created, events):
    repeat = created(reporter="res-2", description="3号楼垃圾没人收")
    step("merge", db, outbox, repeat, data=MergeInto(ticket.id))
    assert repeat.state == "merged" and repeat.primary_id == ticket.id and repeat.due_at is None
    assert ticket.merged_ids == [repeat.id]  # the primary lists the reports merged into it
    step("acknowledge", db, outbox, ticket)
    step("resolve", db, outbox, ticket, actor=PROPERTY, data=Resolution("已清运"))
    assert repeat.state == "resolved" and repeat.answer == "已清运"
    resolved = [e for e in events() if e["type"].endswith("resolved.v1")]
    # Both reporters are asked for their rating.
    assert {e["data"]["person_id"] for e in resolved} == {"res-1", "res-2"}


def test_a_ticket_cannot_be_merged_into_itself(db, outbox, ticket):
    from lianxin.errors import InvalidInput

    with pytest.raises(InvalidInput):
        step("merge", db, outbox, ticket, data=MergeInto(ticket.id))


def test_dissatisfied_rating_reopens_for_rehandling(db, outbox, ticket, events):
    step("acknowledge", db, outbox, ticket)
    step("resolve", db, outbox, ticket, actor=PROPERTY, data=Resolution("已清运"))
    step(
        "rate",
        db,
        outbox,
        ticket,
        actor=RESIDENT,
        data=RatingGiven("dissatisfied", comment="第二天又堆满了"),
    )
    assert ticket.state == "assigned" and ticket.reopen_count == 1 and ticket.due_at is not None
    assert events.types()[-2:] == ["rated", "reopened"]
    assert events()[-1]["data"]["by"] == "survey"


def test_staff_recording_a_rating_say_how_the_visit_reached_the_resident(db, outbox, ticket):
    step("acknowledge", db, outbox, ticket)
    step("resolve", db, outbox, ticket, actor=PROPERTY, data=Resolution("已清运"))
    with pytest.raises(Forbidden) as refused:
        step("rate", db, outbox, ticket, data=RatingGiven("satisfied", via="web"))
    assert refused.value.code == "RATING_VIA_REQUIRED"
    step("rate", db, outbox, ticket, data=RatingGiven("satisfied", via="phone"))
    assert ticket.state == "closed"


def test_resident_may_reopen_within_15_days_only(db, outbox, ticket):
    step("acknowledge", db, outbox, ticket)
    step("resolve", db, outbox, ticket, actor=PROPERTY, data=Resolution("已清运"))
    with pytest.raises(ReopenWindowClosed):
        step(
            "reopen",
            db,
            outbox,
            ticket,
            actor=RESIDENT,
            data=Reason("又堆满了"),
            now=NOW + timedelta(days=16),
        )
    step(
        "reopen",
        db,
        outbox,
        ticket,
        actor=RESIDENT,
        data=Reason("又堆满了"),
        now=NOW + timedelta(days=14),
    )
    assert ticket.state == "assigned"


def test_a_primary_lists_every_report_merged_into_it_in_order(db, outbox, ticket, created):
    from lianxin.contracts.schema import dump
    from lianxin.contracts.tickets.operations import TicketRead

    repeats = [created(reporter=f"res-{n}", description="3号楼垃圾没人收") for n in (2, 3)]
    for repeat in repeats:
        step("merge", db, outbox, repeat, data=MergeInto(ticket.id))
    db.commit()
    read = dump(
        TicketRead, queries.get_ticket(db_session=db, center_id="yanminghu", ticket_id=ticket.id)
    )
    assert read["merged_ids"] == [r.id for r in repeats]
    assert dump(TicketRead, repeats[0])["merged_ids"] == []
