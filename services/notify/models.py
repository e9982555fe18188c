"""Tables of the notify service: the directory, message deliveries (the inbox is the in-app
ones), templates, preferences, scheduled messages, department subscriptions, the centers'
alerting chains, and the tickets resolved at the desk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from lianxin.bulk import insert_rows
from lianxin.db import UTCDateTime
from lianxin.outbox import kit_tables


class Base(DeclarativeBase):
    """The notify service's own metadata (its own database)."""


outbox_table, processed_table = kit_tables(Base.metadata)


class Contact(Base):
    """A person's contact data. Notify is the only service that holds it."""

    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_role", "center_id", "role"),)

    center_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    party: Mapped[str | None] = mapped_column(String(40), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    wechat_openid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One message to one recipient on one channel. The in-app ones are the inbox.

    ``recipient`` is a person id, or ``@<role>`` for a role's shared inbox (used when
    the directory names nobody of that role: the message is never dropped).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        # Exactly one delivery per (event, message type, recipient, channel), however often an
        # event comes (one event may tell a person two things: a resolution's answer and its
        # survey); also the index of an event's deliveries (source_id leads).
        UniqueConstraint(
            "source_id",
            "message_type",
            "recipient",
            "channel",
            name="uq_deliveries_source_type_recipient_channel",
        ),
        # A message told once whatever the events (a reporter hears of a dispatch once per
        # ticket). Partial: the other deliveries (once_key NULL) write nothing to it.
        Index(
            "uq_deliveries_once_recipient_channel",
            "once_key",
            "recipient",
            "channel",
            unique=True,
            postgresql_where=text("once_key IS NOT NULL"),
            sqlite_where=text("once_key IS NOT NULL"),
        ),
        # The inbox, and the delivery log by person (recipient is the person id).
        Index("ix_deliveries_inbox", "center_id", "recipient", "channel", "created_at"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        # No more: every index is written for every delivery, and events write many.
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(80))
    event_type: Mapped[str | None] = mapped_column(String(120), nullable=True)
    message_type: Mapped[str] = mapped_column(String(60))
    recipient: Mapped[str] = mapped_column(String(80))
    person_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    audience: Mapped[str | None] = mapped_column(String(20), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    ref_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ref_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: ``<message type>:<key>`` for a message told once per key (e.g. per ticket), else None.
    once_key: Mapped[str | None] = mapped_column(String(140), nullable=True)
    # pending → sending → sent | failed (with the reason); in-app ones are sent at once.
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deferred_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InboxRead(Base):
    """A person's read mark on a message in their role's shared inbox."""

    __tablename__ = "inbox_reads"

    delivery_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Template(Base):
    """A center's own wording of a message type on a channel (the defaults live in code)."""

    __tablename__ = "templates"

    center_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    message_type: Mapped[str] = mapped_column(String(60), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Preference(Base):
    """How a person wants a message type (``*``: every type) on push channels."""

    __tablename__ = "preferences"

    center_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_type: Mapped[str] = mapped_column(String(60), primary_key=True)
    channels: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuietHours(Base):
    """A person's own quiet hours (Asia/Shanghai), when not the service's default."""

    __tablename__ = "quiet_hours"

    center_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alerting(Base):
    """Who a center alerts beyond those on duty: its fallback people (in order, after its
    admins) and its leadership (the escalation ladder's third level). Person ids."""

    __tablename__ = "alerting"

    center_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    fallback_person_ids: Mapped[list[str]] = mapped_column(JSON)
    leadership_person_ids: Mapped[list[str]] = mapped_column(JSON)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeskTicket(Base):
    """A ticket registered and resolved at the desk (当场办结) and not reopened since: its
    party handled nothing, so it is told nothing of it (ticket.rated does not say so)."""

    __tablename__ = "desk_tickets"

    center_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduledMessage(Base):
    """A message to send at a time (a reminder); persisted, so it survives restarts."""

    __tablename__ = "scheduled_messages"
    __table_args__ = (
        UniqueConstraint("center_id", "key", name="uq_scheduled_center_key"),
        Index("ix_scheduled_due", "state", "send_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(60))
    send_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EventRecord(Base):
    """Every event notify received, as received: what subscriptions deliver and replay."""

    __tablename__ = "event_log"
    __table_args__ = (Index("ix_event_log_center_time", "center_id", "time"),)

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(120))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Subscription(Base):
    """A department's webhook: event type patterns, centers, URL and signing secrets."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    owner_role: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(500))
    types: Mapped[list[str]] = mapped_column(JSON)
    centers: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(200), default="")
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100), nullable=True)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    disabled_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One event to one subscription; ``id`` is the ``webhook-id`` header, kept across retries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # One live delivery per (subscription, event); a replay adds its own.
        UniqueConstraint(
            "subscription_id", "event_id", "replay_id", name="uq_webhook_sub_event_replay"
        ),
        Index("ix_webhook_due", "state", "next_attempt_at"),
        # A subscription's next due deliveries, without reading the others' backlog.
        Index("ix_webhook_sub_due", "subscription_id", "state", "next_attempt_at"),
        Index("ix_webhook_sub_created", "subscription_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(36))
    center_id: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(120))
    #: '' for the live delivery; the replay's id for a replayed one.
    replay_id: Mapped[str] = mapped_column(String(36), default="")
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def insert_ignore(
    db_session: Session,
    model: type[Base],
    rows: list[dict[str, Any]],
    conflict: list[str] | None,
) -> int:
    """Insert rows, skipping those a unique constraint already holds — the one on
    ``conflict``, or any when None; returns how many are new."""
    if not rows:
        return 0
    # One statement for all the rows, returning those inserted (lianxin.bulk).
    inserted = insert_rows(
        db_session.connection(),
        model,
        rows,
        on_conflict=conflict or True,
        returning=sa_inspect(model).primary_key[0].name,
    )
    return len(inserted or ())


Row = TypeVar("Row", bound=Base)


def page(
    db_session: Session,
    model: type[Row],
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    limit: int,
    offset: int,
) -> tuple[list[Row], int]:
    """One page of the ``model`` rows matching ``where``, and how many match in all."""
    total = db_session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    items = db_session.scalars(
        select(model).where(*where).order_by(*order_by).limit(limit).offset(offset)
    ).all()
    return list(items), total
