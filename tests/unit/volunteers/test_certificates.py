"""A certificate is for a milestone reached: a one-page Chinese PDF that says who, how many hours,
where and when."""

import re
import subprocess
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
    verify_code="7Q2MK9XD4RTAC",
    verify_url="https://lianxin.example.cn/verify/7Q2MK9XD4RTAC",
)


def pdf_text(pdf: bytes) -> str:
    """The page's text as a reader extracts it (poppler's pdftotext), without line breaks."""
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return re.sub(r"\s*\n\s*", "", out)


def pdf_fonts(pdf: bytes, tmp_path) -> list[list[str]]:
    """``pdffonts``' rows: name, type, encoding, emb, sub, uni, object, generation."""
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True)
    return [line.split() for line in out.stdout.splitlines()[2:]]


def test_certificate_is_a_one_page_pdf_whose_every_font_is_embedded(tmp_path):
    """A machine without any Chinese font shows the certificate as printed, not boxes."""
    pdf = render_pdf(CERT)
    assert pdf.startswith(b"%PDF-") and pdf.count(b"/Type /Page\n") == 1
    rows = pdf_fonts(pdf, tmp_path)
    assert rows, "the certificate names no font"
    assert all(row[-5] == "yes" for row in rows), rows  # the "emb" column


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


def test_certificate_carries_its_verification_code_and_the_page_that_checks_it():
    text = pdf_text(render_pdf(CERT))
    assert "验证码：7Q2M-K9XD-4RTA-C" in text
    assert "https://lianxin.example.cn/verify/7Q2MK9XD4RTAC" in text


def test_a_milestone_gets_its_own_code_and_is_found_by_it(db, volunteer):
    from services.volunteers import verification
    from services.volunteers.models import Milestone

    v = volunteer("vol-1", name="张志强")
    for hours in (50, 100):
        db.add(
            Milestone(
                volunteer_id=v.id,
                milestone_hours=hours,
                center_id=v.center_id,
                reached_at=datetime(2026, 11, 29, tzinfo=UTC),
                total_minutes=hours * 60,
                certificate_no=f"LX-{hours}",
            )
        )
    db.commit()
    fifty, hundred = (db.get(Milestone, (v.id, h)) for h in (50, 100))
    assert fifty.verify_code != hundred.verify_code
    found, holder = verification.find_certificate(db_session=db, code=hundred.verify_code)
    assert (found.certificate_no, holder.name) == ("LX-100", "张志强")
    with pytest.raises(NotFound) as err:
        verification.find_certificate(db_session=db, code=verification.new_code())
    assert err.value.code == "CERTIFICATE_NOT_GENUINE"
