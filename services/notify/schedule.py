"""Scheduled messages: a message asked for at a time (a shift's reminders, say), idempotent by
its key, moved or withdrawn by later events, and turned into deliveries when its time comes
(a timer; it survives restarts)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.notify.operations import NewScheduledMessage, ScheduledFilter
from services.notify import planner, plans
from services.notify.deliveries import Outcome, deliver
from services.notify.directory import Directory
from services.notify.exceptions import ScheduledConflict, ScheduledMessageNotFound
from services.notify.models import ScheduledMessage, page
from services.notify.settings import Settings


def _scheduled(db_session: Session, center_id: str, key: str) -> ScheduledMessage | None:
    return db_session.scalar(
        select(ScheduledMessage)
        .where(ScheduledMessage.center_id == center_id, ScheduledMessage.key == key)
        .with_for_update()
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def schedule_message(
    *, db_session: Session, center_id: str, data: NewScheduledMessage, now: datetime | None = None
) -> ScheduledMessage:
    """Ask for a message at a time; the same key again moves it (idempotent)."""
    now = now or now_utc()
    payload = _jsonable(data.data or {})
    row = _scheduled(db_session, center_id, data.key)
    if row is None:
        row = ScheduledMessage(
            id=str(uuid.uuid4()), center_id=center_id, key=data.key, created_at=now
        )
        _fill(row, data, payload, now)
        if db_session.get_bind().dialect.name != "postgresql":
            db_session.add(row)  # SQLite serialises writers: no race to lose
            return row
        try:
            with db_session.begin_nested():
                db_session.add(row)
            return row
        except IntegrityError:  # the same key arrived concurrently: it is there now
            row = _scheduled(db_session, center_id, data.key)
            assert row is not None
    if row.state == "sent" and row.send_at == data.send_at:
        return row  # a repeat of a request already carried out
    _fill(row, data, payload, now)
    return row


def _fill(
    row: ScheduledMessage, data: NewScheduledMessage, payload: dict[str, Any], now: datetime
) -> None:
    row.person_id, row.kind, row.send_at, row.data = (
        data.person_id,
        data.kind,
        data.send_at,
        payload,
    )
    row.state, row.error, row.sent_at, row.updated_at = "scheduled", None, None, now


def find_scheduled(*, db_session: Session, center_id: str, key: str) -> ScheduledMessage:
    """The scheduled message ``key`` (locked), or :class:`ScheduledMessageNotFound`."""
    row = _scheduled(db_session, center_id, key)
    if row is None:
        raise ScheduledMessageNotFound()
    return row


def cancel_scheduled(*, db_session: Session, center_id: str, key: str) -> ScheduledMessage:
    """Withdraw a scheduled message; cancelling twice is fine, a sent one can't be."""
    row = find_scheduled(db_session=db_session, center_id=center_id, key=key)
    if row.state == "sent":
        raise ScheduledConflict()
    if row.state == "scheduled":
        row.state, row.updated_at = "cancelled", now_utc()
    return row


def list_scheduled(
    *, db_session: Session, center_id: str, query: ScheduledFilter
) -> tuple[list[ScheduledMessage], int]:
    """A center's scheduled messages (a person's, in a state), soonest first."""
    where = [ScheduledMessage.center_id == center_id]
    if query.get("person_id"):
        where.append(ScheduledMessage.person_id == query["person_id"])
    if query.get("state"):
        where.append(ScheduledMessage.state == query["state"])
    return page(
        db_session,
        ScheduledMessage,
        where,
        (ScheduledMessage.send_at, ScheduledMessage.id),
        query["limit"],
        query["offset"],
    )


def apply_reminders(
    *, db_session: Session, center_id: str, plan: plans.Plan, now: datetime
) -> None:
    """The reminders a plan schedules, moves (if still waiting) or withdraws."""
    for r in plan.schedule:
        schedule_message(
            db_session=db_session,
            center_id=center_id,
            now=now,
            data=NewScheduledMessage(
                key=r.key, person_id=r.person_id, kind=r.kind, send_at=r.send_at, data=r.data
            ),
        )
    for r in plan.reschedule:
        existing = _scheduled(db_session, center_id, r.key)
        if existing is not None and existing.state == "scheduled":
            existing.send_at, existing.data, existing.updated_at = r.send_at, r.data, now
    for key in plan.cancel:
        existing = _scheduled(db_session, center_id, key)
        if existing is not None and existing.state == "scheduled":
            existing.state, existing.updated_at = "cancelled", now


def send_due_scheduled(
    *,
    db_session: Session,
    now: datetime,
    settings: Settings,
    limit: int = 100,
    directory: Directory | None = None,
) -> list[Outcome]:
    """Turn scheduled messages whose time has come into deliveries; caller commits."""
    rows = db_session.scalars(
        select(ScheduledMessage)
        .where(ScheduledMessage.state == "scheduled", ScheduledMessage.send_at <= now)
        .order_by(ScheduledMessage.send_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    outcomes: list[Outcome] = []
    for row in rows:
        message = planner.plan_scheduled(row.kind, row.person_id, row.data, row.key)
        source = f"sched:{row.id}:{int(row.send_at.timestamp())}"
        done = deliver(
            db_session=db_session,
            center_id=row.center_id,
            source_id=source,
            event_type=None,
            message=message,
            now=now,
            settings=settings,
            directory=directory,
        )
        outcomes += done
        row.state, row.sent_at, row.updated_at = "sent", now, now
        failed = [o for o in done if o.outcome == "failed"]
        row.error = f"{len(failed)} 个渠道模板无法渲染" if failed else None
    return outcomes
