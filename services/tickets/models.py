"""Tables of the tickets service (its own database)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lianxin.db import UTCDateTime
from lianxin.outbox import kit_tables


class Base(DeclarativeBase):
    pass


outbox_table, processed_table = kit_tables(Base.metadata)


class Center(Base):
    """A Party-mass service center: the tenant every other row belongs to."""

    __tablename__ = "centers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Category(Base):
    """What a resident's issue is about, and which of the four parties handles it."""

    __tablename__ = "categories"
    __table_args__ = (ForeignKeyConstraint(["center_id"], ["centers.id"]),)

    center_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    party: Mapped[str] = mapped_column(String(30))
    ack_minutes: Mapped[int] = mapped_column(Integer, default=10)
    resolve_hours: Mapped[int] = mapped_column(Integer, default=72)


class Ticket(Base):
    """A resident's issue (群众诉求)."""

    __tablename__ = "tickets"
    __table_args__ = (
        ForeignKeyConstraint(["center_id", "category"], ["categories.center_id", "categories.code"]),
        # The staff board: a center's tickets in one state, by deadline.
        Index("ix_tickets_board", "center_id", "state", "resolve_due_at"),
        Index("ix_tickets_center_created", "center_id", "created_at"),
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
    reporter_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
