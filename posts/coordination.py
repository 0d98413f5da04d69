"""Tables the processes share that are not the queue: named leases, the access token, API calls per day."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posts.models import Base


class Lease(Base):
    """A named lease: the holder does the work until expires_at; an expired lease may be taken over."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime]


class AccessToken(Base):
    """The one access token every process shares (when Redis is not configured)."""

    __tablename__ = "access_token"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    refreshed_at: Mapped[datetime]
    refreshed_by: Mapped[str] = mapped_column(String(128), default="")


class ApiUsage(Base):
    """Calls per WeChat API path per Beijing day, to plan within the daily quotas."""

    __tablename__ = "api_usage"
    __table_args__ = (UniqueConstraint("day", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(128))
    count: Mapped[int] = mapped_column(Integer, default=0)
