"""The operator console's records: staff accounts, their sessions, sign-in attempts, the audit log, notices.

Kept in posts/ (the system of record) so the console edge and the `wxbot users` command share them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from posts.models import Base

ROLES = ("editor", "reviewer", "sender", "admin")
"""editor drafts posts; reviewer approves medical content (never their own); sender queues and cancels approved
posts; admin manages users and sees the settings (and may do what the others do)."""


class OperatorUser(Base):
    """A member of the clinic staff who signs in to the console."""

    __tablename__ = "operator_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    """argon2id (argon2-cffi)."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_signins: Mapped[int] = mapped_column(Integer, default=0)
    """Wrong passwords in a row since the last good sign-in."""
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime | None]

    @property
    def name(self) -> str:
        return self.display_name or self.username


class OperatorSession(Base):
    """A signed-in browser: the cookie carries a random token, the row keeps only its SHA-256."""

    __tablename__ = "operator_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("operator_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    """The absolute end, whatever the activity."""
    revoked_at: Mapped[datetime | None]


class SigninAttempt(Base):
    """One sign-in attempt, for the throttle per account and per address."""

    __tablename__ = "signin_attempt"
    __table_args__ = (Index("ix_signin_attempt_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what, when, to what, with the values before and after."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(64), default="")
    """post:<id>, user:<name>, session..."""
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OperatorNotice(Base):
    """Something an operator must be told on their dashboard (their post expired, was returned...)."""

    __tablename__ = "operator_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    """expired, returned, approved."""
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
