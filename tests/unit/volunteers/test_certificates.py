"""A certificate is for a milestone reached: a one-page Chinese PDF that says who, how many hours,
where and when."""

import base64
import re
import zlib
from datetime import UTC, datetime

import pytest

from lianxin.errors import NotFound
from services.volunteers import certificates
from services.volunteers.certificates import Certificate, chinese_date, render_pdf

CERT = Certificate(
    volunteer_name="张志强",
    center_name="雁鸣湖镇镇区社区党群服务中心",
    milestone_hours=50,
    total_hours=52.5,
    reached_at=datetime(2026, 11, 29, 2, 0, tzinfo=UTC),
    certificate_no="LX20261129-0050-1A2B3C4D",
)

_STREAM = re.compile(
    rb"/Filter \[ /ASCII85Decode /FlateDecode \].*?stream\r?\n(.*?)endstream", re.S
)
_TJ = re.compile(rb"\(((?:\\[0-7]{1,3}|\\.|[^\\)])*)\) Tj")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match) -> bytes:
        body = match.group(0)[1:]
        if body[:1].isdigit():
            return bytes([int(body, 8)])
        return _ESCAPES.get(body, body)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal)


def pdf_text(pdf: bytes) -> str:
    """Every string the page draws in the CID font, decoded (UCS-2 big-endian)."""
    out = []
    for raw in _STREAM.findall(pdf):
        content = zlib.decompress(base64.a85decode(raw.strip().removesuffix(b"~>")))
        for literal in _TJ.findall(content):
            out.append(_unescape(literal).decode("utf-16-be", errors="replace"))
    return "".join(out)


def test_certificate_is_a_one_page_pdf_in_a_cjk_font_every_reader_has():
    pdf = render_pdf(CERT)
    assert pdf.startswith(b"%PDF-") and pdf.count(b"/Type /Page\n") == 1
    assert b"/BaseFont /STSong-Light" in pdf and b"/Encoding /UniGB-UCS2-H" in pdf


def test_certificate_says_who_how_many_hours_where_and_when():
    text = pdf_text(render_pdf(CERT))
    assert "志愿服务证书" in text
    assert "兹证明 张志强 同志在雁鸣湖镇镇区社区党群服务中心" in text
    assert "累计志愿服务时长达 50 小时" in text
    assert "二〇二六年十一月二十九日" in text
    assert "LX20261129-0050-1A2B3C4D" in text


def test_no_line_begins_with_closing_punctuation():
    lines = certificates._wrap("兹证明某某同志累计服务时长达五十小时，特发此证。" * 3, 18, 180)
    assert len(lines) > 2
    assert not any(line[0] in certificates.NO_LINE_START for line in lines)
    assert "".join(lines) == "兹证明某某同志累计服务时长达五十小时，特发此证。" * 3


def test_dates_are_written_in_chinese_numerals_on_the_shanghai_calendar():
    assert chinese_date(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == "二〇二七年一月一日"
    assert chinese_date(datetime(2026, 10, 20, 1, 0, tzinfo=UTC)) == "二〇二六年十月二十日"


def test_a_certificate_before_the_milestone_is_not_found(db, volunteer):
    v = volunteer("vol-1")
    with pytest.raises(NotFound) as err:
        certificates.get_milestone(db_session=db, volunteer=v, milestone_hours=50)
    assert "尚未达到 50 小时" in err.value.detail
    with pytest.raises(NotFound) as err:
        certificates.get_milestone(db_session=db, volunteer=v, milestone_hours=42)
    assert "milestone" in err.value.fields
