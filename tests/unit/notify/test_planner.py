"""Who is told what, decided from the event alone (no database)."""

from datetime import UTC, datetime, timedelta

from lianxin.contracts.events import events as ev
from lianxin.contracts.tickets import events as tk
from lianxin.contracts.volunteers import events as vo
from services.notify import messages, planner

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
FACT = {
    "ticket_id": "5f0c9a8e-1b2c-4d3e-9f00-1234567890ab",
    "category": "sanitation",
    "party": "property",
    "actor_id": "staff-duty-1",
    "person_id": "resident-7",
}


def test_every_planned_message_type_has_templates_and_samples():
    for code, mt in messages.TYPES.items():
        assert mt.sample, code
        for channel in ("in_app", "sms", "wechat", "email", "webhook"):
            title, body = mt.default(channel)
            assert title and body, (code, channel)


def test_new_ticket_goes_to_staff_with_the_shared_inbox_as_fallback(event):
    e = event(
        tk.TICKET_CREATED,
        {
            "ticket_id": FACT["ticket_id"],
            "category": "sanitation",
            "category_name": "环境卫生",
            "party": "property",
            "channel": "hotline",
            "summary": "垃圾没清运",
            "ack_due_at": NOW,
            "resolve_due_at": NOW + timedelta(days=1),
        },
    )
    [message] = planner.plan_event(e, NOW).messages
    assert (message.message_type, message.roles, message.fallback_role) == (
        "ticket.created",
        ("staff",),
        "staff",
    )
    assert message.context["party_name"] == "物业公司" and message.ref_id == FACT["ticket_id"]


def test_assignment_tells_the_partys_handlers_and_the_reporter_but_not_the_actor(event):
    e = event(tk.TICKET_ASSIGNED, {**FACT, "automatic": False, "previous_party": "social_work"})
    handler, reporter = planner.plan_event(e, NOW).messages
    assert handler.message_type == "ticket.assigned.handler" and handler.party == "property"
    assert handler.exclude == ("staff-duty-1",)
    assert handler.context["previous_party_name"] == "社工组织"
    assert reporter.message_type == "ticket.assigned.reporter" and reporter.persons == [
        "resident-7"
    ]


def test_resolution_invites_the_reporter_to_rate_it(event):
    e = event(tk.TICKET_RESOLVED, {**FACT, "answer": "已清运"})
    [survey] = planner.plan_event(e, NOW).messages
    assert survey.message_type == "ticket.survey" and survey.persons == ["resident-7"]
    assert survey.context["rating_options"] == ["满意", "基本满意", "不满意"]


def test_level_one_breach_alerts_the_cadre_on_duty_only(event):
    e = event(
        tk.TICKET_SLA_BREACHED,
        {
            **FACT,
            "kind": "acknowledge",
            "level": 1,
            "due_at": NOW,
            "duty_person_id": "staff-duty-1",
        },
    )
    [alert] = planner.plan_event(e, NOW).messages
    assert alert.persons == ["staff-duty-1"] and alert.roles == ()
    assert messages.TYPES[alert.message_type].critical


def test_breach_without_a_duty_cadre_alerts_every_staff_and_level_two_the_admins(event):
    data = {**FACT, "kind": "acknowledge", "due_at": NOW, "duty_person_id": None}
    [one] = planner.plan_event(event(tk.TICKET_SLA_BREACHED, {**data, "level": 1}), NOW).messages
    [two] = planner.plan_event(event(tk.TICKET_SLA_BREACHED, {**data, "level": 2}), NOW).messages
    assert one.roles == ("staff",) and two.roles == ("staff", "admin")


def test_every_ticket_event_type_is_planned(event):
    plans = {
        tk.TICKET_ACKNOWLEDGED: {**FACT, "acknowledged_at": NOW, "late": False},
        tk.TICKET_RETURNED: {**FACT, "reason": "不归物业管"},
        tk.TICKET_MERGED: {**FACT, "primary_id": "9a8b7c6d-0000"},
        tk.TICKET_ESCALATED: {
            **FACT,
            "meeting_id": "m1",
            "meeting_month": "2026-12",
            "reason": "多方",
        },
        tk.TICKET_CLOSED: {**FACT, "rating": None},
        tk.TICKET_REOPENED: {**FACT, "reason": "没修好", "by": "survey"},
        tk.TICKET_RATED: {**FACT, "rating": "basically_satisfied"},
    }
    for etype, data in plans.items():
        assert planner.plan_event(event(etype, data), NOW).messages, etype


def _signup(**extra):
    starts = datetime(2026, 11, 29, 1, 30, tzinfo=UTC)  # 09:30 on the 29th in Shanghai
    return {
        "shift_id": "s-1",
        "volunteer_id": "v-1",
        "person_id": "vol-1",
        "shift_title": "打扫卫生",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
        "place": "5号楼",
        **extra,
    }


def test_confirmed_signup_schedules_the_day_before_and_on_the_day_reminders(event):
    plan = planner.plan_event(event(vo.SIGNUP_CONFIRMED, _signup()), NOW)
    assert [m.message_type for m in plan.messages] == ["signup.confirmed"]
    day_before, today = plan.schedule
    assert (
        day_before.key == "shift:s-1:vol-1:day_before"
        and day_before.kind == "reminder.shift_day_before"
    )
    assert day_before.send_at == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)  # 18:00 the day before
    assert today.key == "shift:s-1:vol-1:today"
    assert today.send_at == datetime(2026, 11, 28, 23, 30, tzinfo=UTC)  # 07:30, two hours before


def test_reminders_already_past_are_not_scheduled(event):
    late = NOW + timedelta(hours=3)
    plan = planner.plan_event(
        event(vo.SIGNUP_PROMOTED, _signup(starts_at=late, ends_at=late + timedelta(hours=1))), NOW
    )
    assert [r.kind for r in plan.schedule] == ["reminder.shift_today"]


def test_cancelled_signup_withdraws_both_reminders(event):
    plan = planner.plan_event(event(vo.SIGNUP_CANCELLED, _signup(reason=None)), NOW)
    assert plan.cancel == ["shift:s-1:vol-1:day_before", "shift:s-1:vol-1:today"]


def _registration():
    return {
        "registration_id": "r-1",
        "activity_id": "a-1",
        "person_id": "res-1",
        "party_size": 2,
        "activity_title": "趣味益智",
        "starts_at": NOW + timedelta(days=2),
        "place": "文体活动室",
    }


def test_confirmed_registration_schedules_a_reminder_an_hour_before(event):
    plan = planner.plan_event(event(ev.REGISTRATION_CONFIRMED, _registration()), NOW)
    [reminder] = plan.schedule
    assert reminder.key == "activity:a-1:res-1:hour_before"
    assert reminder.send_at == NOW + timedelta(days=2, hours=-1)


def test_changed_activity_tells_everyone_and_moves_their_reminders(event):
    data = {
        "activity_id": "a-1",
        "title": "趣味益智",
        "starts_at": NOW + timedelta(days=3),
        "ends_at": NOW + timedelta(days=3, hours=2),
        "place": "党建活动室",
        "changes": ["starts_at", "place"],
        "person_ids": ["res-1", "res-2"],
    }
    plan = planner.plan_event(event(ev.ACTIVITY_CHANGED, data), NOW)
    [message] = plan.messages
    assert (
        message.persons == ["res-1", "res-2"]
        and message.context["changes_text"] == "开始时间、地点"
    )
    assert [r.key for r in plan.reschedule] == [
        "activity:a-1:res-1:hour_before",
        "activity:a-1:res-2:hour_before",
    ]


def test_cancelled_activity_tells_everyone_and_withdraws_their_reminders(event):
    data = {
        "activity_id": "a-1",
        "title": "趣味益智",
        "starts_at": NOW + timedelta(days=3),
        "reason": "天气原因",
        "person_ids": ["res-1", "res-2"],
    }
    plan = planner.plan_event(event(ev.ACTIVITY_CANCELLED, data), NOW)
    assert plan.messages[0].persons == ["res-1", "res-2"]
    assert plan.cancel == ["activity:a-1:res-1:hour_before", "activity:a-1:res-2:hour_before"]


def test_an_event_about_nobody_plans_nothing(event):
    plan = planner.plan_event(
        event(
            vo.MILESTONE_REACHED,
            {"volunteer_id": "v-1", "person_id": None, "milestone_hours": 50, "total_hours": 51.0},
        ),
        NOW,
    )
    assert plan.messages == [] and plan.schedule == []


def test_a_room_request_goes_to_the_admins_and_its_refusal_to_the_requester(event):
    booking = {
        "booking_id": "b-1",
        "room": "meeting",
        "room_name": "多功能会议室",
        "starts_at": NOW + timedelta(days=1),
        "ends_at": NOW + timedelta(days=1, hours=2),
        "activity_id": None,
        "purpose": "业委会例会",
        "booked_by": "res-1",
        "series_id": None,
        "reason": None,
    }
    [request] = planner.plan_event(event(ev.ROOM_REQUESTED, booking), NOW).messages
    assert request.roles == ("admin",) and request.exclude == ("res-1",)
    [refusal] = planner.plan_event(
        event(ev.ROOM_REJECTED, {**booking, "reason": "已有安排"}), NOW
    ).messages
    assert refusal.persons == ["res-1"] and refusal.message_type == "room.rejected"


def test_a_rejected_registration_tells_the_resident_why(event):
    data = {
        **_registration(),
        "ends_at": NOW + timedelta(days=2, hours=2),
        "room": None,
        "reason": "名额优先安排志愿者骨干",
    }
    [message] = planner.plan_event(event(ev.REGISTRATION_REJECTED, data), NOW).messages
    assert message.persons == ["res-1"] and message.context["reason"] == "名额优先安排志愿者骨干"
