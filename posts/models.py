"""Typed SQLAlchemy 2 models: followers, subscriptions, QR scenes, dedup, inbound log, content, outbox, consents."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_text(value: datetime) -> str:
    """A timezone-aware datetime as :class:`UTCDateTime` stores it on SQLite (naive UTC text, microseconds): the
    same text as that type's bind processor gives, without its layers, for the bot's per-push rows (a test holds
    the two equal)."""
    v = value.astimezone(UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Follower(Base):
    """A WeChat user who follows (or once followed) the account."""

    __tablename__ = "follower"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    first_followed_at: Mapped[datetime | None]
    last_followed_at: Mapped[datetime | None]
    last_unfollowed_at: Mapped[datetime | None]
    scene_key: Mapped[str | None] = mapped_column(String(64))
    """The QR scene that first brought this follower, if any."""
    last_interaction_at: Mapped[datetime | None]
    last_interaction_kind: Mapped[str | None] = mapped_column(String(32))
    """The last interaction of any kind (posts.interactions): message, follow, scan, click, view, other..."""
    last_message_at: Mapped[datetime | None]
    """The last message the follower sent: it opens WeChat's 48-hour customer-service window."""
    last_event_at: Mapped[datetime | None]
    """The last follow, QR scan or click/scancode_* menu tap: it opens the 1-minute window."""
    created_at: Mapped[datetime]
    script: Mapped[str] = mapped_column(String(8), default="s", server_default="s")
    """The script replies, pushes and pages are written in for this follower: "s" Simplified, "t" Traditional
    (posts.script)."""

    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="follower")


class Subscription(Base):
    """A follower's wish to receive a therapy's updates; kept (inactive) when they unsubscribe."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("follower_id", "therapy_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follower_id: Mapped[int] = mapped_column(ForeignKey("follower.id", ondelete="CASCADE"))
    therapy_key: Mapped[str] = mapped_column(String(64), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(32), default="keyword")
    """How it was made: keyword, menu, scene:<key>, operator."""
    created_at: Mapped[datetime]
    changed_at: Mapped[datetime]

    follower: Mapped[Follower] = relationship(back_populates="subscriptions")


class QrScene(Base):
    """A QR code's scene and, once created on WeChat, its ticket."""

    __tablename__ = "qr_scene"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(Text, default="")
    welcome_key: Mapped[str] = mapped_column(String(64), default="default")
    therapy_key: Mapped[str | None] = mapped_column(String(64))
    ticket: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    permanent: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class SeenMessage(Base):
    """Deduplication of WeChat's redeliveries; written in the same transaction as the handler's work."""

    __tablename__ = "seen_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    reply_kind: Mapped[str] = mapped_column(String(16), default="empty")
    reply_xml: Mapped[str] = mapped_column(Text, default="")
    """The plaintext reply given the first time, replayed to retries."""


class InboundEvent(Base):
    """Log of every message and event WeChat pushed, with the kind of reply given.

    Written with every push, so it carries one index only: events by (event, key), which the QR-scene counts and
    the delivery ledger look up (texts, with no event, are not in it). The analytics read it by id only: closed
    days from their summaries (posts/rollup.py), the rest from the rows after the summaries' mark. A follower's
    last interaction lives on the follower row, not in a lookup of this log.
    """

    __tablename__ = "inbound_event"
    __table_args__ = (
        Index(
            "ix_inbound_event_event_key",
            "event",
            "key",
            sqlite_where=text("event IS NOT NULL"),
            postgresql_where=text("event IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    msg_type: Mapped[str] = mapped_column(String(32))
    event: Mapped[str | None] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(Text)
    """Event key, menu key, scene, or the first characters of a text message."""
    received_at: Mapped[datetime]
    reply_kind: Mapped[str] = mapped_column(String(16), default="empty")
    dedup_key: Mapped[str | None] = mapped_column(String(255))


class ContentItem(Base):
    """A loaded item of the content pack: section, therapy, welcome, keyword set, help, disclaimer."""

    __tablename__ = "content_item"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    path: Mapped[str] = mapped_column(Text, default="")
    checksum: Mapped[str] = mapped_column(String(64), default="")
    loaded_at: Mapped[datetime]
    origin: Mapped[str] = mapped_column(String(16), default="pack", server_default="pack")
    """"pack": written by a sync of the pack files; "operator": published from the console (posts/revisions.py),
    which a sync never changes or removes."""


class TherapyUpdate(Base):
    """One dated entry of a therapy's update stream (what subscribers are pushed)."""

    __tablename__ = "therapy_update"
    __table_args__ = (UniqueConstraint("therapy_key", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    therapy_key: Mapped[str] = mapped_column(String(64), index=True)
    key: Mapped[str] = mapped_column(String(128))
    published_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    source_url: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime]


class ContentVersion(Base):
    """The content every process serves: one row, bumped by each sync that changed the pack.

    Running processes compare ``version`` with the one they built their catalog from and rebuild it from the
    content_item rows when it moved on (posts/live.py).
    """

    __tablename__ = "content_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    checksum: Mapped[str] = mapped_column(String(64), default="")
    changed_at: Mapped[datetime | None]


class ReceivedItem(Base):
    """A content item a follower already received outside a post (a welcome or a reply): a post skips them."""

    __tablename__ = "received_item"
    __table_args__ = (UniqueConstraint("openid", "content"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(String(255))
    """A post's content reference: update:<therapy>/<key> or section:<key>."""
    via: Mapped[str] = mapped_column(String(32))
    """welcome or reply."""
    received_at: Mapped[datetime]


class Outbox(Base):
    """Work the bot leaves for the scheduler: anything beyond the one passive reply."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_not_before", "status", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    """custom_message, tag_add, tag_remove..."""
    openid: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedup_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, sending, sent, failed, unknown (a custom message that may have been delivered: never resent)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    """When WeChat took it; for an unknown one, when it was tried (it counts in the follower's window)."""


class NoticeConsent(Base):
    """One subscribe-notice consent of a follower for one notice template (订阅通知, posts/notices.py).

    A popup accept is one row; a one-time consent allows one send and is then ``used`` (or ``gone`` when WeChat
    answered 43101); with ``[wechat.notices] long_term`` a consent stays ``accepted`` until the follower turns it off
    (``withdrawn``). A popup reject is kept as a ``rejected`` row, for the history.
    """

    __tablename__ = "notice_consent"
    __table_args__ = (Index("ix_notice_consent_lookup", "openid", "template_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="accepted")
    """accepted, used, gone (43101), withdrawn (turned off in WeChat's settings), rejected."""
    scene: Mapped[int | None] = mapped_column(Integer)
    """PopupScene: 1 an H5 page, 2 an article, 0 the settings page; None from a change event."""
    grant_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    """The push (and template) that recorded it: a redelivered event records nothing twice."""
    delivery_id: Mapped[int | None] = mapped_column(Integer)
    """The delivery row that used it (posts.queue.Delivery.id)."""
    granted_at: Mapped[datetime]
    changed_at: Mapped[datetime]


class OperatorAlert(Base):
    """Something an operator must act on, raised by the product (posts.alerts) once per ``dedup_key``: the daily
    review check (one per kind and local day), an annual renewal or a lapsed verification (one per expiry)."""

    __tablename__ = "operator_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    """review_overdue, annual_renew, verify_expired."""
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    day: Mapped[date | None] = mapped_column(Date)
    """The local day (scheduler timezone) a daily check ran for; None for an event's alert."""
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[list[Any]] = mapped_column(default=list)
    raised_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]


class PageView(Base):
    """Views of one page path on one local day, as one server process counted them between two flushes.

    Rows are only ever inserted (one INSERT per flush, never an update): several processes count side by side and
    a day's figure is the sum of its rows.
    """

    __tablename__ = "page_view"
    __table_args__ = (Index("ix_page_view_day_path", "day", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    path: Mapped[str] = mapped_column(String(255))
    views: Mapped[int] = mapped_column(Integer)
    counted_at: Mapped[datetime]
