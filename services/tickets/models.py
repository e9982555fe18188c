"""Tables of the tickets service (its own database)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from lianxin.db import UTCDateTime
from lianxin.outbox import ID, kit_tables


class Base(DeclarativeBase):
    """The tickets service's own metadata (its own database)."""


outbox_table, processed_table = kit_tables(Base.metadata)

#: States in which a ticket still needs someone to act.
OPEN_STATES = ("reported", "acknowledged", "assigned", "in_progress", "returned", "escalated")


class Center(Base):
    """A Party-mass service center: the tenant every other row belongs to."""

    __tablename__ = "centers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai")
    #: The party a category without a routing rule goes to.
    fallback_party: Mapped[str] = mapped_column(String(30), default="village_committee")
    #: Route to the party automatically when the cadre on duty acknowledges.
    auto_assign: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Day of the month of the joint meeting (党建联席会), 1–28.
    meeting_day: Mapped[int] = mapped_column(Integer, default=25)
    #: The escalation ladder's third step, as a multiple of the acknowledge limit (e.g. 3:
    #: the town's leadership at three times it); None: a two-step ladder.
    escalation_level3_factor: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Whether a report's photos are shown to the public (follow page, Open311 media_url).
    public_photos: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The center's phone for residents ("": none kept) and its opening hours, as people
    #: read them: what its home page shows.
    hotline: Mapped[str] = mapped_column(String(20), default="", server_default="")
    opening_hours: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: ``active``, or ``disabled`` (停用): every service refuses its writes, its data stays.
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")


class Category(Base):
    """What a resident's issue is about: its Open311 service, routing rule and SLA."""

    __tablename__ = "categories"
    __table_args__ = (
        ForeignKeyConstraint(["center_id"], ["centers.id"]),
        UniqueConstraint("center_id", "service_code", name="uq_categories_service_code"),
    )

    center_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    #: The routing rule: category → party (None: the center's fallback party).
    party: Mapped[str | None] = mapped_column(String(30), nullable=True)
    ack_minutes: Mapped[int] = mapped_column(Integer, default=10)
    resolve_hours: Mapped[int] = mapped_column(Integer, default=72)
    service_code: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Open311 attribute definitions asked at intake.
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Ticket(Base):
    """A resident's issue (群众诉求)."""

    __tablename__ = "tickets"
    __table_args__ = (
        ForeignKeyConstraint(
            ["center_id", "category"], ["categories.center_id", "categories.code"]
        ),
        # The staff board: a center's open tickets by their next deadline.
        # (… due_at, id) matches the board's ORDER BY exactly: no sort, LIMIT stops early.
        Index(
            "ix_tickets_board",
            "center_id",
            "due_at",
            "id",
            postgresql_where=text("due_at IS NOT NULL"),
            sqlite_where=text("due_at IS NOT NULL"),
        ),
        Index(
            "ix_tickets_board_party",
            "center_id",
            "party",
            "due_at",
            "id",
            postgresql_where=text("due_at IS NOT NULL"),
            sqlite_where=text("due_at IS NOT NULL"),
        ),
        # The board's counts by state: an index-only scan of the center's open tickets.
        Index(
            "ix_tickets_open_state",
            "center_id",
            "state",
            postgresql_where=text("due_at IS NOT NULL"),
            sqlite_where=text("due_at IS NOT NULL"),
        ),
        # A center's latest open tickets, newest first (intake's likely repeats: the open
        # pool): LIMIT stops early however many tickets, open or closed, the center has.
        Index(
            "ix_tickets_open_created",
            "center_id",
            "created_at",
            postgresql_where=text("due_at IS NOT NULL"),
            sqlite_where=text("due_at IS NOT NULL"),
        ),
        Index("ix_tickets_center_state", "center_id", "state"),
        Index("ix_tickets_center_created", "center_id", "created_at"),
        # The month's resolutions of a center (ticket statistics, the county view).
        Index("ix_tickets_center_resolved", "center_id", "resolved_at"),
        # Every center's month at once (the county view): the month's received and resolved
        # tickets as index-only range scans, carrying what the counts and the median read
        # (on PostgreSQL; at 1M tickets 45 ms instead of a 270 ms scan of the table).
        Index(
            "ix_tickets_created_month",
            "created_at",
            postgresql_include=["center_id", "resolve_breached", "acknowledged_at"],
        ),
        Index(
            "ix_tickets_resolved_month",
            "resolved_at",
            postgresql_include=["center_id", "created_at"],
        ),
        # A person's tickets (a resident's list; a caller's earlier issues at the hotline).
        Index("ix_tickets_reporter", "center_id", "reporter_id", "created_at"),
        # A repeated submission (double click, a client's retry) finds the first one; two at
        # once (through two gateways) can't both be stored: the key names its time bucket.
        Index(
            "uq_tickets_intake_key",
            "intake_key",
            unique=True,
            postgresql_where=text("intake_key IS NOT NULL"),
            sqlite_where=text("intake_key IS NOT NULL"),
        ),
        # The SLA timer's scans.
        Index(
            "ix_tickets_ack_watch",
            "ack_due_at",
            postgresql_where=text("state = 'reported'"),
            sqlite_where=text("state = 'reported'"),
        ),
        Index(
            "ix_tickets_resolve_watch",
            "resolve_due_at",
            postgresql_where=text("resolve_breached = false AND due_at IS NOT NULL"),
            sqlite_where=text("resolve_breached = 0 AND due_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    party: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20), default="reported")
    channel: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    long: Mapped[float | None] = mapped_column(Float, nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    media_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: The reporter as a person id of notify's directory (their contact data lives there).
    reporter_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Lets a reporter without an account follow and rate the ticket.
    follow_code: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The next deadline while open (acknowledge, then resolve); None once resolved.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    primary_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[str | None] = mapped_column(String(30), nullable=True)
    ack_breach_level: Mapped[int] = mapped_column(Integer, default=0)
    resolve_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    #: What makes a submission the same as an earlier one from the same client, within its
    #: time bucket (a hash: see intake.stored_intake_key); None for intake that may
    #: legitimately repeat (staff registering calls).
    intake_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The photos attached at intake (ids in the photo store; see :class:`TicketPhoto`).
    photo_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    #: Open tickets this one likely repeats, as found at intake: ``{ticket_id, summary,
    #: state, distance_m}`` each. A snapshot read only with its ticket, written in the same
    #: INSERT as the ticket (gathered intake stays one statement per table).
    repeat_candidates: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    #: Residents who joined it ("我也遇到了"), in order: every later event names them.
    #: Kept here, beside the :class:`TicketSupporter` rows that make each join unique, so
    #: that an event is built from the locked ticket alone.
    supporter_ids: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    #: The repeat reports merged into this one (their ``primary_id`` is this ticket's id).
    merged_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))


class TicketLog(Base):
    """The audit trail: every transition, who made it, when and why (the ticket's timeline)."""

    __tablename__ = "ticket_log"
    __table_args__ = (
        Index("ix_ticket_log_ticket", "ticket_id", "id"),
        # A center's steps in a period (returns and escalations of the ticket statistics).
        Index("ix_ticket_log_center_at", "center_id", "at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    center_id: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    party: Mapped[str | None] = mapped_column(String(30), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rating(Base):
    """A resident's rating at a return visit (回访): the satisfaction rate counts these."""

    __tablename__ = "ratings"
    __table_args__ = (Index("ix_ratings_center_at", "center_id", "rated_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    center_id: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str] = mapped_column(String(36))
    party: Mapped[str] = mapped_column(String(30))
    category: Mapped[str] = mapped_column(String(40))
    rating: Mapped[str] = mapped_column(String(30))
    via: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DutyShift(Base):
    """Who is the cadre on duty (值班干部) when."""

    __tablename__ = "duty_roster"
    __table_args__ = (Index("ix_duty_center_time", "center_id", "starts_at", "ends_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketSupporter(Base):
    """A resident who joined an open ticket instead of reporting it again: once per person,
    and once per phone — kept only as a keyed hash (made by the gateway, salted with the
    ticket), never the number."""

    __tablename__ = "ticket_supporters"
    __table_args__ = (
        UniqueConstraint("ticket_id", "person_id", name="uq_ticket_supporters_person"),
        Index(
            "uq_ticket_supporters_phone",
            "ticket_id",
            "phone_hash",
            unique=True,
            postgresql_where=text("phone_hash IS NOT NULL"),
            sqlite_where=text("phone_hash IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    center_id: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str] = mapped_column(String(36))
    person_id: Mapped[str] = mapped_column(String(64))
    phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketPhoto(Base):
    """Which ticket holds a photo: how a public photo URL (Open311 ``media_url``) finds the
    ticket, and so its center's ``public_photos`` setting, without scanning JSON."""

    __tablename__ = "ticket_photos"

    photo_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))


class JointMeeting(Base):
    """The monthly joint meeting of the four parties (党建联席会)."""

    __tablename__ = "joint_meetings"
    __table_args__ = (UniqueConstraint("center_id", "month", name="uq_joint_meetings_month"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    month: Mapped[str] = mapped_column(String(7))
    meeting_date: Mapped[date] = mapped_column(Date)


class AgendaItem(Base):
    """An escalated ticket on a meeting's agenda, and the meeting's decision on it."""

    __tablename__ = "agenda_items"
    __table_args__ = (
        Index("ix_agenda_meeting", "meeting_id"),
        Index("ix_agenda_ticket", "ticket_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    meeting_id: Mapped[str] = mapped_column(String(36))
    ticket_id: Mapped[str] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: None until decided: resolved | assigned | carried_over.
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The ticket on the agenda (no foreign key in the schema: read only).
    ticket: Mapped[Ticket] = relationship(
        Ticket, primaryjoin="foreign(AgendaItem.ticket_id) == Ticket.id", viewonly=True
    )


class ApiKey(Base):
    """An Open311 client's key (only its SHA-256 is kept)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class IntakeClaim(Base):
    """What became of one intake request, by the key the gateway gave it (a request id, not
    a client's key): ``stored`` with its ticket, or ``abandoned`` — the gateway stopped
    waiting and told its client the report was not taken in, so a late copy of the request
    must store nothing (see :mod:`services.tickets.settling`). Kept a day."""

    __tablename__ = "intake_claims"

    request_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
