"""Deliveries: the inbox, channels, preferences and quiet hours, retries, the delivery log, a
center's templates in use, and scheduled messages becoming deliveries."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lianxin.contracts.notify.operations import (
    NewScheduledMessage,
    PreferenceChoice,
    QuietWindow,
    TemplateText,
)
from lianxin.contracts.tickets import events as tk
from lianxin.contracts.volunteers import events as vo
from lianxin.errors import InvalidInput
from services.notify import deliveries, inbox, planner, preferences, receiving, schedule, templates
from services.notify.exceptions import ScheduledConflict
from services.notify.models import Delivery, ScheduledMessage

DAYTIME = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
NIGHT = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
TICKET = "5f0c9a8e-1b2c-4d3e-9f00-1234567890ab"


def returned(event):
    """A message every staff member gets, not critical (what these tests exercise with):
    ticket.created alerts those on duty (``test_alerting.py``)."""
    return event(
        tk.TICKET_RETURNED,
        {
            "ticket_id": TICKET,
            "category": "sanitation",
            "party": "property",
            "actor_id": "wy-1",
            "person_id": None,
            "reason": "不属于物业服务范围",
        },
    )


def handle(db, settings, e, now=DAYTIME):
    out = receiving.apply_plan(
        db_session=db,
        center_id=e["centerid"],
        source_id=e["id"],
        event_type=e["type"],
        plan=planner.plan_event(e, now),
        now=now,
        settings=settings,
    )
    db.commit()
    return out


def inbox_of(db, person, role="staff", **query):
    return inbox.list_notifications(
        db_session=db,
        center_id="yanminghu",
        role=role,
        person_id=person,
        query={"limit": 50, "offset": 0, **query},
    )


def delivered(db, **where):
    return db.scalars(select(Delivery).filter_by(**where).order_by(Delivery.channel)).all()


# -- inbox -----------------------------------------------------------------------------------


def test_each_staff_member_gets_their_own_copy_with_their_own_read_state(
    db, settings, contacts, event
):
    contacts({"person_id": "staff-duty-1"}, {"person_id": "sw-1"})
    handle(db, settings, returned(event))
    mine, total, unread = inbox_of(db, "staff-duty-1")
    assert (total, unread) == (1, 1) and mine[0]["title"] == "工单被退回，请重新派单"
    assert "不属于物业服务范围" in mine[0]["body"] and "物业公司" in mine[0]["body"]
    inbox.mark_read(
        db_session=db,
        center_id="yanminghu",
        role="staff",
        person_id="staff-duty-1",
        notification_id=mine[0]["id"],
    )
    db.commit()
    assert inbox_of(db, "staff-duty-1")[2] == 0
    assert inbox_of(db, "sw-1")[2] == 1


def test_with_nobody_in_the_directory_the_staff_shared_inbox_gets_it_read_per_person(
    db, settings, ticket_created
):
    handle(db, settings, ticket_created())
    items, total, unread = inbox_of(db, "staff-1")
    assert total == 1 and items[0]["audience"] == "staff"
    assert (
        inbox.mark_all_read(db_session=db, center_id="yanminghu", role="staff", person_id="staff-1")
        == 1
    )
    db.commit()
    assert inbox_of(db, "staff-1")[2] == 0 and inbox_of(db, "staff-2")[2] == 1
    assert inbox_of(db, "res-1", role="resident")[1] == 0


def test_a_redelivered_event_makes_no_second_delivery(db, settings, contacts, event):
    contacts({"person_id": "staff-duty-1", "email": "duty@example.cn"})
    e = returned(event)
    first = handle(db, settings, e)
    again = handle(db, settings, e)
    assert {(o.channel, o.outcome) for o in first} == {("in_app", "sent"), ("email", "queued")}
    assert again == []
    assert db.scalar(select(func.count()).select_from(Delivery)) == 2


def test_a_redelivered_event_tells_only_who_joined_the_directory_since(
    db, settings, contacts, event
):
    contacts({"person_id": "staff-duty-1", "email": "duty@example.cn"})
    e = returned(event)
    handle(db, settings, e)
    contacts({"person_id": "sw-1"})
    again = handle(db, settings, e)
    assert [(o.channel, o.outcome) for o in again] == [("in_app", "sent")]
    assert {d.recipient for d in delivered(db, source_id=e["id"], channel="in_app")} == {
        "staff-duty-1",
        "sw-1",
    }
    assert len(delivered(db, source_id=e["id"])) == 3


def test_each_email_greets_its_own_recipient(db, settings, contacts, event):
    contacts(
        {"person_id": "staff-duty-1", "name": "李卫东", "email": "duty@example.cn"},
        {"person_id": "sw-1", "name": "赵晓雯", "email": "sw1@example.cn"},
        {"person_id": "sw-2", "name": "陈静"},
    )
    handle(db, settings, returned(event))
    emails = {d.recipient: d.body for d in delivered(db, channel="email")}
    assert emails["staff-duty-1"].startswith("李卫东，您好") and emails["sw-1"].startswith(
        "赵晓雯，您好"
    )
    assert emails["staff-duty-1"].partition("\n")[2] == emails["sw-1"].partition("\n")[2]
    inbox_bodies = {d.body for d in delivered(db, channel="in_app")}
    assert len(inbox_bodies) == 1 and "不属于物业服务范围" in inbox_bodies.pop()


def test_a_center_greeting_by_name_in_the_inbox_names_each_recipient(db, settings, contacts, event):
    contacts(
        {"person_id": "staff-duty-1", "name": "李卫东"}, {"person_id": "sw-1", "name": "赵晓雯"}
    )
    templates.save_template(
        db_session=db,
        center_id="yanminghu",
        message_type="ticket.returned",
        channel="in_app",
        by="admin-1",
        data=TemplateText(**{"title": "{{ recipient_name }}：退单", "body": "{{ reason }}"}),
    )
    handle(db, settings, returned(event))
    assert {d.recipient: d.title for d in delivered(db, channel="in_app")} == {
        "staff-duty-1": "李卫东：退单",
        "sw-1": "赵晓雯：退单",
    }


# -- channels, preferences, quiet hours ------------------------------------------------------


def test_staff_get_every_channel_they_can_be_reached_on(db, settings, contacts, event):
    contacts(
        {
            "person_id": "staff-duty-1",
            "email": "d@example.cn",
            "wechat_openid": "oABCD1234",
            "webhook_url": "http://127.0.0.1:9/hook",
            "phone": "13800000001",
        }
    )
    handle(db, settings, returned(event))
    assert [d.channel for d in delivered(db)] == ["email", "in_app", "webhook", "wechat"]


def test_residents_get_wechat_else_sms(db, settings, contacts, event):
    contacts(
        {
            "person_id": "res-1",
            "role": "resident",
            "phone": "13900000001",
            "wechat_openid": "oRES0001",
        },
        {"person_id": "res-2", "role": "resident", "phone": "13900000002"},
    )
    for person in ("res-1", "res-2"):
        e = event(
            tk.TICKET_RESOLVED,
            {
                "ticket_id": TICKET,
                "category": "sanitation",
                "party": "property",
                "actor_id": None,
                "person_id": person,
                "answer": "已清运",
            },
        )
        handle(db, settings, e)
    for message_type in ("ticket.resolved.reporter", "ticket.survey"):
        got = {
            person: [d.channel for d in delivered(db, recipient=person, message_type=message_type)]
            for person in ("res-1", "res-2")
        }
        assert got == {"res-1": ["in_app", "wechat"], "res-2": ["in_app", "sms"]}


def test_a_muted_type_stays_in_the_inbox_but_is_not_pushed(db, settings, contacts, event):
    contacts({"person_id": "staff-duty-1", "email": "d@example.cn"})
    preferences.set_preference(
        db_session=db,
        center_id="yanminghu",
        person_id="staff-duty-1",
        message_type="ticket.returned",
        data=PreferenceChoice(**{"channels": None, "muted": True}),
    )
    handle(db, settings, returned(event))
    assert [d.channel for d in delivered(db)] == ["in_app"]


def test_preferred_channels_replace_the_defaults(db, settings, contacts, event):
    contacts({"person_id": "staff-duty-1", "email": "d@example.cn", "phone": "13800000001"})
    preferences.set_preference(
        db_session=db,
        center_id="yanminghu",
        person_id="staff-duty-1",
        message_type="*",
        data=PreferenceChoice(**{"channels": ["sms"], "muted": False}),
    )
    handle(db, settings, returned(event))
    assert [d.channel for d in delivered(db)] == ["in_app", "sms"]


def test_a_critical_type_cannot_be_muted(db):
    with pytest.raises(InvalidInput):
        preferences.set_preference(
            db_session=db,
            center_id="yanminghu",
            person_id="p",
            message_type="ticket.sla_breached",
            data=PreferenceChoice(**{"channels": None, "muted": True}),
        )


def _breach(event):
    return event(
        tk.TICKET_SLA_BREACHED,
        {
            "ticket_id": TICKET,
            "category": "sanitation",
            "party": "property",
            "actor_id": None,
            "person_id": None,
            "kind": "acknowledge",
            "level": 1,
            "due_at": NIGHT,
            "duty_person_id": "staff-duty-1",
        },
    )


def test_an_sla_breach_at_night_is_pushed_at_once_even_when_everything_is_muted(
    db, settings, contacts, event
):
    contacts(
        {"person_id": "staff-duty-1", "phone": "13800000001"},
        {"person_id": "sw-1", "phone": "13800000011"},
    )
    preferences.set_preference(
        db_session=db,
        center_id="yanminghu",
        person_id="staff-duty-1",
        message_type="*",
        data=PreferenceChoice(**{"channels": None, "muted": True}),
    )
    outcomes = handle(db, settings, _breach(event), now=NIGHT)
    sms = delivered(db, channel="sms")
    assert [d.recipient for d in sms] == ["staff-duty-1"]  # the duty cadre, not everyone
    assert sms[0].next_attempt_at == NIGHT and sms[0].deferred_until is None and sms[0].critical
    assert ("sms", "queued") in {(o.channel, o.outcome) for o in outcomes}
    assert sms[0].title.startswith("【紧急】")


def test_at_night_ordinary_messages_wait_for_the_end_of_quiet_hours(db, settings, contacts, event):
    contacts({"person_id": "staff-duty-1", "email": "d@example.cn"})
    outcomes = handle(db, settings, returned(event), now=NIGHT)
    [email] = delivered(db, channel="email")
    assert email.state == "pending"
    assert email.next_attempt_at == datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # 07:00 Shanghai
    assert ("email", "deferred") in {(o.channel, o.outcome) for o in outcomes}
    assert (
        deliveries.claim_due(
            db_session=db, now=NIGHT + timedelta(hours=1), limit=10, lease=timedelta(minutes=1)
        )
        == []
    )


def test_own_quiet_hours_replace_the_default(db, settings, contacts, event):
    contacts({"person_id": "staff-duty-1", "email": "d@example.cn"})
    preferences.set_quiet_hours(
        db_session=db,
        center_id="yanminghu",
        person_id="staff-duty-1",
        data=QuietWindow(**{"start": "22:00", "end": "07:00", "enabled": False}),
    )
    handle(db, settings, returned(event), now=NIGHT)
    assert delivered(db, channel="email")[0].next_attempt_at == NIGHT


def test_quiet_window_arithmetic():
    at = lambda h, m=0: datetime(2026, 11, 27, h, m, tzinfo=UTC) - timedelta(hours=8)  # noqa: E731
    assert preferences.quiet_until(at(23), "22:00", "07:00") == at(7) + timedelta(days=1)
    assert preferences.quiet_until(at(6, 59), "22:00", "07:00") == at(7)
    assert preferences.quiet_until(at(7), "22:00", "07:00") is None
    assert preferences.quiet_until(at(13), "12:00", "14:00") == at(14)


# -- retries ---------------------------------------------------------------------------------


def test_failed_sends_back_off_exponentially_then_fail_with_the_reason(
    db, settings, contacts, event
):
    contacts({"person_id": "staff-duty-1", "email": "d@example.cn"})
    handle(db, settings, returned(event))
    now, waits = DAYTIME, []
    for _ in range(settings.max_attempts):
        [row] = deliveries.claim_due(db_session=db, now=now, limit=5, lease=timedelta(minutes=1))
        outcome = deliveries.record_attempt(
            db_session=db,
            delivery_id=row.id,
            error="SMTP 451",
            permanent=False,
            now=now,
            settings=settings,
        )
        db.commit()
        if outcome.outcome == "retried":
            waits.append((row.next_attempt_at - now).total_seconds())
            now = row.next_attempt_at
    assert waits == [10, 20]
    [email] = delivered(db, channel="email")
    assert (email.state, email.attempts, email.last_error) == ("failed", 3, "SMTP 451")


def test_a_refused_address_fails_at_once(db, settings, contacts, event):
    contacts({"person_id": "staff-duty-1", "email": "d@example.cn"})
    handle(db, settings, returned(event))
    [row] = deliveries.claim_due(db_session=db, now=DAYTIME, limit=5, lease=timedelta(minutes=1))
    outcome = deliveries.record_attempt(
        db_session=db,
        delivery_id=row.id,
        error="拒收",
        permanent=True,
        now=DAYTIME,
        settings=settings,
    )
    assert outcome.outcome == "failed"


def test_sends_recorded_together_keep_each_its_own_outcome(db, settings, contacts, event):
    contacts(
        {
            "person_id": "staff-duty-1",
            "email": "d@example.cn",
            "wechat_openid": "oABCD1234",
            "webhook_url": "http://127.0.0.1:9/hook",
        }
    )
    handle(db, settings, returned(event))
    rows = {
        r.channel: r
        for r in deliveries.claim_due(
            db_session=db, now=DAYTIME, limit=5, lease=timedelta(minutes=1)
        )
    }
    db.commit()
    outcomes = deliveries.record_attempts(
        db_session=db,
        settings=settings,
        attempts=[
            deliveries.Attempt(rows["email"].id, None, False, DAYTIME),
            deliveries.Attempt(rows["wechat"].id, "43004 用户未关注公众号", True, DAYTIME),
            deliveries.Attempt(rows["webhook"].id, "HTTP 503", False, DAYTIME),
            deliveries.Attempt(rows["email"].id, None, False, DAYTIME),
        ],
    )  # reported twice: once counts
    db.commit()
    assert [(o.channel, o.outcome) if o else None for o in outcomes] == [
        ("email", "sent"),
        ("wechat", "failed"),
        ("webhook", "retried"),
        None,
    ]
    assert {d.channel: d.state for d in delivered(db) if d.channel != "in_app"} == {
        "email": "sent",
        "wechat": "failed",
        "webhook": "pending",
    }


def test_a_send_whose_sender_died_is_claimed_again_after_its_lease(db, settings, contacts, event):
    contacts({"person_id": "staff-duty-1", "email": "d@example.cn"})
    handle(db, settings, returned(event))
    assert (
        len(deliveries.claim_due(db_session=db, now=DAYTIME, limit=5, lease=timedelta(minutes=1)))
        == 1
    )
    db.commit()
    assert (
        deliveries.claim_due(
            db_session=db, now=DAYTIME + timedelta(seconds=30), limit=5, lease=timedelta(minutes=1)
        )
        == []
    )
    [again] = deliveries.claim_due(
        db_session=db, now=DAYTIME + timedelta(minutes=2), limit=5, lease=timedelta(minutes=1)
    )
    assert again.attempts == 2


def test_delivery_log_by_person_and_by_event(db, settings, contacts, event):
    contacts({"person_id": "staff-duty-1", "email": "d@example.cn"}, {"person_id": "sw-1"})
    e = returned(event)
    handle(db, settings, e)
    by_event, total = deliveries.list_deliveries(
        db_session=db, center_id="yanminghu", query={"event_id": e["id"], "limit": 50, "offset": 0}
    )
    assert total == 3
    by_person, total = deliveries.list_deliveries(
        db_session=db, center_id="yanminghu", query={"person_id": "sw-1", "limit": 50, "offset": 0}
    )
    assert [d.channel for d in by_person] == ["in_app"]


# -- templates -------------------------------------------------------------------------------


def test_a_center_template_is_used_for_its_messages(db, settings, contacts, event):
    contacts({"person_id": "staff-duty-1"})
    templates.save_template(
        db_session=db,
        center_id="yanminghu",
        message_type="ticket.returned",
        channel="in_app",
        by="admin-1",
        data=TemplateText(
            **{"title": "请重新派单：{{ ticket_ref }}", "body": "{{ reason }}（{{ party_name }}）"}
        ),
    )
    handle(db, settings, returned(event))
    [note] = inbox_of(db, "staff-duty-1")[0]
    assert (
        note["title"] == "请重新派单：5f0c9a8e" and note["body"] == "不属于物业服务范围（物业公司）"
    )


# -- scheduled messages ----------------------------------------------------------------------


def _reminder(send_at, key="shift:s-1:vol-1:today"):
    return NewScheduledMessage(
        key=key,
        person_id="vol-1",
        kind="reminder.shift_today",
        send_at=send_at,
        data={
            "shift_title": "打扫卫生",
            "starts_at": "2026-11-27T03:30:00+00:00",
            "place": "5号楼",
        },
    )


def test_a_scheduled_message_is_sent_once_at_its_time(db, settings):
    schedule.schedule_message(
        db_session=db, center_id="yanminghu", data=_reminder(DAYTIME), now=NIGHT
    )
    db.commit()
    assert (
        schedule.send_due_scheduled(
            db_session=db, now=DAYTIME - timedelta(seconds=1), settings=settings
        )
        == []
    )
    outcomes = schedule.send_due_scheduled(db_session=db, now=DAYTIME, settings=settings)
    db.commit()
    assert [(o.channel, o.outcome) for o in outcomes] == [("in_app", "sent")]
    assert (
        schedule.send_due_scheduled(
            db_session=db, now=DAYTIME + timedelta(hours=1), settings=settings
        )
        == []
    )
    [note] = inbox_of(db, "vol-1", role="volunteer")[0]
    assert (
        note["title"] == "今日志愿服务提醒"
        and "11:30" in note["body"]
        and note["kind"] == "scheduled"
    )


def test_the_same_key_again_moves_the_message_instead_of_adding_one(db, settings):
    schedule.schedule_message(
        db_session=db, center_id="yanminghu", data=_reminder(DAYTIME), now=NIGHT
    )
    schedule.schedule_message(
        db_session=db,
        center_id="yanminghu",
        data=_reminder(DAYTIME + timedelta(hours=2)),
        now=NIGHT,
    )
    db.commit()
    [row] = db.scalars(select(ScheduledMessage)).all()
    assert row.send_at == DAYTIME + timedelta(hours=2)


def test_a_cancelled_message_is_not_sent(db, settings):
    schedule.schedule_message(
        db_session=db, center_id="yanminghu", data=_reminder(DAYTIME), now=NIGHT
    )
    assert (
        schedule.cancel_scheduled(
            db_session=db, center_id="yanminghu", key="shift:s-1:vol-1:today"
        ).state
        == "cancelled"
    )
    db.commit()
    assert schedule.send_due_scheduled(db_session=db, now=DAYTIME, settings=settings) == []


def test_a_sent_message_cannot_be_cancelled(db, settings):
    schedule.schedule_message(
        db_session=db, center_id="yanminghu", data=_reminder(DAYTIME), now=NIGHT
    )
    schedule.send_due_scheduled(db_session=db, now=DAYTIME, settings=settings)
    with pytest.raises(ScheduledConflict):
        schedule.cancel_scheduled(db_session=db, center_id="yanminghu", key="shift:s-1:vol-1:today")


def test_signup_events_schedule_and_withdraw_reminders(db, settings, event):
    starts = DAYTIME + timedelta(days=2)
    data = {
        "shift_id": "s-9",
        "volunteer_id": "v-1",
        "person_id": "vol-1",
        "shift_title": "陪同就医",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
        "place": "县医院",
    }
    handle(db, settings, event(vo.SIGNUP_CONFIRMED, data))
    assert {r.state for r in db.scalars(select(ScheduledMessage))} == {"scheduled"}
    handle(db, settings, event(vo.SIGNUP_CANCELLED, {**data, "reason": "临时有事"}))
    rows = db.scalars(select(ScheduledMessage).order_by(ScheduledMessage.key)).all()
    assert [(r.key, r.state) for r in rows] == [
        ("shift:s-9:vol-1:day_before", "cancelled"),
        ("shift:s-9:vol-1:today", "cancelled"),
    ]
    titles = [n["title"] for n in inbox_of(db, "vol-1", role="volunteer")[0]]
    assert sorted(titles) == ["志愿服务报名已取消", "志愿服务报名成功"]
