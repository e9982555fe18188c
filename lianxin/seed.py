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
    {"code": "sanitation", "name": "环境卫生", "party": "property", "resolve_hours": 24},
    {"code": "repairs", "name": "公共设施维修", "party": "property", "resolve_hours": 48},
    {"code": "security", "name": "小区安全", "party": "property", "resolve_hours": 24},
    {"code": "elderly_care", "name": "独居老人帮扶", "party": "social_work", "resolve_hours": 48},
    {"code": "family_support", "name": "困难家庭帮扶", "party": "social_work", "resolve_hours": 72},
    {"code": "estate_rules", "name": "小区公约与停车", "party": "owners_committee", "resolve_hours": 120},
    {"code": "neighbour_dispute", "name": "邻里纠纷", "party": "village_committee", "resolve_hours": 72},
    {"code": "policy", "name": "政策咨询", "party": "village_committee", "resolve_hours": 48},
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
         "description": "反口令动作、翻花绳等益智游戏，帮助老年人动脑益智。"},
        {"title": "绿色手工坊 环保小花盆", "programme": "beautiful_yanming", "audience": "children",
         "starts_at": at(3, 15), "ends_at": at(3, 16, 30), "room": "children", "capacity": 30,
         "description": "用废旧塑料瓶 DIY 花盆，倡导绿色生活。"},
        {"title": "同携手 创未来——志愿者骨干参观交流", "programme": "yilu_growth", "audience": "all",
         "starts_at": at(5, 8, 30), "ends_at": at(5, 17), "place": "凤凰台街道、银莺社区、南刘庄社区党群服务中心",
         "capacity": 25, "description": "参观兄弟社区党群服务中心，交流志愿者队伍组建、培育、激励经验。"},
    ]


# One generator per service, so each service's demo data is kept in one place.
# Each yields (label, service, method, args) for the RPCs the seed makes.

def tickets_steps(today: datetime) -> Iterator[tuple[str, str, str, tuple]]:
    yield "服务中心", "tickets", "create_center", (CENTER,)
    for c in CATEGORIES:
        yield f"诉求类别 {c['name']}", "tickets", "add_category", (DEMO_CENTER, c)


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


def steps(today: datetime) -> list[tuple[str, str, str, tuple]]:
    """Every idempotent step, the center first."""
    return [*tickets_steps(today), *events_steps(today), *notify_steps(today),
            *volunteers_steps(today)]


def run(call: Callable[[str, str, tuple], Any], *, today: datetime,
        progress: Callable[[list], Iterator] = iter) -> dict[str, int]:
    """Apply the seed through ``call(service, method, args)``; returns counts created/skipped.

    ``progress`` wraps the plan (e.g. a tqdm bar); items are (label, service, method, args).
    """
    from lianxin.errors import Conflict

    created = skipped = 0
    center_new = True
    base = steps(today)
    plan = base + list(new_center_steps(today))
    for index, (_label, service, method, args) in enumerate(progress(plan)):
        if index >= len(base) and not center_new:
            skipped += 1
            continue
        try:
            call(service, method, args)
            created += 1
        except Conflict:
            skipped += 1
            if method == "create_center":
                center_new = False
    return {"created": created, "skipped": skipped}
