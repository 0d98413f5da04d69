"""One push, one transaction: claim its dedupe key, run its handler, log it, store and return the reply."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.groupcommit import GroupCommit
from bot.handlers import Context, Handler, Renderer, uses_database
from bot.message import Inbound
from bot.replies import Empty, Reply, in_script, kind_of, render
from bot.routes import Routes
from bot.texts import Texts
from bot.writelock import FileWriteLock, write_lock_for
from posts import db, interactions
from posts.catalog import Catalog
from posts.clock import Clock, system_clock
from posts.models import Follower, InboundEvent, SeenMessage
from posts.script import SIMPLIFIED, TRADITIONAL, converter, page_link

log = logging.getLogger(__name__)

# The per-push bookkeeping runs as plain Core statements (the ORM unit of work costs more than the handlers).
_SEEN = SeenMessage.__table__
_LOG = InboundEvent.__table__
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
LOG = insert(_LOG)
LOG_COLUMNS = ("openid", "msg_type", "event", "key", "received_at", "reply_kind", "dedup_key")
SEEN_COLUMNS = ("dedup_key", "received_at", "reply_kind", "reply_xml")

# The same bookkeeping on the SQLite group-commit path, as raw DB-API statements run once per batch (executemany;
# sqlite3 keeps them compiled). The batch holds SQLite's only write lock for the whole batch, so looking the keys
# up first and inserting the dedupe rows (with their replies) last cannot race; the unique key still guards it.
SQL_SEEN = f"INSERT INTO seen_message ({', '.join(SEEN_COLUMNS)}) VALUES "
SQL_SEEN_ROW = f"({', '.join('?' * len(SEEN_COLUMNS))})"
SQL_LOG = f"INSERT INTO inbound_event ({', '.join(LOG_COLUMNS)}) VALUES "
SQL_LOG_ROW = f"({', '.join('?' * len(LOG_COLUMNS))})"
SQL_TOUCH = (
    "UPDATE follower SET last_interaction_at = ?, last_interaction_kind = ?,"
    " last_message_at = COALESCE(?, last_message_at), last_event_at = COALESCE(?, last_event_at) WHERE openid = ?"
)
SQL_TOUCH_OR_ADD = (
    "INSERT INTO follower"
    " (openid, subscribed, last_interaction_at, last_interaction_kind, last_message_at, last_event_at, created_at)"
    " VALUES "
)
SQL_TOUCH_OR_ADD_ROW = "(?, 1, ?, ?, ?, ?, ?)"
SQL_TOUCH_OR_ADD_TAIL = (
    " ON CONFLICT (openid) DO UPDATE"
    " SET last_interaction_at = excluded.last_interaction_at, last_interaction_kind = excluded.last_interaction_kind,"
    " last_message_at = COALESCE(excluded.last_message_at, follower.last_message_at),"
    " last_event_at = COALESCE(excluded.last_event_at, follower.last_event_at)"
)


EXACT_ROWS = 16


def insert_rows(raw: Any, head: str, row: str, rows: list[tuple[Any, ...]], tail: str = "") -> None:
    """``rows`` inserted with multi-row ``INSERT … VALUES (…), (…)`` statements, in order.

    One statement runs in one ``sqlite3_step``, while ``executemany`` steps (and releases the GIL) once per row.
    Up to :data:`EXACT_ROWS` rows go in one statement of exactly that size (the usual batch: one statement per
    table); more go in chunks whose sizes are powers of two (40 rows: 32 + 8). So at most about two dozen
    statements per table get compiled, and sqlite3's statement cache (128) keeps them all.
    """
    start, left = 0, len(rows)
    while left:
        size = left if left <= EXACT_ROWS else 1 << (left.bit_length() - 1)
        chunk = rows[start : start + size]
        raw.execute(_multi_row(head, row, size, tail), [value for r in chunk for value in r])
        start += size
        left -= size


_MULTI_ROW: dict[tuple[str, str, int, str], str] = {}


def _multi_row(head: str, row: str, size: int, tail: str) -> str:
    key = (head, row, size, tail)
    sql = _MULTI_ROW.get(key)
    if sql is None:
        sql = _MULTI_ROW[key] = head + ", ".join([row] * size) + tail
    return sql


def sql_stored(count: int) -> str:
    """The stored replies of up to ``count`` keys (``count`` a power of two, so few statements get compiled)."""
    marks = ", ".join("?" * count)
    return f"SELECT dedup_key, reply_xml, reply_kind FROM seen_message WHERE dedup_key IN ({marks})"


def sqlite_time(value: datetime) -> str:
    """A datetime as posts.models.UTCDateTime stores it on SQLite (naive UTC, microseconds)."""
    v = value.astimezone(UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"


def bookkeeping_rows(message: Inbound, at: Any, kind: str, plaintext: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A push's inbound-log row (:data:`LOG_COLUMNS`) and its dedupe row with the stored reply (:data:`SEEN_COLUMNS`),
    as both paths persist them; ``at`` is the time as the path binds it (a datetime, or SQLite's text)."""
    key = message.dedup_key
    log_row = (message.openid[:64], message.msg_type[:32], message.event[:64] or None, message.log_key, at, kind, key)
    return log_row, (key, at, kind, plaintext)


@dataclass(frozen=True)
class Answer:
    plaintext: str
    """The reply XML in plaintext, or "" for no reply."""
    kind: str
    duplicate: bool = False


class Dispatcher:
    """Runs a push's handler exactly once per dedupe key; redeliveries get the stored reply."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        renderer: Renderer,
        texts: Texts,
        routes: Routes,
        clock: Clock = system_clock,
        threads: int = 8,
    ) -> None:
        self.sessions = sessions
        self.threads = threads
        """Transactions at once for coroutines when there is no group commit (PostgreSQL)."""
        self._pool: ThreadPoolExecutor | None = None
        self.catalog = catalog
        self.renderer = renderer
        self.texts = texts
        self.routes = routes
        self.clock = clock
        self.write_lock = write_lock_for(sessions.kw.get("bind"))
        self.group: GroupCommit[Push, Answer] | None = None
        if isinstance(self.write_lock, FileWriteLock):  # a SQLite file: group commit
            engine = db.sqlite_writer_engine(str(sessions.kw["bind"].url))
            self.group = GroupCommit(engine, self._batch, self.write_lock)

    def __call__(self, message: Inbound) -> Answer:
        if self.group is not None:
            return self.group.submit(self._push(message))
        try:
            return self._once(message)
        except _HandlerConflict:
            # Two different pushes raced on a shared row (e.g. a new follower's first two messages): run again.
            return self._once(message)

    async def submit(self, message: Inbound) -> Answer:
        """The same answer for a coroutine: group commit on its loop, or a thread of the pool per transaction."""
        if self.group is not None:
            return await self.group.submit_async(self._push(message))
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="wxbot-dispatch")
        return await asyncio.get_running_loop().run_in_executor(self._pool, self, message)

    def close(self) -> None:
        if self.group is not None:
            self.group.close()
            self.group.engine.dispose()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    # --- SQLite: a group-committed batch (bot.groupcommit, BEGIN IMMEDIATE already done) ---

    def _push(self, message: Inbound) -> Push:
        """The push with its handler, and its reply worked out ahead, outside the write lock, if its route is
        content-only (bot.handlers.content_only: keywords, sections, the table of contents, help...).

        A handler that uses the database runs once, whole, in the batch; a content-only one that raises is not run
        again: the batch gives it the error path.
        """
        handler = self.routes.resolve(message)
        if uses_database(handler):
            return Push(message, handler)
        now = self.clock()
        ctx = Context(None, self.catalog, self.renderer, self.texts, message, now, SIMPLIFIED)
        try:
            reply = handler(ctx)
            plaintext, kind = self._xml(reply, message, now, SIMPLIFIED)
        except Exception as exc:
            return Push(message, handler, error=exc)
        return Push(message, handler, (plaintext, kind, now), reply=reply)

    def _batch(self, conn: Connection, pushes: list[Push]) -> list[Answer | Exception]:
        """Every push of the batch in order; the bookkeeping of all of them in one statement per table."""
        raw: Any = conn.connection.driver_connection
        stored = _stored_many(raw, [p.message.dedup_key for p in pushes])
        scripts = _traditional_readers(raw, [p.message.openid for p in pushes])
        """The batch's followers who read Traditional; a handler that changes a script updates it."""
        out: list[Answer | Exception] = []
        seen_rows: list[tuple[Any, ...]] = []
        log_rows: list[tuple[Any, ...]] = []
        touched: dict[str, _Touch] = {}
        for push in pushes:
            message = push.message
            key = message.dedup_key
            hit = stored.get(key)
            if hit is not None:  # a redelivery: committed earlier, or run earlier in this very batch
                out.append(_stored_answer(*hit))
                continue
            try:
                if push.error is not None:
                    raise push.error
                script = scripts.get(message.openid, SIMPLIFIED)
                if push.early is not None:
                    plaintext, kind, now = push.early
                    if script == TRADITIONAL and push.reply is not None:  # worked out ahead in Simplified
                        plaintext, kind = self._xml(push.reply, message, now, script)
                else:
                    try:
                        plaintext, kind, now, script = self._run_handler(conn, push.handler, message, script)
                    except _HandlerConflict:
                        plaintext, kind, now, script = self._run_handler(conn, push.handler, message, script)
                    scripts[message.openid] = script
            except Exception as exc:  # its writes are rolled back; it gets the error path, the batch goes on
                out.append(exc)
                continue
            stored[key] = (plaintext, kind)
            at = sqlite_time(now)
            touched[message.openid] = _Touch.of(message.interaction, at, touched.get(message.openid))
            log_row, seen_row = bookkeeping_rows(message, at, kind, plaintext)
            log_rows.append(log_row)
            seen_rows.append(seen_row)
            out.append(Answer(plaintext, kind))
        # The follower of each push is touched (and created unless the push is "other"): the last push of the
        # batch is the last interaction, the last one of each window class that class's time.
        add = [(openid, t.at, t.kind, t.message_at, t.event_at, t.at) for openid, t in touched.items() if t.create]
        only_touch = [(t.at, t.kind, t.message_at, t.event_at, openid) for openid, t in touched.items() if not t.create]
        if add:
            insert_rows(raw, SQL_TOUCH_OR_ADD, SQL_TOUCH_OR_ADD_ROW, add, SQL_TOUCH_OR_ADD_TAIL)
        if only_touch:
            raw.executemany(SQL_TOUCH, only_touch)
        if log_rows:
            insert_rows(raw, SQL_LOG, SQL_LOG_ROW, log_rows)
            insert_rows(raw, SQL_SEEN, SQL_SEEN_ROW, seen_rows)
        return out

    def _run_handler(
        self, conn: Connection, handler: Handler, message: Inbound, script: str
    ) -> tuple[str, str, datetime, str]:
        """The handler and its rendered reply (and the follower's script after it); its ORM Session is a savepoint
        of the batch."""
        now = self.clock()
        if not conn.in_transaction():
            conn.begin()  # joins the batch's BEGIN IMMEDIATE, so the Session below is a savepoint of it
        session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        ctx = Context(session, self.catalog, self.renderer, self.texts, message, now, script)
        try:
            plaintext, kind = self._reply(handler, ctx)
            session.commit()  # flushes the handler's writes and releases its savepoint
        except IntegrityError as exc:
            raise _HandlerConflict from exc
        finally:
            session.close()  # after a failure: rolls back to its savepoint, nothing of this push is kept
        return plaintext, kind, now, ctx.script

    def _reply(self, handler: Handler, ctx: Context) -> tuple[str, str]:
        reply = handler(ctx)
        return self._xml(reply, ctx.message, ctx.now, ctx.script if not isinstance(reply, Empty) else SIMPLIFIED)

    def _xml(self, reply: Reply, message: Inbound, now: datetime, script: str) -> tuple[str, str]:
        """The reply XML (plaintext) and its kind; in Traditional for a follower who reads it (posts.script)."""
        if script == TRADITIONAL and not isinstance(reply, Empty):
            convert = converter(self.catalog.script)
            reply = in_script(reply, convert.to_traditional, lambda url: page_link(url, TRADITIONAL))
        plaintext = render(reply, to_user=message.openid, from_user=message.to_user, create_time=int(now.timestamp()))
        return plaintext, (kind_of(reply) if plaintext else "empty")

    # --- PostgreSQL (concurrent writers) and in-memory SQLite: one transaction per push ---

    def _once(self, message: Inbound) -> Answer:
        now = self.clock()
        with self.write_lock(), self.sessions() as session:  # type: ignore[operator]
            try:
                # The unique insert: waits for, then conflicts with, a copy of this push still in flight.
                session.connection().execute(
                    CLAIM, {"dedup_key": message.dedup_key, "received_at": now, "reply_kind": "pending"}
                )
            except IntegrityError:
                session.rollback()
                return self._stored(session, message.dedup_key)
            try:
                answer = self._handle(session, message, now)
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise _HandlerConflict from exc
            except BaseException:
                session.rollback()
                raise
            return answer

    def _handle(self, session: Session, message: Inbound, now: datetime) -> Answer:
        handler = self.routes.resolve(message)
        plaintext, kind = self._reply(handler, Context(session, self.catalog, self.renderer, self.texts, message, now))
        session.flush()  # the handler's ORM writes first; the bookkeeping below goes straight to the connection
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
        return Answer(plaintext, kind)

    def _stored(self, session: Session, dedup_key: str) -> Answer:
        row = session.execute(
            select(SeenMessage.reply_xml, SeenMessage.reply_kind).where(SeenMessage.dedup_key == dedup_key)
        ).one_or_none()
        session.rollback()
        if row is None:
            return Answer("", "empty", duplicate=True)
        return _stored_answer(row.reply_xml, row.reply_kind)


def _stored_many(raw: Any, keys: list[str]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 256):
        chunk = unique[start : start + 256]
        size = 1 << (len(chunk) - 1).bit_length()  # padded to a power of two with a repeated key
        rows = raw.execute(sql_stored(size), chunk + [chunk[0]] * (size - len(chunk)))
        found.update((key, (xml, kind)) for key, xml, kind in rows)
    return found


def _traditional_readers(raw: Any, openids: list[str]) -> dict[str, str]:
    """The followers among ``openids`` who read Traditional (one statement for a batch's followers)."""
    unique = list(dict.fromkeys(openids))
    found: dict[str, str] = {}
    for start in range(0, len(unique), 256):
        chunk = unique[start : start + 256]
        size = 1 << (len(chunk) - 1).bit_length()  # padded to a power of two, as _stored_many
        marks = ", ".join("?" * size)
        sql = f"SELECT openid FROM follower WHERE script = '{TRADITIONAL}' AND openid IN ({marks})"
        found.update((row[0], TRADITIONAL) for row in raw.execute(sql, chunk + [chunk[0]] * (size - len(chunk))))
    return found


def _stored_answer(reply_xml: str, reply_kind: str) -> Answer:
    if reply_kind == "pending":
        return Answer("", "empty", duplicate=True)
    return Answer(reply_xml, reply_kind, duplicate=True)


@dataclass(frozen=True, slots=True)
class _Touch:
    """One follower's row of a batch: its last interaction, the last of each window class, whether to create it."""

    at: str
    kind: str
    message_at: str | None
    event_at: str | None
    create: bool

    @classmethod
    def of(cls, interaction: interactions.Interaction, at: str, before: _Touch | None) -> _Touch:
        """The row after ``interaction`` at ``at`` (SQLite text), following the batch's earlier pushes."""
        if interaction.closes:  # the handler forgot both times; the batch's earlier pushes must not restore them
            before = cls(at, interaction.kind, None, None, before is not None and before.create)
        message_at = at if interaction.opens == interactions.MESSAGE else before.message_at if before else None
        event_at = at if interaction.opens == interactions.EVENT else before.event_at if before else None
        create = interaction.kind != interactions.OTHER or (before is not None and before.create)
        return cls(at, interaction.kind, message_at, event_at, create)


@dataclass(frozen=True, slots=True)
class Push:
    """A push on its way to group commit with its handler, and its (reply XML, kind, time) or the error of its
    content-only handler if worked out ahead."""

    message: Inbound
    handler: Handler
    early: tuple[str, str, datetime] | None = None
    error: Exception | None = None
    reply: Reply | None = None
    """The content-only reply worked out ahead (in Simplified: the batch converts it for a Traditional reader)."""


class _HandlerConflict(Exception):
    """A unique constraint other than the dedupe key failed inside the handler's transaction."""
