"""TicketsService entrypoints without a broker: who may do what, and what they get back."""

from datetime import UTC, datetime, timedelta

import pytest

from lianxin import auth
from lianxin.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from services.tickets.models import outbox_table

PAYLOAD = {"category": "sanitation", "description": "路灯坏了三天了"}


def test_web_intake_is_public(service):
    ticket = service().create_ticket("yanminghu", PAYLOAD)
    assert ticket["channel"] == "web" and ticket["state"] == "reported"
    assert ticket["reporter_id"] is None


def test_resident_report_remembers_the_reporter_and_only_they_can_see_it(service, token):
    mine = service(token("resident", sub="res-1")).create_ticket("yanminghu", PAYLOAD)
    assert mine["reporter_id"] == "res-1"
    assert (
        service(token("resident", sub="res-1")).get_ticket("yanminghu", mine["id"])["id"]
        == mine["id"]
    )
    with pytest.raises(NotFound):
        service(token("resident", sub="res-2")).get_ticket("yanminghu", mine["id"])


def test_hotline_and_walk_in_are_for_staff(service, token):
    with pytest.raises(Unauthenticated):
        service().create_ticket("yanminghu", {**PAYLOAD, "channel": "hotline"})
    with pytest.raises(Forbidden):
        service(token("resident")).create_ticket("yanminghu", {**PAYLOAD, "channel": "walk_in"})
    assert (
        service(token("staff")).create_ticket("yanminghu", {**PAYLOAD, "channel": "walk_in"})[
            "channel"
        ]
        == "walk_in"
    )


def test_staff_of_another_center_cannot_act_here(service, token):
    with pytest.raises(Forbidden):
        service(token("staff", center="fenghuangtai")).list_tickets("yanminghu")


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"description": "缺少类别"}, "category"),
        ({**PAYLOAD, "description": "x" * 4001}, "description"),
        ({**PAYLOAD, "lat": 91}, "lat"),
        ({**PAYLOAD, "long": "east"}, "long"),
        ({**PAYLOAD, "phone": "13800000000"}, "phone"),
        ({**PAYLOAD, "channel": "carrier-pigeon"}, "channel"),
    ],
)
def test_bad_input_names_the_field(service, payload, field):
    with pytest.raises(InvalidInput) as err:
        service().create_ticket("yanminghu", payload)
    assert field in err.value.fields


def test_staff_list_everything_paginated_and_residents_only_their_own(service, token):
    for _ in range(3):
        service().create_ticket("yanminghu", PAYLOAD)
    mine = service(token("resident", sub="res-1")).create_ticket("yanminghu", PAYLOAD)
    page = service(token("staff")).list_tickets("yanminghu", {"limit": 2})
    assert page["total"] == 4 and len(page["items"]) == 2
    own = service(token("resident", sub="res-1")).list_tickets("yanminghu")
    assert [t["id"] for t in own["items"]] == [mine["id"]]
    with pytest.raises(Forbidden):
        service(token("volunteer")).list_tickets("yanminghu")


def test_gathered_intake_answers_each_item_on_its_own(service, db, token):
    """The gateway sends concurrent intake requests as one call: each item is checked with
    its own caller's token, refused ones leave nothing behind, the others are stored."""
    from sqlalchemy import func, select

    from services.tickets.models import Ticket

    staff, resident = token("staff", sub="duty-1"), token("resident", sub="res-1")
    answers = service().create_tickets(
        [
            {
                "center_id": "yanminghu",
                "payload": {**PAYLOAD, "channel": "hotline"},
                "authorization": staff,
            },
            {"center_id": "yanminghu", "payload": {**PAYLOAD, "channel": "hotline"}},  # no token
            {
                "center_id": "yanminghu",
                "payload": {**PAYLOAD, "category": "no_such"},
                "authorization": staff,
            },
            {
                "center_id": "fenghuangtai",
                "payload": {**PAYLOAD, "channel": "hotline"},
                "authorization": staff,
            },  # another center's staff
            {"center_id": "yanminghu", "payload": {**PAYLOAD, "description": "x" * 4001}},
            {"center_id": "yanminghu", "payload": PAYLOAD, "authorization": resident},
            {"center_id": "yanminghu", "payload": PAYLOAD},  # public web intake
        ]
    )
    assert [next(iter(a)) for a in answers] == [
        "ticket",
        "error",
        "error",
        "error",
        "error",
        "ticket",
        "ticket",
    ]
    assert [a["error"]["code"] for a in answers if "error" in a] == [
        "UNAUTHENTICATED",
        "UNKNOWN_CATEGORY",
        "CENTER_FORBIDDEN",
        "INVALID_INPUT",
    ]
    assert answers[4]["error"]["fields"].keys() == {"description"}
    assert answers[0]["ticket"]["channel"] == "hotline"
    assert (
        answers[5]["ticket"]["reporter_id"] == "res-1"
        and answers[6]["ticket"]["reporter_id"] is None
    )
    stored = set(db.scalars(select(Ticket.id)))
    assert stored == {answers[i]["ticket"]["id"] for i in (0, 5, 6)}
    events = db.execute(select(outbox_table.c.body)).scalars().all()
    assert sorted(e["data"]["ticket_id"] for e in events) == sorted(stored)
    assert db.scalar(select(func.count()).select_from(Ticket)) == 3


def test_gathered_intake_refuses_a_malformed_batch_whole(service):
    with pytest.raises(InvalidInput):
        service().create_tickets([])
    with pytest.raises(InvalidInput):
        service().create_tickets([{"center_id": "yanminghu"}])


def test_the_same_submission_again_answers_with_the_first_ticket(service, db):
    """A double click or a client's retry (same intake key within ten minutes) stores nothing
    new; after the window, or with another key, it is a new ticket."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, select, update

    from services.tickets.models import Ticket

    def item(key, text=PAYLOAD["description"]):
        return {
            "center_id": "yanminghu",
            "payload": {**PAYLOAD, "description": text},
            "intake_key": key,
        }

    first, again, other = service().create_tickets([item("k1"), item("k1"), item("k2", "别的事")])
    assert "repeat" not in first and again["repeat"] is True and "repeat" not in other
    assert again["ticket"]["id"] == first["ticket"]["id"]
    assert again["ticket"]["follow_code"] == first["ticket"]["follow_code"]
    [later] = service().create_tickets([item("k1")])
    assert later["repeat"] is True and later["ticket"]["id"] == first["ticket"]["id"]
    assert db.scalar(select(func.count()).select_from(Ticket)) == 2
    assert db.scalar(select(func.count()).select_from(outbox_table)) == 2  # no event for a repeat

    from services.tickets.intake import stored_intake_key

    then = datetime.now(UTC) - timedelta(minutes=11)  # as if both were taken in back then
    db.execute(
        update(Ticket)
        .values(created_at=then, intake_key=stored_intake_key("k1", then))
        .where(Ticket.id == first["ticket"]["id"])
    )
    db.commit()
    [new] = service().create_tickets([item("k1")])
    assert "repeat" not in new and new["ticket"]["id"] != first["ticket"]["id"]


def test_a_repeat_is_still_checked_against_its_own_caller(service, token):
    """Knowing another submission's key doesn't get a caller its receipt."""
    staff = token("staff", sub="duty-1")
    item = {
        "center_id": "yanminghu",
        "payload": {**PAYLOAD, "channel": "hotline"},
        "intake_key": "k9",
    }
    [first] = service().create_tickets([{**item, "authorization": staff}])
    assert "ticket" in first
    [stranger] = service().create_tickets([item])
    assert stranger["error"]["code"] == "UNAUTHENTICATED"


def test_a_party_handler_works_only_on_its_partys_tickets(service, token):
    """物业 starts, returns and resolves what is assigned to 物业; signing for, dispatching
    and closing stay with the cadre on duty; another party's ticket does not exist for it."""
    duty = service(token("staff", sub="duty-1"))
    property_staff = service(token("staff", sub="wy-1", party="property"))
    social_worker = service(token("staff", sub="sg-1", party="social_work"))
    ticket = duty.create_ticket("yanminghu", {**PAYLOAD, "channel": "hotline"})  # → property
    with pytest.raises(Forbidden) as refused:
        property_staff.acknowledge_ticket("yanminghu", ticket["id"])
    assert refused.value.code == "ROLE_FORBIDDEN" and "值班干部" in refused.value.detail
    duty.acknowledge_ticket("yanminghu", ticket["id"])
    with pytest.raises(NotFound):
        social_worker.start_ticket("yanminghu", ticket["id"])
    with pytest.raises(NotFound):
        social_worker.get_ticket("yanminghu", ticket["id"])
    with pytest.raises(NotFound):
        social_worker.get_ticket_timeline("yanminghu", ticket["id"])
    assert property_staff.start_ticket("yanminghu", ticket["id"])["state"] == "in_progress"
    resolved = property_staff.resolve_ticket(
        "yanminghu", ticket["id"], {"answer": "已安排保洁清运"}
    )
    assert resolved["state"] == "resolved"
    timeline = duty.get_ticket_timeline("yanminghu", ticket["id"])
    assert [(e["action"], e["actor_id"]) for e in timeline][-2:] == [
        ("start", "wy-1"),
        ("resolve", "wy-1"),
    ]


def test_a_party_handlers_board_and_list_show_only_its_party(service, token):
    duty = service(token("staff"))
    duty.create_ticket("yanminghu", {**PAYLOAD, "channel": "hotline"})  # property
    duty.create_ticket("yanminghu", {**PAYLOAD, "category": "elderly_care", "channel": "hotline"})
    social_worker = service(token("staff", sub="sg-1", party="social_work"))
    mine = social_worker.get_board("yanminghu")
    assert [t["party"] for t in mine["items"]] == ["social_work"]
    assert mine["counts"]["reported"] == 1  # the counts of its own party's tickets
    assert duty.get_board("yanminghu")["counts"]["reported"] == 2
    asked = social_worker.get_board("yanminghu", {"party": "property"})
    assert asked["total"] == 0 and asked["items"] == []
    assert [t["party"] for t in social_worker.list_tickets("yanminghu")["items"]] == ["social_work"]
    assert social_worker.list_tickets("yanminghu", {"party": "property"})["total"] == 0


def test_only_staff_tokens_name_a_party():
    with pytest.raises(ValueError):
        auth.claims_for(sub="r", role="resident", centers=["yanminghu"], party="property")
    with pytest.raises(ValueError):
        auth.claims_for(sub="s", role="staff", centers=["yanminghu"], party="mayor_office")


def test_the_same_submission_through_two_gateways_at_once_is_stored_once(service, db, monkeypatch):
    """Two replicas look, see nothing, both insert: the intake key's unique index refuses the
    second, which looks again and answers with the first ticket."""
    from sqlalchemy import func, select

    from services.tickets import intake
    from services.tickets.models import Ticket

    item = {"center_id": "yanminghu", "payload": PAYLOAD, "intake_key": "double-click"}
    [first] = service().create_tickets([item])
    real, looks = intake.earlier_submissions, []

    def too_early(**kwargs):  # the other gateway's first look, before the first commit
        looks.append(kwargs["keys"])
        return {} if len(looks) == 1 else real(**kwargs)

    monkeypatch.setattr(intake, "earlier_submissions", too_early)
    [second] = service().create_tickets([item])
    assert len(looks) == 2
    assert second["repeat"] is True and second["ticket"]["id"] == first["ticket"]["id"]
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1


def test_a_routing_change_is_broadcast_to_every_replica_after_it_commits(service, token):
    from services.tickets.service import ROUTING_CHANGED

    admin = service(token("admin"))
    admin.update_category("yanminghu", "sanitation", {"party": "village_committee"})
    admin.dispatch.assert_called_once_with(
        ROUTING_CHANGED, {"center_id": "yanminghu", "roster_only": False}
    )


def test_a_roster_change_makes_every_replica_forget_only_that_centers_roster(
    service, token, db, routing
):
    from services.tickets.routing import routing as route
    from services.tickets.service import ROUTING_CHANGED

    now = datetime.now(UTC)
    route(db_session=db, center_id="yanminghu", code="sanitation", cache=routing)
    for center in ("yanminghu", "fenghuangtai"):
        routing.duty.remember({center: []}, now, now + timedelta(minutes=10))
    admin = service(token("admin"))
    shift = {"person_id": "duty-1", "name": "李卫东", "starts_at": now.isoformat()}
    admin.add_duty_shift("yanminghu", {**shift, "ends_at": (now + timedelta(hours=1)).isoformat()})
    admin.dispatch.assert_called_once_with(
        ROUTING_CHANGED, {"center_id": "yanminghu", "roster_only": True}
    )
    assert set(routing.duty.shifts(["yanminghu", "fenghuangtai"], now)) == {"fenghuangtai"}
    assert "yanminghu" in routing.centers()  # its categories' routing stays cached
    service().forget_routing({"center_id": "fenghuangtai", "roster_only": True})  # another's
    assert routing.duty.shifts(["fenghuangtai"], now) == {}


def test_a_replica_told_of_a_routing_change_forgets_that_centers_routing(service, db, routing):
    from services.tickets.routing import routing as route

    route(db_session=db, center_id="yanminghu", code="sanitation", cache=routing)
    route(db_session=db, center_id="fenghuangtai", code="sanitation", cache=routing)
    assert {"yanminghu", "fenghuangtai"} <= routing.centers()
    service().forget_routing({"center_id": "yanminghu"})
    assert "yanminghu" not in routing.centers() and "fenghuangtai" in routing.centers()
    service().forget_routing("garbage")  # unreadable: forgetting everything is always safe
    assert routing.centers() == set()


def test_the_admin_sees_retired_categories_and_everyone_else_the_active_ones(service, token):
    admin = service(token("admin"))
    admin.update_category("yanminghu", "elderly_care", {"active": False})
    assert [c["code"] for c in admin.list_categories("yanminghu")] == ["elderly_care", "sanitation"]
    assert [c["code"] for c in service(token("resident")).list_categories("yanminghu")] == [
        "sanitation"
    ]
    assert [c["code"] for c in service().list_public_categories("yanminghu")] == ["sanitation"]
    with pytest.raises(NotFound):
        service().list_public_categories("atlantis")
    assert admin.get_category("yanminghu", "elderly_care")["active"] is False
    with pytest.raises(NotFound):
        service(token("staff")).get_category("yanminghu", "elderly_care")


def test_staff_recording_a_rating_must_say_how_they_reached_the_resident(service, token):
    duty = service(token("staff", sub="duty-1"))
    ticket = duty.create_ticket("yanminghu", {**PAYLOAD, "channel": "hotline"})
    duty.acknowledge_ticket("yanminghu", ticket["id"])
    duty.resolve_ticket("yanminghu", ticket["id"], {"answer": "已安排保洁清运"})
    with pytest.raises(Forbidden) as refused:
        duty.rate_ticket("yanminghu", ticket["id"], {"rating": "satisfied"})
    assert refused.value.code == "RATING_VIA_REQUIRED"
    rated = duty.rate_ticket("yanminghu", ticket["id"], {"rating": "satisfied", "via": "phone"})
    assert rated["state"] == "closed"


def test_the_sla_timer_counts_breaches_and_open_tickets_per_center(service, db, token):
    from datetime import timedelta

    from sqlalchemy import update

    from lianxin.metrics import ServiceMetrics
    from services.tickets.metrics import OPEN_TICKETS, SLA_BREACHES
    from services.tickets.models import Ticket

    ticket = service(token("staff")).create_ticket("yanminghu", {**PAYLOAD, "channel": "hotline"})
    service().create_ticket("fenghuangtai", PAYLOAD)
    late = db.get(Ticket, ticket["id"])
    db.execute(
        update(Ticket)
        .where(Ticket.id == ticket["id"])
        .values(
            created_at=late.created_at - timedelta(minutes=11),
            ack_due_at=late.ack_due_at - timedelta(minutes=11),
        )
    )
    db.commit()
    worker = service()
    worker.metrics = recorded = ServiceMetrics("tickets")
    worker.check_sla()
    assert recorded.sample(SLA_BREACHES, center="yanminghu", kind="acknowledge", level="1") == 1
    assert recorded.sample(OPEN_TICKETS, center="yanminghu", state="reported") == 1
    assert recorded.sample(OPEN_TICKETS, center="fenghuangtai", state="reported") == 1
    assert recorded.sample(OPEN_TICKETS, center="fenghuangtai", state="assigned") == 0


def test_a_batch_with_a_request_settled_as_abandoned_stores_only_the_others(service, db):
    # The claims go with the tickets' INSERTs; the abandoned key's fails the batch, which is
    # taken in again with the claims asked first.
    from services.tickets import settling
    from services.tickets.models import IntakeClaim, Ticket

    assert settling.settle(db_session=db, center_id="yanminghu", request_key="a" * 32) is None
    db.commit()

    def item(key: str, description: str) -> dict:
        payload = {"category": "sanitation", "description": description, "channel": "web"}
        return {"center_id": "yanminghu", "payload": payload, "request_key": key}

    late, other = service().create_tickets(
        [item("a" * 32, "东村3号楼门口垃圾没人清运"), item("b" * 32, "路灯不亮")]
    )
    assert late["error"]["code"] == "INTAKE_ABANDONED"
    assert other["ticket"]["description"] == "路灯不亮"
    assert [t.description for t in db.query(Ticket)] == ["路灯不亮"]
    claims = {c.request_key: c.ticket_id for c in db.query(IntakeClaim)}
    assert claims == {"a" * 32: None, "b" * 32: other["ticket"]["id"]}
