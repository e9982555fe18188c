"""What the volunteers domain modules share: a center's record by id or natural key, new ids,
a unique index's refusal as a conflict, and the words people read for states and times."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.clock import local_text
from lianxin.errors import LianxinError

T = TypeVar("T")

#: A sign-up's state as people read it (in refusals).
STATUS_NAMES = {
    "confirmed": "已确认",
    "waitlisted": "候补",
    "checked_in": "已签到",
    "completed": "已完成",
    "no_show": "缺席",
    "cancelled": "已取消",
}
#: What became of hours or a correction, as people read it ("该时长已审核通过").
DECIDED = {
    "approved": "审核通过",
    "rejected": "驳回",
    "superseded": "被补录替代",
    "pending": "待审核",
}


def new_id() -> str:
    return str(uuid.uuid4())


def when(moment: datetime) -> str:
    """A time as people read it in a refusal: Beijing time, to the minute (``12月02日 09:00``)."""
    return local_text(moment, "%m月%d日 %H:%M")


def by_id_or_key(
    db_session: Session, model: type[T], center_id: str, ref: str, key: Any, *, lock: bool = False
) -> T | None:
    """The center's ``model`` row whose id or natural key (``key``) is ``ref``, or None."""
    table: Any = model  # every table here has ``id`` and ``center_id``
    stmt = select(table).where(table.center_id == center_id, or_(table.id == ref, key == ref))
    if lock:
        stmt = stmt.with_for_update(of=table).execution_options(populate_existing=True)
    return db_session.scalars(stmt.limit(1)).first()


def flush_or_conflict(db_session: Session, error: LianxinError) -> None:
    """Flush; a unique index that refuses the row (a concurrent twin) becomes ``error``, never
    a 500."""
    try:
        db_session.flush()
    except IntegrityError:
        db_session.rollback()
        raise error from None
