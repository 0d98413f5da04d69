"""Sends the bot's outbox rows (custom messages, the typing indicator, tag changes) within seconds, each at most once.

The rows go through the same claim → call → record loop and retry policy as a post (scheduler/delivery.py): a
custom message whose answer was lost is "unknown" (WeChat does not deduplicate them) and never resent.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from posts.catalog import Catalog
from posts.clock import Clock
from posts.models import Outbox
from posts.outbox import CUSTOM_MESSAGE, TAG_ADD, TAG_REMOVE, TYPING
from scheduler import delivery, tags
from scheduler.channels import CustomMessages, TagChanges, TypingIndicator
from scheduler.errors import UNKNOWN_TAG, WeChatError
from scheduler.rows import OutboxRows
from scheduler.wechat_api import WeChatApi

KINDS = (CUSTOM_MESSAGE, TYPING, TAG_ADD, TAG_REMOVE)


def send_outbox(
    sessions: sessionmaker[Session], api: WeChatApi, catalog: Catalog, clock: Clock, limit: int = 200
) -> int:
    """One pass over due pending rows; returns how many rows were handled."""

    def tag_for(therapy: str) -> int:
        found = catalog.therapy(therapy)
        if found is None:
            raise WeChatError(UNKNOWN_TAG, f"unknown therapy {therapy!r}")  # what WeChat says of a tag it lacks
        with sessions() as session:
            return tags.ensure_tag(session, api, therapy, found.name, clock())

    with sessions() as session:
        session.execute(
            update(Outbox)
            .where(Outbox.status == "pending", Outbox.kind.not_in(KINDS))
            .values(status="failed", last_error="unknown outbox kind")
            .execution_options(synchronize_session=False)
        )
        session.commit()
    handled = 0
    channels = (
        (CustomMessages(), (CUSTOM_MESSAGE,)),
        (TypingIndicator(), (TYPING,)),
        (TagChanges(tag_for), (TAG_ADD, TAG_REMOVE)),
    )
    for channel, kinds in channels:
        handled += delivery.run(sessions, api, channel, OutboxRows(kinds), clock, limit=limit)
    return handled
