"""How long the bot's dedupe rows (each with its stored reply) are kept, and forgetting older ones.

WeChat redelivers a push only within about 15 seconds, so a dedupe row is needed for minutes; it is kept for
``scheduler.dedupe_keep_hours`` (48 by default) and then deleted, in short transactions so that the bot, which
writes a row with every push, never waits long for the database. The inbound log is history and is kept.
WeChat's job-finished pushes (``job_finished``, one per template message) are needed until applied, which the
tick does within a day; they are kept JOB_EVENTS_KEEP_DAYS and then forgotten the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from posts.models import SeenMessage
from posts.queue import JobFinished

CHUNK = 500
"""Rows deleted per transaction."""
JOB_EVENTS_KEEP_DAYS = 7


def forget_seen(
    sessions: sessionmaker[Session], before: datetime, *, keep_going: Callable[[], bool] = lambda: True
) -> int:
    """Delete the dedupe rows received before ``before``, oldest first, ``CHUNK`` per transaction; how many."""
    return _forget(sessions, SeenMessage, before, keep_going)


def forget_job_events(
    sessions: sessionmaker[Session], before: datetime, *, keep_going: Callable[[], bool] = lambda: True
) -> int:
    """Delete the job-finished rows received before ``before``, the same way; how many."""
    return _forget(sessions, JobFinished, before, keep_going)


def _forget(sessions: sessionmaker[Session], model: Any, before: datetime, keep_going: Callable[[], bool]) -> int:
    forgotten = 0
    while keep_going():
        with sessions() as session:
            ids = list(
                session.scalars(
                    select(model.id).where(model.received_at < before).order_by(model.received_at).limit(CHUNK)
                )
            )
            if not ids:
                break
            session.execute(delete(model).where(model.id.in_(ids)))
            session.commit()
        forgotten += len(ids)
        if len(ids) < CHUNK:
            break
    return forgotten
