"""How long the bot's dedupe rows (each with its stored reply) are kept, and forgetting older ones.

WeChat redelivers a push only within about 15 seconds, so a dedupe row is needed for minutes; it is kept for
``scheduler.dedupe_keep_hours`` (48 by default) and then deleted, in short transactions so that the bot, which
writes a row with every push, never waits long for the database. The inbound log is history and is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from posts.models import SeenMessage

CHUNK = 500
"""Rows deleted per transaction."""


def forget_seen(
    sessions: sessionmaker[Session], before: datetime, *, keep_going: Callable[[], bool] = lambda: True
) -> int:
    """Delete the dedupe rows received before ``before``, oldest first, ``CHUNK`` per transaction; how many."""
    forgotten = 0
    while keep_going():
        with sessions() as session:
            ids = list(
                session.scalars(
                    select(SeenMessage.id)
                    .where(SeenMessage.received_at < before)
                    .order_by(SeenMessage.received_at)
                    .limit(CHUNK)
                )
            )
            if not ids:
                break
            session.execute(delete(SeenMessage).where(SeenMessage.id.in_(ids)))
            session.commit()
        forgotten += len(ids)
        if len(ids) < CHUNK:
            break
    return forgotten
