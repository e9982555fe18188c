"""Message templates: the wording in force for each message type on each channel — a
center's own, checked against the type's sample data before it is saved, or the default."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.clock import now_utc
from lianxin.contracts.notify.operations import CHANNELS, PreviewRequest, TemplateText
from lianxin.errors import InvalidInput
from services.notify import messages
from services.notify.cache import touch
from services.notify.exceptions import InvalidTemplate, MessageTypeNotFound, TemplateNotFound
from services.notify.models import Template
from services.notify.rendering import RenderError, render


def require_type(code: str) -> messages.MessageType:
    """The message type ``code``, or :class:`MessageTypeNotFound`."""
    mt = messages.get(code)
    if mt is None:
        raise MessageTypeNotFound(fields={"message_type": [f"没有这种消息类型：{code}"]})
    return mt


def _overrides(db_session: Session, center_id: str) -> dict[tuple[str, str], Template]:
    rows = db_session.scalars(select(Template).where(Template.center_id == center_id)).all()
    return {(t.message_type, t.channel): t for t in rows}


def effective_template(
    *, db_session: Session, center_id: str, message_type: str, channel: str
) -> dict[str, Any]:
    """The wording used for a type on a channel: the center's own, else the default."""
    mt = require_type(message_type)
    own = db_session.get(Template, (center_id, message_type, channel))
    if own is not None:
        return {
            "message_type": message_type,
            "channel": channel,
            "title": own.title,
            "body": own.body,
            "overridden": True,
            "updated_at": own.updated_at,
        }
    title, body = mt.default(channel)
    return {
        "message_type": message_type,
        "channel": channel,
        "title": title,
        "body": body,
        "overridden": False,
        "updated_at": None,
    }


def list_templates(
    *, db_session: Session, center_id: str, message_type: str | None = None
) -> list[dict[str, Any]]:
    """Every type × channel with the wording in force at the center."""
    own = _overrides(db_session, center_id)
    out = []
    for code, mt in messages.TYPES.items():
        if message_type and code != message_type:
            continue
        for channel in CHANNELS:
            t = own.get((code, channel))
            title, body = (t.title, t.body) if t else mt.default(channel)
            out.append(
                {
                    "message_type": code,
                    "channel": channel,
                    "title": title,
                    "body": body,
                    "overridden": t is not None,
                    "updated_at": t.updated_at if t else None,
                }
            )
    return out


def check_template(
    mt: messages.MessageType, title: str, body: str, context: dict[str, Any] | None = None
) -> tuple[str, str]:
    """Render against sample data (or ``context``); :class:`InvalidTemplate` naming the field."""
    ctx = context if context is not None else mt.sample_context()
    errors: dict[str, list[str]] = {}
    rendered = {}
    for name, source in (("title", title), ("body", body)):
        try:
            rendered[name] = render(source, ctx)
        except RenderError as exc:
            errors[name] = [str(exc)]
    if not errors and not rendered["body"]:
        errors["body"] = ["模板渲染结果为空"]
    if not errors and len(rendered["title"]) > 200:
        errors["title"] = ["渲染后的标题超过 200 字"]
    if errors:
        raise InvalidTemplate(fields=errors, extra={"variables": mt.all_variables()})
    return rendered["title"], rendered["body"]


def save_template(
    *,
    db_session: Session,
    center_id: str,
    message_type: str,
    channel: str,
    data: TemplateText,
    by: str | None,
) -> Template:
    """Save a center's own wording, once it renders against the type's sample data."""
    mt = require_type(message_type)
    if channel not in CHANNELS:
        raise InvalidInput(fields={"channel": [f"应为以下之一：{', '.join(CHANNELS)}"]})
    check_template(mt, data.title, data.body)
    own = db_session.get(Template, (center_id, message_type, channel))
    if own is None:
        own = Template(center_id=center_id, message_type=message_type, channel=channel)
        db_session.add(own)
    own.title, own.body, own.updated_by, own.updated_at = data.title, data.body, by, now_utc()
    touch(db_session, center_id)
    return own


def delete_template(
    *, db_session: Session, center_id: str, message_type: str, channel: str
) -> dict[str, Any]:
    """Go back to the default wording."""
    own = db_session.get(Template, (center_id, message_type, channel))
    if own is None:
        raise TemplateNotFound()
    db_session.delete(own)
    db_session.flush()
    touch(db_session, center_id)
    return effective_template(
        db_session=db_session, center_id=center_id, message_type=message_type, channel=channel
    )


def preview_template(
    *, db_session: Session, center_id: str, data: PreviewRequest
) -> dict[str, str]:
    """A template (the one in force, or ``data``'s own wording) rendered against sample data."""
    mt = require_type(data.message_type)
    current = effective_template(
        db_session=db_session, center_id=center_id, message_type=mt.code, channel=data.channel
    )
    context = {**mt.sample_context(), **(data.data or {})}
    title, body = check_template(
        mt, data.title or current["title"], data.body or current["body"], context
    )
    return {"title": title, "body": body}
