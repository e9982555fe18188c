"""The in-app inbox: a person's own messages and their role's shared inbox (``@staff``), each
with that person's read state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.notify.operations import InboxFilter
from services.notify.exceptions import NotificationNotFound
from services.notify.models import Delivery, InboxRead, insert_ignore


def _inbox_where(center_id: str, role: str, person_id: str) -> list[Any]:
    return [
        Delivery.center_id == center_id,
        Delivery.channel == "in_app",
        Delivery.state == "sent",
        or_(Delivery.recipient == person_id, Delivery.recipient == f"@{role}"),
    ]


def _inbox_item(d: Delivery, shared_read: datetime | None) -> dict[str, Any]:
    return {
        "id": d.id,
        "center_id": d.center_id,
        "audience": d.audience or "person",
        "person_id": d.person_id,
        "kind": d.event_type or "scheduled",
        "message_type": d.message_type,
        "critical": d.critical,
        "title": d.title,
        "body": d.body,
        "ref_type": d.ref_type,
        "ref_id": d.ref_id,
        "created_at": d.created_at,
        "read_at": d.read_at or shared_read,
    }


def list_notifications(
    *, db_session: Session, center_id: str, role: str, person_id: str, query: InboxFilter
) -> tuple[list[dict[str, Any]], int, int]:
    """A person's inbox: messages to them and to their role's shared inbox; newest first."""
    join = and_(InboxRead.delivery_id == Delivery.id, InboxRead.person_id == person_id)
    where = _inbox_where(center_id, role, person_id)
    unread_clause = and_(Delivery.read_at.is_(None), InboxRead.read_at.is_(None))

    def count(*extra: Any) -> int:
        return (
            db_session.scalar(
                select(func.count())
                .select_from(Delivery)
                .outerjoin(InboxRead, join)
                .where(*where, *extra)
            )
            or 0
        )

    unread = count(unread_clause)
    if query.get("unread"):
        where.append(unread_clause)
    total = count()
    rows = db_session.execute(
        select(Delivery, InboxRead.read_at)
        .outerjoin(InboxRead, join)
        .where(*where)
        .order_by(Delivery.created_at.desc(), Delivery.id)
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return [_inbox_item(d, read) for d, read in rows], total, unread


def unread_count(*, db_session: Session, center_id: str, role: str, person_id: str) -> int:
    """How many messages of the person's inbox are unread."""
    _items, _total, unread = list_notifications(
        db_session=db_session,
        center_id=center_id,
        role=role,
        person_id=person_id,
        query={"limit": 1, "offset": 0},
    )
    return unread


def mark_read(
    *, db_session: Session, center_id: str, role: str, person_id: str, notification_id: str
) -> dict[str, Any]:
    """Mark one inbox message read, for this person only."""
    note = db_session.scalar(
        select(Delivery).where(
            Delivery.id == notification_id, *_inbox_where(center_id, role, person_id)
        )
    )
    if note is None:
        raise NotificationNotFound()
    now = now_utc()
    shared = None
    if note.audience is None:
        if note.read_at is None:
            note.read_at = now
    else:
        mark = db_session.get(InboxRead, (note.id, person_id))
        if mark is None:
            mark = InboxRead(delivery_id=note.id, person_id=person_id, read_at=now)
            db_session.add(mark)
        shared = mark.read_at
    return _inbox_item(note, shared)


def mark_all_read(*, db_session: Session, center_id: str, role: str, person_id: str) -> int:
    """Mark every unread inbox message of this person read; returns how many."""
    now = now_utc()
    where = _inbox_where(center_id, role, person_id)
    result: Any = db_session.execute(
        update(Delivery)
        .where(*where, Delivery.audience.is_(None), Delivery.read_at.is_(None))
        .values(read_at=now)
    )
    shared_ids = db_session.scalars(
        select(Delivery.id)
        .outerjoin(
            InboxRead, and_(InboxRead.delivery_id == Delivery.id, InboxRead.person_id == person_id)
        )
        .where(*where, Delivery.audience.is_not(None), InboxRead.read_at.is_(None))
    ).all()
    insert_ignore(
        db_session,
        InboxRead,
        [{"delivery_id": i, "person_id": person_id, "read_at": now} for i in shared_ids],
        ["delivery_id", "person_id"],
    )
    return (result.rowcount or 0) + len(shared_ids)
