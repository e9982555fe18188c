"""Service-hour certificates (志愿服务证书): the milestone a certificate is for, and the
certificate as a one-page Chinese PDF.

The text is drawn in the font :mod:`lianxin.fonts` provides, embedded as a subset (a
certificate printed or opened anywhere shows the same characters, never boxes). Each
certificate carries its verification code and a QR code of ``<PUBLIC_URL>/verify/<code>``,
where anyone checks that it is genuine (:mod:`services.volunteers.verification`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import segno
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy.orm import Session

from lianxin import fonts
from lianxin.clock import local
from lianxin.contracts.volunteers.operations import MILESTONES
from lianxin.errors import InvalidInput
from services.volunteers.exceptions import CertificateNotFound
from services.volunteers.models import Milestone, Volunteer
from services.volunteers.verification import display

#: The embedded font's name (registered by :func:`render_pdf`, via ``fonts.reportlab_font``).
FONT = fonts.REPORTLAB_NAME
RED = HexColor("#B22222")
GOLD = HexColor("#C8A04A")
INK = HexColor("#222222")
CN_DIGITS = "〇一二三四五六七八九"


@dataclass(frozen=True)
class Certificate:
    volunteer_name: str
    center_name: str
    milestone_hours: int
    total_hours: float
    reached_at: datetime
    certificate_no: str
    #: The verification code (stored form) and the page that checks it.
    verify_code: str = ""
    verify_url: str = ""


def milestone_hours_of(value: object) -> int:
    """The milestone an RPC names: an ``int``, or a text of ASCII digits (``"50"``); anything
    else (``"²"``, which ``str.isdigit`` takes and ``int`` refuses) is :class:`InvalidInput`."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 6:
        return int(value)
    raise InvalidInput("证书档次应为小时数，如 50", fields={"milestone": ["应为整数"]})


def get_milestone(*, db_session: Session, volunteer: Volunteer, milestone_hours: int) -> Milestone:
    """The milestone a certificate is for, or :class:`CertificateNotFound`."""
    milestone = db_session.get(Milestone, (volunteer.id, milestone_hours))
    if milestone is None:
        if milestone_hours not in MILESTONES:
            raise CertificateNotFound(
                f"证书档次为 {' / '.join(map(str, MILESTONES))} 小时",
                fields={"milestone": [f"应为以下之一：{', '.join(map(str, MILESTONES))}"]},
            )
        raise CertificateNotFound(
            f"累计志愿服务时长 {volunteer.verified_hours:g} 小时，尚未达到 {milestone_hours} 小时"
        )
    return milestone


def certificate_of(
    volunteer: Volunteer, milestone: Milestone, center_name: str, public_url: str = ""
) -> Certificate:
    """What the certificate of ``milestone`` says; its QR code points at ``public_url``."""
    return Certificate(
        volunteer_name=volunteer.name,
        center_name=center_name,
        milestone_hours=milestone.milestone_hours,
        total_hours=milestone.total_hours,
        reached_at=milestone.reached_at,
        certificate_no=milestone.certificate_no,
        verify_code=milestone.verify_code,
        verify_url=f"{public_url.rstrip('/')}/verify/{milestone.verify_code}",
    )


def chinese_date(moment: datetime) -> str:
    """二〇二六年十一月二十九日, as certificates are dated."""
    day = local(moment)
    year = "".join(CN_DIGITS[int(d)] for d in str(day.year))
    return f"{year}年{_cn_number(day.month)}月{_cn_number(day.day)}日"


def _cn_number(n: int) -> str:
    tens, units = divmod(n, 10)
    if tens == 0:
        return CN_DIGITS[units]
    head = "" if tens == 1 else CN_DIGITS[tens]
    return f"{head}十{CN_DIGITS[units] if units else ''}"


def _centered(canvas: Canvas, text: str, y: float, size: float, color: Color = INK) -> None:
    canvas.setFillColor(color)
    canvas.setFont(FONT, size)
    canvas.drawCentredString(canvas._pagesize[0] / 2, y, text)


#: Punctuation that may not begin a line (禁则): it pulls the previous character down with it.
NO_LINE_START = set("，。、；：！？）」』》〉”’")


def _wrap(text: str, size: float, width: float) -> list[str]:
    """Break Chinese text into lines that fit ``width``; no line begins with closing punctuation."""
    lines, line = [], ""
    for char in text:
        if not line or pdfmetrics.stringWidth(line + char, FONT, size) <= width:
            line += char
            continue
        carry = char
        while carry[0] in NO_LINE_START and len(line) > 1:
            line, carry = line[:-1], line[-1] + carry
        lines.append(line)
        line = carry
    return [*lines, line] if line else lines


def _qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    """``url`` as a QR code drawn in vector squares, ``size`` points wide, lower left at x, y."""
    matrix = segno.make_qr(url, error="m").matrix
    cells = len(matrix) + 8  # the four-module quiet zone on each side
    cell = size / cells
    canvas.setFillColor(HexColor("#FFFFFF"))
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(HexColor("#000000"))
    for row, line in enumerate(matrix):
        for col, dark in enumerate(line):
            if dark:
                canvas.rect(
                    x + (col + 4) * cell, y + size - (row + 5) * cell, cell, cell, stroke=0, fill=1
                )


def render_pdf(cert: Certificate) -> bytes:
    """The certificate as PDF bytes (A4 landscape, its font embedded)."""
    fonts.reportlab_font()
    buffer = io.BytesIO()
    width, height = landscape(A4)
    canvas = Canvas(
        buffer,
        pagesize=(width, height),
        invariant=True,
        pageCompression=1,
        initialFontName=FONT,
    )
    canvas.setTitle(f"志愿服务证书 {cert.volunteer_name} {cert.milestone_hours}小时")
    canvas.setAuthor(cert.center_name)
    canvas.setSubject("志愿服务时长证书")

    # Borders: a red frame with a thin gold line inside.
    canvas.setStrokeColor(RED)
    canvas.setLineWidth(6)
    canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.setStrokeColor(GOLD)
    canvas.setLineWidth(1.5)
    canvas.rect(17 * mm, 17 * mm, width - 34 * mm, height - 34 * mm)

    _centered(canvas, "志愿服务证书", height - 52 * mm, 40, RED)
    _centered(canvas, f"（累计服务 {cert.milestone_hours} 小时）", height - 66 * mm, 16, GOLD)

    body = (
        f"兹证明 {cert.volunteer_name} 同志在{cert.center_name}积极参加志愿服务，"
        f"经审核累计志愿服务时长达 {cert.milestone_hours} 小时"
        f"（截至获证时累计 {cert.total_hours:g} 小时），热心公益，奉献社区。"
        "特发此证，以资鼓励。"
    )
    size, left = 18, 40 * mm
    lines = _wrap(body, size, width - 2 * left - 2 * size)
    canvas.setFillColor(INK)
    canvas.setFont(FONT, size)
    y = height - 92 * mm
    for index, line in enumerate(lines):
        indent = 2 * size if index == 0 else 0  # the first line is indented two characters
        canvas.drawString(left + indent, y, line)
        y -= size * 1.9

    # Issuer and date, bottom right (the center stamps its seal over them when it prints).
    right = width - 45 * mm
    canvas.setFont(FONT, 16)
    canvas.drawRightString(right, 52 * mm, cert.center_name)
    canvas.drawRightString(right, 42 * mm, chinese_date(cert.reached_at))

    canvas.setFillColor(INK)
    canvas.setFont(FONT, 10)
    canvas.drawString(25 * mm, 24 * mm, f"证书编号：{cert.certificate_no}")
    if cert.verify_code:
        # Bottom left, inside the gold frame: the code and the QR code of the check page.
        side = 26 * mm
        _qr(canvas, cert.verify_url, 24 * mm, 30 * mm, side)
        canvas.drawString(24 * mm + side + 3 * mm, 44 * mm, "扫码或访问以下网址查验真伪")
        canvas.drawString(24 * mm + side + 3 * mm, 38 * mm, cert.verify_url)
        canvas.setFont(FONT, 12)
        canvas.drawString(24 * mm + side + 3 * mm, 31 * mm, f"验证码：{display(cert.verify_code)}")
        canvas.setFont(FONT, 10)
    canvas.drawRightString(width - 25 * mm, 24 * mm, "服务时长经社工审核，可在连心桥系统中查验")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def filename(cert: Certificate) -> str:
    """The file people save (Chinese: the gateway also sends an ASCII fallback)."""
    return f"志愿服务证书-{cert.volunteer_name}-{cert.milestone_hours}小时.pdf"
