"""The one seam between a push's answer and the database: a :class:`Store` persists what the dispatcher worked out.

The dispatcher (bot.dispatch) does the pure step: the push's dedupe key, its route, and, for a content-only route,
its rendered reply; what it hands over is a :class:`Job`. A store answers the job in one transaction:

    look the dedupe key up → a redelivery gets the stored reply
    else → run the job's handler with a real Session if its route uses the database
         → persist the push's bookkeeping rows (:func:`bookkeeping_rows`, the follower's interaction columns)
           with the reply → commit → the answer

with a sync face (:meth:`Store.answer`, the WSGI threads) and an async face (:meth:`Store.answer_async`, the asyncio
event loop). A reply is returned only once its rows are committed. The composition root (wxbot) chooses and builds
the store; only this subpackage knows SQL dialects, raw SQL and the DB-API.

- :mod:`bot.store.per_push`: one transaction per push (PostgreSQL; any database).
- :mod:`bot.store.sqlite`: group commit on a SQLite file (:mod:`bot.store.groupcommit`, :mod:`bot.store.writelock`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.message import Inbound
from posts import interactions
from posts.models import Follower
from posts.script import SIMPLIFIED, TRADITIONAL

Rendered = tuple[str, str]
"""A reply as persisted and sent: (reply XML in plaintext, or "" for no reply; its kind)."""


@dataclass(frozen=True)
class Answer:
    plaintext: str
    """The reply XML in plaintext, or "" for no reply."""
    kind: str
    duplicate: bool = False


@dataclass(slots=True)
class Job:
    """A push as the dispatcher hands it to the store: the push, its time, and either its reply worked out from the
    content (``rendered``, or the ``error`` its content-only handler raised) or the handler to run with a Session."""

    message: Inbound
    now: datetime
    rendered: Rendered | None = None
    error: Exception | None = None
    run: Callable[[Session], Rendered] | None = None
    """The route's handler, rendered, given a real Session in the store's transaction (a database route); the
    handler's context reads the follower's script from that Session."""
    in_script: Callable[[str], Rendered] | None = None
    """A content-only reply rendered again in another script, for a follower who reads Traditional (posts.script)."""

    @property
    def wants_script(self) -> bool:
        """Whether the store must tell this job the follower's script (a content-only reply worked out ahead)."""
        return self.run is None and self.in_script is not None

    def reply(self, session: Session | None, script: str = SIMPLIFIED) -> Rendered:
        """The reply: worked out ahead (in ``script``), or the handler run now on ``session``; raises the handler's
        error."""
        if self.error is not None:
            raise self.error
        if self.rendered is not None:
            if script != SIMPLIFIED and self.in_script is not None:
                return self.in_script(script)
            return self.rendered
        assert self.run is not None and session is not None, "a database route runs with a Session"
        return self.run(session)


class Store(Protocol):
    """Answers jobs once per dedupe key, each with its bookkeeping, committed before the answer is returned."""

    def answer(self, job: Job) -> Answer:
        """For a thread: blocks until the job's transaction committed; raises the error path's exception."""
        ...

    async def answer_async(self, job: Job) -> Answer:
        """For a coroutine: the same, awaited."""
        ...

    def close(self) -> None:
        """Refuse further jobs; the ones already taken are committed."""
        ...


def traditional_readers(conn: Connection | Session, openids: list[str]) -> set[str]:
    """The followers among ``openids`` who read Traditional (posts.script), in one statement."""
    unique = list(dict.fromkeys(openids))
    if not unique:
        return set()
    query = select(Follower.openid).where(Follower.script == TRADITIONAL, Follower.openid.in_(unique))
    return set(conn.execute(query).scalars())


def script_of(conn: Connection | Session, job: Job) -> str:
    """The script a content-only job's follower reads (Simplified for any other job: its handler reads it)."""
    if not job.wants_script:
        return SIMPLIFIED
    return TRADITIONAL if traditional_readers(conn, [job.message.openid]) else SIMPLIFIED


def run_in_batch(
    job: Job,
    run_handler: Callable[[Job], Rendered],
    readers: set[str],
    wanting: set[str],
    lookup: Callable[[list[str]], set[str]],
) -> Rendered:
    """One job of a group-commit batch (bot.store.sqlite, bot.store.postgres): a content-only reply in the script its
    follower reads (``readers``: the batch's Traditional readers), or the handler run with its conflict retried once.
    A handler may change its follower's script (繁體 / 简体): ``readers`` is refreshed by ``lookup`` for a follower
    whose later replies in the batch need it (``wanting``)."""
    openid = job.message.openid
    if job.run is None:  # content-only: worked out ahead, outside the lock (or its error)
        return job.reply(None, TRADITIONAL if openid in readers else SIMPLIFIED)
    try:
        rendered = run_handler(job)
    except HandlerConflict:
        rendered = run_handler(job)
    if openid in wanting:
        readers.discard(openid)
        readers |= lookup([openid])
    return rendered


LOG_COLUMNS = ("openid", "msg_type", "event", "key", "received_at", "reply_kind", "dedup_key")
"""posts.models.InboundEvent's columns as :func:`bookkeeping_rows` gives them."""
SEEN_COLUMNS = ("dedup_key", "received_at", "reply_kind", "reply_xml")
"""posts.models.SeenMessage's columns as :func:`bookkeeping_rows` gives them."""


def bookkeeping_rows(message: Inbound, at: Any, kind: str, plaintext: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A push's inbound-log row (:data:`LOG_COLUMNS`) and its dedupe row with the stored reply (:data:`SEEN_COLUMNS`),
    as every store persists them; ``at`` is the time as the store binds it (a datetime, or SQLite's text)."""
    key = message.dedup_key
    log_row = (message.openid[:64], message.msg_type[:32], message.event[:64] or None, message.log_key, at, kind, key)
    return log_row, (key, at, kind, plaintext)


@dataclass(frozen=True, slots=True)
class Touch:
    """One follower's row of a batch: its last interaction, the last of each window class, whether to create it
    (posts.interactions); ``at`` as the store binds a time (a datetime, or SQLite's text)."""

    at: Any
    kind: str
    message_at: Any
    event_at: Any
    create: bool

    @classmethod
    def of(cls, interaction: interactions.Interaction, at: Any, before: Touch | None) -> Touch:
        """The row after ``interaction`` at ``at``, following the batch's earlier pushes of the same follower."""
        if interaction.closes:  # the handler forgot both times; the batch's earlier pushes must not restore them
            before = cls(at, interaction.kind, None, None, before is not None and before.create)
        values = interactions.columns(interaction, at)  # which window times this interaction sets (None: keep)
        message_at, event_at = values["last_message_at"], values["last_event_at"]
        if before is not None:
            message_at = before.message_at if message_at is None else message_at
            event_at = before.event_at if event_at is None else event_at
        create = interaction.kind != interactions.OTHER or (before is not None and before.create)
        return cls(at, str(values["last_interaction_kind"]), message_at, event_at, create)


def stored_answer(reply_xml: str, reply_kind: str) -> Answer:
    """The answer to a redelivery: the stored reply (nothing while the first copy is still in flight)."""
    if reply_kind == "pending":
        return Answer("", "empty", duplicate=True)
    return Answer(reply_xml, reply_kind, duplicate=True)


class HandlerConflict(Exception):
    """A unique constraint other than the dedupe key failed inside the handler's transaction: run it again once
    (two different pushes raced on a shared row, e.g. a new follower's first two messages)."""


def run_in_savepoint(conn: Connection, job: Job) -> Rendered:
    """A group-commit batch's job: its handler and rendered reply, with an ORM Session that is a savepoint of the
    batch's transaction on ``conn`` (SQLite's, PostgreSQL's); a unique conflict in it is a :class:`HandlerConflict`."""
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        rendered = job.reply(session)
        session.commit()  # flushes the handler's writes and releases its savepoint
    except IntegrityError as exc:
        raise HandlerConflict from exc
    finally:
        session.close()  # after a failure: rolls back to its savepoint, nothing of this push is kept
    return rendered
