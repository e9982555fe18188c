"""The resident-issue workflow: every transition audited, announced, and refused when illegal."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lianxin.contracts import parse_event
from services.tickets import domain
from services.tickets.exceptions import InvalidTransition, ReopenWindowClosed
from services.tickets.models import Center, outbox_table

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Yanming Lake
STAFF = domain.Actor("duty-1", "staff")
PROPERTY = domain.Actor("wuye-1", "staff")


@pytest.fixture
def ticket(db, outbox):
    ticket = created(db, outbox)
    db.commit()
    return ticket


def created(db, outbox, center="yanminghu", reporter="res-1", when=NOW, **data):
    """Report an issue and read the ticket back (intake returns plain columns)."""
    new = domain.create_ticket(db_session=db, outbox=outbox, center_id=center, data={
        "category": "sanitation", "description": "3号楼门口垃圾两天没人清运", "channel": "web", **data},
        reporter_id=reporter, now=when)
    return domain.get_ticket(db_session=db, center_id=center, ticket_id=new.id)


def events(db):
    return [parse_event(body) for body in db.scalars(select(outbox_table.c.body)
                                                     .order_by(outbox_table.c.id))]


def types(db):
    return [e["type"].split(".")[4] for e in events(db)]


def test_acknowledging_routes_the_ticket_to_its_party_automatically(db, outbox, ticket):
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF,
                       now=NOW + timedelta(minutes=4))
    assert ticket.state == "assigned" and ticket.party == "property"
    assert ticket.due_at == ticket.resolve_due_at
    assert types(db) == ["created", "acknowledged", "assigned"]
    ack = events(db)[1]["data"]
    assert ack["late"] is False and ack["actor_id"] == "duty-1" and ack["person_id"] == "res-1"


def test_without_auto_assign_the_cadre_chooses_the_party(db, outbox, ticket):
    db.get(Center, "yanminghu").auto_assign = False
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    assert ticket.state == "acknowledged"
    domain.assign(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF,
                  party="owners_committee", now=NOW)
    assert (ticket.state, ticket.party) == ("assigned", "owners_committee")


def test_a_late_acknowledgement_is_marked_late(db, outbox, ticket):
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF,
                       now=NOW + timedelta(minutes=11))
    assert events(db)[1]["data"]["late"] is True


def test_full_path_to_closed_is_on_the_timeline(db, outbox, ticket):
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    domain.start(db_session=db, ticket=ticket, actor=PROPERTY, now=NOW)
    domain.resolve(db_session=db, outbox=outbox, ticket=ticket, actor=PROPERTY,
                   answer="已安排保洁当天清运，并增加巡查频次", now=NOW + timedelta(hours=3))
    domain.rate(db_session=db, outbox=outbox, ticket=ticket, actor=domain.Actor("res-1", "resident"),
                data={"rating": "satisfied", "comment": "很及时", "via": "web"},
                now=NOW + timedelta(hours=5))
    assert ticket.state == "closed" and ticket.rating == "satisfied" and ticket.due_at is None
    steps = [(e.action, e.from_state, e.to_state, e.actor_id) for e in
             domain.timeline(db_session=db, ticket=ticket)]
    assert steps == [
        ("report", None, "reported", "res-1"), ("acknowledge", "reported", "acknowledged", "duty-1"),
        ("assign", "acknowledged", "assigned", None), ("start", "assigned", "in_progress", "wuye-1"),
        ("resolve", "in_progress", "resolved", "wuye-1"), ("rate", "resolved", "resolved", "res-1"),
        ("close", "resolved", "closed", "res-1")]
    assert types(db) == ["created", "acknowledged", "assigned", "resolved", "rated", "closed"]


@pytest.mark.parametrize("action", ["resolve", "return", "start", "rate", "reopen", "close"])
def test_illegal_transitions_are_refused_and_change_nothing(db, outbox, ticket, action):
    calls = {
        "resolve": lambda: domain.resolve(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF,
                                          answer="已处理"),
        "return": lambda: domain.return_ticket(db_session=db, outbox=outbox, ticket=ticket,
                                               actor=STAFF, reason="不归我们管"),
        "start": lambda: domain.start(db_session=db, ticket=ticket, actor=STAFF),
        "rate": lambda: domain.rate(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF,
                                    data={"rating": "satisfied"}),
        "reopen": lambda: domain.reopen(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF,
                                        reason="没修好", by="resident"),
        "close": lambda: domain.close(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF,
                                      reason="联系不上"),
    }
    with pytest.raises(InvalidTransition) as err:
        calls[action]()
    assert "待签收" in err.value.detail
    db.rollback()
    assert ticket.state == "reported" and types(db) == ["created"]


def test_acknowledging_twice_is_refused(db, outbox, ticket):
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    with pytest.raises(InvalidTransition):
        domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)


def test_returned_ticket_is_redispatched_with_reason_on_record(db, outbox, ticket):
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    domain.return_ticket(db_session=db, outbox=outbox, ticket=ticket, actor=PROPERTY,
                         reason="属于邻里纠纷，不在物业服务范围", now=NOW)
    assert ticket.state == "returned"
    domain.assign(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF,
                  party="village_committee", reason="改派村支两委", now=NOW)
    assert (ticket.state, ticket.party) == ("assigned", "village_committee")
    returned = events(db)[-2]
    assert returned["data"]["reason"] == "属于邻里纠纷，不在物业服务范围"
    assert events(db)[-1]["data"]["previous_party"] == "property"


def test_repeat_reports_are_merged_and_follow_the_primary(db, outbox, ticket):
    repeat = created(db, outbox, reporter="res-2", description="3号楼垃圾没人收")
    domain.merge(db_session=db, outbox=outbox, ticket=repeat, primary=ticket, actor=STAFF, now=NOW)
    assert repeat.state == "merged" and repeat.primary_id == ticket.id and repeat.due_at is None
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    domain.resolve(db_session=db, outbox=outbox, ticket=ticket, actor=PROPERTY, answer="已清运",
                   now=NOW)
    assert repeat.state == "resolved" and repeat.answer == "已清运"
    resolved = [e for e in events(db) if e["type"].endswith("resolved.v1")]
    # Both reporters are asked for their rating.
    assert {e["data"]["person_id"] for e in resolved} == {"res-1", "res-2"}


def test_a_ticket_cannot_be_merged_into_itself(db, outbox, ticket):
    from lianxin.errors import InvalidInput

    with pytest.raises(InvalidInput):
        domain.merge(db_session=db, outbox=outbox, ticket=ticket, primary=ticket, actor=STAFF)


def test_dissatisfied_rating_reopens_for_rehandling(db, outbox, ticket):
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    domain.resolve(db_session=db, outbox=outbox, ticket=ticket, actor=PROPERTY, answer="已清运",
                   now=NOW)
    domain.rate(db_session=db, outbox=outbox, ticket=ticket, actor=domain.Actor("res-1", "resident"),
                data={"rating": "dissatisfied", "comment": "第二天又堆满了"}, now=NOW)
    assert ticket.state == "assigned" and ticket.reopen_count == 1 and ticket.due_at is not None
    assert types(db)[-2:] == ["rated", "reopened"]
    assert events(db)[-1]["data"]["by"] == "survey"


def test_resident_may_reopen_within_15_days_only(db, outbox, ticket):
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    domain.resolve(db_session=db, outbox=outbox, ticket=ticket, actor=PROPERTY, answer="已清运",
                   now=NOW)
    resident = domain.Actor("res-1", "resident")
    with pytest.raises(ReopenWindowClosed):
        domain.reopen(db_session=db, outbox=outbox, ticket=ticket, actor=resident,
                      reason="又堆满了", by="resident", now=NOW + timedelta(days=16))
    domain.reopen(db_session=db, outbox=outbox, ticket=ticket, actor=resident, reason="又堆满了",
                  by="resident", now=NOW + timedelta(days=14))
    assert ticket.state == "assigned"


def test_escalated_ticket_goes_on_the_next_monthly_meeting_and_its_decision_comes_back(
        db, outbox, ticket):
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    item = domain.escalate(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF,
                           reason="需要业委会与物业共同商议垃圾站选址", now=NOW)
    meeting, agenda = domain.get_meeting(db_session=db, center_id="yanminghu", month="2026-12")
    assert meeting.meeting_date.isoformat() == "2026-12-25" and [i.id for i in agenda] == [item.id]
    assert ticket.state == "escalated"
    domain.decide(db_session=db, outbox=outbox, center_id="yanminghu", item_id=item.id,
                  actor=STAFF, data={"decision": "carried_over", "note": "待业委会征求意见"}, now=NOW)
    _, next_agenda = domain.get_meeting(db_session=db, center_id="yanminghu", month="2027-01")
    assert [i.ticket_id for i in next_agenda] == [ticket.id]
    domain.decide(db_session=db, outbox=outbox, center_id="yanminghu", item_id=next_agenda[0].id,
                  actor=STAFF, data={"decision": "resolved", "answer": "垃圾站移至东侧空地"}, now=NOW)
    assert ticket.state == "resolved" and ticket.answer == "垃圾站移至东侧空地"
    assert types(db).count("escalated") == 2


def test_after_this_months_meeting_day_escalation_goes_to_next_month(db, outbox, ticket):
    late = datetime(2026, 12, 26, 2, 0, tzinfo=UTC)
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=late)
    domain.escalate(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, reason="需协商",
                    now=late)
    assert [m.month for m in domain.list_meetings(db_session=db, center_id="yanminghu")] == ["2027-01"]


def test_sla_breaches_are_announced_once_per_level(db, outbox, ticket):
    domain.add_duty_shift(db_session=db, center_id="yanminghu", data={
        "person_id": "duty-1", "name": "李卫东", "starts_at": NOW - timedelta(hours=1),
        "ends_at": NOW + timedelta(hours=8)})
    assert domain.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(minutes=9)) == 0
    assert domain.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(minutes=11)) == 1
    assert domain.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(minutes=12)) == 0
    assert domain.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(minutes=21)) == 1
    assert domain.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(minutes=30)) == 0
    breaches = [e["data"] for e in events(db) if e["type"].endswith("sla_breached.v1")]
    assert [(b["kind"], b["level"], b["duty_person_id"]) for b in breaches] == [
        ("acknowledge", 1, "duty-1"), ("acknowledge", 2, "duty-1")]


def test_resolve_deadline_breach_is_announced_once(db, outbox, ticket):
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    later = ticket.resolve_due_at + timedelta(minutes=1)
    assert domain.check_sla(db_session=db, outbox=outbox, now=later) == 1
    assert domain.check_sla(db_session=db, outbox=outbox, now=later + timedelta(hours=1)) == 0
    assert events(db)[-1]["data"]["kind"] == "resolve"


def test_satisfaction_rate_per_party_and_month(db, outbox):
    ratings = ["satisfied"] * 130 + ["basically_satisfied"] * 67 + ["dissatisfied"] * 3
    for i, rating in enumerate(ratings):
        t = created(db, outbox, reporter=f"r{i}", description=f"诉求{i}",
                    category="sanitation" if i % 2 else "elderly_care")
        domain.acknowledge(db_session=db, outbox=outbox, ticket=t, actor=STAFF, now=NOW)
        domain.resolve(db_session=db, outbox=outbox, ticket=t, actor=STAFF, answer="已处理", now=NOW)
        domain.rate(db_session=db, outbox=outbox, ticket=t, actor=STAFF,
                    data={"rating": rating, "via": "phone"}, now=NOW)
    rows = domain.satisfaction(db_session=db, center_id="yanminghu", group_by="center",
                               start=None, end=None)
    assert rows == [{"key": "yanminghu", "ratings": 200, "satisfied": 130,
                     "basically_satisfied": 67, "dissatisfied": 3, "rate": 98.5}]
    by_party = domain.satisfaction(db_session=db, center_id="yanminghu", group_by="party",
                                   start=None, end=None)
    assert {r["key"] for r in by_party} == {"property", "social_work"}
    by_month = domain.satisfaction(db_session=db, center_id="yanminghu", group_by="month",
                                   start=None, end=None)
    assert [r["key"] for r in by_month] == ["2026-12"]


def test_board_sorts_open_tickets_by_deadline_with_counts(db, outbox, ticket):
    urgent = created(db, outbox, reporter=None, when=NOW - timedelta(minutes=5),
                     category="elderly_care", description="独居老人刘敬州家中停水", channel="hotline")
    domain.acknowledge(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=NOW)
    result = domain.board(db_session=db, center_id="yanminghu", query={"limit": 10, "offset": 0})
    assert [t.id for t in result["items"]] == [urgent.id, ticket.id]
    assert result["counts"]["reported"] == 1 and result["counts"]["assigned"] == 1
    only = domain.board(db_session=db, center_id="yanminghu",
                        query={"limit": 10, "offset": 0, "party": "social_work"})
    assert [t.id for t in only["items"]] == [urgent.id] and only["total"] == 1
