"""The tables of "send to me" (posts/sendtome.py has the rules): one-time bind codes, the WeChat account an operator
bound, and the test sends an operator asked for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from posts.models import Base


class BindCode(Base):
    """A one-time code an operator asked for: the scheduler makes it a temporary QR code whose scene carries it; the
    bot binds whoever scans it (once, before it expires) to that operator."""

    __tablename__ = "operator_bind_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("operator_user.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    """waiting (for its QR code), ready (the QR code is shown), used, failed (no QR code), replaced (a newer one)."""
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ticket: Mapped[str] = mapped_column(Text, default="")
    qr_url: Mapped[str] = mapped_column(Text, default="")
    """What the QR code encodes (WeChat's ``url`` of the ticket): the console draws it."""
    problem: Mapped[str] = mapped_column(String(32), default="")
    """Why no QR code could be made, as a code (console/messages.yaml ``sendtome``)."""
    used_at: Mapped[datetime | None]
    used_by: Mapped[str | None] = mapped_column(String(64))
    """The openid that scanned it."""


class OperatorWeChat(Base):
    """The WeChat account (a follower's openid) an operator bound to receive test sends."""

    __tablename__ = "operator_wechat"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("operator_user.id", ondelete="CASCADE"), unique=True)
    openid: Mapped[str] = mapped_column(String(64))
    bound_at: Mapped[datetime]


class OperatorTestSend(Base):
    """A post sent to one operator's own WeChat to look at: never a delivery of the post."""

    __tablename__ = "operator_test_send"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("operator_user.id", ondelete="CASCADE"))
    openid: Mapped[str] = mapped_column(String(64))
    request_key: Mapped[str] = mapped_column(String(64), unique=True)
    """The form's one-time key: pressing the button twice queues one test send."""
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, sending, sent, failed, unknown (the answer was lost: it may have arrived)."""
    channel: Mapped[str] = mapped_column(String(16), default="")
    """custom (a customer-service message, inside the 48-hour window) or preview (WeChat's mass preview)."""
    requested_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    problem: Mapped[str] = mapped_column(String(32), default="")
    """Why it failed, as a code (console/messages.yaml ``sendtome``)."""
    errcode: Mapped[int | None] = mapped_column(Integer)
