"""Tables of the volunteers service (its own database)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lianxin.db import UTCDateTime
from lianxin.outbox import kit_tables


class Base(DeclarativeBase):
    pass


outbox_table, processed_table = kit_tables(Base.metadata)


class Volunteer(Base):
    """A person on the center's volunteer register. Contact data lives in notify."""

    __tablename__ = "volunteers"
    __table_args__ = (
        Index("ix_volunteers_center_registered", "center_id", "registered_at"),
        Index("uq_volunteers_center_person", "center_id", "person_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(40))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="active")
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
