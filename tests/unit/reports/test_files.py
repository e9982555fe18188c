"""The report as files: an A4 PDF whose every font is embedded and whose text is Chinese and
extractable, and an Excel workbook of its tables with Chinese headers."""

import io
import subprocess
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from lianxin import fonts
from services.reports import gather, pdf, workbook
from services.reports.months import Month
from tests.unit.reports.conftest import CENTER


@pytest.fixture
def report(sources):
    return gather.monthly_figures(
        sources, CENTER, Month(2026, 11), now=datetime(2026, 12, 1, 2, tzinfo=UTC)
    )


def pdffonts(path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True)
    return [line.split() for line in out.stdout.splitlines()[2:]]


def test_the_pdf_is_a4_with_every_font_embedded(report, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.render(report))
    rows = pdffonts(path)
    assert rows and all(r[-5] == "yes" for r in rows), rows  # pdffonts' "emb" column
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    assert "595.276 x 841.89 pts (A4)" in info


def test_the_pdf_text_carries_the_figures_the_meeting_reads(report, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.render(report))
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "统计期间 2026-11-01 至 2026-11-30" in text  # a past month: all of it
    for expected in (
        "2026年11月月度工作报告",
        "雁鸣湖镇镇区社区党群服务中心",
        "98.5%",
        "村支两委",
        "新建小区停车位不足",
        "益路成长",
        "文体活动室",
    ):
        assert expected in text, expected


def test_a_missing_font_is_a_clear_error_naming_the_package(report, monkeypatch, tmp_path):
    monkeypatch.setattr(fonts, "CANDIDATES", (tmp_path / "none.ttc",))
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)
    with pytest.raises(fonts.FontMissing) as missing:
        fonts.font_path()
    assert "fonts-wqy-zenhei" in missing.value.detail
    assert missing.value.kind == "unavailable"


def test_the_workbook_has_a_sheet_per_table_with_chinese_headers_and_numbers(report):
    book = load_workbook(io.BytesIO(workbook.monthly(report)))
    assert "主要指标" in book.sheetnames and "诉求-按责任单位" in book.sheetnames
    assert "功能室使用" in book.sheetnames and "满意度-近12个月" in book.sheetnames
    parties = book["诉求-按责任单位"]
    assert [c.value for c in parties[1]][:3] == ["责任单位", "受理", "办结"]
    rows = {r[0]: r for r in parties.iter_rows(min_row=2, values_only=True)}
    assert rows["物业公司"][1:4] == (60, 58, 2)
    assert rows["合计"][1] == 200
    service = {r[0]: r for r in book["志愿服务"].iter_rows(min_row=2, values_only=True)}
    assert service["志愿服务时长（小时）"][1:] == (500.0, 1240.5)  # the month, and to date
    trend = list(book["满意度-近12个月"].iter_rows(min_row=2, values_only=True))
    assert trend[-1] == ("2026-11", 20, 98.5)


def test_the_county_workbook_lists_the_centers_ranked(sources):
    line = gather.county_row(sources, CENTER, Month(2026, 11))
    report = {"month": "2026-11", "centers": gather.ranked([line])}
    sheet = load_workbook(io.BytesIO(workbook.county(report))).active
    assert [c.value for c in sheet[1]][:3] == ["排名", "服务中心", "受理"]
    assert [c.value for c in sheet[2]][:3] == [1, "雁鸣湖镇镇区社区党群服务中心", 200]


def test_the_current_months_pdf_says_it_runs_to_today(report, tmp_path):
    report = {**report, "date_to": report["date_to"].replace(day=30)}
    report["generated_at"] = datetime(2026, 11, 12, 2, tzinfo=UTC)  # 12 November, 10:00
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.render(report))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "至 2026-11-12（本月截至生成时）" in text
