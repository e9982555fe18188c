"""Optimistic concurrency: the ETag of a record as read, and the ``If-Match`` check of a
write against it.

A read answers ``ETag: etag_of(body)``; a PATCH of a shared record sends it back as
``If-Match``. The service compares it with the record's current state *where the write
happens* (inside the transaction, once the row is loaded for the change), so two admins
saving the same category cannot overwrite each other silently: the second is told 412.

    guard = if_match_guard(if_match, lambda room: dump(ops.RoomRead, room))
    room = rooms.update_room(..., guard=guard)   # calls guard(room) before changing it
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from lianxin.errors import PreconditionFailed

T = TypeVar("T")


def etag_of(dumped: Any) -> str:
    """A strong ETag of a dumped record: the same for equal content, whatever its keys' order."""
    canonical = json.dumps(
        dumped, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return '"' + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32] + '"'


def _tags(if_match: str) -> list[str]:
    """The entity tags of an ``If-Match`` value (``W/`` weak ones are compared as strong)."""
    return [t.strip().removeprefix("W/") for t in if_match.split(",") if t.strip()]


def matches(if_match: str, current_dumped: Any) -> bool:
    """Whether ``If-Match`` names the current state: ``*``, or one of its tags is its ETag."""
    tags = _tags(if_match)
    return "*" in tags or etag_of(current_dumped) in tags


def check_if_match(if_match: str | None, current_dumped: Any) -> None:
    """Refuse a stale write (:class:`PreconditionFailed`, 412); no ``If-Match``: no check
    (a direct RPC caller such as the seed or the CLI)."""
    if if_match is not None and not matches(if_match, current_dumped):
        raise PreconditionFailed()


def if_match_guard(if_match: str | None, current: Callable[[T], Any]) -> Callable[[T], None] | None:
    """What a domain update calls with the row it has loaded for the change, before
    changing it: ``check_if_match`` on ``current(row)`` (the dump the service answers
    with). ``None`` when there is nothing to check."""
    if if_match is None:
        return None
    tag = if_match

    def guard(row: T) -> None:
        check_if_match(tag, current(row))

    return guard
