"""Masking phone and ID-like numbers in free text that leaves the center.

A resident's own words travel in event ``summary`` fields, in a party's ``reason`` for
returning a ticket, in department webhooks and in log lines; any of them may hold a phone
number (``…电话13812345678``) or a resident ID. :func:`mask` keeps enough to tell two
numbers apart and to recognise one's own (``138****5678``, ``0371-****5678``,
``4101**********123X``) and nothing more.

What is *not* touched: dates and times (``2026-12-01 08:30``), room numbers
(``3号楼2单元302``), amounts, ticket codes, and digits glued to ASCII letters (ids such as
``msg_3f…`` or ``staff-duty-1``): a number counts only when no digit or ASCII letter
touches it. No library on PyPI masks Chinese numbers well (the known ones target Western
formats or need a model), hence the ``re`` patterns below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

#: Event data fields that carry people's own words (what :func:`mask_fields` masks).
FREE_TEXT_FIELDS = frozenset(
    {"summary", "description", "reason", "answer", "note", "decision", "purpose", "comment"}
)

_EDGE_BEFORE = r"(?<![0-9A-Za-z])"
_EDGE_AFTER = r"(?![0-9A-Za-z])"
_NUMBER = re.compile(
    _EDGE_BEFORE + "(?:"
    # 居民身份证: 17 digits and a check digit (X too); keep the region's first 4, the last 4.
    r"(?P<id>\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx])"
    # 手机号, also written 138 1234 5678 / 138-1234-5678.
    r"|(?P<mobile>1[3-9]\d)[ -]?\d{4}[ -]?(?P<mobile_tail>\d{4})"
    # 固定电话 with its area code: 0371-12345678, 010 8765 4321, (0371)1234567.
    r"|(?P<area>[(（]?0\d{2,3}[)）]?)(?P<sep>[ -]?)\d{3,4}[ -]?(?P<line_tail>\d{4})"
    # Bank cards and other long numbers, maybe in groups of four split by spaces (not by
    # dashes: 20261201-0003 is a date and a count).
    r"|(?P<long>\d{12,}|\d{4}(?: \d{4}){2,}(?: \d{1,4})?)"
    ")" + _EDGE_AFTER
)
# A cheap look before the regex: nothing to mask without seven digits in a row or split.
_MAYBE = re.compile(r"\d{3}[ -]?\d{4}")


def _masked(match: re.Match[str]) -> str:
    group = match.lastgroup
    if group == "id" or group == "long":
        digits = match.group(0).replace(" ", "")
        return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]
    if match.group("mobile"):
        return f"{match.group('mobile')}****{match.group('mobile_tail')}"
    area, sep = match.group("area"), match.group("sep")
    if not sep and area[-1].isdigit():
        sep = "-"
    return f"{area}{sep}****{match.group('line_tail')}"


def mask(text: str) -> str:
    """``text`` with phone numbers and ID-like numbers masked: 138****5678."""
    if not text or _MAYBE.search(text) is None:
        return text
    return _NUMBER.sub(_masked, text)


def mask_fields(data: Mapping[str, Any], names: Iterable[str] = FREE_TEXT_FIELDS) -> dict[str, Any]:
    """A copy of ``data`` whose free-text fields (strings named in ``names``) are masked."""
    wanted = frozenset(names)
    return {k: mask(v) if k in wanted and isinstance(v, str) else v for k, v in data.items()}
