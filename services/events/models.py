"""Tables of the events service: programmes, activities, registrations, rooms and bookings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lianxin.db import UTCDateTime
from lianxin.outbox import kit_tables


class Base(DeclarativeBase):
    """The events service's own metadata (its own database)."""


outbox_table, processed_table = kit_tables(Base.metadata)

#: Registration states that hold or wait for a place (one per person and activity).
ACTIVE_REGISTRATION = ("pending", "confirmed", "waitlisted")
#: Booking states that hold a room's slot (two of them never overlap).
ACTIVE_BOOKING = ("pending", "confirmed")
#: Activity and registration states as people read them.
STATE_NAMES = {
    "draft": "尚未发布",
    "published": "已发布",
    "cancelled": "已取消",
    "completed": "已结束",
    "pending": "待审核",
    "confirmed": "已确认",
    "waitlisted": "在候补名单中",
    "rejected": "未通过审核",
}


def _in(states: tuple[str, ...]) -> str:
    return "state IN (" + ", ".join(f"'{s}'" for s in states) + ")"


class Room(Base):
    """One of the center's function rooms (功能室)."""

    __tablename__ = "rooms"

    center_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    capacity: Mapped[int] = mapped_column(Integer)
    equipment: Mapped[list[str]] = mapped_column(JSON, default=list)
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Bumped by every booking of the room: the UPDATE is the lock that serialises them.
    lock_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Programme(Base):
    """A standing programme (项目) such as 悦动耄耋 that activities belong to."""

    __tablename__ = "programmes"

    center_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(20), default="all")


class Activity(Base):
    """An activity (活动) residents can attend.

    States: ``draft`` (staff only) → ``published`` → ``cancelled``; ``completed`` is an
    activity recorded after it was held. Attendance is the registrations checked in
    plus ``walk_ins`` (people counted at the door, or the whole sign-in sheet of a record).
    """

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_center_start", "center_id", "starts_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    programme: Mapped[str | None] = mapped_column(String(40), nullable=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(20), default="all")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    room: Mapped[str | None] = mapped_column(String(40), nullable=True)
    place: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="published")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: None: registration closes when the activity starts.
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    max_party_size: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    walk_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    booking_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Bumped by every registration change: the UPDATE is the lock that serialises them.
    lock_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def closes_at(self) -> datetime:
        """When registration closes."""
        return self.registration_closes_at or self.starts_at


class Registration(Base):
    """A resident's registration for an activity, for themselves and family ``members``.

    One active registration per person and activity (a partial unique index); its
    ``code`` is shown at the door for check-in.
    """

    __tablename__ = "registrations"
    __table_args__ = (
        ForeignKeyConstraint(["activity_id"], ["activities.id"]),
        UniqueConstraint("activity_id", "code", name="uq_registrations_code"),
        Index(
            "uq_registrations_active_person",
            "activity_id",
            "person_id",
            unique=True,
            postgresql_where=text(_in(ACTIVE_REGISTRATION)),
            sqlite_where=text(_in(ACTIVE_REGISTRATION)),
        ),
        Index("ix_registrations_activity_state", "activity_id", "state", "seq"),
        Index("ix_registrations_person", "center_id", "person_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    activity_id: Mapped[str] = mapped_column(String(36))
    person_id: Mapped[str] = mapped_column(String(64))
    members: Mapped[list[str]] = mapped_column(JSON, default=list)
    party_size: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(String(200), default="")
    registered_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The activity's ``lock_version`` when it was made: the order of arrival, strictly
    #: (the waitlist's order), whatever the clocks of concurrent workers said.
    seq: Mapped[int] = mapped_column(Integer)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checked_in_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attended: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RoomBooking(Base):
    """A room held for a time: for an activity or another use (a meeting, a rehearsal).

    Two pending or confirmed bookings of one room never overlap: the room row is
    locked while booking, and on PostgreSQL an exclusion constraint (btree_gist) holds
    the rule even against a writer that skips the lock.
    """

    __tablename__ = "room_bookings"
    __table_args__ = (
        ForeignKeyConstraint(["center_id", "room"], ["rooms.center_id", "rooms.code"]),
        Index("ix_room_bookings_room_start", "center_id", "room", "starts_at"),
        Index("ix_room_bookings_series", "series_id"),
        ExcludeConstraint(
            ("center_id", "="),
            ("room", "="),
            (func.tstzrange(text("starts_at"), text("ends_at"), "[)"), "&&"),
            name="room_bookings_no_overlap",
            using="gist",
            where=text(_in(ACTIVE_BOOKING)),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    room: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(String(200))
    attendees: Mapped[int | None] = mapped_column(Integer, nullable=True)
    activity_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    series_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    state: Mapped[str] = mapped_column(String(20))
    booked_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
