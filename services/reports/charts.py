"""The report's charts, drawn with matplotlib as PNG images the PDF places.

Figures are made with matplotlib's object API (``Figure``), never ``pyplot``: no global
state, nothing to close, safe for several workers of the service at once.

Pictures rather than vector drawings: the PDF then holds one font (the text's, embedded),
the charts read the same in every viewer and print crisply at 200 dpi. Labels use the same
Chinese font as the text (:func:`lianxin.fonts.matplotlib_font`).
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from typing import Any

# matplotlib writes a font cache; a container's home is read-only, /tmp is not.
os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "lianxin-matplotlib"))

from matplotlib.figure import Figure

from lianxin import fonts

RED = "#B22222"
GOLD = "#C8A04A"
GREY = "#8C8C8C"
BLUE = "#3A6EA5"
DPI = 200
#: Width of a chart on the page, in inches (A4 minus margins: 17 cm).
WIDTH = 6.7


def _figure(height: float) -> tuple[Figure, Any]:
    fig = Figure(figsize=(WIDTH, height), dpi=DPI)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.tight_layout()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _font(size: float) -> Any:
    props = fonts.matplotlib_font()
    props.set_size(size)
    return props


def _labels(ax: Any, names: Sequence[str], axis: str = "x") -> None:
    setter = ax.set_xticks if axis == "x" else ax.set_yticks
    setter(range(len(names)), list(names), fontproperties=_font(8))


def _month_label(month: str, first: bool) -> str:
    """``11月``; the year under the first month and under each January."""
    number = int(month[5:])
    return f"{number}月\n{month[:4]}" if first or number == 1 else f"{number}月"


def satisfaction_trend(points: Sequence[dict[str, Any]]) -> bytes:
    """Satisfaction per month (the last 12), with each month's rate written above it; a
    month without ratings is a gap, not a zero."""
    fig, ax = _figure(2.3)
    xs = list(range(len(points)))
    rates = [p["rate"] for p in points]
    ax.plot(
        xs,
        [r if r is not None else float("nan") for r in rates],
        color=RED,
        marker="o",
        linewidth=2,
    )
    for x, rate in zip(xs, rates, strict=True):
        if rate is not None:
            ax.annotate(
                f"{rate:g}%",
                (x, rate),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=7,
                color=RED,
            )
    known = [r for r in rates if r is not None]
    low = min(known, default=80.0)
    ax.set_ylim(max(0.0, min(low, 80.0) - 5), 102)
    _labels(ax, [_month_label(p["month"], i == 0) for i, p in enumerate(points)])
    ax.set_ylabel("满意率（%）", fontproperties=_font(8))
    ax.grid(axis="y", color="#E5E5E5")
    return _png(fig)


def by_party(rows: Sequence[dict[str, Any]], satisfaction: dict[str, float | None]) -> bytes:
    """Tickets received, resolved and overdue per party, and each party's satisfaction."""
    fig, ax = _figure(2.4)
    names = [r["label"] for r in rows]
    ys = range(len(rows))
    height = 0.26
    ax.barh(
        [y - height for y in ys], [r["received"] for r in rows], height, color=BLUE, label="受理"
    )
    ax.barh(list(ys), [r["resolved"] for r in rows], height, color=GOLD, label="办结")
    ax.barh([y + height for y in ys], [r["overdue"] for r in rows], height, color=RED, label="超期")
    _labels(ax, names, "y")
    ax.invert_yaxis()
    top = max([r["received"] for r in rows] + [1])
    for y, row in zip(ys, rows, strict=True):
        rate = satisfaction.get(row["key"])
        text = f"满意率 {rate:g}%" if rate is not None else "暂无评价"
        ax.text(top * 1.02, y, text, va="center", fontproperties=_font(7.5), color=GREY)
    ax.set_xlim(0, top * 1.3)
    ax.legend(prop=_font(7.5), frameon=False, loc="lower center", ncol=3, bbox_to_anchor=(0.5, 1.0))
    return _png(fig)


def by_category(rows: Sequence[dict[str, Any]], limit: int = 10) -> bytes:
    """Tickets received per category (the ten most frequent)."""
    shown = list(rows)[:limit]
    fig, ax = _figure(0.35 + 0.22 * max(len(shown), 3))
    ys = range(len(shown))
    ax.barh(list(ys), [r["received"] for r in shown], 0.6, color=BLUE)
    for y, row in zip(ys, shown, strict=True):
        ax.text(row["received"], y, f" {row['received']}", va="center", fontsize=7)
    _labels(ax, [r["label"] for r in shown], "y")
    ax.invert_yaxis()
    ax.set_xlabel("受理件数", fontproperties=_font(8))
    return _png(fig)


def resolve_time(buckets: Sequence[dict[str, Any]]) -> bytes:
    """How long resolution took: tickets per bucket (1 天内, 1–3 天 ...)."""
    fig, ax = _figure(1.9)
    xs = range(len(buckets))
    counts = [b["tickets"] for b in buckets]
    ax.bar(list(xs), counts, 0.55, color=GOLD)
    for x, count in zip(xs, counts, strict=True):
        ax.text(x, count, f"{count}", ha="center", va="bottom", fontsize=7)
    _labels(ax, [b["label"] for b in buckets])
    ax.set_ylabel("办结件数", fontproperties=_font(8))
    return _png(fig)
