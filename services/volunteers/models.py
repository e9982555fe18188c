"""Tables of the volunteers service (its own database).

Service time is kept in whole minutes (``minutes``) so totals add up exactly; it is
shown as hours. Every table holds ``center_id`` and every query filters by it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from lianxin.db import UTCDateTime
from lianxin.outbox import kit_tables
from services.volunteers.verification import new_code


class Base(DeclarativeBase):
    """The volunteers service's own metadata (its own database)."""


outbox_table, processed_table = kit_tables(Base.metadata)

#: Sign-up states that hold the volunteer's time (no two of them may overlap).
HOLDING = ("confirmed", "waitlisted", "checked_in")


def _partial(condition: str) -> dict:
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


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
    availability: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Verified minutes, kept with each approval (the register lists it; milestones read it).
    verified_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def verified_hours(self) -> float:
        return minutes_to_hours(self.verified_minutes)


class Training(Base):
    """A course or exchange visit; who took part is in :class:`TrainingAttendee`."""

    __tablename__ = "trainings"
    __table_args__ = (
        Index("ix_trainings_center_date", "center_id", "occurred_on"),
        Index("uq_trainings_center_ref", "center_id", "ref", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(100))
    occurred_on: Mapped[date] = mapped_column(Date)
    places: Mapped[list[str]] = mapped_column(JSON, default=list)
    hours: Mapped[float] = mapped_column(Float, default=0)
    programme: Mapped[str | None] = mapped_column(String(40), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    attendees: Mapped[list[TrainingAttendee]] = relationship(
        back_populates="training", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def volunteer_ids(self) -> list[str]:
        return [a.volunteer_id for a in self.attendees]


class TrainingAttendee(Base):
    __tablename__ = "training_attendees"
    __table_args__ = (Index("ix_training_attendees_volunteer", "volunteer_id"),)

    training_id: Mapped[str] = mapped_column(ForeignKey("trainings.id"), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteers.id"), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))

    training: Mapped[Training] = relationship(back_populates="attendees")


class Beneficiary(Base):
    """A person the center cares for (帮扶对象). Only staff and admins of the center read it."""

    __tablename__ = "beneficiaries"
    __table_args__ = (
        Index("ix_beneficiaries_center_category", "center_id", "category"),
        Index("uq_beneficiaries_center_file", "center_id", "file_no", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    file_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    name: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(30))
    care_needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    address: Mapped[str] = mapped_column(String(200))
    gender: Mapped[str | None] = mapped_column(String(10), nullable=True)
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    guardian: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The same person in notify's directory (their tickets, registrations), linked only once
    #: a staff member confirmed the match by phone: who linked it, when.
    person_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    person_linked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    person_linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    #: Filled by the queries that read the register (not columns: typed with ``cast``, since
    #: a declarative class reads every annotation as a column).
    age = cast("int | None", None)
    visits = 0
    last_visit_at = cast("datetime | None", None)


class Shift(Base):
    """A service task with a time window, a place, a capacity and required skills."""

    __tablename__ = "shifts"
    __table_args__ = (
        Index("ix_shifts_center_starts", "center_id", "starts_at"),
        Index("uq_shifts_center_ref", "center_id", "ref", unique=True),
        Index("ix_shifts_ends_status", "ends_at", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    required_skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    tasks: Mapped[list[str]] = mapped_column(JSON, default=list)
    beneficiary_id: Mapped[str | None] = mapped_column(
        ForeignKey("beneficiaries.id"), nullable=True
    )
    programme: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    cancel_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    #: Filled by queries that count places (not columns).
    confirmed = 0
    waitlisted = 0


class Signup(Base):
    """A volunteer's place (or place in line) on a shift, and their attendance."""

    __tablename__ = "signups"
    __table_args__ = (
        # One live sign-up per volunteer and shift; a cancelled one may be followed by another.
        Index(
            "uq_signups_shift_volunteer_live",
            "shift_id",
            "volunteer_id",
            unique=True,
            **_partial("status <> 'cancelled'"),
        ),
        Index("ix_signups_shift_status", "shift_id", "status", "queued_at"),
        Index("ix_signups_volunteer_window", "volunteer_id", "starts_at", "ends_at"),
        # The no-show sweep: confirmed sign-ups whose shift is over.
        Index("ix_signups_status_ends", "status", "ends_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id"))
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteers.id"))
    status: Mapped[str] = mapped_column(String(20))
    #: The shift's window, copied so a volunteer's overlapping sign-ups are found in one query.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: A confirmed place given up less than a day before the start (counts against reliability).
    late_cancel: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checked_in_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checked_out_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Counted service minutes and the state of their ledger entry.
    minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hours_status: Mapped[str | None] = mapped_column(String(20), nullable=True)

    shift: Mapped[Shift] = relationship(lazy="joined", innerjoin=True)
    volunteer: Mapped[Volunteer] = relationship(lazy="joined", innerjoin=True)

    #: Filled for waitlisted sign-ups by the queries that list them (not a column).
    waitlist_position = cast("int | None", None)

    @property
    def hours(self) -> float | None:
        return None if self.minutes is None else minutes_to_hours(self.minutes)


class HourEntry(Base):
    """The service-hours ledger: one row per volunteer per service, approved by a social worker.

    Approved rows are the verified hours and the participations (person-times); a
    correction supersedes a sign-up's row with a new one.
    """

    __tablename__ = "hour_entries"
    __table_args__ = (
        Index("ix_hour_entries_center_status_served", "center_id", "status", "served_at"),
        Index("ix_hour_entries_volunteer_status", "volunteer_id", "status"),
        Index("ix_hour_entries_signup", "signup_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteers.id"))
    source: Mapped[str] = mapped_column(String(20))  # attendance | correction | visit
    shift_id: Mapped[str | None] = mapped_column(ForeignKey("shifts.id"), nullable=True)
    signup_id: Mapped[str | None] = mapped_column(ForeignKey("signups.id"), nullable=True)
    visit_id: Mapped[str | None] = mapped_column(ForeignKey("visits.id"), nullable=True)
    correction_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    #: When the service began: periods are counted by it.
    served_at: Mapped[datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    volunteer: Mapped[Volunteer] = relationship(lazy="joined", innerjoin=True)

    @property
    def hours(self) -> float:
        return minutes_to_hours(self.minutes)


class Correction(Base):
    """A request to correct a sign-up's check-in / check-out, decided by a social worker."""

    __tablename__ = "corrections"
    __table_args__ = (
        Index(
            "uq_corrections_signup_pending",
            "signup_id",
            unique=True,
            **_partial("status = 'pending'"),
        ),
        Index("ix_corrections_center_status", "center_id", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    signup_id: Mapped[str] = mapped_column(ForeignKey("signups.id"))
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteers.id"))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(200), nullable=True)

    signup: Mapped[Signup] = relationship(lazy="joined", innerjoin=True)

    @property
    def hours(self) -> float:
        return minutes_to_hours(self.minutes)


class Visit(Base):
    """The visit log of a beneficiary: who came, when, what was done, notes."""

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_beneficiary_time", "beneficiary_id", "visited_at"),
        Index("ix_visits_center_time", "center_id", "visited_at"),
        Index("uq_visits_center_ref", "center_id", "ref", unique=True),
        Index("uq_visits_shift", "shift_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    beneficiary_id: Mapped[str] = mapped_column(ForeignKey("beneficiaries.id"))
    shift_id: Mapped[str | None] = mapped_column(ForeignKey("shifts.id"), nullable=True)
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tasks: Mapped[list[str]] = mapped_column(JSON, default=list)
    care_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    participants: Mapped[list[VisitVolunteer]] = relationship(
        back_populates="visit",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="VisitVolunteer.position",
    )


class VisitVolunteer(Base):
    __tablename__ = "visit_volunteers"

    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteers.id"), primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    minutes: Mapped[int] = mapped_column(Integer)

    visit: Mapped[Visit] = relationship(back_populates="participants")
    volunteer: Mapped[Volunteer] = relationship(lazy="joined", innerjoin=True)

    @property
    def hours(self) -> float:
        return minutes_to_hours(self.minutes)


class Milestone(Base):
    """A verified-hours milestone a volunteer reached, with its certificate number."""

    __tablename__ = "milestones"

    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteers.id"), primary_key=True)
    milestone_hours: Mapped[int] = mapped_column(Integer, primary_key=True)
    center_id: Mapped[str] = mapped_column(String(40))
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    total_minutes: Mapped[int] = mapped_column(Integer)
    certificate_no: Mapped[str] = mapped_column(String(40), unique=True)
    #: What anyone checks the certificate by (``/verify/<code>``; see ``verification``).
    verify_code: Mapped[str] = mapped_column(String(16), unique=True, default=new_code)

    @property
    def total_hours(self) -> float:
        return minutes_to_hours(self.total_minutes)


def minutes_to_hours(minutes: int) -> float:
    return round(minutes / 60, 2)


class CareFileAccess(Base):
    """One opening of a beneficiary's care file (帮扶档案): who, when (个人信息保护: access to
    sensitive personal data is accountable). Written in the transaction that reads the file;
    never changed, read by the center's admin."""

    __tablename__ = "care_file_access"
    __table_args__ = (
        Index("ix_care_file_access_center_opened", "center_id", "opened_at"),
        Index("ix_care_file_access_beneficiary", "center_id", "beneficiary_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    center_id: Mapped[str] = mapped_column(String(40))
    beneficiary_id: Mapped[str] = mapped_column(String(36))
    reader_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reader_role: Mapped[str] = mapped_column(String(20))
    #: cadre, social_worker, handler or admin: what the reader was when they opened it.
    reader_duty: Mapped[str | None] = mapped_column(String(20), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
