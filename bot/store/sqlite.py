"""Group commit on a SQLite file: the pushes pending on an event loop are answered in one transaction.

:class:`bot.store.groupcommit.GroupCommit` takes the batch (the write lock of :mod:`bot.store.writelock`, one
``BEGIN IMMEDIATE``, one COMMIT, replies only after it); :meth:`SqliteGroupCommit._batch` runs it: one
``SELECT … IN (…)`` for the stored replies, each new push's database handler in a SAVEPOINT of its own, then the
batch's bookkeeping as raw DB-API statements, one multi-row ``INSERT`` per table. The batch holds SQLite's only
write lock, so looking the keys up first and inserting the dedupe rows (with their replies) last cannot race; the
unique key still guards it. What needs no database (each push's key, its time as SQLite stores it, its log and
dedupe rows for the reply worked out ahead) is worked out before the push joins a batch (:class:`Ahead`), so the
write lock, which every worker waits for, is held for the database work only.

The write-ahead log is copied back into the database by a :class:`Checkpointer` thread beside the batches, not by
the COMMIT that happens to cross SQLite's threshold (that one would hold the write lock, of every worker, while it
copies pages).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import Connection, Engine

from bot.store import (
    LOG_COLUMNS,
    SEEN_COLUMNS,
    Answer,
    Job,
    Rendered,
    Touch,
    bookkeeping_rows,
    run_in_batch,
    run_in_savepoint,
    stored_answer,
)
from bot.store.groupcommit import GroupCommit, WriteLock
from posts.interactions import Interaction
from posts.models import SeenMessage, sqlite_text
from posts.script import TRADITIONAL

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


log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 0.25
"""Seconds between two passive checkpoints of the write-ahead log (:class:`Checkpointer`)."""
CHECKPOINT_RESTART_PAGES = 4_096
"""A log this many pages long (16 MB at 4 KiB) is started over: right after a passive checkpoint, a second one runs
holding the write lock, so no batch commits while it copies the few pages written meanwhile, and the next batch
writes the log from its start. Without it, under a steady stream of batches every passive checkpoint finds new
pages at the end and the log only grows (~3 KB a push)."""
CHECKPOINT_FULL_PAGES = 50_000
"""A log this many pages long (about 200 MB) is checkpointed with RESTART, which waits for the writers: the passive
ones could not keep up (a reader held an old snapshot all along)."""


class Checkpointer:
    """A thread that checkpoints a SQLite file's write-ahead log every :data:`CHECKPOINT_EVERY` seconds (PASSIVE:
    it never waits for the writer, it copies what no reader still needs). The batch connection's automatic
    checkpoint is off, so no batch pays for one inside its COMMIT; the copying runs in SQLite, off the GIL, on the
    other core. Past :data:`CHECKPOINT_RESTART_PAGES` a second passive pass runs holding ``write_lock`` (the
    batches' own), so the log starts over instead of growing. One per process that writes; started on the first
    batch, stopped by :meth:`close`."""

    def __init__(self, path: str, every: float = CHECKPOINT_EVERY, write_lock: WriteLock | None = None) -> None:
        self.path = path
        self.every = every
        self.write_lock = write_lock
        """The batches' lock: held for the second checkpoint that lets the log start over (no lock, no restart)."""
        self.restarts = 0
        """Second passes run holding the lock (each lets the next batch write the log from its start)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.checkpoints = 0
        self.last: tuple[int, int, int] | None = None
        """The last checkpoint's (busy, pages in the log, pages copied)."""

    def ensure_running(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        self._pid = os.getpid()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout=5)
        self._thread = None

    def checkpoint(self, conn: sqlite3.Connection) -> tuple[int, int, int]:
        """One checkpoint: (busy, pages in the log, pages copied), as SQLite reports them."""
        busy, pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        # Only when the passive pass copied the whole log: a reader pinning older pages would keep it from starting
        # over, and the lock would stop the batches for nothing (that case waits for the RESTART below).
        long_log = CHECKPOINT_RESTART_PAGES <= pages < CHECKPOINT_FULL_PAGES
        if self.write_lock is not None and long_log and not busy and copied == pages:
            self.write_lock.acquire()  # no batch commits meanwhile: this one copies the rest, the next starts over
            try:
                busy, pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                self.write_lock.release()
            self.restarts += 1
        elif pages >= CHECKPOINT_FULL_PAGES:
            busy, pages, copied = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        self.checkpoints += 1
        self.last = (busy, pages, copied)
        return busy, pages, copied

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.wait(self.every):
                try:
                    self.checkpoint(conn)
                except sqlite3.Error:
                    log.warning("checkpoint of %s failed; trying again in %.2f s", self.path, self.every)
            self.checkpoint(conn)
        except sqlite3.Error:
            log.warning("last checkpoint of %s failed", self.path)
        finally:
            conn.close()


@dataclass(slots=True)
class Ahead:
    """A push as its batch takes it, with what is worked out before the write lock: its dedupe key, its time as
    SQLite stores it, its interaction, and for a reply worked out ahead its log and dedupe rows
    (:func:`bot.store.bookkeeping_rows`; used as they are unless the batch answers it in another script)."""

    job: Job
    key: str
    at: str
    interaction: Interaction
    rows: tuple[tuple[Any, ...], tuple[Any, ...]] | None

    @classmethod
    def of(cls, job: Job) -> Ahead:
        message, at = job.message, sqlite_text(job.now)
        rows = None
        if job.run is None and job.error is None and job.rendered is not None:
            plaintext, kind = job.rendered
            rows = bookkeeping_rows(message, at, kind, plaintext)
        return cls(job, message.dedup_key, at, message.interaction, rows)


class SqliteGroupCommit:
    """:class:`bot.store.Store` by group commit on a SQLite file; ``engine`` from posts.db.sqlite_writer_engine."""

    def __init__(self, engine: Engine, write_lock: WriteLock, *, budget: float = 4.0, max_batch: int = 256) -> None:
        self.group: GroupCommit[Ahead, Answer] = GroupCommit(
            engine, self._batch, write_lock, budget=budget, max_batch=max_batch
        )
        # A datetime as SQLite stores it (posts.models.UTCDateTime on this dialect), checked once against the
        # type's own bind processor.
        column_type = SeenMessage.__table__.c.received_at.type
        processor = column_type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
        probe = datetime(2026, 3, 1, 7, 8, 9, 123, tzinfo=UTC)
        if processor is not None and processor(probe) != sqlite_text(probe):
            raise RuntimeError("posts.models.sqlite_text no longer matches how UTCDateTime is stored on SQLite")
        self.checkpointer = Checkpointer(str(engine.url.database), write_lock=write_lock)

    def answer(self, job: Job) -> Answer:
        return self.group.submit(Ahead.of(job))

    async def answer_async(self, job: Job) -> Answer:
        return await self.group.submit_async(Ahead.of(job))

    def close(self) -> None:
        self.group.close()
        self.checkpointer.close()
        self.group.engine.dispose()

    def _batch(self, conn: Connection, pushes: list[Ahead]) -> list[Answer | Exception]:
        """Every push of the batch in order (BEGIN IMMEDIATE done); the bookkeeping in one statement per table."""
        raw: Any = conn.connection.driver_connection
        self.checkpointer.ensure_running()
        wanting = {push.job.message.openid for push in pushes if push.job.wants_script}
        stored, readers = _stored_many(raw, [push.key for push in pushes], list(wanting))
        """The stored replies of the batch's keys, and the batch's followers who read Traditional (for the replies
        worked out ahead in Simplified): one statement for both."""
        out: list[Answer | Exception] = []
        seen_rows: list[tuple[Any, ...]] = []
        log_rows: list[tuple[Any, ...]] = []
        touched: dict[str, Touch] = {}
        run, lookup = partial(self._run_handler, conn), partial(_readers, raw)
        for push in pushes:
            job, key, at = push.job, push.key, push.at
            hit = stored.get(key)
            if hit is not None:  # a redelivery: committed earlier, or run earlier in this very batch
                out.append(stored_answer(*hit))
                continue
            try:
                rendered = run_in_batch(job, run, readers, wanting, lookup)
            except Exception as exc:  # its writes are rolled back; it gets the error path, the batch goes on
                out.append(exc)
                continue
            stored[key] = rendered
            plaintext, kind = rendered
            openid = job.message.openid
            touched[openid] = Touch.of(push.interaction, at, touched.get(openid))
            if push.rows is not None and rendered is job.rendered:  # the reply as worked out ahead
                log_row, seen_row = push.rows
            else:
                log_row, seen_row = bookkeeping_rows(job.message, at, kind, plaintext)
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

    def _run_handler(self, conn: Connection, job: Job) -> Rendered:
        """The job's handler and its rendered reply; its ORM Session is a savepoint of the batch."""
        if not conn.in_transaction():
            conn.begin()  # joins the batch's BEGIN IMMEDIATE, so the Session is a savepoint of it
        return run_in_savepoint(conn, job)


def _readers(raw: Any, openids: list[str]) -> set[str]:
    """Which of ``openids`` read Traditional now (after a handler that may have changed its follower's script)."""
    return _stored_many(raw, [], openids)[1]


def _stored_many(raw: Any, keys: list[str], openids: list[str]) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """The stored replies of ``keys`` and which of ``openids`` read Traditional: the first 256 of each in one
    statement (a ``UNION ALL`` of both lookups), any more 256 at a time (padded to powers of two with a repeated
    value, so SQLite's statement cache keeps a few shapes)."""
    found: dict[str, tuple[str, str]] = {}
    readers: set[str] = set()
    keys, openids = list(dict.fromkeys(keys)), list(dict.fromkeys(openids))
    for start in range(0, max(len(keys), len(openids)), 256):
        key_chunk, openid_chunk = _padded(keys[start : start + 256]), _padded(openids[start : start + 256])
        for key, xml, kind in raw.execute(sql_lookup(len(key_chunk), len(openid_chunk)), key_chunk + openid_chunk):
            if kind is None:  # a follower's row (a dedupe row always has its kind)
                readers.add(key)
            else:
                found[key] = (xml, kind)
    return found, readers


def _padded(values: list[str]) -> list[str]:
    size = 1 << (len(values) - 1).bit_length() if values else 0
    return values + [values[0]] * (size - len(values)) if values else []


@lru_cache(maxsize=128)
def sql_lookup(keys: int, openids: int) -> str:
    """The stored replies of ``keys`` dedupe keys and, in the same statement, which of ``openids`` followers read
    Traditional (rows with no kind)."""
    parts = [sql_stored(keys)] if keys else []
    if openids:
        marks = ", ".join("?" * openids)
        parts.append(f"SELECT openid, NULL, NULL FROM follower WHERE script = '{TRADITIONAL}' AND openid IN ({marks})")
    return " UNION ALL ".join(parts)
