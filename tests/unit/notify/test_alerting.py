"""The ten-minute promise on notify's side: a new ticket and each level of the escalation
ladder alert those the event names — and when none of them can be reached, the center's
chain (its admins, then its fallback people one by one); the reporter and supporters hear of
each step once; a ticket resolved at the desk tells its party nothing."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from lianxin.contracts.notify.operations import AlertingChoice, PreferenceChoice
from lianxin.contracts.tickets import events as tk
from services.notify import alerting, directory, preferences, receiving
from services.notify.cache import ReadCache, invalidate_on_commit
from services.notify.centers import CenterNames
from services.notify.exceptions import UnknownAlertedPerson
from services.notify.models import Alerting, Delivery

NIGHT = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
TICKET = "5f0c9a8e-1b2c-4d3e-9f00-1234567890ab"
FACT = {
    "ticket_id": TICKET,
    "category": "sanitation",
    "party": "property",
    "actor_id": "staff-duty-1",
    "person_id": "res-1",
}


def breach(event, level, duty=()):
    return event(
        tk.TICKET_SLA_BREACHED,
        {
            **FACT,
            "actor_id": None,
            "kind": "acknowledge",
            "level": level,
            "due_at": NIGHT,
            "duty_person_id": duty[0] if duty else None,
            "duty_person_ids": list(duty),
        },
    )


@pytest.fixture
def handle(db, settings):
    """``handle(*events)`` → receive them as the service does (at night, quiet hours on)."""

    def receive(*events, center_names=None):
        out = receiving.receive_events(
            db_session=db, events=events, now=NIGHT, settings=settings, center_names=center_names
        )
        db.commit()
        return out

    return receive


def told(db, **where):
    """{recipient: sorted channels} of the deliveries matching ``where``."""
    out: dict[str, list[str]] = {}
    for d in db.scalars(select(Delivery).filter_by(**where).order_by(Delivery.channel)):
        out.setdefault(d.recipient, []).append(d.channel)
    return out


@pytest.fixture
def center(db, contacts):
    """yanminghu's people: the duty cadre (SMS), another staff member, a property handler,
    an admin (e-mail), two fallback people and a leader."""
    contacts(
        {"person_id": "staff-duty-1", "phone": "13800000001"},
        {"person_id": "sw-1", "email": "sw1@example.cn"},
        {"person_id": "wy-1", "party": "property", "email": "wy1@example.cn"},
        {"person_id": "admin-1", "role": "admin", "email": "admin@example.cn"},
        {"person_id": "fb-0"},  # in the directory, no channel but the inbox
        {"person_id": "fb-1", "phone": "13800000021"},
        {"person_id": "fb-2", "phone": "13800000022"},
        {"person_id": "lead-1", "phone": "13800000031"},
    )

    def chain(fallback=("fb-0", "fb-1", "fb-2"), leadership=("lead-1",)):
        alerting.update_alerting(
            db_session=db,
            center_id="yanminghu",
            data=AlertingChoice(list(fallback), list(leadership)),
            by="admin-1",
        )
        db.commit()

    chain()
    return chain


def demote_admin(db):
    directory.update_contact(
        db_session=db, center_id="yanminghu", person_id="admin-1", data={"email": None}
    )
    db.commit()


# -- who a new ticket alerts -----------------------------------------------------------------


def test_a_new_ticket_alerts_only_the_cadre_on_duty_at_once_even_at_night(
    db, handle, center, ticket_created
):
    preferences.set_preference(
        db_session=db,
        center_id="yanminghu",
        person_id="staff-duty-1",
        message_type="*",
        data=PreferenceChoice(channels=None, muted=True),
    )
    handle(ticket_created(now=NIGHT, duty=["staff-duty-1"]))
    assert told(db) == {"staff-duty-1": ["in_app", "sms"]}  # no other staff, no party handler
    [sms] = db.scalars(select(Delivery).filter_by(channel="sms"))
    assert sms.critical and sms.deferred_until is None and sms.next_attempt_at == NIGHT


def test_a_cadre_on_duty_who_cant_be_reached_brings_in_the_admins(
    db, handle, center, ticket_created
):
    handle(ticket_created(now=NIGHT, duty=["staff-duty-2"]))  # on the roster, not in the directory
    assert told(db) == {"staff-duty-2": ["in_app"], "admin-1": ["email", "in_app"]}


def test_with_nobody_on_duty_the_admin_is_alerted(db, handle, center, ticket_created):
    handle(ticket_created(now=NIGHT))
    assert told(db) == {"admin-1": ["email", "in_app"]}


def test_with_no_reachable_admin_the_first_reachable_fallback_person_is_alerted(
    db, handle, center, ticket_created
):
    demote_admin(db)
    handle(ticket_created(now=NIGHT, duty=["sw-2"]))
    # fb-0 has no channel but the inbox: the chain goes on to fb-1, and stops there
    assert told(db) == {"sw-2": ["in_app"], "fb-1": ["in_app", "sms"]}


def test_with_nobody_reachable_at_all_the_staff_shared_inbox_has_it(
    db, handle, center, ticket_created
):
    demote_admin(db)
    center(fallback=["fb-0"])
    handle(ticket_created(now=NIGHT, duty=["sw-2"]))
    assert told(db) == {"sw-2": ["in_app"], "@staff": ["in_app"]}


def test_a_ticket_resolved_at_the_desk_alerts_nobody(db, handle, center, ticket_created):
    handle(ticket_created(now=NIGHT, duty=["staff-duty-1"], on_the_spot=True))
    assert told(db) == {}


# -- the escalation ladder -------------------------------------------------------------------


def test_level_one_alerts_those_on_duty_and_falls_back_when_they_cant_be_reached(
    db, handle, center, event
):
    handle(breach(event, 1, duty=["staff-duty-1"]))
    assert told(db) == {"staff-duty-1": ["in_app", "sms"]}
    db.query(Delivery).delete()
    handle(breach(event, 1, duty=["staff-duty-2"]))
    assert told(db) == {"staff-duty-2": ["in_app"], "admin-1": ["email", "in_app"]}


def test_level_two_reaches_the_admin_and_still_the_cadre_on_duty(db, handle, center, event):
    handle(breach(event, 2, duty=["staff-duty-1"]))
    assert told(db) == {"staff-duty-1": ["in_app", "sms"], "admin-1": ["email", "in_app"]}


def test_level_three_reaches_the_leadership_else_the_admins(db, handle, center, event):
    handle(breach(event, 3, duty=["staff-duty-1"]))
    assert told(db) == {"lead-1": ["in_app", "sms"]}
    [alert] = db.scalars(select(Delivery).filter_by(channel="in_app"))
    assert "请领导督办" in alert.body and alert.critical
    db.query(Delivery).delete()
    center(leadership=[])
    handle(breach(event, 3, duty=["staff-duty-1"]))
    assert told(db) == {"admin-1": ["email", "in_app"]}


# -- the center's chain ----------------------------------------------------------------------


def test_the_chain_names_only_people_of_the_directory(db, center):
    with pytest.raises(UnknownAlertedPerson) as caught:
        alerting.update_alerting(
            db_session=db,
            center_id="yanminghu",
            data=AlertingChoice(["fb-1", "ghost-1"], ["ghost-2"]),
            by="admin-1",
        )
    assert caught.value.fields == {
        "fallback_person_ids": ["通讯录中没有这些人员：ghost-1"],
        "leadership_person_ids": ["通讯录中没有这些人员：ghost-2"],
    }
    db.rollback()
    kept = alerting.get_alerting(db_session=db, center_id="yanminghu")
    assert kept["fallback_person_ids"] == ["fb-0", "fb-1", "fb-2"]


def test_a_center_without_its_own_chain_has_empty_lists(db):
    assert alerting.get_alerting(db_session=db, center_id="fenghuang") == {
        "fallback_person_ids": [],
        "leadership_person_ids": [],
        "updated_by": None,
        "updated_at": None,
    }
    assert db.scalar(select(Alerting)) is None


def test_a_chain_saved_here_applies_to_the_next_event(db, settings, center, ticket_created):
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(db.get_bind(), expire_on_commit=False)
    cache = ReadCache(ttl=60)
    invalidate_on_commit(factory, cache)
    demote_admin(db)

    def alerted(e):
        with factory() as session:
            receiving.receive_events(
                db_session=session, events=[e], now=NIGHT, settings=settings, cache=cache
            )
            session.commit()
            return {
                d.recipient for d in session.scalars(select(Delivery).filter_by(source_id=e["id"]))
            }

    assert alerted(ticket_created(now=NIGHT)) == {"fb-1"}
    with factory() as session:
        alerting.update_alerting(
            db_session=session,
            center_id="yanminghu",
            data=AlertingChoice(["fb-2", "fb-1"], []),
            by="admin-1",
        )
        session.commit()
    assert alerted(ticket_created(now=NIGHT)) == {"fb-2"}


def test_reachability_is_a_channel_beyond_the_inbox(db, center):
    def reach(person):
        return directory.check_reachable(db_session=db, center_id="yanminghu", person_id=person)

    assert reach("staff-duty-1") == {
        "person_id": "staff-duty-1",
        "known": True,
        "reachable": True,
        "channels": ["sms"],
    }
    assert reach("fb-0")["known"] and not reach("fb-0")["reachable"]
    assert reach("ghost") == {
        "person_id": "ghost",
        "known": False,
        "reachable": False,
        "channels": [],
    }


# -- the reporter and the supporters ---------------------------------------------------------


def _fact(event, etype, **data):
    return event(etype, {**FACT, "supporter_ids": ["res-2"], **data}, subject=TICKET)


def test_the_reporter_hears_of_each_step_once_and_supporters_all_but_the_survey(
    db, handle, contacts, event
):
    contacts(
        {"person_id": "res-1", "role": "resident", "phone": "13611112222"},
        {"person_id": "res-2", "role": "resident", "phone": "13611113333"},
    )
    steps = [
        _fact(event, tk.TICKET_ACKNOWLEDGED, acknowledged_at=NIGHT, late=False),
        _fact(event, tk.TICKET_ASSIGNED, automatic=True, previous_party=None),
        _fact(event, tk.TICKET_RETURNED, reason="不归物业管"),
        # re-dispatched after the return: the residents were told of the dispatch already
        _fact(event, tk.TICKET_ASSIGNED, automatic=False, previous_party="property"),
        _fact(event, tk.TICKET_RESOLVED, answer="已安排保洁清运"),
    ]
    for e in steps:
        handle(e)
        handle(e)  # every event delivered twice
    handle(*steps)  # and once more, in one batch

    def heard(person):
        rows = db.scalars(select(Delivery).filter_by(recipient=person, channel="sms"))
        return sorted(d.message_type for d in rows)

    assert heard("res-1") == [
        "ticket.acknowledged.reporter",
        "ticket.assigned.reporter",
        "ticket.resolved.reporter",
        "ticket.survey",
    ]
    assert heard("res-2") == [
        "ticket.acknowledged.reporter",
        "ticket.assigned.reporter",
        "ticket.resolved.reporter",
    ]
    [answer] = db.scalars(
        select(Delivery).filter_by(
            recipient="res-1", message_type="ticket.resolved.reporter", channel="in_app"
        )
    )
    assert "已安排保洁清运" in answer.body
    [survey] = db.scalars(
        select(Delivery).filter_by(
            recipient="res-1", message_type="ticket.survey", channel="in_app"
        )
    )
    assert "请对办理结果进行评价" in survey.body


def test_a_ticket_resolved_again_after_reopening_tells_the_new_answer_and_asks_again(
    db, handle, contacts, event
):
    contacts({"person_id": "res-1", "role": "resident", "phone": "13611112222"})
    first = _fact(event, tk.TICKET_RESOLVED, answer="已安排保洁清运")
    again = _fact(event, tk.TICKET_RESOLVED, answer="已安排保洁清运（复查后再次处理）")
    for e in (first, first, again):
        handle(e)
    rows = db.scalars(select(Delivery).filter_by(recipient="res-1", channel="sms"))
    assert sorted(d.message_type for d in rows) == [
        "ticket.resolved.reporter",
        "ticket.resolved.reporter",
        "ticket.survey",
        "ticket.survey",
    ]


def test_a_supporter_is_told_their_report_joined_an_earlier_one(db, handle, contacts, event):
    contacts({"person_id": "res-2", "role": "resident", "phone": "13611113333"})
    handle(_fact(event, tk.TICKET_SUPPORTED, supporter_id="res-2", supporters=1))
    [sms] = db.scalars(select(Delivery).filter_by(recipient="res-2", channel="sms"))
    assert sms.body.startswith("已收到您的反映，该问题已有人反映")


def test_urging_reaches_the_partys_handlers_or_those_on_duty(db, handle, center, event):
    note = {"actor_id": "admin-1", "note": "居民多次来电，请今天内处理"}
    handle(_fact(event, tk.TICKET_URGED, holder="party", **note))
    assert set(told(db)) == {"wy-1"}
    [urge] = db.scalars(select(Delivery).filter_by(recipient="wy-1", channel="in_app"))
    assert urge.title == "【催办】工单 5f0c9a8e" and "居民多次来电" in urge.body
    db.query(Delivery).delete()
    handle(_fact(event, tk.TICKET_URGED, holder="duty", duty_person_ids=["staff-duty-1"], **note))
    assert set(told(db)) == {"staff-duty-1"}


# -- a ticket resolved at the desk -----------------------------------------------------------


def test_a_ticket_resolved_at_the_desk_never_messages_its_party(
    db, handle, center, event, ticket_created
):
    handle(ticket_created(now=NIGHT, duty=["staff-duty-1"], on_the_spot=True))
    handle(_fact(event, tk.TICKET_RESOLVED, answer="已当场解答", on_the_spot=True))
    handle(_fact(event, tk.TICKET_CLOSED, rating="satisfied"))
    handle(_fact(event, tk.TICKET_RATED, rating="satisfied"))
    assert not {"wy-1", "staff-duty-1"} & set(told(db))
    # reopened, it is its party's to handle: a later rating is theirs to hear
    handle(_fact(event, tk.TICKET_REOPENED, reason="又堆满了", by="resident"))
    handle(event(tk.TICKET_RATED, {**FACT, "rating": "dissatisfied"}, subject="later"))
    assert {d.message_type for d in db.scalars(select(Delivery).filter_by(recipient="wy-1"))} == {
        "ticket.reopened.handler",
        "ticket.rated",
    }


def test_a_batch_holding_the_desk_resolution_and_its_rating_tells_the_party_nothing(
    db, handle, center, event
):
    handle(
        _fact(event, tk.TICKET_RESOLVED, answer="已当场解答", on_the_spot=True),
        _fact(event, tk.TICKET_RATED, rating="satisfied"),
    )
    assert "wy-1" not in told(db)


# -- the center's name -----------------------------------------------------------------------


def test_the_email_footer_names_the_center(db, handle, center, event, ticket_created):
    asked = []

    def get_center(center_id):
        asked.append(center_id)
        return {"id": center_id, "name": "雁鸣湖镇镇区社区党群服务中心"}

    names = CenterNames().reader(get_center)
    handle(ticket_created(now=NIGHT), center_names=names)
    handle(breach(event, 2), center_names=names)
    bodies = [d.body for d in db.scalars(select(Delivery).filter_by(channel="email"))]
    assert bodies and all("连心桥 · 雁鸣湖镇镇区社区党群服务中心\n" in b for b in bodies)
    assert "yanminghu" not in "".join(bodies)
    assert asked == ["yanminghu"]  # kept: one question for both events


def test_a_center_name_tickets_cant_give_is_its_id_and_asked_again_later():
    class Clock:
        now = 0.0

        def __call__(self):
            return self.now

    clock, calls = Clock(), []

    def down(center_id):
        calls.append(center_id)
        raise ConnectionError("tickets is down")

    names = CenterNames(ttl=300, retry=30, clock=clock)
    assert names.name("yanminghu", fetch=down) == "yanminghu"
    assert names.name("yanminghu", fetch=down) == "yanminghu" and len(calls) == 1
    clock.now += 31
    assert names.name("yanminghu", fetch=lambda c: {"id": c, "name": "雁鸣湖"}) == "雁鸣湖"
    clock.now += 299
    assert names.name("yanminghu", fetch=down) == "雁鸣湖" and len(calls) == 1
