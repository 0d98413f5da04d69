"""One transaction per push (PostgreSQL; any database): claim the dedupe key, run the handler, log, store the reply.

The dedupe row is inserted first as ``pending``: a copy of the push still in flight waits on the unique insert,
then conflicts with it and gets the stored reply. Coroutines (bot.http1) run their transaction on a thread of a
pool of ``threads``: that many transactions at once per worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.store import LOG_COLUMNS, Answer, HandlerConflict, Job, bookkeeping_rows, script_of, stored_answer
from posts import interactions
from posts.models import Follower, InboundEvent, SeenMessage

# The per-push bookkeeping runs as plain Core statements (the ORM unit of work costs more than the handlers).
_SEEN = SeenMessage.__table__
_FOLLOWER = Follower.__table__
CLAIM = insert(_SEEN)
STORE_REPLY = (
    update(_SEEN)
    .where(_SEEN.c.dedup_key == bindparam("b_key"))
    .values(reply_kind=bindparam("b_kind"), reply_xml=bindparam("b_xml"))
)
_AT = _FOLLOWER.c.last_interaction_at.type
# The last interaction of any kind is overwritten; each window class's time only by an interaction that opens it
# (posts.interactions.columns gives None otherwise, and COALESCE keeps the stored time).
TOUCH = (
    update(_FOLLOWER)
    .where(_FOLLOWER.c.openid == bindparam("b_openid"))
    .values(
        last_interaction_at=bindparam("b_at", type_=_AT),
        last_interaction_kind=bindparam("b_kind"),
        last_message_at=func.coalesce(bindparam("b_message_at", type_=_AT), _FOLLOWER.c.last_message_at),
        last_event_at=func.coalesce(bindparam("b_event_at", type_=_AT), _FOLLOWER.c.last_event_at),
    )
)
ADD_FOLLOWER = insert(_FOLLOWER)
LOG = insert(InboundEvent.__table__)
STORED = select(SeenMessage.reply_xml, SeenMessage.reply_kind).where(SeenMessage.dedup_key == bindparam("b_key"))


class PerPushStore:
    """:class:`bot.store.Store` with one transaction per push.

    ``lock`` wraps each transaction (a SQLite file served this way passes its cross-process write lock,
    bot.store.writelock; PostgreSQL needs none).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        threads: int = 8,
        lock: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self.sessions = sessions
        self.threads = threads
        self.lock = lock
        self._pool: ThreadPoolExecutor | None = None

    def answer(self, job: Job) -> Answer:
        try:
            return self._once(job)
        except HandlerConflict:
            return self._once(job)

    async def answer_async(self, job: Job) -> Answer:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="wxbot-store")
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.answer, job)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _once(self, job: Job) -> Answer:
        message, now = job.message, job.now
        with self.lock(), self.sessions() as session:
            try:
                # The unique insert: waits for, then conflicts with, a copy of this push still in flight.
                session.connection().execute(
                    CLAIM, {"dedup_key": message.dedup_key, "received_at": now, "reply_kind": "pending"}
                )
            except IntegrityError:
                session.rollback()
                return self._stored(session, message.dedup_key)
            try:
                plaintext, kind = job.reply(session, script_of(session, job))
                session.flush()  # the handler's ORM writes first; the bookkeeping below goes straight to the connection
                self._bookkeeping(session, job, plaintext, kind)
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise HandlerConflict from exc
            except BaseException:
                session.rollback()
                raise
            return Answer(plaintext, kind)

    def _bookkeeping(self, session: Session, job: Job, plaintext: str, kind: str) -> None:
        message, now = job.message, job.now
        conn = session.connection()
        interaction = message.interaction
        values = interactions.columns(interaction, now)
        touched = conn.execute(
            TOUCH,
            {
                "b_openid": message.openid,
                "b_at": now,
                "b_kind": interaction.kind,
                "b_message_at": values["last_message_at"],
                "b_event_at": values["last_event_at"],
            },
        )
        if touched.rowcount == 0 and interaction.kind != interactions.OTHER:
            conn.execute(ADD_FOLLOWER, {"openid": message.openid, "subscribed": True, **values, "created_at": now})
        log_row, (key, _, _, xml) = bookkeeping_rows(message, now, kind, plaintext)
        conn.execute(LOG, dict(zip(LOG_COLUMNS, log_row, strict=True)))
        conn.execute(STORE_REPLY, {"b_key": key, "b_kind": kind, "b_xml": xml})  # the row claimed before the handler

    def _stored(self, session: Session, dedup_key: str) -> Answer:
        row = session.execute(STORED, {"b_key": dedup_key}).one_or_none()
        session.rollback()
        if row is None:
            return Answer("", "empty", duplicate=True)
        return stored_answer(row.reply_xml, row.reply_kind)
