"""Group commit on SQLite: the pushes waiting on an event loop are committed in one transaction, on that loop.

A coroutine hands its push to :meth:`GroupCommit.submit_async` and awaits it; the push joins its loop's list of
pending pushes, and one flush, two turns of the loop after the first of them, takes them all. The flush takes the
cross-process write lock (without blocking the loop: if another worker holds it, a helper thread waits for it and
the pushes arriving meanwhile join the batch), opens one ``BEGIN IMMEDIATE`` transaction, hands the batch to
``run`` (which isolates each push's own writes, so a push that raises rolls back alone and only that push gets the
error), commits once, and only then settles the futures. If the batch or its COMMIT fails, every push of it gets
the error and nothing is kept. Running the batch on the loop itself costs no thread hand-off and no GIL contention
with a writer thread.

Threads (the WSGI face) call :meth:`GroupCommit.submit`: their pushes go to one background event loop of the
process, which commits them the same way. A push waits at most ``budget`` seconds (WeChat waits 5): one that no
batch has taken by then is dropped, nothing written, and WeChat's retry runs it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

BUSY_RETRY_SECONDS = 0.002
"""Another program (the scheduler, a CLI command) holds SQLite's write lock: try the batch again this much later."""


class WriterTimeout(TimeoutError):
    """No batch took the push within the budget."""


class WriteLock(Protocol):
    """One writer at a time across threads and processes (bot.store.writelock.FileWriteLock)."""

    def try_acquire(self) -> bool: ...
    def acquire(self) -> None: ...
    def release(self) -> None: ...


class _Job(Generic[T, R]):
    __slots__ = ("deadline", "future", "item")

    def __init__(self, item: T, future: asyncio.Future[R], deadline: float) -> None:
        self.item = item
        self.future = future
        self.deadline = deadline


class _Lane(Generic[T, R]):
    """The pushes pending on one event loop (oldest first), whether a flush is due or waiting for the lock, and
    the one timer that drops the pushes whose budget ran out (one per loop, not one per push)."""

    __slots__ = ("flush_due", "jobs", "loop", "sweep", "waiting_for_lock")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.jobs: list[_Job[T, R]] = []
        self.flush_due = False
        self.waiting_for_lock = False
        self.sweep: asyncio.TimerHandle | None = None


class GroupCommit(Generic[T, R]):
    """``run(connection, items) -> [result or exception per item]``, many items per transaction.

    ``run`` is called inside an open transaction; an item whose work fails must leave no write behind (roll back
    to a savepoint of its own) and come back as its exception.
    """

    def __init__(
        self,
        engine: Engine,
        run: Callable[[Connection, list[T]], list[R | Exception]],
        write_lock: WriteLock,
        *,
        budget: float = 4.0,
        max_batch: int = 256,
    ) -> None:
        self.engine = engine
        self.run = run
        self.write_lock = write_lock
        self.budget = budget
        self.max_batch = max_batch
        self.batches = 0
        self.pushes = 0
        self._lanes: dict[asyncio.AbstractEventLoop, _Lane[T, R]] = {}
        self._conn: Connection | None = None  # used only while holding the write lock
        self._raw: Any = None
        self._mutex = threading.Lock()
        self._closed = False
        self._pid = os.getpid()
        self._background: asyncio.AbstractEventLoop | None = None
        self._lock_waiter: ThreadPoolExecutor | None = None

    # --- submitting ---

    async def submit_async(self, item: T) -> R:
        """Run ``item`` in the next batch on this loop and return its result once committed; raises its error."""
        if self._closed:
            raise RuntimeError("group commit closed")
        loop = asyncio.get_running_loop()
        lane = self._lanes.get(loop)
        if lane is None:
            lane = self._lanes[loop] = _Lane(loop)
        job: _Job[T, R] = _Job(item, loop.create_future(), loop.time() + self.budget)
        lane.jobs.append(job)
        if lane.sweep is None:
            lane.sweep = loop.call_at(job.deadline, self._expire, lane)
        if not lane.flush_due and not lane.waiting_for_lock:
            lane.flush_due = True
            loop.call_soon(self._flush_a_turn_later, lane)
        return await job.future

    def submit(self, item: T) -> R:
        """:meth:`submit_async` for a thread (WSGI): committed on the process's background loop; blocks till then."""
        loop = self._background_loop()
        done = asyncio.run_coroutine_threadsafe(self.submit_async(item), loop)
        return done.result(self.budget + 5)  # the budget itself is kept on the loop

    def pending(self) -> int:
        """Pushes waiting for a batch, over all loops (for tests and metrics)."""
        return sum(len(lane.jobs) for lane in list(self._lanes.values()))

    def close(self) -> None:
        """Refuse new pushes; the ones already taken by a batch are committed (a batch runs to its end)."""
        self._closed = True
        background = self._background
        if background is not None and background.is_running():
            background.call_soon_threadsafe(background.stop)
        if self._lock_waiter is not None:
            self._lock_waiter.shutdown(wait=False)

    # --- on the loop ---

    def _expire(self, lane: _Lane[T, R]) -> None:
        """Drop the pushes no batch took within the budget (nothing is written; WeChat's retry runs them)."""
        lane.sweep = None
        jobs, now, expired = lane.jobs, lane.loop.time(), 0
        while expired < len(jobs) and jobs[expired].deadline <= now:
            expired += 1
        for job in jobs[:expired]:
            if not job.future.done():
                job.future.set_exception(WriterTimeout(f"no batch took the push within {self.budget} s"))
        del jobs[:expired]
        if jobs:  # a batch runs to its end in one callback, so only the pushes still in the list can expire
            lane.sweep = lane.loop.call_at(jobs[0].deadline, self._expire, lane)

    def _flush_a_turn_later(self, lane: _Lane[T, R]) -> None:
        """The first push of a batch waits one more turn of the loop: that turn's poll reads the bytes that reached
        the other connections meanwhile, and their pushes join the batch (fewer, larger commits; docs/benchmarks.md,
        Run V)."""
        lane.loop.call_soon(self._flush, lane)

    def _flush(self, lane: _Lane[T, R]) -> None:
        lane.flush_due = False
        if not lane.jobs or lane.waiting_for_lock:
            return
        if self._closed:
            self._fail(lane, RuntimeError("group commit closed"))
            return
        if self.write_lock.try_acquire():
            self._run_locked(lane)
            return
        # Another worker is committing: wait for the lock off the loop; pushes arriving meanwhile join the batch.
        lane.waiting_for_lock = True
        if self._lock_waiter is None:
            self._lock_waiter = ThreadPoolExecutor(1, thread_name_prefix="wxbot-write-lock")
        waited = lane.loop.run_in_executor(self._lock_waiter, self.write_lock.acquire)
        waited.add_done_callback(lambda done: self._locked(lane, done))

    def _locked(self, lane: _Lane[T, R], waited: asyncio.Future[None]) -> None:
        lane.waiting_for_lock = False
        if waited.cancelled() or waited.exception() is not None:  # only when shutting down
            self._fail(lane, RuntimeError("group commit closed while waiting for the write lock"))
            return
        self._run_locked(lane)

    def _fail(self, lane: _Lane[T, R], error: Exception) -> None:
        jobs, lane.jobs = lane.jobs, []
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(error)

    def _run_locked(self, lane: _Lane[T, R]) -> None:
        """Holding the write lock: run and commit one batch of the lane, release, settle its futures."""
        batch = lane.jobs[: self.max_batch]
        del lane.jobs[: self.max_batch]
        if not batch:  # every push of it timed out while the lock was awaited
            self.write_lock.release()
            return
        try:
            outcomes = self._commit([job.item for job in batch])
        except _Busy:
            outcomes = None
        finally:
            self.write_lock.release()
        if outcomes is None:  # SQLite's lock is held outside the bot: the batch goes back, first in line
            lane.jobs[:0] = batch
            lane.flush_due = True
            lane.loop.call_later(BUSY_RETRY_SECONDS, self._flush, lane)
            return
        self.batches += 1
        self.pushes += len(batch)
        for job, outcome in zip(batch, outcomes, strict=True):
            if job.future.done():  # its waiter went away (cancelled): the push is committed all the same
                continue
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)
        if lane.jobs and not lane.flush_due:
            lane.flush_due = True
            lane.loop.call_soon(self._flush, lane)

    def _commit(self, items: list[T]) -> list[R | Exception] | list[Exception]:
        """One transaction for ``items``: per-item outcomes, or the transaction's own error for every item."""
        try:
            conn, raw = self._connection()
        except Exception as exc:  # the database cannot be opened: every push of the batch gets the error path
            log.exception("group commit could not open its connection")
            return [exc] * len(items)
        try:
            # Straight on the DB-API connection: most batches never need SQLAlchemy's view of the transaction.
            # A handler's Session makes SQLAlchemy join it (posts.db.sqlite_writer_engine), then it commits it.
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise _Busy from exc
            raise
        try:
            outcomes = self.run(conn, items)
            if conn.in_transaction():
                conn.commit()
            else:
                raw.execute("COMMIT")
            return outcomes
        except Exception as exc:  # the transaction itself failed: nothing of the batch was written
            log.exception("group commit of %d push(es) failed; none of them is answered", len(items))
            return [exc] * len(items)
        finally:
            # A failed COMMIT (e.g. a deferred constraint) leaves SQLite's transaction open: end it here,
            # before the write lock is released.
            self._reset_if_needed(conn, raw)

    def _connection(self) -> tuple[Connection, Any]:
        """The batch connection and its DB-API connection (kept: SQLAlchemy's accessors cost µs per batch)."""
        if self._conn is None or self._pid != os.getpid() or self._conn.invalidated:
            self._pid = os.getpid()
            self._conn = self.engine.connect()
            self._raw = self._conn.connection.driver_connection
            # Never sleep in SQLite's busy handler on the loop: a busy BEGIN comes back at once and is retried.
            self._raw.execute("PRAGMA busy_timeout = 0")
            # No checkpoint inside a batch's COMMIT (it would hold the write lock while it copies pages): the
            # store's checkpointer does it beside the batches (bot.store.sqlite.Checkpointer).
            self._raw.execute("PRAGMA wal_autocheckpoint = 0")
        return self._conn, self._raw

    def _reset_if_needed(self, conn: Connection, raw: Any) -> None:
        if not raw.in_transaction and not conn.in_transaction():
            return
        try:
            conn.rollback()
            if raw.in_transaction:
                raw.execute("ROLLBACK")
        except Exception:
            log.exception("could not roll back the group commit's connection; opening a new one")
            conn.invalidate()
            conn.close()
            self._conn = None

    # --- the background loop for threads ---

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._mutex:
            if self._closed:
                raise RuntimeError("group commit closed")
            if self._background is None or self._pid != os.getpid():  # first use, or a forked child
                self._pid = os.getpid()
                self._conn = None
                self._lanes = {}
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="wxbot-group-commit", daemon=True)
                thread.start()
                self._background = loop
            return self._background


class _Busy(Exception):
    """BEGIN IMMEDIATE found SQLite's write lock held by another program."""
