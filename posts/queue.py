"""The push queue: posts, their audit trail, the exactly-once delivery ledger, mass batches, therapy tags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from posts.models import Base

POST_STATES = (
    "draft",
    "in_review",
    "approved",
    "queued",
    "sending",
    "sent",
    "partly_sent",
    "failed",
    "cancelled",
    "missed",
    "expired",
)
"""in_review, approved and expired belong to the console's approval (posts/approval.py); the scheduler only
ever takes queued posts."""
FINAL_POST_STATES = frozenset({"sent", "partly_sent", "failed", "cancelled", "missed", "expired"})
CHANNEL_POLICIES = ("auto", "custom_only", "template_only", "mass")
DELIVERY_STATES = ("planned", "sending", "sent", "failed", "undeliverable", "unknown")
"""unknown: a custom message that may have been delivered (a crash mid-send, or WeChat's answer was lost);
never resent automatically."""


class Post(Base):
    """One queued push: what (content), to whom (audience), when (due_at or cron), how (channel policy)."""

    __tablename__ = "post"
    __table_args__ = (Index("ix_post_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[str] = mapped_column(String(255))
    """section:<key>, update:<therapy>/<key>, digest, text."""
    text: Mapped[str] = mapped_column(Text, default="")
    """The operator's words for content "text" (rendered through post_text.txt.j2)."""
    audience: Mapped[str] = mapped_column(Text)
    """all, therapy:<key>, scene:<key>, tag:<id>, test:<openid,...>."""
    channel: Mapped[str] = mapped_column(String(16), default="auto")
    send_at: Mapped[datetime | None]
    """The time the operator asked for."""
    due_at: Mapped[datetime | None]
    """send_at moved past the quiet hours: when the post really goes out."""
    cron: Mapped[str | None] = mapped_column(String(120))
    """A recurring post: each firing creates an occurrence (a child post)."""
    next_run_at: Mapped[datetime | None]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("post.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    created_by: Mapped[str] = mapped_column(String(64), default="operator")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Resolved details: digest window (since/until), template purpose, report summary."""
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    events: Mapped[list[PostEvent]] = relationship(back_populates="post", order_by="PostEvent.id")


class PostEvent(Base):
    """Audit trail: who did what to a post, and when (queued, cancelled, started, missed, sent...)."""

    __tablename__ = "post_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")

    post: Mapped[Post] = relationship(back_populates="events")


class MassBatch(Base):
    """One mass-send call (an audience slice: a tag, everyone, or an openid list of ≤10,000)."""

    __tablename__ = "mass_batch"
    __table_args__ = (UniqueConstraint("post_id", "slice_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    slice_key: Mapped[str] = mapped_column(String(64))
    """all, tag:<id> or list:<n>."""
    state: Mapped[str] = mapped_column(String(16), default="planned")
    msg_id: Mapped[str | None] = mapped_column(String(64), index=True)
    errcode: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """MASSSENDJOBFINISH counts once reconciled."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    """When MASSSENDJOBFINISH arrived."""

    @property
    def clientmsgid(self) -> str:
        """Idempotency key for WeChat's 24-hour mass-send dedup, derived from the row id."""
        return f"wxbot-mass-{self.id}"


class Delivery(Base):
    """The ledger: one row per (post, follower); moves planned → sending → sent | failed | unknown."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("post_id", "openid"),
        Index("ix_delivery_post_state", "post_id", "state"),
        Index("ix_delivery_openid_sent", "openid", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"))
    follower_id: Mapped[int | None] = mapped_column(ForeignKey("follower.id", ondelete="SET NULL"))
    openid: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    """custom, template, mass, none."""
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("mass_batch.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="planned")
    errcode: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None]
    """A transient failure waits for this time before the next attempt."""
    msg_id: Mapped[str | None] = mapped_column(String(64), index=True)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    """When TEMPLATESENDJOBFINISH (or the mass batch's MASSSENDJOBFINISH) arrived."""

    @property
    def client_msg_id(self) -> str:
        """Idempotency key for template messages (WeChat dedups openid + id for 10 minutes)."""
        return f"wxbot-{self.id}"


class TherapyTag(Base):
    """The WeChat user tag that mirrors one therapy's subscribers."""

    __tablename__ = "therapy_tag"

    therapy_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tag_id: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class JobFinished(Base):
    """WeChat's word on a send: each TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH as pushed, with its counts.

    Kept even when no delivery or batch has its MsgID yet (the push can arrive before the sender records the
    call's answer): the tick applies it once one does (``posts.ledger.reconcile``).
    """

    __tablename__ = "job_finished"
    __table_args__ = (UniqueConstraint("event", "msg_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(32))
    """templatesendjobfinish or masssendjobfinish."""
    msg_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(Text, default="")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """TotalCount, FilterCount (after WeChat's filtering), SentCount, ErrorCount of a mass job."""
    received_at: Mapped[datetime]
    applied_at: Mapped[datetime | None]
    """When it was applied to our delivery or batch; None: not ours (yet)."""
