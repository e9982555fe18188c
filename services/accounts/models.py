"""Tables of the accounts service: accounts, their sessions, sign-in codes, failure
counts, the audit log and the signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lianxin.db import UTCDateTime


class Base(DeclarativeBase):
    """The accounts service's own metadata (its own database)."""


class Account(Base):
    """Who may sign in, as whom (a person id of notify's directory), with which role.

    Staff, admins, departments and ops sign in with ``login`` and a password; residents and
    volunteers with a code sent to their phone (``phone_hash``: the phone itself stays in
    the directory)."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("center_id", "login", name="uq_accounts_login"),
        UniqueConstraint("center_id", "phone_hash", "role", name="uq_accounts_phone"),
        Index("ix_accounts_person", "center_id", "person_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: The center the account belongs to (``*`` for department and ops accounts, whose
    #: grant is ``centers``).
    center_id: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    party: Mapped[str | None] = mapped_column(String(40), nullable=True)
    login: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    centers: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Set with the development password (``lianxin seed``): production refuses to start.
    dev_password: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20))
    invitation_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    invitation_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Session(Base):
    """One signed-in session: its refresh token (hashed), renewed on every refresh."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_account", "account_id"),
        Index("ix_sessions_revoked", "revoked_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36))
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The refresh token this one replaced: seen again, it was stolen (the session ends).
    previous_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Code(Base):
    """A one-time sign-in code sent to a phone (only its hash is kept)."""

    __tablename__ = "codes"
    __table_args__ = (
        Index("ix_codes_phone", "center_id", "phone_hash", "created_at"),
        Index("ix_codes_client", "client", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    center_id: Mapped[str] = mapped_column(String(40))
    phone_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Throttle(Base):
    """Failed sign-ins of one account name (or phone) or one client, and the lock they earn."""

    __tablename__ = "throttles"

    scope: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """Sign-ins, failures, lockouts and every change to who may do what."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_center", "center_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    center_id: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    account_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    login: Mapped[str | None] = mapped_column(String(64), nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SigningKeyRow(Base):
    """A signing key: signs from ``activated_at`` until the next one takes over
    (``retired_at``), and stays published in the JWKS until ``expires_at``."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(40), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
