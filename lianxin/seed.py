"""Demo data: the Yanming Lake town center (雁鸣湖镇镇区社区党群服务中心) from the news report.

Everything goes through the services' RPC interfaces, as a real client would,
so the seed also exercises validation, events and the outbox. Running it twice
changes nothing: what exists already is reported and skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DEMO_CENTER = "yanminghu"
SHANGHAI = ZoneInfo("Asia/Shanghai")

CENTER = {"id": DEMO_CENTER, "name": "雁鸣湖镇镇区社区党群服务中心",
          "address": "河南省郑州市中牟县雁鸣湖镇东村社区"}

# Issue categories, each routed to one of the four parties (物业/社工/业委会/村支两委).
CATEGORIES = [
    {"code": "sanitation", "name": "环境卫生", "party": "property", "resolve_hours": 24,
     "description": "垃圾清运、楼道卫生、绿化养护", "keywords": ["垃圾", "卫生", "绿化"],
     "attributes": [{"code": "building", "description": "楼栋号", "datatype": "string",
                     "required": False, "order": 1}]},
    {"code": "repairs", "name": "公共设施维修", "party": "property", "resolve_hours": 48,
     "description": "路灯、电梯、供水管网等公共设施", "keywords": ["路灯", "电梯", "漏水"],
     "attributes": [{"code": "facility", "description": "设施类型", "datatype": "singlevaluelist",
                     "required": True, "order": 1,
                     "values": [{"key": "light", "name": "路灯"}, {"key": "lift", "name": "电梯"},
                                {"key": "water", "name": "供水"}, {"key": "other", "name": "其他"}]}]},
    {"code": "security", "name": "小区安全", "party": "property", "resolve_hours": 24,
     "description": "门禁、消防通道、安全隐患", "keywords": ["门禁", "消防"]},
    {"code": "elderly_care", "name": "独居老人帮扶", "party": "social_work", "resolve_hours": 48,
     "description": "生活照料、精神慰藉、健康维护", "keywords": ["老人", "独居"]},
    {"code": "family_support", "name": "困难家庭帮扶", "party": "social_work", "resolve_hours": 72,
     "description": "孤寡老人、残疾人、困难家庭的实际困难", "keywords": ["困难", "残疾"]},
    {"code": "estate_rules", "name": "小区公约与停车", "party": "owners_committee", "resolve_hours": 120,
     "description": "停车秩序、小区公约、公共收益", "keywords": ["停车", "公约"]},
    {"code": "neighbour_dispute", "name": "邻里纠纷", "party": "village_committee", "resolve_hours": 72,
     "description": "邻里矛盾调解", "keywords": ["纠纷", "调解"]},
    {"code": "policy", "name": "政策咨询", "party": "village_committee", "resolve_hours": 48,
     "description": "搬迁安置、社保、民政等政策", "keywords": ["政策", "社保"]},
]

# The 1,200 m² building's 12 function rooms (the report names the first four).
ROOMS = [
    {"code": "party_room", "name": "党建活动室", "capacity": 60, "equipment": ["投影仪", "音响"]},
    {"code": "daycare", "name": "日间托老室", "capacity": 30, "equipment": ["休息床", "血压计"]},
    {"code": "sports", "name": "文体活动室", "capacity": 80, "equipment": ["音响", "乒乓球台"]},
    {"code": "e_reading", "name": "电子阅览室", "capacity": 24, "equipment": ["电脑"]},
    {"code": "meeting", "name": "多功能会议室", "capacity": 40, "equipment": ["投影仪"],
     "needs_approval": True},
    {"code": "social_work", "name": "社工服务站", "capacity": 12, "equipment": []},
    {"code": "volunteer_station", "name": "学雷锋志愿服务站", "capacity": 20, "equipment": []},
    {"code": "civility", "name": "新时代文明实践站", "capacity": 50, "equipment": ["投影仪"]},
    {"code": "children", "name": "儿童之家", "capacity": 30, "equipment": ["绘本", "手工材料"]},
    {"code": "rehab", "name": "康复理疗室", "capacity": 10, "equipment": ["理疗床"]},
    {"code": "calligraphy", "name": "书画室", "capacity": 20, "equipment": ["书画桌"]},
    {"code": "dance", "name": "舞蹈排练室", "capacity": 40, "equipment": ["镜墙", "音响"]},
]

PROGRAMMES = [
    {"code": "yilu_growth", "name": "益路成长——志愿者增能计划", "audience": "all",
     "description": "以学雷锋志愿服务站和新时代文明实践站为依托，对社区志愿者开展学习培训、交流分享。"},
    {"code": "beautiful_yanming", "name": "美丽雁鸣使者——青少年自然之旅", "audience": "children",
     "description": "参观交流、亲子互动、文化体验：雁鸣湖探索之旅、变废为宝、垃圾分类回收。"},
    {"code": "yuedong_elderly", "name": "悦动耄耋——老年人康乐服务", "audience": "elderly",
     "description": "为农村社区老人开展健康服务、娱乐休闲服务，一年累计服务 14700 余人次。"},
    {"code": "our_festivals", "name": "我们的节日——社区文化营造", "audience": "families",
     "description": "以节日活动为抓手，促进居民参与社区治理。"},
]

# Staff of the center: the cadre on duty, the social workers (专业社工 6 名), the admin.
STAFF = [
    {"person_id": "staff-duty-1", "name": "李卫东", "role": "staff", "phone": "13800000001",
     "email": "duty@yanminghu.example.cn"},
    {"person_id": "sw-1", "name": "赵晓雯", "role": "staff", "phone": "13800000011"},
    {"person_id": "sw-2", "name": "陈静", "role": "staff", "phone": "13800000012"},
    {"person_id": "sw-3", "name": "周鹏", "role": "staff", "phone": "13800000013"},
    {"person_id": "admin-1", "name": "王主任", "role": "admin", "phone": "13800000099",
     "email": "admin@yanminghu.example.cn"},
]

VOLUNTEERS = [
    {"name": "张志强", "skills": ["cleaning", "life_care"], "party_member": True, "person_id": "vol-1"},
    {"name": "刘慧", "skills": ["emotional_support", "health"], "party_member": False, "person_id": "vol-2"},
    {"name": "孙晓光", "skills": ["escort", "first_aid"], "party_member": True, "person_id": "vol-3"},
    {"name": "马丽", "skills": ["children", "activity"], "party_member": False, "person_id": "vol-4"},
    {"name": "郑红", "skills": ["activity", "life_care"], "party_member": True, "person_id": "vol-5"},
]


def activities(today: datetime) -> list[dict[str, Any]]:
    """Next week's activities, after the ones in the report."""
    def at(days: int, hour: int, minute: int = 0) -> str:
        day = (today + timedelta(days=days)).astimezone(SHANGHAI)
        return day.replace(hour=hour, minute=minute, second=0, microsecond=0).isoformat()

    return [
        {"title": "趣味益智 健康生活", "programme": "yuedong_elderly", "audience": "elderly",
         "starts_at": at(2, 9, 30), "ends_at": at(2, 11), "room": "sports", "capacity": 60,
         "max_party_size": 2,
         "description": "反口令动作、翻花绳等益智游戏，帮助老年人动脑益智。"},
        {"title": "绿色手工坊 环保小花盆", "programme": "beautiful_yanming", "audience": "children",
         "starts_at": at(3, 15), "ends_at": at(3, 16, 30), "room": "children", "capacity": 30,
         "max_party_size": 3, "registration_closes_at": at(3, 12),
         "description": "亲子 DIY：用废旧塑料瓶制作花盆，变废为宝，倡导绿色生活。请家长陪同孩子参加。"},
        {"title": "同携手 创未来——志愿者骨干参观交流", "programme": "yilu_growth", "audience": "all",
         "starts_at": at(5, 8, 30), "ends_at": at(5, 17), "place": "凤凰台街道、银莺社区、南刘庄社区党群服务中心",
         "capacity": 25, "max_party_size": 1, "needs_approval": True,
         "registration_closes_at": at(4, 12),
         "description": "参观兄弟社区党群服务中心，交流志愿者队伍组建、培育、激励经验。统一乘车，报名须经社工审核。"},
        {"title": "我们的节日·迎新春 写福字 送春联", "programme": "our_festivals", "audience": "families",
         "starts_at": at(9, 9), "ends_at": at(9, 11, 30), "room": "calligraphy", "capacity": 20,
         "max_party_size": 3,
         "description": "社区书法爱好者现场书写春联、福字，居民携家人一起体验传统年俗。"},
    ]


#: 悦动耄耋's week: (weekday, hour, minute, title, room, people). 282 person-times a week;
#: with one more at 老年太极 in 36 weeks, the year is the report's 14,700 person-times.
ELDERLY_WEEK = [
    (0, 9, 0, "老年太极", "sports", 70),
    (1, 15, 0, "健康讲座", "party_room", 55),
    (2, 9, 30, "趣味益智 健康生活", "sports", 60),
    (3, 9, 0, "义诊与血压测量", "daycare", 28),
    (4, 15, 0, "老年舞蹈", "dance", 38),
    (5, 9, 0, "棋牌娱乐", "sports", 31),
]
ELDERLY_YEAR = 14700


def activity_history(today: datetime) -> list[dict[str, Any]]:
    """The past year's activities with their sign-in sheets (补录): every 悦动耄耋 session of
    the 364 days before ``today`` (14,700 person-times, as the report says), the 绿色手工坊
    of 19 July and the 国庆晚会 of 28 September."""
    local_today = today.astimezone(SHANGHAI).date()
    extra = ELDERLY_YEAR - 52 * sum(slot[5] for slot in ELDERLY_WEEK)
    history = []
    held = [0] * 7  # sessions so far, per weekday
    for days_ago in range(364, 0, -1):
        day = local_today - timedelta(days=days_ago)
        for weekday, hour, minute, title, room, people in ELDERLY_WEEK:
            if day.weekday() != weekday:
                continue
            held[weekday] += 1
            if weekday == 0 and extra > 0:
                people, extra = people + 1, extra - 1
            if weekday in (1, 2):  # a few more one week, a few fewer the next: 52 weeks even out
                people += 2 if held[weekday] % 2 else -2
            starts = datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)
            history.append({"title": title, "programme": "yuedong_elderly", "audience": "elderly",
                            "starts_at": starts.isoformat(),
                            "ends_at": (starts + timedelta(hours=1, minutes=30)).isoformat(),
                            "room": room, "attendance": people})

    def last(month: int, day: int, hour: int) -> datetime:
        year = local_today.year if (month, day) < (local_today.month, local_today.day) else local_today.year - 1
        return datetime(year, month, day, hour, tzinfo=SHANGHAI)

    workshop, gala = last(7, 19, 15), last(9, 28, 19)
    history += [
        {"title": "绿色手工坊 环保小花盆", "programme": "beautiful_yanming", "audience": "children",
         "starts_at": workshop.isoformat(), "ends_at": (workshop + timedelta(hours=2)).isoformat(),
         "room": "children", "attendance": 28,
         "description": "以“创建卫生镇，绿色环保”为主题，DIY 废旧塑料瓶制作花盆。"},
        {"title": "“壮丽70年 奋进新时代”主题国庆晚会", "programme": "our_festivals",
         "audience": "families", "starts_at": gala.isoformat(),
         "ends_at": (gala + timedelta(hours=2)).isoformat(), "place": "东村社区文化广场",
         "attendance": 320,
         "description": "东村社区党支部联合党群服务中心举办：老照片视频、儿童节目《武动梦想》《我是小水兵》、诗朗诵、手语舞。"},
    ]
    return sorted(history, key=lambda item: item["starts_at"])


def room_bookings(today: datetime) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, room, booking): the rooms' regular uses other than activities."""
    def next_weekday(weekday: int, hour: int, minute: int = 0) -> datetime:
        day = today.astimezone(SHANGHAI).date() + timedelta(days=1)
        day += timedelta(days=(weekday - day.weekday()) % 7)
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)

    def slot(start: datetime, hours: float, purpose: str, **extra: Any) -> dict[str, Any]:
        return {"starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=hours)).isoformat(), "purpose": purpose, **extra}

    return [
        ("社区舞蹈队排练（每周二，12 周）", "dance",
         slot(next_weekday(1, 19), 2, "社区舞蹈队排练", attendees=25, repeat_weeks=12)),
        ("社区舞蹈队排练（每周四，12 周）", "dance",
         slot(next_weekday(3, 19), 2, "社区舞蹈队排练", attendees=25, repeat_weeks=12)),
        ("党建联席会", "party_room",
         slot(next_weekday(4, 14, 30), 2, "党建联席会（物业、社工、业委会、村支两委）", attendees=30)),
        ("电子阅览室 青少年课后阅读（每周三，8 周）", "e_reading",
         slot(next_weekday(2, 16, 30), 1.5, "青少年课后阅读", attendees=20, repeat_weeks=8)),
    ]


# One generator per service, so each service's demo data is kept in one place.
# Each yields (label, service, method, args) for the RPCs the seed makes.

def tickets_steps(today: datetime) -> Iterator[tuple[str, str, str, tuple]]:
    yield "服务中心", "tickets", "create_center", (CENTER,)
    for c in CATEGORIES:
        yield f"诉求类别 {c['name']}", "tickets", "add_category", (DEMO_CENTER, c)


#: The cadres who take turns on duty in the village committee office (干部每天在村委值班).
DUTY = [("staff-duty-1", "李卫东"), ("staff-duty-2", "赵晓雯"), ("staff-duty-3", "周鹏")]

#: Return visits behind the report's figure: 满意度由 80% 上升至 98.5% (131 + 66 of 200).
HISTORY_RATINGS = ["satisfied"] * 131 + ["basically_satisfied"] * 66 + ["dissatisfied"] * 3

HISTORY = [
    ("sanitation", "东村社区3号楼门口垃圾两天没人清运", "已安排保洁当天清运，并增加巡查频次"),
    ("repairs", "太平庄社区5号楼路灯不亮", "已更换灯具，恢复照明"),
    ("elderly_care", "独居老人刘敬州家中需要打扫整理", "社工与志愿者上门打扫卫生、整理客厅"),
    ("estate_rules", "小区内乱停车堵住消防通道", "业委会重新划定停车位并张贴公约"),
    ("neighbour_dispute", "楼上漏水影响楼下，两家协商不成", "村支两委组织双方调解，维修费用分担达成一致"),
    ("policy", "咨询搬迁安置房产证办理进度", "已答复办理流程与时间节点"),
]


def duty_roster(today: datetime) -> Iterator[tuple[str, str, str, tuple]]:
    """A cadre on duty every day, 08:00–20:00, for the coming two weeks."""
    start = today.astimezone(SHANGHAI).replace(hour=8, minute=0, second=0, microsecond=0)
    for day in range(14):
        person_id, name = DUTY[day % len(DUTY)]
        begins = start + timedelta(days=day)
        yield (f"值班 {begins:%m-%d} {name}", "tickets", "add_duty_shift",
               (DEMO_CENTER, {"person_id": person_id, "name": name, "starts_at": begins.isoformat(),
                              "ends_at": (begins + timedelta(hours=12)).isoformat()}))


def _handled_ticket(index: int, rating: str) -> Callable[[Callable], None]:
    category, description, answer = HISTORY[index % len(HISTORY)]

    def run_one(call: Callable[[str, str, tuple], Any]) -> None:
        ticket = call("tickets", "create_ticket", (DEMO_CENTER, {
            "category": category, "description": description, "channel": "walk_in"}))
        call("tickets", "transition_ticket", (DEMO_CENTER, ticket["id"], "acknowledge", {}))
        call("tickets", "transition_ticket", (DEMO_CENTER, ticket["id"], "resolve", {"answer": answer}))
        call("tickets", "transition_ticket", (DEMO_CENTER, ticket["id"], "rate",
                                              {"rating": rating, "via": "phone"}))
        if rating == "dissatisfied":  # re-handled after the return visit, then satisfied
            call("tickets", "transition_ticket", (DEMO_CENTER, ticket["id"], "resolve",
                                                  {"answer": answer + "（复查后再次处理）"}))
    return run_one


def _open_tickets(call: Callable[[str, str, tuple], Any]) -> None:
    """Today's board: a few issues in every state, one on the joint meeting's agenda."""
    def new(category: str, text: str) -> str:
        return call("tickets", "create_ticket", (DEMO_CENTER, {
            "category": category, "description": text, "channel": "hotline"}))["id"]

    new("repairs", "东村社区2号楼电梯异响")
    acked = new("sanitation", "菜市场门口污水外溢")
    call("tickets", "transition_ticket", (DEMO_CENTER, acked, "acknowledge", {}))
    escalated = new("estate_rules", "新建小区停车位不足，居民要求增设停车场")
    call("tickets", "transition_ticket", (DEMO_CENTER, escalated, "acknowledge", {}))
    call("tickets", "transition_ticket", (DEMO_CENTER, escalated, "escalate", {
        "reason": "涉及物业、业委会与村支两委，需党建联席会共同商议"}))


def tickets_history(today: datetime) -> Iterator[tuple[str, str, Callable, tuple]]:
    """Handled and rated issues (the 98.5% satisfaction) and today's open ones."""
    for i, rating in enumerate(HISTORY_RATINGS):
        yield f"历史诉求 {i + 1}", "tickets", _handled_ticket(i, rating), ()
    yield "今日诉求", "tickets", _open_tickets, ()


def events_steps(today: datetime) -> Iterator[tuple[str, str, str, tuple]]:
    for r in ROOMS:
        yield f"功能室 {r['name']}", "events", "add_room", (DEMO_CENTER, r)
    for p in PROGRAMMES:
        yield f"项目 {p['name']}", "events", "add_programme", (DEMO_CENTER, p)


def notify_steps(today: datetime) -> Iterator[tuple[str, str, str, tuple]]:
    for s in STAFF:
        yield f"工作人员 {s['name']}", "notify", "upsert_contact", (DEMO_CENTER, s)


def volunteers_steps(today: datetime) -> Iterator[tuple[str, str, str, tuple]]:
    for v in VOLUNTEERS:
        yield f"志愿者 {v['name']}", "volunteers", "register_volunteer", (DEMO_CENTER, v)


def new_center_steps(today: datetime) -> Iterator[tuple[str, str, str, tuple]]:
    """Data without a natural key (activities ...): added only when the center is new."""
    for activity in activities(today):
        yield f"活动 {activity['title']}", "events", "create_activity", (DEMO_CENTER, activity)
    history = activity_history(today)
    yield (f"活动记录 过去一年 {len(history)} 场", "events", "record_activities",
           (DEMO_CENTER, {"items": history}))
    for label, room, booking in room_bookings(today):
        yield f"功能室预约 {label}", "events", "book_room", (DEMO_CENTER, room, booking)


def steps(today: datetime) -> list[tuple[str, str, str, tuple]]:
    """Every idempotent step, the center first."""
    return [*tickets_steps(today), *events_steps(today), *notify_steps(today),
            *volunteers_steps(today)]


def run(call: Callable[[str, str, tuple], Any], *, today: datetime,
        progress: Callable[[list], Iterator] = iter) -> dict[str, int]:
    """Apply the seed through ``call(service, method, args)``; returns counts created/skipped.

    ``progress`` wraps the plan (e.g. a tqdm bar); items are (label, service, method, args),
    where ``method`` may be a function of ``call`` making several calls (a scenario).
    """
    from lianxin.errors import Conflict

    created = skipped = 0
    center_new = True
    base = steps(today)
    plan = base + list(duty_roster(today)) + list(new_center_steps(today)) + \
        list(tickets_history(today))
    for index, (_label, service, method, args) in enumerate(progress(plan)):
        if index >= len(base) and not center_new:
            skipped += 1
            continue
        try:
            if callable(method):  # a scenario that makes several calls
                method(call)
            else:
                call(service, method, args)
            created += 1
        except Conflict:
            skipped += 1
            if method == "create_center":
                center_new = False
    return {"created": created, "skipped": skipped}
