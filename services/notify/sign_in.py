"""What notify does for sign-in and intake on other services' behalf: find the person of a
phone, send a sign-in code by SMS, and keep a reporter's contact."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxin.contracts.notify.operations import NewContact
from lianxin.errors import Forbidden, Unavailable
from lianxin.people import normalize_phone
from services.notify import directory
from services.notify.channels import Channel, DeliveryError, Outgoing
from services.notify.models import Contact

log = logging.getLogger(__name__)

#: The directory entries a reporter's hand-over may create or update.
REPORTER_PREFIXES = ("resident-", "reporter-")


def person_by_phone(
    *, db_session: Session, center_id: str, phone: str, role: str
) -> Contact | None:
    return db_session.scalars(
        select(Contact)
        .where(
            Contact.center_id == center_id,
            Contact.phone == normalize_phone(phone),
            Contact.role == role,
        )
        .order_by(Contact.person_id)
    ).first()


def send_code(
    *, channels: dict[str, Channel], center_id: str, phone: str, code: str, minutes: int
) -> None:
    """The code by SMS, now (a sign-in waits for it; nothing is queued or retried: the
    resident asks for another code). The sandbox records it (``var/notify-sandbox/sms.jsonl``)."""
    sms = channels.get("sms")
    if sms is None:
        raise Unavailable("短信通道未开通，无法发送验证码", code="SMS_UNAVAILABLE")
    message = Outgoing(
        delivery_id=uuid.uuid4().hex,
        center_id=center_id,
        channel="sms",
        message_type="sign_in_code",
        title="登录验证码",
        body=f"您的登录验证码是 {code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。",
        address=normalize_phone(phone),
        recipient_name="",
        critical=True,
    )
    try:
        sms.send(message)
    except DeliveryError as exc:
        log.warning("sign-in code to a phone of %s not sent: %s", center_id, exc.reason)
        raise Unavailable("验证码短信发送失败，请稍后再试", code="SMS_FAILED") from None


def remember_reporter(*, db_session: Session, center_id: str, data: NewContact) -> Contact:
    existing = db_session.get(Contact, (center_id, data.person_id))
    if existing is not None and existing.role != "resident":
        raise Forbidden("只能记录居民的联系方式", code="ROLE_FORBIDDEN")
    if not data.person_id.startswith(REPORTER_PREFIXES):
        raise Forbidden("只能记录居民的联系方式", code="ROLE_FORBIDDEN")
    return directory.upsert_contact(db_session=db_session, center_id=center_id, data=data)
