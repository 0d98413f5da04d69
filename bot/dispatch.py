"""One push, one transaction: claim its dedupe key, run its handler, log it, store and return the reply."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.groupcommit import GroupCommit, savepoint
from bot.handlers import Context, Renderer
from bot.message import Inbound
from bot.replies import kind_of, render
from bot.routes import Routes
from bot.texts import Texts
from bot.writelock import FileWriteLock, write_lock_for
from posts import db
from posts.catalog import Catalog
from posts.models import Follower, InboundEvent, SeenMessage

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
TOUCH = (
    update(_FOLLOWER)
    .where(_FOLLOWER.c.openid == bindparam("b_openid"))
    .values(
        last_interaction_at=bindparam("b_at", type_=_FOLLOWER.c.last_interaction_at.type),
        last_interaction_kind=bindparam("b_kind"),
    )
)
ADD_FOLLOWER = insert(_FOLLOWER)
LOG = insert(_LOG)

# The same bookkeeping on the SQLite group-commit path, as raw DB-API statements (sqlite3 caches them compiled).
# There the dedupe row is inserted last, carrying the reply: the writer holds SQLite's only write lock, so a
# lookup first and the unique insert last cannot race (the unique key still guards it).
SQL_STORED = "SELECT reply_xml, reply_kind FROM seen_message WHERE dedup_key = ?"
SQL_SEEN = "INSERT INTO seen_message (dedup_key, received_at, reply_kind, reply_xml) VALUES (?, ?, ?, ?)"
SQL_LOG = (
    "INSERT INTO inbound_event (openid, msg_type, event, key, received_at, reply_kind, dedup_key)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
SQL_TOUCH = "UPDATE follower SET last_interaction_at = ?, last_interaction_kind = ? WHERE openid = ?"
SQL_ADD_FOLLOWER = (
    "INSERT INTO follower (openid, subscribed, last_interaction_at, last_interaction_kind, created_at)"
    " VALUES (?, 1, ?, ?, ?)"
)


def sqlite_time(value: datetime) -> str:
    """A datetime as posts.models.UTCDateTime stores it on SQLite (naive UTC, microseconds)."""
    v = value.astimezone(UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"


@dataclass(frozen=True)
class Answer:
    plaintext: str
    """The reply XML in plaintext, or "" for no reply."""
    kind: str
    duplicate: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    """Runs a push's handler exactly once per dedupe key; redeliveries get the stored reply."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        renderer: Renderer,
        texts: Texts,
        routes: Routes,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.renderer = renderer
        self.texts = texts
        self.routes = routes
        self.clock = clock
        self.write_lock = write_lock_for(sessions.kw.get("bind"))
        self.group: GroupCommit[Inbound, Answer] | None = None
        if isinstance(self.write_lock, FileWriteLock):  # a SQLite file: one writer thread, group commit
            engine = db.sqlite_writer_engine(str(sessions.kw["bind"].url))
            self.group = GroupCommit(engine, self._in_batch, self.write_lock)

    def __call__(self, message: Inbound) -> Answer:
        if self.group is not None:
            return self.group.submit(message)
        try:
            return self._once(message)
        except _HandlerConflict:
            # Two different pushes raced on a shared row (e.g. a new follower's first two messages): run again.
            return self._once(message)

    def close(self) -> None:
        if self.group is not None:
            self.group.close()
            self.group.engine.dispose()

    # --- SQLite: one push of a group-committed batch (writer thread, transaction already open) ---

    def _in_batch(self, conn: Connection, message: Inbound) -> Answer:
        try:
            return self._push_in_savepoint(conn, message)
        except _HandlerConflict:
            return self._push_in_savepoint(conn, message)

    def _push_in_savepoint(self, conn: Connection, message: Inbound) -> Answer:
        raw: Any = conn.connection.driver_connection
        key = message.dedup_key
        with savepoint(raw):
            row = raw.execute(SQL_STORED, (key,)).fetchone()
            if row is not None:  # a redelivery, from an earlier batch or earlier in this one
                return _stored_answer(row[0], row[1])
            now = self.clock()
            session: Session | None = None

            def open_session() -> Session:
                nonlocal session
                session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
                return session

            ctx = Context(open_session, self.catalog, self.renderer, self.texts, message, now)
            try:
                plaintext, kind = self._reply(ctx)
                if session is not None:
                    session.commit()  # flushes the handler's ORM writes and releases the session's own savepoint
            except IntegrityError as exc:
                raise _HandlerConflict from exc
            finally:
                if session is not None:
                    session.close()
            at = sqlite_time(now)
            interaction = message.interaction_kind
            if raw.execute(SQL_TOUCH, (at, interaction, message.openid)).rowcount == 0 and interaction != "other":
                raw.execute(SQL_ADD_FOLLOWER, (message.openid, at, interaction, at))
            raw.execute(
                SQL_LOG,
                (
                    message.openid[:64],
                    message.msg_type[:32],
                    message.event[:64] or None,
                    message.log_key,
                    at,
                    kind,
                    key,
                ),
            )
            raw.execute(SQL_SEEN, (key, at, kind, plaintext))
            return Answer(plaintext, kind)

    def _reply(self, ctx: Context) -> tuple[str, str]:
        message = ctx.message
        reply = self.routes.resolve(message)(ctx)
        plaintext = render(
            reply,
            to_user=message.openid,
            from_user=message.to_user,
            create_time=int(ctx.now.timestamp()),
            one_article_only=message.one_article_only,
        )
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
        plaintext, kind = self._reply(Context(session, self.catalog, self.renderer, self.texts, message, now))
        session.flush()  # the handler's ORM writes first; the bookkeeping below goes straight to the connection
        conn = session.connection()
        interaction = message.interaction_kind
        touched = conn.execute(TOUCH, {"b_openid": message.openid, "b_at": now, "b_kind": interaction})
        if touched.rowcount == 0 and interaction != "other":
            conn.execute(
                ADD_FOLLOWER,
                {
                    "openid": message.openid,
                    "subscribed": True,
                    "last_interaction_at": now,
                    "last_interaction_kind": interaction,
                },
            )
        conn.execute(
            LOG,
            {
                "openid": message.openid[:64],
                "msg_type": message.msg_type[:32],
                "event": message.event[:64] or None,
                "key": message.log_key,
                "received_at": now,
                "reply_kind": kind,
                "dedup_key": message.dedup_key,
            },
        )
        conn.execute(STORE_REPLY, {"b_key": message.dedup_key, "b_kind": kind, "b_xml": plaintext})
        return Answer(plaintext, kind)

    def _stored(self, session: Session, dedup_key: str) -> Answer:
        row = session.execute(
            select(SeenMessage.reply_xml, SeenMessage.reply_kind).where(SeenMessage.dedup_key == dedup_key)
        ).one_or_none()
        session.rollback()
        if row is None:
            return Answer("", "empty", duplicate=True)
        return _stored_answer(row.reply_xml, row.reply_kind)


def _stored_answer(reply_xml: str, reply_kind: str) -> Answer:
    if reply_kind == "pending":
        return Answer("", "empty", duplicate=True)
    return Answer(reply_xml, reply_kind, duplicate=True)


class _HandlerConflict(Exception):
    """A unique constraint other than the dedupe key failed inside the handler's transaction."""
