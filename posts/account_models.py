"""Tables of what the account may do and what it published: articles, publish results, the capability profile,
and the follower import cursor (operator alerts: posts.models.OperatorAlert)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posts.models import Base

ARTICLE_STATES = ("queued", "submitting", "publishing", "published", "failed")


class Article(Base):
    """A review section or therapy update published as a WeChat article (draft/add + freepublish/submit)."""

    __tablename__ = "article"
    __table_args__ = (
        UniqueConstraint("content", "content_version"),
        Index("ix_article_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[str] = mapped_column(String(255))
    """section:<key> or update:<therapy>/<key> (the references posts carry)."""
    content_version: Mapped[int] = mapped_column(Integer, default=0)
    """The content version (posts.live) it was asked for: a newer version is a new article."""
    title: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    """queued, submitting (claimed: uploading, adding the draft, submitting), publishing (submitted, waiting for
    PUBLISHJOBFINISH or freepublish/get), published, failed."""
    draft_media_id: Mapped[str | None] = mapped_column(String(128))
    publish_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    article_id: Mapped[str | None] = mapped_column(String(128))
    url: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(64), default="operator")
    requested_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    checked_at: Mapped[datetime | None]
    """When it was claimed for submitting, then the last freepublish/get poll."""
    published_at: Mapped[datetime | None]


class PublishResult(Base):
    """WeChat's PUBLISHJOBFINISH as the bot received it (it may come before the submit's answer is stored)."""

    __tablename__ = "publish_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    publish_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[int] = mapped_column(Integer)
    """0 success, 1 publishing, 2 originality check failed, 3 general failure, 4 rejected, 5 deleted, 6 banned."""
    article_id: Mapped[str | None] = mapped_column(String(128))
    article_url: Mapped[str | None] = mapped_column(Text)
    fail_idx: Mapped[list[Any]] = mapped_column(default=list)
    received_at: Mapped[datetime]


class CapabilityProfile(Base):
    """One `wxbot account check`: what the account may do, checked when (the newest row is the profile)."""

    __tablename__ = "capability_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(index=True)
    account_type: Mapped[str] = mapped_column(String(16))
    token_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    capabilities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """capability -> {"state": available | unauthorized | ip_blocked | error, "errcode": n, "detail": "..."}."""
    quotas: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """API path -> {"daily_limit", "used", "remain"} from openapi/quota/get."""
    callback_ips: Mapped[list[Any]] = mapped_column(default=list)
    api_ips: Mapped[list[Any]] = mapped_column(default=list)
    egress_ip: Mapped[str | None] = mapped_column(String(64))
    """This server's address as WeChat saw it, when a 40164 named it."""


class FollowerSync(Base):
    """One `wxbot followers sync` run: its user/get cursor, so an interrupted run resumes where it stopped."""

    __tablename__ = "follower_sync"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="running")
    """running or done."""
    next_openid: Mapped[str] = mapped_column(String(64), default="")
    """user/get's cursor after the last page fully imported ("" = from the start)."""
    total: Mapped[int] = mapped_column(Integer, default=0)
    seen: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    """Followers the database did not have."""
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
