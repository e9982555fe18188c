"""The month's report as an A4 PDF in Chinese (reportlab platypus), its font embedded.

Laid out for the joint meeting's table: the headline figures first, then one section per
topic — tickets, satisfaction, the meeting's agenda and decisions, volunteer service,
activities and rooms — each a table and, where a shape says more than numbers, a chart.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from lianxin import fonts
from lianxin.clock import local, local_text
from services.reports import charts

RED = colors.HexColor("#B22222")
INK = colors.HexColor("#222222")
GREY = colors.HexColor("#777777")
HEAD_BG = colors.HexColor("#F3E6E6")
LINE = colors.HexColor("#D0C4C4")
#: The text width (A4 less 20 mm margins on each side).
TEXT_WIDTH = A4[0] - 40 * mm

DECISION_NAMES = {"resolved": "已办结", "assigned": "已派单", "carried_over": "转下月"}


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle(
        "base",
        fontName=font,
        bulletFontName=font,
        fontSize=9.5,
        leading=14,
        textColor=INK,
        wordWrap="CJK",
    )
    return {
        "base": base,
        "title": ParagraphStyle(
            "title", base, fontSize=20, leading=28, alignment=TA_CENTER, textColor=RED
        ),
        "subtitle": ParagraphStyle(
            "subtitle", base, fontSize=11, leading=16, alignment=TA_CENTER, textColor=GREY
        ),
        "h1": ParagraphStyle(
            "h1", base, fontSize=13, leading=20, spaceBefore=10, spaceAfter=4, textColor=RED
        ),
        "cell": ParagraphStyle("cell", base, fontSize=8.5, leading=12),
        "note": ParagraphStyle("note", base, fontSize=8, leading=12, textColor=GREY),
        "figure": ParagraphStyle(
            "figure", base, fontSize=15, leading=20, alignment=TA_CENTER, textColor=RED
        ),
        "caption": ParagraphStyle(
            "caption", base, fontSize=8, leading=11, alignment=TA_CENTER, textColor=GREY
        ),
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


def _num(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _table(
    rows: Sequence[Sequence[Any]], widths: Sequence[float], font: str, style: dict[str, Any]
) -> Table:
    """A table with a tinted header row; text cells become paragraphs (they wrap)."""
    cells = [
        [Paragraph(str(c), style["cell"]) if isinstance(c, str) else c for c in row] for row in rows
    ]
    table = Table(cells, colWidths=[w * TEXT_WIDTH for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 8.5),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _chart(png: bytes, height_in: float) -> Image:
    ratio = height_in / charts.WIDTH
    return Image(io.BytesIO(png), width=TEXT_WIDTH, height=TEXT_WIDTH * ratio)


def _headline(report: dict[str, Any], style: dict[str, Any]) -> Table:
    """The six figures the meeting asks first, large."""
    total = report["tickets"]["total"]
    vol = report["volunteers"]
    acts = report["activities_by_programme"]
    figures = [
        (str(total["received"]), "受理诉求（件）"),
        (f"{total['resolved']}", "办结（件）"),
        (_pct(total["acknowledged_in_10_minutes_rate"]), "10 分钟内签收"),
        (_pct(report["satisfaction"]), "群众满意率"),
        (_num(vol["verified_hours"]), "志愿服务（小时）"),
        (str(acts["person_times"]), "活动参与（人次）"),
    ]
    cells = [
        [Paragraph(v, style["figure"]) for v, _ in figures],
        [Paragraph(label, style["caption"]) for _, label in figures],
    ]
    table = Table(cells, colWidths=[TEXT_WIDTH / 6] * 6)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), style["base"].fontName, 9),
                ("BOX", (0, 0), (-1, -1), 0.6, LINE),
                ("TOPPADDING", (0, 0), (-1, 0), 8),
                ("BOTTOMPADDING", (0, 1), (-1, 1), 8),
            ]
        )
    )
    return table


def _tickets(report: dict[str, Any], font: str, style: dict[str, Any]) -> list[Any]:
    stats = report["tickets"]
    head = ["", "受理", "办结", "超期", "退单", "提交联席会", "10 分钟签收率"]

    def line(row: dict[str, Any]) -> list[Any]:
        return [
            row["label"],
            row["received"],
            row["resolved"],
            row["overdue"],
            row["returned"],
            row["escalated"],
            _pct(row["acknowledged_in_10_minutes_rate"]),
        ]

    widths = [0.28, 0.1, 0.1, 0.1, 0.1, 0.14, 0.18]
    party_rates = {r["key"]: r["rate"] for r in report["satisfaction_by_party"]}
    out: list[Any] = [
        Paragraph("二、群众诉求办理", style["h1"]),
        Paragraph("按四方责任单位", style["base"]),
        _table([head, *map(line, stats["by_party"]), line(stats["total"])], widths, font, style),
        Spacer(1, 4),
        _chart(charts.by_party(stats["by_party"], party_rates), 2.4),
    ]
    if stats["by_category"]:
        out += [
            Paragraph("按诉求类别", style["base"]),
            _table([["类别", *head[1:]], *map(line, stats["by_category"])], widths, font, style),
            Spacer(1, 4),
            _chart(
                charts.by_category(stats["by_category"]),
                0.35 + 0.22 * max(min(len(stats["by_category"]), 10), 3),
            ),
        ]
    median = stats["median_resolve_hours"]
    out += [
        KeepTogether(
            [
                Paragraph(
                    "办结用时分布" + (f"（中位数 {median:g} 小时）" if median is not None else ""),
                    style["base"],
                ),
                _chart(charts.resolve_time(stats["resolve_time"]), 1.9),
            ]
        )
    ]
    return out


def _satisfaction(report: dict[str, Any], font: str, style: dict[str, Any]) -> list[Any]:
    rows = [["责任单位", "评价数", "满意", "基本满意", "不满意", "满意率"]]
    names = {r["key"]: r["label"] for r in report["tickets"]["by_party"]}
    for r in report["satisfaction_by_party"]:
        rows.append(
            [
                names.get(r["key"], r["key"]),
                r["ratings"],
                r["satisfied"],
                r["basically_satisfied"],
                r["dissatisfied"],
                _pct(r["rate"]),
            ]
        )
    out: list[Any] = [
        Paragraph("三、群众满意度", style["h1"]),
        Paragraph(f"本月满意率 {_pct(report['satisfaction'])}；近 12 个月走势：", style["base"]),
        _chart(charts.satisfaction_trend(report["satisfaction_trend"]), 2.3),
    ]
    if len(rows) > 1:
        out.append(_table(rows, [0.3, 0.14, 0.14, 0.14, 0.14, 0.14], font, style))
    else:
        out.append(Paragraph("本月暂无回访评价。", style["note"]))
    return out


def _meeting(report: dict[str, Any], font: str, style: dict[str, Any]) -> list[Any]:
    out: list[Any] = [Paragraph("四、党建联席会议程与决定", style["h1"])]
    meeting = report["meeting"]
    if meeting is None:
        return [
            *out,
            Paragraph(report.get("meeting_note") or "本月没有联席会记录。", style["note"]),
        ]
    out.append(Paragraph(f"会议日期：{meeting['meeting_date']}", style["base"]))
    if not meeting["items"]:
        return [*out, Paragraph("本月议程暂无事项。", style["note"])]
    rows: list[list[Any]] = [["诉求", "提交理由", "决定", "说明"]]
    for item in meeting["items"]:
        ticket = item.get("ticket") or {}
        decision = DECISION_NAMES.get(item.get("decision") or "", "待决定")
        rows.append(
            [
                ticket.get("description", item["ticket_id"])[:80],
                item["reason"],
                decision,
                item.get("decision_note") or "",
            ]
        )
    return [*out, _table(rows, [0.36, 0.3, 0.1, 0.24], font, style)]


SERVICE_ROWS = (
    ("志愿服务时长（小时，已审核）", "verified_hours"),
    ("参与服务人次", "participations"),
    ("服务对象人数", "beneficiaries_served"),
    ("入户服务人次", "service_person_times"),
    ("参与服务的志愿者", "volunteers_active"),
    ("服务班次", "shifts_held"),
    ("缺席", "no_shows"),
    ("待审核时长（小时）", "pending_hours"),
)


def _service(report: dict[str, Any], font: str, style: dict[str, Any]) -> list[Any]:
    month, to_date = report["volunteers"], report["volunteers_to_date"]
    rows: list[list[Any]] = [["指标", "本月", "累计"]]
    rows += [[label, _num(month[key]), _num(to_date[key])] for label, key in SERVICE_ROWS]
    table = _table(rows, [0.5, 0.25, 0.25], font, style)
    return [KeepTogether([Paragraph("五、志愿服务", style["h1"]), table])]


def _activities(report: dict[str, Any], font: str, style: dict[str, Any]) -> list[Any]:
    out: list[Any] = [Paragraph("六、文化活动与功能室", style["h1"])]
    for title, stats in (
        ("按项目", report["activities_by_programme"]),
        ("按对象", report["activities_by_audience"]),
    ):
        rows: list[list[Any]] = [[title, "活动场次", "参与人次"]]
        rows += [[g["label"], g["activities"], g["person_times"]] for g in stats["groups"]]
        rows.append(["合计", stats["activities"], stats["person_times"]])
        out += [_table(rows, [0.5, 0.25, 0.25], font, style), Spacer(1, 6)]
    rooms = report["rooms"]
    if rooms:
        rows = [["功能室", "使用次数", "使用时长（小时）"]]
        rows += [[r["room_name"], r["bookings"], _num(r["hours"])] for r in rooms]
        out.append(_table(rows, [0.5, 0.25, 0.25], font, style))
    else:
        out.append(Paragraph("本月功能室无已确认的使用记录。", style["note"]))
    return out


def _period_end(report: dict[str, Any]) -> str:
    """The period's last day, or — for the month still under way — today, said so."""
    today = local(report["generated_at"]).date()
    last = report["date_to"]
    return f"{today}（本月截至生成时）" if today < last else str(last)


def render(report: dict[str, Any]) -> bytes:
    """The report as PDF bytes (A4 portrait, every font embedded)."""
    font = fonts.reportlab_font()
    style = _styles(font)
    center = report["center"]
    out = io.BytesIO()
    month_label = f"{report['month'][:4]}年{int(report['month'][5:])}月"
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{center['name']} {month_label}月度工作报告",
        author=center["name"],
        subject="党建联席会月度工作报告",
        initialFontName=font,
        invariant=True,
    )

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(GREY)
        canvas.drawString(20 * mm, 10 * mm, f"{center['name']} · {month_label}月度工作报告")
        canvas.drawRightString(A4[0] - 20 * mm, 10 * mm, f"第 {document.page} 页")
        canvas.restoreState()

    story: list[Any] = [
        Paragraph(center["name"], style["subtitle"]),
        Paragraph(f"{month_label}月度工作报告", style["title"]),
        Paragraph(
            f"统计期间 {report['date_from']} 至 {_period_end(report)} · "
            f"生成于 {local_text(report['generated_at'])}（北京时间）",
            style["subtitle"],
        ),
        Spacer(1, 8),
        Paragraph("一、主要指标", style["h1"]),
        _headline(report, style),
        *_tickets(report, font, style),
        *_satisfaction(report, font, style),
        *_meeting(report, font, style),
        *_service(report, font, style),
        *_activities(report, font, style),
        Spacer(1, 10),
        Paragraph(
            "数据来源：连心桥系统各业务服务的统计接口，与系统内查询结果一致。", style["note"]
        ),
    ]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
