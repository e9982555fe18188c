"""Charts drawn by the server as inline SVG: bars and a line, labelled in Chinese, with a
text alternative (the page shows the same numbers as a table too). No script, no library
in the browser: a chart is part of the page's HTML."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def _fmt(value: float, unit: str) -> str:
    return f"{value:.1f}{unit}" if unit == "%" else f"{value:g}{unit}"


def bars(
    rows: Sequence[tuple[str, float | None]],
    *,
    title: str,
    unit: str = "",
    top: float | None = None,
) -> Markup:
    """Horizontal bars, one per ``(label, value)``; ``None`` is drawn as "暂无"."""
    height, row, left, width = 30 * len(rows) + 16, 30, 112, 300
    top = top or max([v for _, v in rows if v is not None] or [1]) or 1
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {left + width + 64} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(rows):
        y = 8 + i * row
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{escape(label[:8])}</text>'
        )
        if value is None:
            parts.append(f'<text x="{left + 4}" y="{y + 17}">暂无</text>')
            continue
        w = max(2.0, width * value / top)
        parts.append(
            f'<rect class="bar" x="{left}" y="{y + 4}" width="{w:.1f}" height="18" rx="3"/>'
        )
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 17}">{_fmt(value, unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    unit: str = "%",
    low: float = 0,
    high: float = 100,
) -> Markup:
    """A line over ``(label, value)`` points (months), with the values written at the dots."""
    w, h, left, bottom, top_pad = 720, 240, 44, 36, 20
    n = max(len(points), 1)
    step = (w - left - 20) / max(n - 1, 1)
    span = (high - low) or 1

    def y_of(v: float) -> float:
        return top_pad + (h - bottom - top_pad) * (1 - (v - low) / span)

    parts = [
        f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    ]
    for tick in range(5):
        v = low + span * tick / 4
        y = y_of(v)
        parts.append(f'<line class="grid" x1="{left}" x2="{w - 10}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
    coords = [
        (left + i * step, y_of(v), label, v) for i, (label, v) in enumerate(points) if v is not None
    ]
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in coords)
        parts.append(f'<polyline class="line" points="{path}"/>')
    for x, y, _label, v in coords:
        parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="4"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle">{_fmt(v, unit)}</text>'
        )
    for i, (label, _v) in enumerate(points):
        parts.append(
            f'<text x="{left + i * step:.1f}" y="{h - 12}" text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
