"""The report's tables as an Excel workbook (openpyxl), for the township office: one sheet
per table, Chinese headers, numbers as numbers (a rate in percent, one decimal)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

HEAD_FILL = PatternFill("solid", fgColor="F3E6E6")
HEAD_FONT = Font(bold=True)

TICKET_HEAD = ["受理", "办结", "超期", "退单", "提交联席会", "10分钟内签收", "10分钟签收率(%)"]
TICKET_KEYS = [
    "received",
    "resolved",
    "overdue",
    "returned",
    "escalated",
    "acknowledged_in_10_minutes",
    "acknowledged_in_10_minutes_rate",
]


def _sheet(book: Workbook, title: str, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(list(head))
    for cell in sheet[1]:
        cell.fill, cell.font = HEAD_FILL, HEAD_FONT
        cell.alignment = Alignment(horizontal="center")
    for row in rows:
        sheet.append(list(row))
    for index, name in enumerate(head, start=1):
        longest = max([len(str(name)), *(len(str(r[index - 1])) for r in rows)] or [4])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, 4 + 1.8 * longest)
    sheet.freeze_panes = "A2"


def _ticket_rows(rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [[r["label"], *(r[k] for k in TICKET_KEYS)] for r in rows]


def _save(book: Workbook) -> bytes:
    del book[book.sheetnames[0]]  # the empty sheet a new workbook starts with
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def monthly(report: dict[str, Any]) -> bytes:
    """The monthly report's tables."""
    book = Workbook()
    tickets = report["tickets"]
    total = tickets["total"]
    vol = report["volunteers"]
    _sheet(
        book,
        "主要指标",
        ["指标", "数值"],
        [
            ["服务中心", report["center"]["name"]],
            ["月份", report["month"]],
            ["受理诉求（件）", total["received"]],
            ["办结（件）", total["resolved"]],
            ["超期（件）", total["overdue"]],
            ["退单（次）", total["returned"]],
            ["提交联席会（次）", total["escalated"]],
            ["10分钟签收率(%)", total["acknowledged_in_10_minutes_rate"]],
            ["群众满意率(%)", report["satisfaction"]],
            ["志愿服务时长（小时）", vol["verified_hours"]],
            ["参与服务人次", vol["participations"]],
            ["服务对象人数", vol["beneficiaries_served"]],
            ["入户服务人次", vol["service_person_times"]],
            ["活动场次", report["activities_by_programme"]["activities"]],
            ["活动参与人次", report["activities_by_programme"]["person_times"]],
        ],
    )
    _sheet(
        book,
        "诉求-按责任单位",
        ["责任单位", *TICKET_HEAD],
        _ticket_rows([*tickets["by_party"], total]),
    )
    _sheet(book, "诉求-按类别", ["类别", *TICKET_HEAD], _ticket_rows(tickets["by_category"]))
    _sheet(
        book,
        "办结用时分布",
        ["用时", "件数"],
        [[b["label"], b["tickets"]] for b in tickets["resolve_time"]],
    )
    names = {r["key"]: r["label"] for r in tickets["by_party"]}
    _sheet(
        book,
        "满意度-按责任单位",
        ["责任单位", "评价数", "满意", "基本满意", "不满意", "满意率(%)"],
        [
            [
                names.get(r["key"], r["key"]),
                r["ratings"],
                r["satisfied"],
                r["basically_satisfied"],
                r["dissatisfied"],
                r["rate"],
            ]
            for r in report["satisfaction_by_party"]
        ],
    )
    _sheet(
        book,
        "满意度-近12个月",
        ["月份", "评价数", "满意率(%)"],
        [[p["month"], p["ratings"], p["rate"]] for p in report["satisfaction_trend"]],
    )
    meeting = report["meeting"] or {"items": []}
    _sheet(
        book,
        "联席会议程",
        ["工单编号", "诉求", "提交理由", "决定", "说明"],
        [
            [
                i["ticket_id"],
                (i.get("ticket") or {}).get("description", ""),
                i["reason"],
                i.get("decision") or "",
                i.get("decision_note") or "",
            ]
            for i in meeting["items"]
        ],
    )
    to_date = report["volunteers_to_date"]
    _sheet(
        book,
        "志愿服务",
        ["指标", "本月", "累计"],
        [
            [label, vol[key], to_date[key]]
            for label, key in (
                ("志愿服务时长（小时）", "verified_hours"),
                ("参与服务人次", "participations"),
                ("服务对象人数", "beneficiaries_served"),
                ("入户服务人次", "service_person_times"),
                ("参与服务的志愿者", "volunteers_active"),
                ("服务班次", "shifts_held"),
                ("缺席", "no_shows"),
                ("待审核时长（小时）", "pending_hours"),
            )
        ],
    )
    for title, stats in (
        ("活动-按项目", report["activities_by_programme"]),
        ("活动-按对象", report["activities_by_audience"]),
    ):
        _sheet(
            book,
            title,
            ["分组", "活动场次", "参与人次"],
            [[g["label"], g["activities"], g["person_times"]] for g in stats["groups"]],
        )
    _sheet(
        book,
        "功能室使用",
        ["功能室", "使用次数", "使用时长（小时）"],
        [[r["room_name"], r["bookings"], r["hours"]] for r in report["rooms"]],
    )
    return _save(book)


COUNTY_HEAD = [
    ("rank", "排名"),
    ("center_name", "服务中心"),
    ("received", "受理"),
    ("resolved", "办结"),
    ("overdue", "超期"),
    ("returned", "退单"),
    ("escalated", "提交联席会"),
    ("acknowledged_in_10_minutes_rate", "10分钟签收率(%)"),
    ("median_resolve_hours", "办结用时中位数(小时)"),
    ("ratings", "评价数"),
    ("satisfaction", "满意率(%)"),
    ("verified_hours", "志愿服务时长(小时)"),
    ("participations", "参与服务人次"),
    ("beneficiaries_served", "服务对象人数"),
    ("activities", "活动场次"),
    ("activity_person_times", "活动参与人次"),
]


def county(report: dict[str, Any]) -> bytes:
    """The county view: one row per center, ranked."""
    book = Workbook()
    _sheet(
        book,
        f"{report['month']} 各中心",
        [label for _key, label in COUNTY_HEAD],
        [[row[key] for key, _label in COUNTY_HEAD] for row in report["centers"]],
    )
    return _save(book)
