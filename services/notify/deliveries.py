"""Deliveries: one row per (recipient, channel) of a planned message — the in-app ones are the
inbox — written once whatever the redeliveries, then claimed, sent and recorded by the
dispatcher; and the delivery log people and staff read."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from lianxin.contracts.notify.operations import DeliveryFilter
from services.notify import messages, plans
from services.notify.directory import Directory, Profile, resolve_recipients
from services.notify.models import Delivery, insert_ignore, page
from services.notify.preferences import ALL_TYPES, choose_channels, quiet_until
from services.notify.rendering import RenderError, reads_any, render
from services.notify.settings import Settings
from services.notify.templates import require_type

log = logging.getLogger(__name__)

#: Template variables that differ from one recipient to the next.
_PERSONAL = frozenset({"recipient_name"})


@dataclass
class Outcome:
    """What happened to one delivery, for the metrics."""

    center_id: str
    channel: str
    outcome: str  # sent | queued | deferred | failed | retried


# -- writing what a message asks for ---------------------------------------------------------


class _Wordings:
    """The rendered wording of one message type per channel, rendered once per channel — or
    once per recipient name where the template says ``{{ recipient_name }}``."""

    def __init__(
        self,
        mt: messages.MessageType,
        own: dict[tuple[str, str], tuple[str, str]],
        context: dict[str, Any],
    ):
        self.mt, self.own, self.context = mt, own, context
        self.personal: dict[str, bool] = {}
        self.rendered: dict[tuple[str, str | None], tuple[str, str, str | None]] = {}

    def get(self, channel: str, name: str) -> tuple[str, str, str | None]:
        """(title, body, error) on ``channel`` for a recipient called ``name``."""
        template = self.own.get((self.mt.code, channel))
        if channel not in self.personal:
            self.personal[channel] = reads_any(
                _PERSONAL, *(template or ()), *self.mt.default(channel)
            )
        key = (channel, name if self.personal[channel] else None)
        if key not in self.rendered:
            self.rendered[key] = _render_for(
                self.mt, channel, template, {**self.context, "recipient_name": name}
            )
        return self.rendered[key]


def _render_for(
    mt: messages.MessageType, channel: str, own: tuple[str, str] | None, context: dict[str, Any]
) -> tuple[str, str, str | None]:
    """(title, body, error): the center's wording, else the default; the error if neither renders."""
    sources = []
    if own is not None:
        sources.append(own)
    sources.append(mt.default(channel))
    error = None
    for title, body in sources:
        try:
            return render(title, context), render(body, context), None
        except RenderError as exc:
            error = str(exc)
            log.error("template %s/%s does not render: %s", mt.code, channel, exc)
    return mt.name, "", error


def _channels(mt: messages.MessageType, profile: Profile | None) -> list[str]:
    """In-app, and the push channels the person's contact data and preferences allow."""
    channels = ["in_app"]
    if profile is not None:
        pref = profile.preferences.get(mt.code) or profile.preferences.get(ALL_TYPES)
        channels += choose_channels(mt, profile.contact, pref)
    return channels


def _deferred(
    mt: messages.MessageType, profile: Profile | None, now: datetime, settings: Settings
) -> datetime | None:
    """Until when a person's push messages wait (their quiet hours, else the default ones)."""
    if mt.critical:
        return None
    quiet = profile.quiet if profile else None
    if quiet is None:
        return (
            quiet_until(now, settings.quiet_start, settings.quiet_end)
            if settings.quiet_start
            else None
        )
    return quiet_until(now, quiet.start, quiet.end) if quiet.enabled else None


def _settle(
    row: dict[str, Any], error: str | None, deferred: datetime | None, now: datetime
) -> str:
    """Give a new row its first state; returns the outcome counted for it."""
    if error is not None:
        row.update(state="failed", last_error=f"模板无法渲染：{error}")
        return "failed"
    if row["channel"] == "in_app":
        row.update(state="sent", sent_at=now)
        return "sent"
    if deferred is not None:
        row.update(state="pending", next_attempt_at=deferred, deferred_until=deferred)
        return "deferred"
    row.update(state="pending", next_attempt_at=now)
    return "queued"


def delivery_rows(
    *,
    center_id: str,
    source_id: str,
    event_type: str | None,
    message: plans.Message,
    now: datetime,
    settings: Settings,
    directory: Directory,
) -> tuple[list[dict[str, Any]], list[Outcome]]:
    """The delivery rows of one planned message, one per (recipient, channel), and their outcomes.

    Reads only through ``directory``, writes nothing."""
    mt = require_type(message.message_type)
    recipients = resolve_recipients(
        db_session=directory.db_session, center_id=center_id, message=message, directory=directory
    )
    profiles = directory.profiles(center_id, [r for r in recipients if not r.startswith("@")])
    context = {
        **message.context,
        "center_id": center_id,
        "center_name": directory.center_name(center_id),
    }
    wordings = _Wordings(mt, directory.templates(center_id), context)
    once_key = f"{mt.code}:{message.once}" if message.once else None
    rows, outcomes = [], []
    for recipient in recipients:
        role = recipient[1:] if recipient.startswith("@") else None
        profile = None if role else profiles.get(recipient)
        name = profile.contact.name if profile and profile.contact else "您"
        deferred = None if role else _deferred(mt, profile, now, settings)
        for channel in _channels(mt, profile):
            title, body, error = wordings.get(channel, name)
            row = {
                "id": str(uuid.uuid4()),
                "center_id": center_id,
                "source_id": source_id,
                "event_type": event_type,
                "message_type": mt.code,
                "recipient": recipient,
                "person_id": None if role else recipient,
                "audience": role,
                "channel": channel,
                "critical": mt.critical,
                "title": title[:200],
                "body": body,
                "ref_type": message.ref_type,
                "ref_id": message.ref_id,
                "once_key": once_key,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": None,
                "deferred_until": None,
                "sent_at": None,
                "last_error": None,
                "read_at": None,
                "lease_until": None,
            }
            outcomes.append(Outcome(center_id, channel, _settle(row, error, deferred, now)))
            rows.append(row)
    return rows, outcomes


def record_deliveries(
    *, db_session: Session, rows: list[dict[str, Any]], outcomes: list[Outcome]
) -> list[Outcome]:
    """Insert delivery rows in one statement; the outcomes of those that are new.

    The unique (source, message type, recipient, channel) keeps a redelivered event from
    adding any, and the unique (once key, recipient, channel) a message told once from being
    told again by another event; within one batch the first row for either wins."""
    seen: set[tuple[str, str, str, str]] = set()
    batch, kept = [], []
    for row, outcome in zip(rows, outcomes, strict=True):
        keys = {(row["source_id"], row["message_type"], row["recipient"], row["channel"])}
        if row["once_key"] is not None:
            keys.add(("once", row["once_key"], row["recipient"], row["channel"]))
        if not keys & seen:
            seen |= keys
            batch.append(row)
            kept.append(outcome)
    new = insert_ignore(db_session, Delivery, batch, None)
    if new == len(batch):
        return kept
    if new == 0:  # a redelivered event
        return []
    inserted = set(
        db_session.scalars(select(Delivery.id).where(Delivery.id.in_([r["id"] for r in batch])))
    )
    return [o for o, r in zip(kept, batch, strict=True) if r["id"] in inserted]


def deliver(
    *,
    db_session: Session,
    center_id: str,
    source_id: str,
    event_type: str | None,
    message: plans.Message,
    now: datetime,
    settings: Settings,
    directory: Directory | None = None,
) -> list[Outcome]:
    """Record the deliveries of one planned message: one per (recipient, channel), idempotent."""
    rows, outcomes = delivery_rows(
        center_id=center_id,
        source_id=source_id,
        event_type=event_type,
        message=message,
        now=now,
        settings=settings,
        directory=directory or Directory(db_session),
    )
    return record_deliveries(db_session=db_session, rows=rows, outcomes=outcomes)


# -- the dispatcher's side -------------------------------------------------------------------


def claim_due(
    *, db_session: Session, now: datetime, limit: int, lease: timedelta
) -> list[Delivery]:
    """Take due push deliveries (and ones whose sender died) for sending; caller commits."""
    rows = db_session.scalars(
        select(Delivery)
        .where(
            or_(
                and_(Delivery.state == "pending", Delivery.next_attempt_at <= now),
                and_(Delivery.state == "sending", Delivery.lease_until < now),
            )
        )
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.state, row.lease_until, row.attempts = "sending", now + lease, row.attempts + 1
    return list(rows)


@dataclass(frozen=True)
class Attempt:
    """How one send went: ``error`` None when it was handed over; ``at`` when it finished."""

    delivery_id: str
    error: str | None
    permanent: bool
    at: datetime


def record_attempts(
    *, db_session: Session, attempts: list[Attempt], settings: Settings
) -> list[Outcome | None]:
    """Record how sends went — sent, retried later (backoff), or failed with the reason — in
    one transaction for many; None for a delivery no longer being sent. Caller commits."""
    ids = sorted({a.delivery_id for a in attempts})
    rows = {
        r.id: r
        for r in db_session.scalars(
            select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id).with_for_update()
        )
    }
    outcomes: list[Outcome | None] = []
    for attempt in attempts:
        row = rows.get(attempt.delivery_id)
        if row is None or row.state != "sending":
            outcomes.append(None)
            continue
        row.lease_until, error = None, attempt.error
        if error is None:
            row.state, row.sent_at, row.last_error = "sent", attempt.at, None
            outcome = "sent"
        elif attempt.permanent or row.attempts >= settings.max_attempts:
            row.state, row.last_error, row.next_attempt_at = "failed", error[:2000], None
            outcome = "failed"
        else:
            row.state, row.last_error = "pending", error[:2000]
            row.next_attempt_at = attempt.at + settings.backoff(row.attempts)
            outcome = "retried"
        outcomes.append(Outcome(row.center_id, row.channel, outcome))
    return outcomes


def record_attempt(
    *,
    db_session: Session,
    delivery_id: str,
    error: str | None,
    permanent: bool,
    now: datetime,
    settings: Settings,
) -> Outcome | None:
    """Record how a send went: sent, retried later (backoff), or failed with the reason."""
    return record_attempts(
        db_session=db_session,
        settings=settings,
        attempts=[Attempt(delivery_id, error, permanent, now)],
    )[0]


# -- the delivery log ------------------------------------------------------------------------


def list_deliveries(
    *, db_session: Session, center_id: str, query: DeliveryFilter
) -> tuple[list[Delivery], int]:
    """The delivery log of a center, per person and/or per event, newest first."""
    where = [Delivery.center_id == center_id]
    if query.get("person_id"):
        where.append(Delivery.recipient == query["person_id"])
    if query.get("event_id"):
        where.append(Delivery.source_id == query["event_id"])
    if query.get("channel"):
        where.append(Delivery.channel == query["channel"])
    if query.get("state"):
        where.append(Delivery.state == query["state"])
    return page(
        db_session,
        Delivery,
        where,
        (Delivery.created_at.desc(), Delivery.id),
        query["limit"],
        query["offset"],
    )
