"""Intake: a report is routed by its category, given its deadlines, stored and announced."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lianxin.contracts import parse_event
from lianxin.errors import InvalidInput
from services.tickets import intake
from services.tickets.exceptions import CenterNotFound
from services.tickets.models import Ticket, outbox_table

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
WHERE = {"address": "东村社区3号楼", "lat": None, "long": None, "channel": "web"}


def test_ticket_is_routed_to_the_party_of_its_category(report):
    assert report(when=NOW, **WHERE).party == "property"
    assert report(when=NOW, category="elderly_care", **WHERE).party == "social_work"


def test_unacknowledged_deadline_is_ten_minutes_and_resolve_deadline_per_category(report):
    ticket = report(when=NOW, category="elderly_care", **WHERE)
    assert ticket.ack_due_at == NOW + timedelta(minutes=10)
    assert ticket.resolve_due_at == NOW + timedelta(hours=48)


def test_creation_is_announced_in_the_same_transaction_without_contact_data(db, report):
    ticket = report(when=NOW, **WHERE)
    body = db.execute(select(outbox_table.c.body)).scalar_one()
    event = parse_event(body)
    assert event["type"] == "cn.lianxin.tickets.ticket.created.v1" and event["subject"] == ticket.id
    assert event["data"]["category_name"] == "环境卫生"
    assert "13800000000" not in str(body)


def test_unknown_category_names_the_field_and_stores_nothing(db, report):
    with pytest.raises(InvalidInput) as err:
        report(when=NOW, category="fireworks", **WHERE)
    assert "category" in err.value.fields
    db.rollback()
    assert db.execute(select(outbox_table)).all() == []


def test_unknown_center_is_not_found(report):
    with pytest.raises(CenterNotFound):
        report(center="atlantis", when=NOW, **WHERE)


def test_a_new_ticket_row_has_every_column_of_the_table():
    """The batched INSERT writes a TicketRow's fields: a column added to the table must be
    added there too (mypy then checks every place that builds one)."""
    stored = {f.name for f in dataclasses.fields(intake.TicketRow)} - intake.NOT_STORED
    assert stored == {c.key for c in Ticket.__table__.columns}


def created_event(events, ticket_id):
    return next(
        e["data"]
        for e in events()
        if e["type"].endswith("ticket.created.v1") and e["subject"] == ticket_id
    )


def test_a_new_ticket_names_everyone_on_duty_now_and_its_photos(report, events, on_duty):
    on_duty("duty-1", NOW - timedelta(hours=1), NOW + timedelta(hours=8))
    on_duty("duty-2", NOW - timedelta(minutes=30), NOW + timedelta(hours=1))
    photo = "0123456789abcdef0123456789abcdef"
    ticket = report(when=NOW, photo_ids=[photo, photo], **WHERE)
    data = created_event(events, ticket.id)
    assert data["duty_person_ids"] == ["duty-2", "duty-1"]
    assert data["photo_ids"] == [photo] and ticket.photo_ids == [photo]
    assert data["on_the_spot"] is False and data["likely_repeat_of"] == []
    nobody = report(when=NOW + timedelta(hours=9), description="菜市场门口污水外溢")
    assert created_event(events, nobody.id)["duty_person_ids"] == []


def test_a_photo_finds_its_ticket(db, report):
    from services.tickets.models import TicketPhoto

    photo = "fedcba9876543210fedcba9876543210"
    ticket = report(when=NOW, photo_ids=[photo], **WHERE)
    assert db.get(TicketPhoto, (photo, ticket.id)).center_id == "yanminghu"


def test_a_clerk_resolves_a_walk_in_on_the_spot_in_one_step(db, outbox, events):
    """当场办结: stored resolved with the answer; its timeline reads report then resolve by
    the clerk; ticket.created then ticket.resolved, both on the spot; nothing else — no
    acknowledgement, no dispatch, and no deadline breach ever."""
    from lianxin.contracts.schema import load
    from lianxin.contracts.tickets.operations import TicketCreate
    from lianxin.roles import Principal
    from services.tickets import queries, sla

    clerk = Principal.person("clerk-1", "staff")
    data = load(
        TicketCreate,
        {
            "category": "sanitation",
            "description": "咨询垃圾分类投放时间",
            "channel": "walk_in",
            "answer": "已当面告知：每天早 7 点至 9 点、晚 6 点至 8 点",
        },
    )
    row = intake.create_ticket(
        db_session=db,
        outbox=outbox,
        center_id="yanminghu",
        data=data,
        reporter_id="res-7",
        now=NOW,
        clerk=clerk,
    )
    db.commit()
    assert (row.state, row.due_at, row.resolved_at) == ("resolved", None, NOW)
    ticket = queries.get_ticket(db_session=db, center_id="yanminghu", ticket_id=row.id)
    assert (ticket.answer or "").startswith("已当面告知")
    steps = [
        (e.action, e.from_state, e.to_state, e.actor_id)
        for e in queries.timeline(db_session=db, ticket=ticket)
    ]
    assert steps == [
        ("report", None, "reported", "res-7"),
        ("resolve", "reported", "resolved", "clerk-1"),
    ]
    assert events.types() == ["created", "resolved"]
    created, resolved = events()
    assert created["data"]["on_the_spot"] is True
    assert resolved["data"]["on_the_spot"] is True and resolved["data"]["actor_id"] == "clerk-1"
    assert resolved["data"]["person_id"] == "res-7"
    assert sla.check_sla(db_session=db, outbox=outbox, now=NOW + timedelta(days=10)) == []


@pytest.mark.parametrize(
    "clerk, channel",
    [(None, "walk_in"), ("resident", "web"), ("staff", "web"), ("staff", "open311")],
)
def test_only_staff_resolve_on_the_spot_and_only_by_hotline_or_walk_in(clerk, channel):
    from lianxin.contracts.schema import load
    from lianxin.contracts.tickets.operations import TicketCreate
    from lianxin.roles import Principal

    data = load(
        TicketCreate,
        {"category": "sanitation", "description": "路灯不亮", "channel": channel, "answer": "已修"},
    )
    who = None if clerk is None else Principal.person("p-1", clerk)
    with pytest.raises(InvalidInput) as refused:
        intake.check_on_the_spot(data, who)
    assert refused.value.fields == {"answer": ["当场办结仅限工作人员登记的热线或来访诉求"]}


def test_the_same_problem_reported_again_nearby_is_kept_as_a_likely_repeat(report, events):
    """An identical description at the same address from another resident: the open ticket
    is its likely repeat (stored with it and named by ticket.created); another building,
    another problem, or a ticket already handled is not."""
    first = report(reporter="res-1", when=NOW, **WHERE)
    report(reporter="res-3", when=NOW, description="3号楼门口路灯不亮", **WHERE)  # another problem
    elsewhere = report(reporter="res-4", when=NOW, **{**WHERE, "address": "东村社区5号楼"})
    again = report(reporter="res-2", when=NOW + timedelta(minutes=5), **WHERE)
    assert [c["ticket_id"] for c in again.repeat_candidates] == [first.id]
    [candidate] = again.repeat_candidates
    assert candidate == {
        "ticket_id": first.id,
        "summary": "3号楼门口垃圾两天没人清运",
        "state": "reported",
        "distance_m": None,
    }
    assert created_event(events, again.id)["likely_repeat_of"] == [first.id]
    assert elsewhere.repeat_candidates == []


def test_a_repeat_nearby_by_coordinates_says_how_far(report):
    here = {"address": "", "lat": 34.7466, "long": 114.0615, "channel": "web"}
    first = report(when=NOW, description="小区门口的路灯坏了好几天", **here)
    near = report(
        when=NOW, description="小区门口路灯坏了", **{**here, "lat": 34.7469}
    )  # ~33 m north
    far = report(when=NOW, description="小区门口路灯坏了", **{**here, "lat": 34.7566})  # ~1.1 km
    [candidate] = near.repeat_candidates
    assert candidate["ticket_id"] == first.id and 25 < candidate["distance_m"] < 40
    assert far.repeat_candidates == []


def test_gathered_intake_finds_repeats_within_the_batch_with_one_query_per_table(
    db, outbox, events
):
    """Two residents reporting the same thing in one gathered call: the second is offered
    the first. The whole batch: one INSERT per table, one read of each center's open
    tickets."""
    from sqlalchemy import event

    from lianxin.contracts.tickets.operations import IntakeRequest

    statements: list[str] = []
    engine = db.get_bind()

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    requests = [
        IntakeRequest(center, {"category": "sanitation", **payload}, None, None)
        for center, payload in [
            ("yanminghu", {"description": "3号楼门口垃圾两天没人清运", "address": "东村社区3号楼"}),
            ("yanminghu", {"description": "3号楼门口垃圾两天没人清运", "address": "东村社区3号楼"}),
            ("fenghuangtai", {"description": "路灯不亮", "address": "凤凰台社区1号楼"}),
            ("yanminghu", {"description": "x", "address": "东村社区3号楼"}),  # refused
        ]
    ]

    def admit(request):
        from lianxin.contracts.schema import load
        from lianxin.contracts.tickets.operations import TicketCreate

        return intake.Admission(load(TicketCreate, request.payload), None)

    event.listen(engine, "before_cursor_execute", record)
    try:
        answers = intake.take_in(db_session=db, outbox=outbox, requests=requests, admit=admit)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    db.commit()
    first, second, other, refused = answers
    assert "error" in refused
    assert [c["ticket_id"] for c in second["ticket"].repeat_candidates] == [first["ticket"].id]
    assert other["ticket"].repeat_candidates == []
    inserts = [s.split(" (")[0] for s in statements if s.startswith("INSERT")]
    assert sorted(inserts) == [
        "INSERT INTO outbox",
        "INSERT INTO ticket_log",
        "INSERT INTO tickets",
    ]
    open_reads = [s for s in statements if "due_at IS NOT NULL" in s and "FROM tickets" in s]
    assert len(open_reads) == 2  # one per center
