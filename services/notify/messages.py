"""Every kind of message notify sends, with its default Chinese wording per channel.

A *message type* is what a person is told (``ticket.survey``: "please rate the answer");
one event may cause several (an assignment tells the party's handlers one thing and the
resident another). Each type names the variables its templates may use, with sample
values: a center's own template is rendered against them when it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lianxin.contracts.notify.operations import CHANNELS

#: Default push channels by audience. Residents and volunteers: WeChat, else SMS, else
#: e-mail (an Open311 reporter may have left only that).
PEOPLE = ("wechat", "sms", "email")
#: Staff and party handlers: WeChat, e-mail, and their organisation's webhook if it has one.
WORKERS = ("wechat", "email", "webhook")
#: Critical alerts go everywhere the person can be reached.
EVERYWHERE = ("sms", "wechat", "email", "webhook")

#: Variables every template may use (``center_name``: the center's name as the tickets
#: service keeps it; its id when tickets can't say).
COMMON = ("recipient_name", "center_id", "center_name")

EMAIL_HEAD = "{{ recipient_name }}，您好：\n\n"
EMAIL_FOOT = "\n\n——\n连心桥 · {{ center_name }}\n本邮件由系统自动发送，请勿直接回复。"

_T0 = datetime(2026, 11, 28, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
_T1 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)

_TICKET = {
    "ticket_id": "5f0c9a8e-1b2c-4d3e-9f00-1234567890ab",
    "ticket_ref": "5f0c9a8e",
    "category": "sanitation",
    "party": "property",
    "party_name": "物业公司",
    "actor_id": "staff-duty-1",
    "person_id": "resident-1",
    "supporter_ids": [],
}


_RESOLVED = {
    **_TICKET,
    "answer": "已安排保洁人员清运并增加清运频次",
    "on_the_spot": False,
    "rating_options": ["满意", "基本满意", "不满意"],
}


_SIGNUP = {
    "shift_id": "s-1",
    "volunteer_id": "v-1",
    "person_id": "vol-1",
    "shift_title": "独居老人刘敬州家打扫卫生",
    "starts_at": _T0,
    "ends_at": _T1,
    "place": "东村社区5号楼",
}
_REGISTRATION = {
    "registration_id": "r-1",
    "activity_id": "a-1",
    "person_id": "resident-1",
    "party_size": 2,
    "activity_title": "趣味益智 健康生活",
    "starts_at": _T0,
    "place": "文体活动室",
}
_REVIEWED_REGISTRATION = {
    "registration_id": "r-1",
    "activity_id": "a-1",
    "person_id": "resident-1",
    "party_size": 1,
    "activity_title": "志愿者骨干参观交流",
    "starts_at": _T0,
    "place": "凤凰台街道党群服务中心",
}
_BOOKING = {
    "booking_id": "b-1",
    "room": "meeting",
    "room_name": "多功能会议室",
    "starts_at": _T0,
    "ends_at": _T1,
    "purpose": "业委会例会",
    "booked_by": "resident-1",
}


@dataclass(frozen=True)
class MessageType:
    code: str
    name: str
    title: str
    body: str
    sample: dict[str, Any]
    #: A shorter body for SMS (the provider adds the signature, e.g. 【连心桥】).
    sms: str | None = None
    critical: bool = False
    channels: tuple[str, ...] = PEOPLE
    #: Take only the first of ``channels`` the person can be reached on (WeChat, else SMS).
    first_only: bool = True

    def all_variables(self) -> list[str]:
        return sorted({*COMMON, *self.sample})

    def sample_context(self) -> dict[str, Any]:
        return {
            "recipient_name": "李卫东",
            "center_id": "yanminghu",
            "center_name": "雁鸣湖镇镇区社区党群服务中心",
            **self.sample,
        }

    def default(self, channel: str) -> tuple[str, str]:
        """The built-in (title, body) of this type on ``channel``."""
        if channel == "sms":
            return self.title, self.sms or self.body
        if channel == "email":
            return self.title, EMAIL_HEAD + self.body + EMAIL_FOOT
        return self.title, self.body


def _mt(
    code: str, name: str, title: str, body: str, sample: dict[str, Any], **kw: Any
) -> MessageType:
    return MessageType(code, name, title, body, sample, **kw)


_STAFF = {"channels": WORKERS, "first_only": False}

TYPES: dict[str, MessageType] = {
    m.code: m
    for m in [
        # -- tickets ---------------------------------------------------------------------------
        _mt(
            "ticket.created",
            "新诉求待签收（工作人员）",
            "新诉求待签收",
            "收到一条新的群众诉求（{{ category_name }}）：“{{ summary }}”。"
            "拟派{{ party_name }}处理，请值班干部于 {{ ack_due_at | local_time }} 前签收。",
            {
                **_TICKET,
                "category_name": "环境卫生",
                "channel": "hotline",
                "summary": "3号楼门口垃圾两天没人清运",
                "ack_due_at": _T0,
                "resolve_due_at": _T1,
                "duty_person_ids": ["staff-duty-1"],
                "on_the_spot": False,
                "photo_ids": [],
                "likely_repeat_of": [],
            },
            sms="新诉求待签收（{{ category_name }}）：{{ summary | truncate(30, true, '…') }}，"
            "请于{{ ack_due_at | local_time }}前签收。",
            # The ten-minute promise: never muted nor deferred, on every channel.
            critical=True,
            channels=EVERYWHERE,
            first_only=False,
        ),
        _mt(
            "ticket.acknowledged.reporter",
            "诉求已签收（居民）",
            "您反映的诉求已签收",
            "您反映的诉求（编号 {{ ticket_ref }}）已由值班干部签收，将由{{ party_name }}负责处理，请留意后续进展。",
            {**_TICKET, "acknowledged_at": _T0, "late": False},
        ),
        _mt(
            "ticket.acknowledged.handler",
            "诉求已签收（承办方）",
            "诉求已签收，待办理",
            "工单 {{ ticket_ref }} 已由值班干部签收，将由{{ party_name }}办理，请做好准备。",
            {**_TICKET, "acknowledged_at": _T0, "late": False},
            **_STAFF,
        ),
        _mt(
            "ticket.assigned.handler",
            "新派单（承办方）",
            "新派单：请及时处理",
            "工单 {{ ticket_ref }} 已派给{{ party_name }}"
            "{% if previous_party_name %}（由{{ previous_party_name }}转来）{% endif %}，请及时办理并回复。",
            {**_TICKET, "automatic": False, "previous_party": None, "previous_party_name": None},
            sms="新派单：工单 {{ ticket_ref }} 已派给{{ party_name }}，请及时办理。",
            **_STAFF,
        ),
        _mt(
            "ticket.assigned.reporter",
            "诉求已派单（居民）",
            "您的诉求已派单",
            "您反映的诉求（编号 {{ ticket_ref }}）已派{{ party_name }}处理，办结后将请您评价。",
            {**_TICKET, "automatic": False, "previous_party": None, "previous_party_name": None},
        ),
        _mt(
            "ticket.returned",
            "工单被退回（工作人员）",
            "工单被退回，请重新派单",
            "{{ party_name }}退回了工单 {{ ticket_ref }}，理由：{{ reason }}。请值班干部重新派单。",
            {**_TICKET, "reason": "不属于物业服务范围"},
            **_STAFF,
        ),
        _mt(
            "ticket.resolved.reporter",
            "诉求已办结（居民）",
            "您反映的诉求已办结",
            "您反映的诉求（编号 {{ ticket_ref }}）已办结，办理结果：{{ answer }}。",
            _RESOLVED,
            sms="您反映的诉求（{{ ticket_ref }}）已办结：{{ answer | truncate(40, true, '…') }}",
        ),
        _mt(
            "ticket.survey",
            "办结回访（居民）",
            "诉求已办结，请您评价",
            "您反映的诉求（编号 {{ ticket_ref }}）已办结，"
            "请对办理结果进行评价：{{ rating_options | join(' / ') }}。如不满意，我们将重新办理。",
            _RESOLVED,
            sms="您的诉求（{{ ticket_ref }}）已办结，请对办理结果进行评价："
            "回复1满意、2基本满意、3不满意。",
        ),
        _mt(
            "ticket.sla_breached",
            "诉求超时告警（紧急）",
            "【紧急】{% if kind == 'acknowledge' %}诉求超时未签收{% else %}诉求超时未办结{% endif %}",
            "工单 {{ ticket_ref }}（{{ party_name }}）应于 {{ due_at | local_time }} 前"
            "{% if kind == 'acknowledge' %}签收{% else %}办结{% endif %}，现已超时"
            "{% if level == 2 %}，且已超过时限一倍，请中心负责人督办"
            "{% elif level == 3 %}，值班干部和中心负责人均未签收，请领导督办{% endif %}。请立即处理。",
            {
                **_TICKET,
                "kind": "acknowledge",
                "level": 1,
                "due_at": _T0,
                "duty_person_id": "staff-duty-1",
                "duty_person_ids": ["staff-duty-1"],
            },
            sms="【紧急】工单{{ ticket_ref }}{% if kind == 'acknowledge' %}超时未签收{% else %}超时未办结{% endif %}"
            "（时限{{ due_at | local_time }}），请立即处理。",
            critical=True,
            channels=EVERYWHERE,
            first_only=False,
        ),
        _mt(
            "ticket.reopened.handler",
            "工单重新办理（承办方）",
            "工单重新办理",
            "工单 {{ ticket_ref }} 已重新打开（{{ reopened_by_name }}），理由：{{ reason }}。请{{ party_name }}重新办理。",
            {
                **_TICKET,
                "reason": "垃圾仍未清运",
                "by": "survey",
                "reopened_by_name": "居民评价不满意",
            },
            **_STAFF,
        ),
        _mt(
            "ticket.reopened.reporter",
            "诉求重新办理（居民）",
            "您的诉求将重新办理",
            "您反映的诉求（编号 {{ ticket_ref }}）已重新办理，理由：{{ reason }}。",
            {
                **_TICKET,
                "reason": "垃圾仍未清运",
                "by": "survey",
                "reopened_by_name": "居民评价不满意",
            },
        ),
        _mt(
            "ticket.closed",
            "诉求归档（居民）",
            "诉求已办结归档",
            "您反映的诉求（编号 {{ ticket_ref }}）已办结归档"
            "{% if rating_name %}，您的评价：{{ rating_name }}{% endif %}。感谢您对社区工作的支持！",
            {**_TICKET, "rating": "satisfied", "rating_name": "满意"},
        ),
        _mt(
            "ticket.merged",
            "诉求合并办理（居民）",
            "诉求已合并办理",
            "您反映的诉求与编号 {{ primary_ref }} 的诉求为同一问题，已合并办理，进展将一并告知您。",
            {
                **_TICKET,
                "primary_id": "9a8b7c6d-0000-4000-8000-000000000001",
                "primary_ref": "9a8b7c6d",
            },
        ),
        _mt(
            "ticket.escalated.reporter",
            "诉求提交党建联席会（居民）",
            "诉求已提交党建联席会",
            "您反映的诉求（编号 {{ ticket_ref }}）已列入 {{ meeting_month }} 党建联席会议题，"
            "将由物业、社工、业委会、村支两委四方共同商议解决。",
            {
                **_TICKET,
                "meeting_id": "m-2026-12",
                "meeting_month": "2026-12",
                "reason": "涉及多方",
            },
        ),
        _mt(
            "ticket.escalated.handler",
            "工单列入联席会议题（承办方）",
            "工单列入党建联席会议题",
            "工单 {{ ticket_ref }} 已列入 {{ meeting_month }} 党建联席会议题，理由：{{ reason }}。",
            {
                **_TICKET,
                "meeting_id": "m-2026-12",
                "meeting_month": "2026-12",
                "reason": "涉及多方",
            },
            **_STAFF,
        ),
        _mt(
            "ticket.rated",
            "居民评价（承办方）",
            "居民评价：{{ rating_name }}",
            "工单 {{ ticket_ref }} 的办理结果获居民评价“{{ rating_name }}”。",
            {**_TICKET, "rating": "satisfied", "rating_name": "满意"},
            **_STAFF,
        ),
        _mt(
            "ticket.supported",
            "已有人反映（居民）",
            "已收到您的反映",
            "已收到您的反映，该问题已有人反映，办理进展将通知您。"
            "（编号 {{ ticket_ref }}，{{ party_name }}负责处理）",
            {**_TICKET, "supporter_id": "resident-2", "supporters": 1},
            sms="已收到您的反映，该问题已有人反映（编号{{ ticket_ref }}），办理进展将通知您。",
        ),
        _mt(
            "ticket.urged",
            "催办（工作人员）",
            "【催办】工单 {{ ticket_ref }}",
            "中心负责人催办工单 {{ ticket_ref }}（{{ party_name }}）：{{ note }}。"
            "请{{ holder_name }}尽快办理并回复。",
            {
                **_TICKET,
                "holder": "duty",
                "holder_name": "值班干部",
                "duty_person_ids": ["staff-duty-1"],
                "note": "居民多次来电，请今天内处理",
            },
            sms="【催办】工单{{ ticket_ref }}：{{ note | truncate(40, true, '…') }}，请尽快办理。",
            # One push, the first the person can be reached on (an organisation's system last).
            channels=("wechat", "sms", "email", "webhook"),
        ),
        # -- volunteers ------------------------------------------------------------------------
        _mt(
            "signup.confirmed",
            "志愿服务报名成功",
            "志愿服务报名成功",
            "{{ recipient_name }}，您已成功报名“{{ shift_title }}”，时间 {{ starts_at | local_time }}—"
            "{{ ends_at | local_hm }}，地点：{{ place }}。我们会在前一天和当天提醒您。",
            _SIGNUP,
        ),
        _mt(
            "signup.promoted",
            "志愿服务候补转正",
            "候补转正：志愿服务名额已确认",
            "有名额空出，您已由候补转为正式报名“{{ shift_title }}”，时间 {{ starts_at | local_time }}—"
            "{{ ends_at | local_hm }}，地点：{{ place }}。",
            _SIGNUP,
        ),
        _mt(
            "signup.waitlisted",
            "志愿服务候补",
            "已进入候补名单",
            "“{{ shift_title }}”（{{ starts_at | local_time }}）名额已满，您已进入候补名单，有名额空出时将通知您。",
            _SIGNUP,
        ),
        _mt(
            "signup.cancelled",
            "志愿服务报名取消",
            "志愿服务报名已取消",
            "您报名的“{{ shift_title }}”（{{ starts_at | local_time }}）已取消"
            "{% if reason %}，原因：{{ reason }}{% endif %}。",
            {
                **_SIGNUP,
                "reason": "临时有事",
            },
        ),
        _mt(
            "milestone.reached",
            "志愿服务时长里程碑",
            "志愿服务时长达到 {{ milestone_hours }} 小时",
            "{{ recipient_name }}，感谢您的奉献！您的志愿服务时长已累计 {{ total_hours }} 小时，"
            "达到 {{ milestone_hours }} 小时，可到党群服务中心领取志愿服务证书。",
            {
                "volunteer_id": "v-1",
                "person_id": "vol-1",
                "milestone_hours": 100,
                "total_hours": 102.5,
            },
        ),
        # -- activities ------------------------------------------------------------------------
        _mt(
            "registration.confirmed",
            "活动报名成功",
            "活动报名成功",
            "您已成功报名“{{ activity_title }}”（{{ party_size }} 人），时间 {{ starts_at | local_time }}，"
            "地点：{{ place }}。活动开始前一小时将提醒您。",
            _REGISTRATION,
        ),
        _mt(
            "registration.promoted",
            "活动候补转正",
            "候补转正：活动名额已确认",
            "有名额空出，您已由候补转为正式报名“{{ activity_title }}”（{{ party_size }} 人），"
            "时间 {{ starts_at | local_time }}，地点：{{ place }}。",
            _REGISTRATION,
        ),
        _mt(
            "registration.waitlisted",
            "活动候补",
            "已进入活动候补名单",
            "“{{ activity_title }}”（{{ starts_at | local_time }}）名额已满，您已进入候补名单，有名额空出时将通知您。",
            _REGISTRATION,
        ),
        _mt(
            "registration.cancelled",
            "活动报名取消",
            "活动报名已取消",
            "您报名的“{{ activity_title }}”（{{ starts_at | local_time }}）已取消。",
            _REGISTRATION,
        ),
        _mt(
            "activity.changed",
            "活动变更",
            "活动信息有变更",
            "您报名的“{{ title }}”有变更（{{ changes_text }}）：时间 {{ starts_at | local_time }}—"
            "{{ ends_at | local_hm }}，地点：{{ place }}。",
            {
                "activity_id": "a-1",
                "title": "趣味益智 健康生活",
                "starts_at": _T0,
                "ends_at": _T1,
                "place": "文体活动室",
                "changes": ["starts_at"],
                "changes_text": "开始时间",
            },
        ),
        _mt(
            "activity.cancelled",
            "活动取消",
            "活动取消通知",
            "很抱歉，原定 {{ starts_at | local_time }} 举行的“{{ title }}”已取消"
            "{% if reason %}，原因：{{ reason }}{% endif %}。",
            {
                "activity_id": "a-1",
                "title": "趣味益智 健康生活",
                "starts_at": _T0,
                "reason": "天气原因",
            },
        ),
        _mt(
            "registration.pending",
            "活动报名待审核",
            "活动报名待审核",
            "您报名的“{{ activity_title }}”（{{ starts_at | local_time }}）需工作人员审核，审核结果将通知您。",
            _REVIEWED_REGISTRATION,
        ),
        _mt(
            "registration.rejected",
            "活动报名未通过",
            "活动报名未通过审核",
            "很抱歉，您报名的“{{ activity_title }}”（{{ starts_at | local_time }}）未通过审核"
            "{% if reason %}，原因：{{ reason }}{% endif %}。",
            {
                **_REVIEWED_REGISTRATION,
                "reason": "名额优先安排志愿者骨干",
            },
        ),
        _mt(
            "hours.approved",
            "服务时长认定",
            "志愿服务时长已认定",
            "您的 {{ hours }} 小时志愿服务时长已认定"
            "{% if total_hours is not none %}，累计 {{ total_hours }} 小时{% endif %}。感谢您的付出！",
            {"volunteer_id": "v-1", "person_id": "vol-1", "hours": 2.0, "total_hours": 48.5},
        ),
        _mt(
            "hours.rejected",
            "服务时长未认定",
            "志愿服务时长未通过认定",
            "您申报的 {{ hours }} 小时志愿服务时长未通过认定{% if reason %}，原因：{{ reason }}{% endif %}。"
            "如有疑问请联系社工。",
            {"volunteer_id": "v-1", "person_id": "vol-1", "hours": 2.0, "reason": "签到记录不完整"},
        ),
        _mt(
            "room.requested",
            "功能室预约待审批（管理员）",
            "功能室预约待审批",
            "{{ room_name }} {{ starts_at | local_time }}—{{ ends_at | local_hm }} 有一条预约待审批，"
            "用途：{{ purpose }}。",
            _BOOKING,
            **_STAFF,
        ),
        _mt(
            "room.rejected",
            "功能室预约未通过",
            "功能室预约未通过",
            "您预约的{{ room_name }}（{{ starts_at | local_time }}—{{ ends_at | local_hm }}）未通过审批"
            "{% if reason %}，原因：{{ reason }}{% endif %}。",
            {
                **_BOOKING,
                "reason": "该时段已安排党建联席会",
            },
        ),
        # -- reports ---------------------------------------------------------------------------
        _mt(
            "report.published",
            "月度工作报告（联席会前一天）",
            "{{ month_label }}月度工作报告已生成",
            "{{ center_name }}{{ month_label }}月度工作报告已生成，供 {{ meeting_date }} 党建联席会使用："
            "诉求办理、群众满意度、联席会议程、志愿服务与活动情况。"
            "登录后查看 PDF：{{ report_url }}；数据表（Excel）：{{ workbook_url }}",
            {
                "month": "2026-11",
                "month_label": "2026年11月",
                "meeting_date": "2026-11-25",
                "report_url": "https://lianxin.example.org/api/v1/reports/monthly/2026-11.pdf",
                "workbook_url": "https://lianxin.example.org/api/v1/reports/monthly/2026-11.xlsx",
            },
            sms="{{ month_label }}月度工作报告已生成，供{{ meeting_date }}联席会使用，请登录连心桥查看。",
            **_STAFF,
        ),
        # -- scheduled reminders (SCHEDULED_KINDS) ---------------------------------------------
        _mt(
            "reminder.shift_day_before",
            "志愿服务前一天提醒",
            "明日志愿服务提醒",
            "{{ recipient_name }}，提醒您明天 {{ starts_at | local_time }} 参加志愿服务“{{ shift_title }}”，"
            "地点：{{ place }}。如不能参加，请提前取消报名。",
            {"shift_title": "独居老人刘敬州家打扫卫生", "starts_at": _T0, "place": "东村社区5号楼"},
        ),
        _mt(
            "reminder.shift_today",
            "志愿服务当天提醒",
            "今日志愿服务提醒",
            "{{ recipient_name }}，您今天 {{ starts_at | local_hm }} 有志愿服务“{{ shift_title }}”，"
            "地点：{{ place }}，请准时签到。",
            {"shift_title": "独居老人刘敬州家打扫卫生", "starts_at": _T0, "place": "东村社区5号楼"},
        ),
        _mt(
            "reminder.activity_hour_before",
            "活动开始前提醒",
            "活动即将开始",
            "您报名的“{{ activity_title }}”将于 {{ starts_at | local_time }} 开始，地点：{{ place }}。",
            {"activity_title": "趣味益智 健康生活", "starts_at": _T0, "place": "文体活动室"},
        ),
    ]
}


def get(code: str) -> MessageType | None:
    return TYPES.get(code)


def sample_for(code: str) -> dict[str, Any]:
    return TYPES[code].sample_context()


assert all(c in CHANNELS for m in TYPES.values() for c in m.channels)
