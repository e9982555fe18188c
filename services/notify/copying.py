"""A new center's message templates and its first admin's directory entry, made when the
center is onboarded from a template center — and taken away if the onboarding fails.

Templates are the template center's own wordings (overrides); a type it never reworded
keeps the default, which lives in code, so nothing is copied for it. The tickets service
orchestrates onboarding and undoes this step (:func:`drop_copy`) when a later one fails.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.notify.operations import NewContact
from lianxin.errors import Conflict
from services.notify.cache import touch
from services.notify.directory import upsert_contact
from services.notify.models import Contact, Delivery, Template


def copy_center(
    *, db_session: Session, template_id: str, center_id: str, admin: NewContact
) -> dict[str, int]:
    """The template's own wordings, copied to ``center_id``, and ``admin`` in its directory —
    in place of what an earlier failed attempt left there, if anything. What was copied."""
    drop_copy(db_session=db_session, center_id=center_id)
    now = now_utc()
    found = db_session.scalars(select(Template).where(Template.center_id == template_id)).all()
    for template in found:
        db_session.add(
            Template(
                center_id=center_id,
                message_type=template.message_type,
                channel=template.channel,
                title=template.title,
                body=template.body,
                updated_by=template.updated_by,
                updated_at=now,
            )
        )
    upsert_contact(db_session=db_session, center_id=center_id, data=admin)
    touch(db_session, center_id)
    db_session.flush()
    return {"templates": len(found), "contacts": 1}


def drop_copy(*, db_session: Session, center_id: str) -> dict[str, int]:
    """Take a failed onboarding's copy away: the center's templates and directory —
    refused (:class:`Conflict`) once a message was sent there."""
    if db_session.scalar(select(exists().where(Delivery.center_id == center_id))):
        raise Conflict("该服务中心已有消息记录，不能撤销", code="CENTER_IN_USE")
    templates = _deleted(db_session, delete(Template).where(Template.center_id == center_id))
    contacts = _deleted(db_session, delete(Contact).where(Contact.center_id == center_id))
    touch(db_session, center_id)
    return {"templates": templates, "contacts": contacts}


def _deleted(db_session: Session, statement: Any) -> int:
    """How many rows a DELETE took away."""
    result: Any = db_session.execute(statement)
    return int(result.rowcount or 0)
