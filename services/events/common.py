"""What the events service's domain modules share: who acts, the clock, the local zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import ValidationError

from lianxin.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAFF_ROLES = ("staff", "admin")


@dataclass(frozen=True)
class Actor:
    """The person acting (their person id, the token's ``sub``) and their role."""

    id: str
    role: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


def now_utc() -> datetime:
    return datetime.now(UTC)


def local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


def as_dict(row: Any, **extra: Any) -> dict[str, Any]:
    """A mapped row's columns as a dict (what the Read schemas dump), plus ``extra``."""
    return {c.key: getattr(row, c.key) for c in row.__table__.columns} | extra


def invalid(exc: ValidationError) -> InvalidInput:
    """A schema rule broken after merging a change, as the caller's input error."""
    messages = exc.normalized_messages()
    return InvalidInput(fields=messages if isinstance(messages, dict) else {"_schema": messages})
