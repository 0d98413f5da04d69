"""The inbox's table (posts/inbox.py has its rules): follower messages waiting for a person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from posts.models import Base


class InboxItem(Base):
    """A follower's message waiting for a person: one no rule answered, an urgent one, or one an operator flagged;
    answered by a customer-service message the scheduler sends (an outbox row)."""

    __tablename__ = "inbox_item"
    __table_args__ = (Index("ix_inbox_item_state_urgent_received", "state", "urgent", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="open")
    """open, answered, closed."""
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(32))
    """default (no rule answered), suggest (only a weak "did you mean"), urgent:<rule>, flagged."""
    dedup_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    """The push (or the flagged log line) it came from: recorded once."""
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(64))
    flagged_by: Mapped[str | None] = mapped_column(String(64))
