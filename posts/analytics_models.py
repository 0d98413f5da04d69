"""The analytics summary tables (posts/rollup.py fills them, posts/analytics.py reads them with the raw rows).

Rows of the inbound log and the page-view count are summarised once their local day is closed; what a summary
covers is told by its :class:`RollupMark` (ids up to ``covered_id`` and times before ``closed_before``), and
everything else is read from the raw rows, so a figure is always the raw rows' count.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from posts.models import Base


class RollupMark(Base):
    """How far one source table is summarised: ``inbound`` (inbound_event) or ``page_view``.

    Summarised are exactly its rows with ``id <= covered_id`` and a time before ``closed_before`` (a local
    midnight; page views: a day before ``closed_day``); rows from ``raw_from`` on may be outside that."""

    __tablename__ = "analytics_mark"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    covered_id: Mapped[int] = mapped_column(Integer, default=0)
    raw_from: Mapped[int] = mapped_column(Integer, default=0)
    """The lowest id of a row not summarised (every row with a lower id is)."""
    closed_before: Mapped[datetime | None]
    closed_day: Mapped[date | None] = mapped_column(Date)
    rolled_at: Mapped[datetime | None]
    tz: Mapped[str] = mapped_column(String(64), default="")
    """The timezone the summaries' local days are in (another one: they are rebuilt)."""


class DayCount(Base):
    """One figure of one closed local day: ``kind`` follow (item: the QR scene, "" direct), menu (the key or
    link tapped), text (the logged text); pages: the day's views per page path as one JSON object (``item``) and
    their total (a year of 300 paths is 365 rows)."""

    __tablename__ = "analytics_day"
    __table_args__ = (Index("ix_analytics_day_kind_day_item", "kind", "day", "item", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    day: Mapped[date] = mapped_column(Date)
    item: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer)


class FollowSeen(Base):
    """A summarised follow (its inbound_event id): whether an unfollow came within 7 days of one is looked up here."""

    __tablename__ = "analytics_follow"
    __table_args__ = (Index("ix_analytics_follow_openid_at", "openid", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    openid: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class UnfollowSeen(Base):
    """A summarised unfollow (its inbound_event id), its local day and whether a follow came at most 7 days before;
    its scene is the follower's (read with it), the pushes it came within 24 hours of are counted from it."""

    __tablename__ = "analytics_unfollow"
    __table_args__ = (
        Index("ix_analytics_unfollow_day", "day"),
        Index("ix_analytics_unfollow_at", "at"),
        Index("ix_analytics_unfollow_openid_at", "openid", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    openid: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    day: Mapped[date] = mapped_column(Date)
    quick: Mapped[bool] = mapped_column(Boolean, default=False)


class PushRolled(Base):
    """A post whose figures are summarised: it finished and its deliveries have settled (posts/rollup.py)."""

    __tablename__ = "analytics_push"

    post_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rolled_at: Mapped[datetime]


class PushCount(Base):
    """A summarised post's deliveries on one channel in one state, and how many of them were confirmed."""

    __tablename__ = "analytics_push_count"

    post_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    confirmed: Mapped[int] = mapped_column(Integer)


class PushGone(Base):
    """A recipient of a summarised post who unfollowed within 24 hours of their delivery (each once per post)."""

    __tablename__ = "analytics_push_gone"

    post_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
