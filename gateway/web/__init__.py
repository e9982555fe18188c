"""The pages people use, served by the gateway: the sign-in pages, the staff console
(``/console/``), the residents' and volunteers' phone pages (``/m/<center>/``) and the
public certificate check.

Each area keeps its templates beside it (``gateway/web/<area>/``); the layouts every page
extends are in ``gateway/web/layout/``, the stylesheets and the few scripts in
``gateway/web/static/`` (written here; no front-end build step, no third-party code).
This module is what every area shares: the template environment with its filters (times
in Asia/Shanghai), the URLs of the static files (named by their content, so a browser
keeps them for a year and fetches a changed one at once), and :func:`page`, which answers
a rendered template with the headers every page carries.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Request, Response

ROOT = Path(__file__).parent
STATIC = ROOT / "static"
#: Where the people of a center are: every time a page shows is in this zone.
LOCAL = ZoneInfo("Asia/Shanghai")
WEEKDAYS = "一二三四五六日"

#: The policy of every page: nothing from elsewhere, no inline script, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'"
)


def as_local(value: Any) -> datetime | None:
    """A stored time (an aware datetime, or RFC 3339 text; naive means UTC) in Beijing time."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(LOCAL)
    return None


def local_time(value: Any, style: str = "datetime") -> str:
    """A time as people of the center read it: ``12月1日 14:05`` (``datetime``),
    ``14:05`` (``time``; ``short``: the time today, else the day too), ``12月1日 周二``
    (``day``), ``2026年12月1日`` (``date``)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        if style == "day":
            return f"{value.month}月{value.day}日 周{WEEKDAYS[value.weekday()]}"
        return f"{value.year}年{value.month}月{value.day}日"
    moment = as_local(value)
    if moment is None:
        return ""
    if style == "time":
        return moment.strftime("%H:%M")
    if style == "short":  # today: just the time
        if moment.date() == datetime.now(LOCAL).date():
            return moment.strftime("%H:%M")
        return f"{moment.month}月{moment.day}日 {moment:%H:%M}"
    if style == "day":
        return f"{moment.month}月{moment.day}日 周{WEEKDAYS[moment.weekday()]}"
    if style == "date":
        return f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def iso(value: Any) -> str:
    """A time as a script reads it (RFC 3339, UTC)."""
    moment = as_local(value)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else ""


def duration(minutes: Any) -> str:
    """Minutes in words: ``1小时5分钟``, ``3天2小时``."""
    if minutes in (None, ""):
        return ""
    total = int(round(float(minutes)))
    days, rest = divmod(abs(total), 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else ""]
    if not days:
        parts.append(f"{mins}分钟" if mins or not hours else "")
    return "".join(parts) or "0分钟"


@dataclass(frozen=True)
class Asset:
    body: bytes
    zipped: bytes
    version: str
    mimetype: str


def _load_assets() -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            body = path.read_bytes()
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind.endswith(("javascript", "json", "svg+xml")):
                kind += "; charset=utf-8"
            found[path.relative_to(STATIC).as_posix()] = Asset(
                body, gzip.compress(body, 9, mtime=0), hashlib.sha256(body).hexdigest()[:12], kind
            )
    return found


ASSETS = _load_assets()


def asset(name: str) -> str:
    """The URL of a static file, versioned by its content."""
    return f"/static/{name}?v={ASSETS[name].version}"


def static_response(request: Request, name: str) -> Response:
    """A static file: kept a year when asked for by its current version, gzipped when the
    browser takes it, ``304`` when the browser has it already."""
    found = ASSETS.get(name)
    if found is None:
        return Response("没有这个文件", status=404, mimetype="text/plain")
    etag = f'"{found.version}"'
    versioned = request.args.get("v") == found.version
    headers = {
        "ETag": etag,
        "Vary": "Accept-Encoding",
        "Cache-Control": "public, max-age=31536000, immutable" if versioned else "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(found.zipped, mimetype=found.mimetype, headers=headers)
    return Response(found.body, mimetype=found.mimetype, headers=headers)


TEMPLATES = Environment(
    loader=FileSystemLoader(ROOT),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def pairs(items: Any, key: str = "key", name: str = "name") -> list[tuple[Any, Any]]:
    """``[{"key": …, "name": …}, …]`` as the ``(value, text)`` choices a select shows."""
    return [(item[key], item[name]) for item in items or []]


TEMPLATES.filters.update(local_time=local_time, iso=iso, duration=duration, pairs=pairs)
TEMPLATES.globals.update(asset=asset)


def render(template: str, **values: Any) -> str:
    return TEMPLATES.get_template(template).render(**values)


def page(
    request: Request,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> Response:
    """``template`` rendered, with the headers every page carries: never cached (it shows a
    person's data), never framed, nothing loaded from elsewhere; gzipped when the browser
    takes it."""
    body = render(template, **values).encode()
    response = Response(status=status, mimetype="text/html")
    response.headers.update(
        {
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Vary": "Accept-Encoding, Cookie",
            **(headers or {}),
        }
    )
    if len(body) > 1024 and "gzip" in request.headers.get("Accept-Encoding", ""):
        body = gzip.compress(body, 6)
        response.headers["Content-Encoding"] = "gzip"
    response.set_data(body)
    return response
