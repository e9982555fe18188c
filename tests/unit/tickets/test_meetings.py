"""The monthly joint meeting: escalated tickets go on its agenda; its decisions come back."""

from datetime import UTC, datetime

from lianxin.contracts.schema import load
from lianxin.contracts.tickets.operations import DecisionIn, Reason
from lianxin.roles import Principal
from services.tickets import meetings, workflow

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Yanming Lake
STAFF = Principal.person("duty-1", "staff")


def escalate(db, outbox, ticket, reason, now=NOW):
    workflow.acknowledge_ticket(db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, now=now)
    return meetings.escalate_ticket(
        db_session=db, outbox=outbox, ticket=ticket, actor=STAFF, data=Reason(reason), now=now
    )


def decide(db, outbox, item_id, **decision):
    return meetings.decide_agenda_item(
        db_session=db,
        outbox=outbox,
        center_id="yanminghu",
        item_id=item_id,
        actor=STAFF,
        data=load(DecisionIn, decision),
        now=NOW,
    )


def test_escalated_ticket_goes_on_the_next_monthly_meeting_and_its_decision_comes_back(
    db, outbox, ticket, events
):
    escalate(db, outbox, ticket, "需要业委会与物业共同商议垃圾站选址")
    meeting, agenda = meetings.get_meeting(db_session=db, center_id="yanminghu", month="2026-12")
    assert meeting.meeting_date.isoformat() == "2026-12-25"
    assert [i.ticket_id for i in agenda] == [ticket.id] and agenda[0].ticket is ticket
    assert ticket.state == "escalated"
    decide(db, outbox, agenda[0].id, decision="carried_over", note="待业委会征求意见")
    _, next_agenda = meetings.get_meeting(db_session=db, center_id="yanminghu", month="2027-01")
    assert [i.ticket_id for i in next_agenda] == [ticket.id]
    decide(db, outbox, next_agenda[0].id, decision="resolved", answer="垃圾站移至东侧空地")
    assert ticket.state == "resolved" and ticket.answer == "垃圾站移至东侧空地"
    assert events.types().count("escalated") == 2


def test_after_this_months_meeting_day_escalation_goes_to_next_month(db, outbox, ticket):
    escalate(db, outbox, ticket, "需协商", now=datetime(2026, 12, 26, 2, 0, tzinfo=UTC))
    assert [m.month for m in meetings.list_meetings(db_session=db, center_id="yanminghu")] == [
        "2027-01"
    ]


def test_the_meeting_may_dispatch_an_escalated_ticket_to_another_party(db, outbox, ticket, events):
    escalate(db, outbox, ticket, "需协商")
    _, agenda = meetings.get_meeting(db_session=db, center_id="yanminghu", month="2026-12")
    item = decide(db, outbox, agenda[0].id, decision="assigned", party="owners_committee")
    assert (ticket.state, ticket.party) == ("assigned", "owners_committee")
    assert item.decision == "assigned" and item.ticket is ticket
    assert events()[-1]["data"]["previous_party"] == "property"
