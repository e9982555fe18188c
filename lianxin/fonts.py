"""The Chinese font every PDF of Lianxin embeds (monthly reports, service-hour certificates).

A PDF that only *names* a CJK font (the Adobe CID font ``STSong-Light``) shows boxes on a
machine without one; an embedded font shows the same everywhere. reportlab embeds (and
subsets) TrueType outlines only — not the CFF outlines of Noto CJK — so the font is
WenQuanYi Zen Hei (文泉驿正黑), a TrueType collection from Debian's ``fonts-wqy-zenhei``
(``scripts/ensure-services.sh`` installs it; the container image too). No font file is
kept in the repository. ``LIANXIN_PDF_FONT`` names another TrueType file (``.ttf`` /
``.ttc``) to use instead.

    from lianxin import fonts

    name = fonts.reportlab_font()          # registered once: canvas.setFont(name, 12)
    props = fonts.matplotlib_font()        # ax.set_title("满意度", fontproperties=props)
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from lianxin.errors import Unavailable

#: The Debian package that ships the font, named in the error when it is missing.
FONT_PACKAGE = "fonts-wqy-zenhei"
FONT_ENV = "LIANXIN_PDF_FONT"
#: Where Debian (and the image) put it.
CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc"),
)
#: The name the font is registered under in reportlab.
REPORTLAB_NAME = "LianxinCJK"


class FontMissing(Unavailable):
    code = "PDF_FONT_MISSING"
    default_detail = (
        f"未安装生成 PDF 所需的中文字体：请安装 {FONT_PACKAGE}（apt-get install -y {FONT_PACKAGE}）"
    )


def font_path() -> Path:
    """The TrueType file to embed, or :class:`FontMissing` naming the package to install."""
    given = os.environ.get(FONT_ENV)
    if given:
        path = Path(given)
        if not path.is_file():
            raise FontMissing(f"{FONT_ENV} 指定的字体文件不存在：{path}")
        return path
    for path in CANDIDATES:
        if path.is_file():
            return path
    raise FontMissing()


@functools.lru_cache(maxsize=4)
def _registered(path: str) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(REPORTLAB_NAME, path, subfontIndex=0))
    return REPORTLAB_NAME


def reportlab_font() -> str:
    """The font's reportlab name, registered (once) for embedding as a subset."""
    return _registered(str(font_path()))


def matplotlib_font() -> Any:
    """``FontProperties`` of the same font, for the charts' labels."""
    from matplotlib.font_manager import FontProperties

    return FontProperties(fname=str(font_path()))
