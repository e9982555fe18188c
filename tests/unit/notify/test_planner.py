"""Who is told what, decided from the event alone (no database)."""

from datetime import UTC, datetime, timedelta

from lianxin.contracts.events import events as ev
from lianxin.contracts.tickets import events as tk
from lianxin.contracts.volunteers import events as vo
from services.notify import messages, planner, plans, ticket_plans

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


def _created(**extra):
    return {
        "ticket_id": FACT["ticket_id"],
        "category": "sanitation",
        "category_name": "环境卫生",
        "party": "property",
        "channel": "hotline",
        "summary": "垃圾没清运",
        "ack_due_at": NOW,
        "resolve_due_at": NOW + timedelta(days=1),
        **extra,
    }


def test_a_new_ticket_alerts_those_on_duty_with_the_centers_chain_behind_them(event):
    e = event(tk.TICKET_CREATED, _created(duty_person_ids=["staff-duty-1"]))
    [message] = planner.plan_event(e, NOW).messages
    assert message.message_type == "ticket.created" and message.persons == ["staff-duty-1"]
    assert (message.roles, message.party) == ((), None)  # not every staff, no party
    assert message.chain == (plans.ADMINS, plans.FALLBACK) and message.fallback_role == "staff"
    assert message.context["party_name"] == "物业公司" and message.ref_id == FACT["ticket_id"]
    assert messages.TYPES["ticket.created"].critical


def test_a_ticket_resolved_at_the_desk_alerts_nobody(event):
    e = event(tk.TICKET_CREATED, _created(duty_person_ids=["staff-duty-1"], on_the_spot=True))
    assert planner.plan_event(e, NOW).messages == []


def test_the_reporter_and_the_supporters_hear_of_each_step_once_per_ticket(event):
    fact = {**FACT, "supporter_ids": ["resident-8", "resident-7"]}
    acknowledged = planner.plan_event(
        event(tk.TICKET_ACKNOWLEDGED, {**fact, "acknowledged_at": NOW, "late": False}), NOW
    ).messages
    assigned = planner.plan_event(
        event(tk.TICKET_ASSIGNED, {**fact, "automatic": True, "previous_party": None}), NOW
    ).messages
    told = {m.message_type: m for m in acknowledged + assigned}
    for code in ("ticket.acknowledged.reporter", "ticket.assigned.reporter"):
        assert told[code].persons == ["resident-7", "resident-8"]
        assert told[code].once == FACT["ticket_id"]


def test_resolution_tells_the_answer_and_only_the_reporter_is_asked_to_rate_it(event):
    e = event(tk.TICKET_RESOLVED, {**FACT, "answer": "已清运", "supporter_ids": ["resident-8"]})
    answer, survey = planner.plan_event(e, NOW).messages
    assert answer.message_type == "ticket.resolved.reporter"
    assert answer.persons == ["resident-7", "resident-8"] and answer.context["answer"] == "已清运"
    assert survey.message_type == "ticket.survey" and survey.persons == ["resident-7"]
    assert survey.context["rating_options"] == ["满意", "基本满意", "不满意"]
    # told once per ticket and answer (a new answer after reopening is told again)
    assert answer.once == survey.once and answer.once.startswith(FACT["ticket_id"] + ":")


def test_a_ticket_resolved_at_the_desk_tells_its_reporter_and_never_its_party(event):
    resolved = event(tk.TICKET_RESOLVED, {**FACT, "answer": "已当场解答", "on_the_spot": True})
    told = planner.plan_event(resolved, NOW).messages
    assert [m.message_type for m in told] == ["ticket.resolved.reporter", "ticket.survey"]
    assert all(m.party is None and not m.roles for m in told)
    closed = planner.plan_event(event(tk.TICKET_CLOSED, {**FACT, "rating": None}), NOW).messages
    assert all(m.party is None and not m.roles for m in closed)
    rated = {**FACT, "rating": "satisfied"}
    assert planner.plan_event(event(tk.TICKET_RATED, rated), NOW).messages[0].party == "property"
    # what notify remembers of a desk ticket (services.notify.desk) says so to the planner
    assert ticket_plans.plan(tk.TICKET_RATED, {**rated, "on_the_spot": True}).messages == []


def _breach(level, **extra):
    return {
        **FACT,
        "kind": "acknowledge",
        "level": level,
        "due_at": NOW,
        "duty_person_id": "staff-duty-1",
        "duty_person_ids": ["staff-duty-1", "staff-duty-2"],
        **extra,
    }


def test_level_one_breach_alerts_those_on_duty_only(event):
    [alert] = planner.plan_event(event(tk.TICKET_SLA_BREACHED, _breach(1)), NOW).messages
    assert alert.persons == ["staff-duty-1", "staff-duty-2"] and alert.roles == ()
    assert alert.chain == plans.DUTY_CHAIN
    assert messages.TYPES[alert.message_type].critical


def test_level_two_adds_the_admins_and_level_three_is_the_leadership(event):
    [two] = planner.plan_event(event(tk.TICKET_SLA_BREACHED, _breach(2)), NOW).messages
    assert two.persons == ["staff-duty-1", "staff-duty-2"] and two.roles == ("admin",)
    [three] = planner.plan_event(event(tk.TICKET_SLA_BREACHED, _breach(3)), NOW).messages
    assert (three.persons, three.roles, three.groups) == ([], (), (plans.LEADERSHIP,))
    assert three.chain == plans.DUTY_CHAIN  # no leadership reachable: the admins, and so on


def test_a_breach_with_nobody_on_duty_goes_down_the_chain(event):
    data = _breach(1, duty_person_id=None, duty_person_ids=[])
    [alert] = planner.plan_event(event(tk.TICKET_SLA_BREACHED, data), NOW).messages
    assert alert.persons == [] and alert.roles == () and alert.chain == plans.DUTY_CHAIN


def test_a_supporter_is_told_their_report_joined_the_ticket(event):
    data = {**FACT, "supporter_ids": ["resident-8"], "supporter_id": "resident-8", "supporters": 1}
    [message] = planner.plan_event(event(tk.TICKET_SUPPORTED, data), NOW).messages
    assert message.message_type == "ticket.supported" and message.persons == ["resident-8"]


def test_urging_goes_to_whoever_holds_the_ticket(event):
    urged = {**FACT, "actor_id": "admin-1", "note": "请今天处理"}
    [duty] = planner.plan_event(
        event(tk.TICKET_URGED, {**urged, "holder": "duty", "duty_person_ids": ["staff-duty-1"]}),
        NOW,
    ).messages
    assert duty.persons == ["staff-duty-1"] and duty.chain == plans.DUTY_CHAIN
    assert duty.context["holder_name"] == "值班干部" and duty.exclude == ("admin-1",)
    [party] = planner.plan_event(event(tk.TICKET_URGED, {**urged, "holder": "party"}), NOW).messages
    assert party.party == "property" and party.persons == [] and not party.chain
    assert party.context["holder_name"] == "物业公司"


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
        tk.TICKET_SUPPORTED: {**FACT, "supporter_id": "resident-8", "supporters": 1},
        tk.TICKET_URGED: {**FACT, "holder": "party", "note": "请尽快"},
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
