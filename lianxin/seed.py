"""Demo data: the Yanming Lake town center (雁鸣湖镇镇区社区党群服务中心) from the news report.

Everything goes through the services' RPC interfaces, as a real client would,
so the seed also exercises validation, events and the outbox. Running it twice
changes nothing: what exists already is reported and skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from lianxin.clock import SHANGHAI

DEMO_CENTER = "yanminghu"

CENTER = {
    "id": DEMO_CENTER,
    "name": "雁鸣湖镇镇区社区党群服务中心",
    "address": "河南省郑州市中牟县雁鸣湖镇东村社区",
    "opening_hours": "周一至周日 8:30–12:00，14:30–18:00",
}

# Issue categories, each routed to one of the four parties (物业/社工/业委会/村支两委).
CATEGORIES = [
    {
        "code": "sanitation",
        "name": "环境卫生",
        "party": "property",
        "resolve_hours": 24,
        "description": "垃圾清运、楼道卫生、绿化养护",
        "keywords": ["垃圾", "卫生", "绿化"],
        "attributes": [
            {
                "code": "building",
                "description": "楼栋号",
                "datatype": "string",
                "required": False,
                "order": 1,
            }
        ],
    },
    {
        "code": "repairs",
        "name": "公共设施维修",
        "party": "property",
        "resolve_hours": 48,
        "description": "路灯、电梯、供水管网等公共设施",
        "keywords": ["路灯", "电梯", "漏水"],
        "attributes": [
            {
                "code": "facility",
                "description": "设施类型",
                "datatype": "singlevaluelist",
                "required": True,
                "order": 1,
                "values": [
                    {"key": "light", "name": "路灯"},
                    {"key": "lift", "name": "电梯"},
                    {"key": "water", "name": "供水"},
                    {"key": "other", "name": "其他"},
                ],
            }
        ],
    },
    {
        "code": "security",
        "name": "小区安全",
        "party": "property",
        "resolve_hours": 24,
        "description": "门禁、消防通道、安全隐患",
        "keywords": ["门禁", "消防"],
    },
    {
        "code": "elderly_care",
        "name": "独居老人帮扶",
        "party": "social_work",
        "resolve_hours": 48,
        "description": "生活照料、精神慰藉、健康维护",
        "keywords": ["老人", "独居"],
    },
    {
        "code": "family_support",
        "name": "困难家庭帮扶",
        "party": "social_work",
        "resolve_hours": 72,
        "description": "孤寡老人、残疾人、困难家庭的实际困难",
        "keywords": ["困难", "残疾"],
    },
    {
        "code": "estate_rules",
        "name": "小区公约与停车",
        "party": "owners_committee",
        "resolve_hours": 120,
        "description": "停车秩序、小区公约、公共收益",
        "keywords": ["停车", "公约"],
    },
    {
        "code": "neighbour_dispute",
        "name": "邻里纠纷",
        "party": "village_committee",
        "resolve_hours": 72,
        "description": "邻里矛盾调解",
        "keywords": ["纠纷", "调解"],
    },
    {
        "code": "policy",
        "name": "政策咨询",
        "party": "village_committee",
        "resolve_hours": 48,
        "description": "搬迁安置、社保、民政等政策",
        "keywords": ["政策", "社保"],
    },
]

# The 1,200 m² building's 12 function rooms (the report names the first four).
ROOMS = [
    {"code": "party_room", "name": "党建活动室", "capacity": 60, "equipment": ["投影仪", "音响"]},
    {"code": "daycare", "name": "日间托老室", "capacity": 30, "equipment": ["休息床", "血压计"]},
    {"code": "sports", "name": "文体活动室", "capacity": 80, "equipment": ["音响", "乒乓球台"]},
    {"code": "e_reading", "name": "电子阅览室", "capacity": 24, "equipment": ["电脑"]},
    {
        "code": "meeting",
        "name": "多功能会议室",
        "capacity": 40,
        "equipment": ["投影仪"],
        "needs_approval": True,
    },
    {"code": "social_work", "name": "社工服务站", "capacity": 12, "equipment": []},
    {"code": "volunteer_station", "name": "学雷锋志愿服务站", "capacity": 20, "equipment": []},
    {"code": "civility", "name": "新时代文明实践站", "capacity": 50, "equipment": ["投影仪"]},
    {"code": "children", "name": "儿童之家", "capacity": 30, "equipment": ["绘本", "手工材料"]},
    {"code": "rehab", "name": "康复理疗室", "capacity": 10, "equipment": ["理疗床"]},
    {"code": "calligraphy", "name": "书画室", "capacity": 20, "equipment": ["书画桌"]},
    {"code": "dance", "name": "舞蹈排练室", "capacity": 40, "equipment": ["镜墙", "音响"]},
]

PROGRAMMES = [
    {
        "code": "yilu_growth",
        "name": "益路成长——志愿者增能计划",
        "audience": "all",
        "description": "以学雷锋志愿服务站和新时代文明实践站为依托，对社区志愿者开展学习培训、交流分享。",
    },
    {
        "code": "beautiful_yanming",
        "name": "美丽雁鸣使者——青少年自然之旅",
        "audience": "children",
        "description": "参观交流、亲子互动、文化体验：雁鸣湖探索之旅、变废为宝、垃圾分类回收。",
    },
    {
        "code": "yuedong_elderly",
        "name": "悦动耄耋——老年人康乐服务",
        "audience": "elderly",
        "description": "为农村社区老人开展健康服务、娱乐休闲服务，一年累计服务 14700 余人次。",
    },
    {
        "code": "our_festivals",
        "name": "我们的节日——社区文化营造",
        "audience": "families",
        "description": "以节日活动为抓手，促进居民参与社区治理。",
    },
]

#: The cadres who take turns on duty in the village committee office (干部每天在村委值班):
#: each is in notify's directory, so whoever the roster names can be reached.
DUTY_CADRES = [
    {
        "person_id": "staff-duty-1",
        "name": "李卫东",
        "role": "staff",
        "phone": "13800000001",
        "email": "duty@yanminghu.example.cn",
        "wechat_openid": "oLXduty0000000001",
    },
    {
        "person_id": "staff-duty-2",
        "name": "马丽娟",
        "role": "staff",
        "phone": "13800000002",
        "wechat_openid": "oLXduty0000000002",
    },
    {
        "person_id": "staff-duty-3",
        "name": "高建军",
        "role": "staff",
        "phone": "13800000003",
    },
]

# Staff of the center: the cadres on duty, the social workers (专业社工 6 名), the admin.
STAFF = [
    *DUTY_CADRES,
    {
        "person_id": "sw-1",
        "name": "赵晓雯",
        "role": "staff",
        "party": "social_work",
        "phone": "13800000011",
        "email": "zhaoxiaowen@yanminghu.example.cn",
    },
    {
        "person_id": "sw-2",
        "name": "陈静",
        "role": "staff",
        "party": "social_work",
        "phone": "13800000012",
    },
    {
        "person_id": "sw-3",
        "name": "周鹏",
        "role": "staff",
        "party": "social_work",
        "phone": "13800000013",
    },
    # The other three of the four parties (四方联动), each with a handler who receives dispatches.
    {
        "person_id": "wy-1",
        "name": "刘经理",
        "role": "staff",
        "party": "property",
        "phone": "13800000021",
        "email": "service@jinpai-wuye.example.cn",
    },
    {
        "person_id": "yw-1",
        "name": "孙建国",
        "role": "staff",
        "party": "owners_committee",
        "phone": "13800000031",
    },
    {
        "person_id": "cw-1",
        "name": "孙迎彬",
        "role": "staff",
        "party": "village_committee",
        "phone": "13800000041",
    },
    {
        "person_id": "admin-1",
        "name": "王主任",
        "role": "admin",
        "phone": "13800000099",
        "email": "admin@yanminghu.example.cn",
    },
]

# The center's volunteers: party members and residents (社区党员发挥模范带头作用).
VOLUNTEERS: list[dict[str, Any]] = [
    {
        "name": "张志强",
        "skills": ["cleaning", "life_care"],
        "party_member": True,
        "person_id": "vol-1",
        "availability": [
            {"weekday": 2, "start": "08:00", "end": "12:00"},
            {"weekday": 6, "start": "08:00", "end": "17:00"},
        ],
        "note": "党员志愿者骨干，参加过益路成长参观交流",
    },
    {
        "name": "刘慧",
        "skills": ["emotional_support", "health"],
        "party_member": False,
        "person_id": "vol-2",
        "availability": [{"weekday": 4, "start": "14:00", "end": "18:00"}],
    },
    {
        "name": "孙晓光",
        "skills": ["escort", "first_aid"],
        "party_member": True,
        "person_id": "vol-3",
        "availability": [
            {"weekday": 1, "start": "08:00", "end": "12:00"},
            {"weekday": 7, "start": "08:00", "end": "12:00"},
        ],
    },
    {
        "name": "马丽",
        "skills": ["children", "activity"],
        "party_member": False,
        "person_id": "vol-4",
    },
    {
        "name": "郑红",
        "skills": ["activity", "life_care"],
        "party_member": True,
        "person_id": "vol-5",
    },
    {
        "name": "李建华",
        "skills": ["cleaning", "life_care"],
        "party_member": True,
        "person_id": "vol-6",
    },
    {
        "name": "王秀梅",
        "skills": ["emotional_support", "life_care"],
        "party_member": False,
        "person_id": "vol-7",
    },
    {"name": "赵磊", "skills": ["escort", "cleaning"], "party_member": False, "person_id": "vol-8"},
    {
        "name": "陈晓燕",
        "skills": ["health", "first_aid"],
        "party_member": True,
        "person_id": "vol-9",
    },
    {
        "name": "杨帆",
        "skills": ["children", "activity"],
        "party_member": False,
        "person_id": "vol-10",
    },
    {
        "name": "黄海燕",
        "skills": ["emotional_support", "activity"],
        "party_member": False,
        "person_id": "vol-11",
    },
    {
        "name": "周国庆",
        "skills": ["cleaning", "escort"],
        "party_member": True,
        "person_id": "vol-12",
    },
    {
        "name": "吴桂兰",
        "skills": ["life_care", "emotional_support"],
        "party_member": False,
        "person_id": "vol-13",
    },
    {
        "name": "徐文博",
        "skills": ["children", "first_aid"],
        "party_member": False,
        "person_id": "vol-14",
    },
    {
        "name": "朱丽娟",
        "skills": ["health", "life_care"],
        "party_member": True,
        "person_id": "vol-15",
    },
    {
        "name": "胡志刚",
        "skills": ["cleaning", "activity"],
        "party_member": False,
        "person_id": "vol-16",
    },
    {
        "name": "郭敏",
        "skills": ["emotional_support", "children"],
        "party_member": False,
        "person_id": "vol-17",
    },
    {
        "name": "何雪",
        "skills": ["health", "activity"],
        "party_member": False,
        "person_id": "vol-18",
    },
    {
        "name": "高振东",
        "skills": ["escort", "life_care"],
        "party_member": True,
        "person_id": "vol-19",
    },
    {
        "name": "林小雨",
        "skills": ["children", "emotional_support"],
        "party_member": False,
        "person_id": "vol-20",
    },
]
#: Volunteers' phones go to notify's directory (the only owner of contact data).
VOLUNTEER_PHONES = {v["person_id"]: f"1390000{i + 1:04d}" for i, v in enumerate(VOLUNTEERS)}

_COMMUNITIES = ("雁鸣湖镇东村社区", "雁鸣湖镇太平庄社区", "雁鸣湖镇东漳社区")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林郑"
_GIVEN = (
    "桂兰",
    "秀英",
    "玉梅",
    "凤英",
    "淑珍",
    "桂芝",
    "建国",
    "德胜",
    "守义",
    "长顺",
    "金花",
    "春生",
    "秀兰",
    "玉兰",
    "国强",
    "文明",
    "有才",
    "桂英",
    "凤兰",
    "振华",
    "保全",
    "素珍",
    "庆丰",
    "翠花",
)
_CATEGORY_CYCLE = ("elderly_alone",) * 4 + ("disabled", "family_difficulty")
_CARE = {
    "elderly_alone": ["life_care", "emotional_support"],
    "disabled": ["life_care", "health"],
    "family_difficulty": ["emotional_support"],
}
_TASKS = {
    "elderly_alone": ["打扫卫生", "整理房间", "陪同聊天"],
    "disabled": ["康复陪护", "代购生活用品"],
    "family_difficulty": ["政策咨询", "学业辅导"],
}

# The beneficiary register (帮扶对象) named in the report, then the rest of the 120余 served.
BENEFICIARIES: list[dict[str, Any]] = [
    {
        "file_no": "YM-001",
        "name": "刘敬州",
        "category": "elderly_alone",
        "gender": "male",
        "birth_year": 1944,
        "care_needs": ["life_care", "emotional_support"],
        "address": "雁鸣湖镇东村社区 6 号楼 1 单元 101 室",
        "guardian": {"name": "刘建军", "relation": "儿子（在外务工）"},
        "notes": "82 岁独居老人。志愿者上门打扫卫生、整理客厅、收拾杂物、赠送绿植后，生活态度积极乐观，"
        "已成为党群服务中心活动的常客。",
    },
    {
        "file_no": "YM-002",
        "name": "王素芳",
        "category": "elderly_alone",
        "gender": "female",
        "birth_year": 1947,
        "care_needs": ["emotional_support", "health"],
        "address": "雁鸣湖镇东村社区 2 号楼 3 单元 202 室",
        "guardian": {"name": "王振华", "relation": "侄子"},
        "notes": "搬迁安置后独自居住，喜欢唱老歌；需定期探访、测量血压。",
    },
    *(
        {
            "file_no": f"YM-{i + 1:03d}",
            "name": _SURNAMES[i % 20] + _GIVEN[(i // 20 * 5 + i % 20) % 24],
            "category": _CATEGORY_CYCLE[i % 6],
            "care_needs": _CARE[_CATEGORY_CYCLE[i % 6]],
            "birth_year": None if i % 6 == 5 else (1935 + i % 25 if i % 6 < 4 else 1960 + i % 30),
            "address": f"{_COMMUNITIES[i % 3]} {i % 12 + 1} 号楼 {i % 3 + 1} 单元 "
            f"{100 * (i % 6 + 1) + i % 4 + 1} 室",
        }
        for i in range(2, 122)
    ),
]


def service_ledger(today: datetime) -> list[dict[str, Any]]:
    """The paper service ledger behind the report's figures: 122 visits to 122 people (服务120余
    人次), 245 volunteer attendances (参与服务245人次), 500 verified hours (累计500小时)."""
    backbone = (0, 0, 1, 2, 4)  # 张志强 twice as often as the other backbone volunteers
    visits, slot = [], 0
    for i, person in enumerate(BENEFICIARIES):
        people = [backbone[i % 5], 5 + (i * 7) % 15] + ([3] if i == 0 else [])
        team = []
        for index in people:
            # Mostly two-hour visits; every twelfth attendance ran half an hour longer.
            hours = 2.5 if slot % 12 == 0 and slot < 240 else 2.0
            team.append({"volunteer_id": VOLUNTEERS[index]["person_id"], "hours": hours})
            slot += 1
        day = (today - timedelta(days=3 + (i * 3) // 2)).astimezone(SHANGHAI)
        tasks = (
            ["打扫卫生", "整理客厅", "收拾杂物", "赠送绿植"]
            if i == 0
            else _TASKS[person["category"]]
        )
        visits.append(
            {
                "ref": f"ledger-{i + 1:03d}",
                "beneficiary_id": person["file_no"],
                "visited_at": day.replace(
                    hour=9 if i % 2 else 15, minute=0, second=0, microsecond=0
                ).isoformat(),
                "volunteers": team,
                "tasks": tasks,
                "care_types": person["care_needs"],
                "notes": "帮困扶弱同创幸福生活 邻里守望共建和谐家园",
            }
        )
    return visits


def trainings(today: datetime) -> list[dict[str, Any]]:
    """益路成长: the exchange visit of 11月29日 and a first-aid course."""
    local = today.astimezone(SHANGHAI).date()
    visit_year = local.year if (local.month, local.day) >= (11, 29) else local.year - 1
    backbone = [v["person_id"] for v in VOLUNTEERS if v["party_member"]][:6]
    return [
        {
            "ref": f"yilu-exchange-{visit_year}",
            "kind": "exchange_visit",
            "title": "“同携手 创未来”党员志愿者及志愿者骨干参观交流",
            "programme": "yilu_growth",
            "occurred_on": f"{visit_year}-11-29",
            "hours": 6,
            "places": ["凤凰台街道党群服务中心", "银莺社区党群服务中心", "南刘庄社区党群服务中心"],
            "note": "就社区志愿者队伍组建、培育、激励等方面相互交流，取长补短。",
            "volunteer_ids": backbone,
        },
        {
            "ref": "yilu-course-first-aid",
            "kind": "course",
            "title": "急救知识与居家安全培训",
            "programme": "yilu_growth",
            "hours": 3,
            "occurred_on": (local - timedelta(days=20)).isoformat(),
            "places": ["学雷锋志愿服务站"],
            "volunteer_ids": [v["person_id"] for v in VOLUNTEERS[:12]],
        },
    ]


def shifts(today: datetime) -> list[dict[str, Any]]:
    """Next week's service tasks, each with a natural key (ref)."""

    def at(days: int, hour: int, minute: int = 0) -> str:
        day = (today + timedelta(days=days)).astimezone(SHANGHAI)
        return day.replace(hour=hour, minute=minute, second=0, microsecond=0).isoformat()

    return [
        {
            "ref": "demo-liu-cleaning",
            "title": "独居老人刘敬州家打扫卫生",
            "kind": "cleaning",
            "starts_at": at(3, 9),
            "ends_at": at(3, 11),
            "beneficiary_id": "YM-001",
            "place": "雁鸣湖镇东村社区 6 号楼 1 单元 101 室",
            "capacity": 3,
            "required_skills": ["cleaning"],
            "tasks": ["打扫卫生", "整理客厅", "收拾杂物", "赠送绿植"],
            "description": "社工志愿者协同行动，帮老人打扫整理，带一盆绿植。",
        },
        {
            "ref": "demo-wang-visit",
            "title": "探访王素芳老人",
            "kind": "visit",
            "starts_at": at(4, 15),
            "ends_at": at(4, 16, 30),
            "beneficiary_id": "YM-002",
            "place": "雁鸣湖镇东村社区 2 号楼 3 单元 202 室",
            "capacity": 2,
            "required_skills": ["emotional_support"],
            "tasks": ["陪同聊天", "测量血压"],
            "description": "精神慰藉与健康维护：陪老人聊天唱歌，测量血压并记录。",
        },
        {
            "ref": "demo-escort-clinic",
            "title": "陪同独居老人到镇卫生院体检",
            "kind": "escort",
            "starts_at": at(6, 8, 30),
            "ends_at": at(6, 11),
            "beneficiary_id": "YM-003",
            "place": "雁鸣湖镇卫生院",
            "capacity": 1,
            "required_skills": ["escort"],
            "tasks": ["陪同就医", "取报告"],
        },
        {
            "ref": "demo-activity-helpers",
            "title": "“趣味益智 健康生活”老年活动协助",
            "kind": "activity",
            "starts_at": at(2, 9),
            "ends_at": at(2, 11, 30),
            "place": "文体活动室",
            "capacity": 6,
            "required_skills": ["activity"],
            "programme": "yuedong_elderly",
            "tasks": ["布置场地", "引导签到", "游戏协助"],
        },
    ]


#: Who has signed up for next week's shifts already (shift ref, person id).
SIGNUPS = [
    ("demo-liu-cleaning", "vol-1"),
    ("demo-liu-cleaning", "vol-6"),
    ("demo-wang-visit", "vol-2"),
    ("demo-escort-clinic", "vol-3"),
    ("demo-activity-helpers", "vol-4"),
    ("demo-activity-helpers", "vol-5"),
]


def activities(today: datetime) -> list[dict[str, Any]]:
    """Next week's activities, after the ones in the report."""

    def at(days: int, hour: int, minute: int = 0) -> str:
        day = (today + timedelta(days=days)).astimezone(SHANGHAI)
        return day.replace(hour=hour, minute=minute, second=0, microsecond=0).isoformat()

    return [
        {
            "title": "趣味益智 健康生活",
            "programme": "yuedong_elderly",
            "audience": "elderly",
            "starts_at": at(2, 9, 30),
            "ends_at": at(2, 11),
            "room": "sports",
            "capacity": 60,
            "max_party_size": 2,
            "description": "反口令动作、翻花绳等益智游戏，帮助老年人动脑益智。",
        },
        {
            "title": "绿色手工坊 环保小花盆",
            "programme": "beautiful_yanming",
            "audience": "children",
            "starts_at": at(3, 15),
            "ends_at": at(3, 16, 30),
            "room": "children",
            "capacity": 30,
            "max_party_size": 3,
            "registration_closes_at": at(3, 12),
            "description": "亲子 DIY：用废旧塑料瓶制作花盆，变废为宝，倡导绿色生活。请家长陪同孩子参加。",
        },
        {
            "title": "同携手 创未来——志愿者骨干参观交流",
            "programme": "yilu_growth",
            "audience": "all",
            "starts_at": at(5, 8, 30),
            "ends_at": at(5, 17),
            "place": "凤凰台街道、银莺社区、南刘庄社区党群服务中心",
            "capacity": 25,
            "max_party_size": 1,
            "needs_approval": True,
            "registration_closes_at": at(4, 12),
            "description": "参观兄弟社区党群服务中心，交流志愿者队伍组建、培育、激励经验。统一乘车，报名须经社工审核。",
        },
        {
            "title": "我们的节日·迎新春 写福字 送春联",
            "programme": "our_festivals",
            "audience": "families",
            "starts_at": at(9, 9),
            "ends_at": at(9, 11, 30),
            "room": "calligraphy",
            "capacity": 20,
            "max_party_size": 3,
            "description": "社区书法爱好者现场书写春联、福字，居民携家人一起体验传统年俗。",
        },
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
            history.append(
                {
                    "title": title,
                    "programme": "yuedong_elderly",
                    "audience": "elderly",
                    "starts_at": starts.isoformat(),
                    "ends_at": (starts + timedelta(hours=1, minutes=30)).isoformat(),
                    "room": room,
                    "attendance": people,
                }
            )

    def last(month: int, day: int, hour: int) -> datetime:
        year = (
            local_today.year
            if (month, day) < (local_today.month, local_today.day)
            else local_today.year - 1
        )
        return datetime(year, month, day, hour, tzinfo=SHANGHAI)

    workshop, gala = last(7, 19, 15), last(9, 28, 19)
    history += [
        {
            "title": "绿色手工坊 环保小花盆",
            "programme": "beautiful_yanming",
            "audience": "children",
            "starts_at": workshop.isoformat(),
            "ends_at": (workshop + timedelta(hours=2)).isoformat(),
            "room": "children",
            "attendance": 28,
            "description": "以“创建卫生镇，绿色环保”为主题，DIY 废旧塑料瓶制作花盆。",
        },
        {
            "title": "“壮丽70年 奋进新时代”主题国庆晚会",
            "programme": "our_festivals",
            "audience": "families",
            "starts_at": gala.isoformat(),
            "ends_at": (gala + timedelta(hours=2)).isoformat(),
            "place": "东村社区文化广场",
            "attendance": 320,
            "description": "东村社区党支部联合党群服务中心举办：老照片视频、儿童节目《武动梦想》《我是小水兵》、诗朗诵、手语舞。",
        },
    ]
    return sorted(history, key=lambda item: item["starts_at"])


def room_bookings(today: datetime) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, room, booking): the rooms' regular uses other than activities."""

    def next_weekday(weekday: int, hour: int, minute: int = 0) -> datetime:
        day = today.astimezone(SHANGHAI).date() + timedelta(days=1)
        day += timedelta(days=(weekday - day.weekday()) % 7)
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)

    def slot(start: datetime, hours: float, purpose: str, **extra: Any) -> dict[str, Any]:
        return {
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=hours)).isoformat(),
            "purpose": purpose,
            **extra,
        }

    return [
        (
            "社区舞蹈队排练（每周二，12 周）",
            "dance",
            slot(next_weekday(1, 19), 2, "社区舞蹈队排练", attendees=25, repeat_weeks=12),
        ),
        (
            "社区舞蹈队排练（每周四，12 周）",
            "dance",
            slot(next_weekday(3, 19), 2, "社区舞蹈队排练", attendees=25, repeat_weeks=12),
        ),
        (
            "党建联席会",
            "party_room",
            slot(
                next_weekday(4, 14, 30),
                2,
                "党建联席会（物业、社工、业委会、村支两委）",
                attendees=30,
            ),
        ),
        (
            "电子阅览室 青少年课后阅读（每周三，8 周）",
            "e_reading",
            slot(next_weekday(2, 16, 30), 1.5, "青少年课后阅读", attendees=20, repeat_weeks=8),
        ),
    ]


# One generator per service, so each service's demo data is kept in one place.
# Each yields (label, service, method, args) for the RPCs the seed makes.


def tickets_steps(today: datetime) -> Iterator[tuple[str, str, str, tuple]]:
    yield "服务中心", "tickets", "create_center", (CENTER,)
    for c in CATEGORIES:
        yield f"诉求类别 {c['name']}", "tickets", "add_category", (DEMO_CENTER, c)


#: Who the roster puts on duty, in turn: the duty cadres, as the directory knows them.
DUTY = [(cadre["person_id"], cadre["name"]) for cadre in DUTY_CADRES]

#: Return visits behind the report's figure: 满意度由 80% 上升至 98.5% (131 + 66 of 200).
HISTORY_RATINGS = ["satisfied"] * 131 + ["basically_satisfied"] * 66 + ["dissatisfied"] * 3

HISTORY: list[tuple[Any, ...]] = [
    ("sanitation", "东村社区3号楼门口垃圾两天没人清运", "已安排保洁当天清运，并增加巡查频次"),
    ("repairs", "太平庄社区5号楼路灯不亮", "已更换灯具，恢复照明", {"facility": "light"}),
    ("elderly_care", "独居老人刘敬州家中需要打扫整理", "社工与志愿者上门打扫卫生、整理客厅"),
    ("estate_rules", "小区内乱停车堵住消防通道", "业委会重新划定停车位并张贴公约"),
    (
        "neighbour_dispute",
        "楼上漏水影响楼下，两家协商不成",
        "村支两委组织双方调解，维修费用分担达成一致",
    ),
    ("policy", "咨询搬迁安置房产证办理进度", "已答复办理流程与时间节点"),
]


def duty_roster(today: datetime) -> Iterator[tuple[str, str, str, tuple]]:
    """A cadre on duty every day, 08:00–20:00, for the coming two weeks."""
    start = today.astimezone(SHANGHAI).replace(hour=8, minute=0, second=0, microsecond=0)
    for day in range(14):
        person_id, name = DUTY[day % len(DUTY)]
        begins = start + timedelta(days=day)
        yield (
            f"值班 {begins:%m-%d} {name}",
            "tickets",
            "add_duty_shift",
            (
                DEMO_CENTER,
                {
                    "person_id": person_id,
                    "name": name,
                    "starts_at": begins.isoformat(),
                    "ends_at": (begins + timedelta(hours=12)).isoformat(),
                },
            ),
        )


def _handled_ticket(index: int, rating: str) -> Callable[[Callable], None]:
    category, description, answer, *questions = HISTORY[index % len(HISTORY)]

    def run_one(call: Callable[[str, str, tuple], Any]) -> None:
        ticket = call(
            "tickets",
            "create_ticket",
            (
                DEMO_CENTER,
                {
                    "category": category,
                    "description": description,
                    "channel": "walk_in",
                    "attributes": questions[0] if questions else {},
                },
            ),
        )
        call("tickets", "acknowledge_ticket", (DEMO_CENTER, ticket["id"], {}))
        call("tickets", "resolve_ticket", (DEMO_CENTER, ticket["id"], {"answer": answer}))
        call(
            "tickets",
            "rate_ticket",
            (DEMO_CENTER, ticket["id"], {"rating": rating, "via": "phone"}),
        )
        if rating == "dissatisfied":  # re-handled after the return visit, then satisfied
            call(
                "tickets",
                "resolve_ticket",
                (DEMO_CENTER, ticket["id"], {"answer": answer + "（复查后再次处理）"}),
            )

    return run_one


def _open_tickets(call: Callable[[str, str, tuple], Any]) -> None:
    """Today's board: a few issues in every state, one on the joint meeting's agenda."""

    def new(category: str, text: str, **answers: str) -> str:
        return call(
            "tickets",
            "create_ticket",
            (
                DEMO_CENTER,
                {
                    "category": category,
                    "description": text,
                    "channel": "hotline",
                    "attributes": answers,
                },
            ),
        )["id"]

    new("repairs", "东村社区2号楼电梯异响", facility="lift")
    acked = new("sanitation", "菜市场门口污水外溢")
    call("tickets", "acknowledge_ticket", (DEMO_CENTER, acked, {}))
    escalated = new("estate_rules", "新建小区停车位不足，居民要求增设停车场")
    call("tickets", "acknowledge_ticket", (DEMO_CENTER, escalated, {}))
    call(
        "tickets",
        "escalate_ticket",
        (DEMO_CENTER, escalated, {"reason": "涉及物业、业委会与村支两委，需党建联席会共同商议"}),
    )


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
    # Volunteers are told of their sign-ups and reminded of their shifts: demo numbers only.
    for n, v in enumerate(VOLUNTEERS, start=1):
        contact = {
            "person_id": v["person_id"],
            "name": v["name"],
            "role": "volunteer",
            "phone": f"139000000{n:02d}",
            "wechat_openid": f"oLXvolunteer{n:05d}",
        }
        yield f"志愿者通讯录 {v['name']}", "notify", "upsert_contact", (DEMO_CENTER, contact)


def volunteers_steps(today: datetime) -> Iterator[tuple[str, str, str, tuple]]:
    """Volunteers (and their phones, in notify), the beneficiary register, training records,
    the service ledger behind the report's 500 h / 245 / 120余, and next week's shifts."""
    for v in VOLUNTEERS:
        yield f"志愿者 {v['name']}", "volunteers", "register_volunteer", (DEMO_CENTER, v)
        yield (
            f"志愿者联系方式 {v['name']}",
            "notify",
            "upsert_contact",
            (
                DEMO_CENTER,
                {
                    "person_id": v["person_id"],
                    "name": v["name"],
                    "role": "volunteer",
                    "phone": VOLUNTEER_PHONES[v["person_id"]],
                },
            ),
        )
    yield (
        f"帮扶对象名册 {len(BENEFICIARIES)} 人",
        "volunteers",
        "import_beneficiaries",
        (DEMO_CENTER, {"items": BENEFICIARIES}),
    )
    for t in trainings(today):
        yield f"培训记录 {t['title']}", "volunteers", "record_training", (DEMO_CENTER, t)
    ledger = service_ledger(today)
    yield (
        f"服务台账 {len(ledger)} 次",
        "volunteers",
        "import_visits",
        (DEMO_CENTER, {"items": ledger}),
    )
    for s in shifts(today):
        yield f"班次 {s['title']}", "volunteers", "publish_shift", (DEMO_CENTER, s)
    for ref, person_id in SIGNUPS:
        yield (
            f"报名 {ref} {person_id}",
            "volunteers",
            "sign_up",
            (DEMO_CENTER, ref, {"volunteer_id": person_id}),
        )


def new_center_steps(today: datetime) -> Iterator[tuple[str, str, str, tuple]]:
    """Data without a natural key (activities ...): added only when the center is new."""
    for activity in activities(today):
        yield f"活动 {activity['title']}", "events", "create_activity", (DEMO_CENTER, activity)
    history = activity_history(today)
    yield (
        f"活动记录 过去一年 {len(history)} 场",
        "events",
        "record_activities",
        (DEMO_CENTER, {"items": history}),
    )
    for label, room, booking in room_bookings(today):
        yield f"功能室预约 {label}", "events", "book_room", (DEMO_CENTER, room, booking)


def steps(today: datetime) -> list[tuple[str, str, str, tuple]]:
    """Every idempotent step, the center first."""
    return [
        *tickets_steps(today),
        *events_steps(today),
        *notify_steps(today),
        *volunteers_steps(today),
    ]


def run(
    call: Callable[[str, str, tuple], Any],
    *,
    today: datetime,
    progress: Callable[[list], Iterator] = iter,
) -> dict[str, int]:
    """Apply the seed through ``call(service, method, args)``; returns counts created/skipped.

    ``progress`` wraps the plan (e.g. a tqdm bar); items are (label, service, method, args),
    where ``method`` may be a function of ``call`` making several calls (a scenario).
    """
    from lianxin.errors import Conflict

    created = skipped = 0
    center_new = True
    base = steps(today)
    plan = (
        base
        + list(duty_roster(today))
        + list(new_center_steps(today))
        + list(tickets_history(today))
    )
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
