"""The outbox: work the bot and the console leave for the scheduler (tag mirrors, custom messages, the typing
indicator), idempotent by key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posts.models import Outbox

TAG_ADD = "tag_add"
TAG_REMOVE = "tag_remove"
CUSTOM_MESSAGE = "custom_message"
TYPING = "typing"
"""The customer-service "typing" indicator (an operator answering from the console): needs an open window, uses
none of its messages; never retried (it is over in seconds)."""


def enqueue(
    session: Session,
    kind: str,
    openid: str | None,
    payload: dict[str, Any],
    now: datetime,
    dedup_key: str | None = None,
    not_before: datetime | None = None,
) -> Outbox:
    """Add a pending row, due from ``now`` (the caller's clock) or ``not_before``, in the caller's transaction.

    With a ``dedup_key`` already queued, return that row.
    """
    if dedup_key is not None:
        existing = session.scalars(select(Outbox).where(Outbox.dedup_key == dedup_key)).one_or_none()
        if existing is not None:
            return existing
    row = Outbox(
        kind=kind,
        openid=openid,
        payload=payload,
        dedup_key=dedup_key,
        status="pending",
        not_before=now if not_before is None else not_before,
        created_at=now,
    )
    session.add(row)
    return row


def pending(session: Session, kind: str | None = None) -> list[Outbox]:
    """Rows still to send, oldest first (for the scheduler, the operator and tests)."""
    query = select(Outbox).where(Outbox.status == "pending").order_by(Outbox.id)
    if kind is not None:
        query = query.where(Outbox.kind == kind)
    return list(session.scalars(query))
