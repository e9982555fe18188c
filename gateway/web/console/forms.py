"""What the console's forms and week views share: times typed in a ``datetime-local`` field
(Beijing time) as the API's aware times and back, ISO weeks and their days, what was typed
(to show it again),."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from werkzeug.datastructures import MultiDict

from gateway.web import LOCAL, WEEKDAYS, as_local

_LOCAL_INPUT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def aware_text(value: str) -> str:
    """A time typed in a ``datetime-local`` field (``2026-12-03T14:00``: Beijing wall time)
    as the RFC 3339 text the API takes (``2026-12-03T14:00:00+08:00``); anything else is
    left as typed, for the schema to refuse with its reason."""
    value = value.strip()
    if not _LOCAL_INPUT.match(value):
        return value
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=LOCAL)
    except ValueError:
        return value
    return moment.isoformat()


def aware_form(form: MultiDict[str, str], *names: str) -> MultiDict[str, str]:
    """The form with its ``datetime-local`` fields ``names`` as aware times (see
    :func:`aware_text`): what :func:`form_body` then hands to the schema."""
    copy: MultiDict[str, str] = MultiDict(form)
    for name in names:
        if copy.get(name):
            copy[name] = aware_text(copy[name])
    return copy


def local_input(value: Any) -> str:
    """A stored time as a ``datetime-local`` field shows it (Beijing wall time)."""
    moment = as_local(value)
    return moment.strftime("%Y-%m-%dT%H:%M") if moment else ""


@dataclass(frozen=True)
class Week:
    """An ISO week of the center's calendar: its label (``2026-W49``), its days, and the
    labels of the weeks either side (for the ‹ › links)."""

    label: str
    days: tuple[date, ...]
    previous: str
    next: str

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.days[0], time(0), LOCAL)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(days=7)

    @property
    def title(self) -> str:
        first, last = self.days[0], self.days[-1]
        return f"{first.year}年{first.month}月{first.day}日 – {last.month}月{last.day}日"


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_of(label: str | None, today: date | None = None) -> Week:
    """The week ``label`` names (``2026-W49``), this week (Beijing) for none or a bad one."""
    monday = None
    match = _WEEK.match(label or "")
    if match:
        try:
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            monday = None
    if monday is None:
        today = today or datetime.now(LOCAL).date()
        monday = today - timedelta(days=today.weekday())
    days = tuple(monday + timedelta(days=n) for n in range(7))
    return Week(
        week_label(monday),
        days,
        week_label(monday - timedelta(days=7)),
        week_label(monday + timedelta(7)),
    )


def day_label(day: date) -> str:
    return f"{day.month}月{day.day}日 周{WEEKDAYS[day.weekday()]}"


def on_day(items: Any, day: date, key: str = "starts_at") -> list[dict[str, Any]]:
    """The items (dicts with a time under ``key``) that fall on ``day`` in Beijing, by time."""
    if not isinstance(items, list):
        return []
    found = [i for i in items if (m := as_local(i.get(key))) is not None and m.date() == day]
    return sorted(found, key=lambda i: str(i.get(key)))


def typed_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """What was typed, to show it again when the server refused it (lists kept as lists)."""
    return {key: (values if len(values) > 1 else values[0]) for key, values in form.lists()}
