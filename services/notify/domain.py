"""Who is told what, free of nameko: the directory and the in-app inbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from lianxin.contracts.tickets import PARTY_NAMES
from services.notify.exceptions import ContactNotFound, NotificationNotFound
from services.notify.models import Contact, Notification

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_time(moment: datetime) -> str:
    """How people read a time: Asia/Shanghai, minutes."""
    return moment.astimezone(SHANGHAI).strftime("%m月%d日 %H:%M")


def upsert_contact(*, db_session: Session, center_id: str, data: dict[str, Any]) -> Contact:
    """Add a person's contact data to the directory, or replace it."""
    contact = db_session.get(Contact, (center_id, data["person_id"]))
    if contact is None:
        contact = Contact(center_id=center_id, person_id=data["person_id"])
        db_session.add(contact)
    for key in ("name", "role", "phone", "email", "wechat_openid"):
        setattr(contact, key, data.get(key))
    contact.updated_at = datetime.now(UTC)
    return contact


def get_contact(*, db_session: Session, center_id: str, person_id: str) -> Contact:
    contact = db_session.get(Contact, (center_id, person_id))
    if contact is None:
        raise ContactNotFound()
    return contact


def notify_staff_of_new_ticket(*, db_session: Session, event: dict[str, Any]) -> Notification:
    """Tell the center's staff (the cadre on duty first) a new issue awaits acknowledgement."""
    data = event["data"]
    party = PARTY_NAMES.get(data["party"], data["party"])
    note = Notification(
        id=str(uuid.uuid4()), center_id=event["centerid"], audience="staff", person_id=None,
        kind=event["type"], title="新诉求待签收",
        body=(f"收到一条新的群众诉求（{data['category_name']}）：“{data['summary']}”。"
              f"拟派{party}处理，请值班干部于 {local_time(data['ack_due_at'])} 前签收。"),
        ref_type="ticket", ref_id=data["ticket_id"], event_id=event["id"],
        created_at=datetime.now(UTC),
    )
    db_session.add(note)
    return note


def _inbox_filter(center_id: str, role: str, person_id: str) -> list:
    return [Notification.center_id == center_id,
            or_(Notification.audience == role, Notification.person_id == person_id)]


def list_notifications(*, db_session: Session, center_id: str, role: str, person_id: str,
                       query: dict[str, Any]) -> tuple[list[Notification], int, int]:
    """A person's inbox: messages to their role at the center, or to them; newest first."""
    where = _inbox_filter(center_id, role, person_id)
    unread = db_session.scalar(select(func.count()).select_from(Notification)
                               .where(*where, Notification.read_at.is_(None))) or 0
    if query.get("unread"):
        where.append(Notification.read_at.is_(None))
    total = db_session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0
    items = db_session.scalars(select(Notification).where(*where)
                               .order_by(Notification.created_at.desc(), Notification.id)
                               .limit(query["limit"]).offset(query["offset"])).all()
    return list(items), total, unread


def mark_read(*, db_session: Session, center_id: str, role: str, person_id: str,
              notification_id: str) -> Notification:
    note = db_session.scalar(select(Notification).where(
        Notification.id == notification_id, *_inbox_filter(center_id, role, person_id)))
    if note is None:
        raise NotificationNotFound()
    if note.read_at is None:
        note.read_at = datetime.now(UTC)
    return note
