"""Group commit on SQLite: one writer thread per worker process runs the waiting pushes in one transaction.

Request threads hand their push to :meth:`GroupCommit.submit` and wait; coroutines on an event loop (the RSGI app)
await :meth:`GroupCommit.submit_async` instead, and a batch wakes each loop once. The writer thread owns the SQLite
connection: it takes every push that is waiting (up to ``max_batch``), takes the cross-process write lock, opens
one ``BEGIN IMMEDIATE`` transaction, hands the whole batch to ``run`` (which isolates each push's own writes, so a
push that raises rolls back alone and only that push gets the error), commits once, and only then wakes the
waiters with their answers. If the batch or its COMMIT fails, every push of it gets the error and nothing is kept.
A waiter gives up after ``budget`` seconds (WeChat waits 5): a push the writer has not started yet is then dropped
(nothing written; WeChat's retry runs it), one already running commits and its retry gets the stored reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_PENDING, _TAKEN, _CANCELLED = 0, 1, 2


class WriterTimeout(TimeoutError):
    """The writer did not answer within the budget."""


class _Job(Generic[T, R]):
    __slots__ = ("done", "error", "future", "item", "result", "state")

    def __init__(self, item: T, future: asyncio.Future[R] | None = None) -> None:
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.state = _PENDING
        self.future = future  # an awaiting coroutine's, settled on its loop; else a thread waits on ``done``
        self.done: threading.Lock | None = None
        if future is None:
            self.done = threading.Lock()
            self.done.acquire()  # released by the writer once the answer is final (committed or failed)


class GroupCommit(Generic[T, R]):
    """``run(connection, items) -> [result or exception per item]``, many items per transaction, one writer thread.

    ``run`` is called on the writer thread inside an open transaction; an item whose work fails must leave no
    write behind (roll back to a savepoint of its own) and come back as its exception.
    """

    def __init__(
        self,
        engine: Engine,
        run: Callable[[Connection, list[T]], list[R | Exception]],
        write_lock: Callable[[], AbstractContextManager[None]],
        *,
        budget: float = 4.0,
        max_batch: int = 256,
        idle_seconds: float = 10.0,
    ) -> None:
        self.engine = engine
        self.run = run
        self.write_lock = write_lock
        self.budget = budget
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self.batches = 0
        self.pushes = 0
        self._queue: queue.SimpleQueue[_Job[T, R] | None] = queue.SimpleQueue()
        self._mutex = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closed = False

    def submit(self, item: T) -> R:
        """Run ``item`` in the next batch and return its result once committed; re-raises its error."""
        job: _Job[T, R] = _Job(item)
        self._enqueue(job)
        assert job.done is not None
        if not job.done.acquire(timeout=self.budget):
            self._give_up(job)
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    async def submit_async(self, item: T) -> R:
        """:meth:`submit` for a coroutine: the event loop goes on serving while the batch runs and commits."""
        loop = asyncio.get_running_loop()
        job: _Job[T, R] = _Job(item, loop.create_future())
        self._enqueue(job)
        timer = loop.call_later(self.budget, self._expire, job)
        try:
            return await job.future  # type: ignore[misc]
        finally:
            timer.cancel()

    def _enqueue(self, job: _Job[T, R]) -> None:
        with self._mutex:
            if self._closed:
                raise RuntimeError("group commit closed")
            if self._thread is None or self._pid != os.getpid():  # first push, idle exit, or a forked child
                self._pid = os.getpid()
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._writer, name="wxbot-group-commit", daemon=True)
                self._thread.start()
            self._queue.put(job)

    def _give_up(self, job: _Job[T, R]) -> None:
        with self._mutex:
            if job.state == _PENDING:  # not started: drop it, nothing is written, WeChat's retry runs it
                job.state = _CANCELLED
        # Started: it will commit, and WeChat's retry gets the stored reply. Either way this answer is late.
        raise WriterTimeout(f"no answer from the writer within {self.budget} s")

    def _expire(self, job: _Job[T, R]) -> None:
        assert job.future is not None
        if not job.future.done():
            try:
                self._give_up(job)
            except WriterTimeout as exc:
                job.future.set_exception(exc)

    def close(self) -> None:
        """Stop the writer after the pushes already queued (new submits are refused)."""
        with self._mutex:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)

    def _writer(self) -> None:
        jobs = self._queue
        conn = self.engine.connect()
        try:
            while True:
                try:
                    first = jobs.get(timeout=self.idle_seconds)
                except queue.Empty:
                    with self._mutex:
                        if jobs.empty():
                            self._thread = None
                            return
                    continue
                batch = [first]
                while len(batch) < self.max_batch:
                    try:
                        batch.append(jobs.get_nowait())
                    except queue.Empty:
                        break
                stop = any(job is None for job in batch)
                live: list[_Job[T, R]] = []
                with self._mutex:
                    for job in batch:
                        if job is not None and job.state == _PENDING:
                            job.state = _TAKEN
                            live.append(job)
                if live:
                    conn = self._run_batch(conn, live)
                if stop:
                    with self._mutex:
                        self._thread = None
                    return
        finally:
            conn.close()

    def _run_batch(self, conn: Connection, batch: list[_Job[T, R]]) -> Connection:
        """Run and commit one batch, then wake its waiters; returns the connection to use next."""
        try:
            with self.write_lock():
                raw: Any = conn.connection.driver_connection
                # Straight on the DB-API connection: most batches never need SQLAlchemy's view of the transaction.
                # A handler's Session makes SQLAlchemy join it (posts.db.sqlite_writer_engine), then it commits it.
                raw.execute("BEGIN IMMEDIATE")
                try:
                    outcomes = self.run(conn, [job.item for job in batch])
                    for job, outcome in zip(batch, outcomes, strict=True):
                        if isinstance(outcome, Exception):
                            job.error = outcome  # this push only: its own writes were rolled back
                        else:
                            job.result = outcome
                    if conn.in_transaction():
                        conn.commit()
                    else:
                        raw.execute("COMMIT")
                finally:
                    # A failed COMMIT (e.g. a deferred constraint) leaves SQLite's transaction open: end it here,
                    # before the write lock is released.
                    conn = _reset_if_needed(conn, self.engine)
        except Exception as exc:  # the transaction itself failed: nothing of the batch was written
            log.exception("group commit of %d push(es) failed; none of them is answered", len(batch))
            for job in batch:
                job.result = None
                job.error = exc
        self.batches += 1
        self.pushes += len(batch)
        waiting: dict[asyncio.AbstractEventLoop, list[_Job[T, R]]] = {}
        for job in batch:
            if job.done is not None:
                job.done.release()
            else:
                assert job.future is not None
                waiting.setdefault(job.future.get_loop(), []).append(job)
        for loop, jobs in waiting.items():  # one wake-up per event loop and batch
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, jobs)
        return conn


def _settle(jobs: list[_Job[Any, Any]]) -> None:
    """On the waiting coroutines' loop: hand each its answer (a timed-out one has its error already)."""
    for job in jobs:
        future = job.future
        if future is None or future.done():
            continue
        if job.error is not None:
            future.set_exception(job.error)
        else:
            future.set_result(job.result)


def _reset_if_needed(conn: Connection, engine: Engine) -> Connection:
    raw: Any = conn.connection.driver_connection
    if not conn.in_transaction() and not raw.in_transaction:
        return conn
    try:
        conn.rollback()
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        return conn
    except Exception:
        log.exception("could not roll back the writer's connection; opening a new one")
        conn.invalidate()
        conn.close()
        return engine.connect()
