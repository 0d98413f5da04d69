"""Group commit on PostgreSQL: the pushes waiting in a worker are committed together, so none waits for its own fsync.

Content-only pushes (keywords, sections, the menu: the usual push) are committed on the worker's event loop, on
psycopg's asynchronous connection in autocommit: while ``writers`` batches of a loop are at PostgreSQL, the pushes
arriving queue up, and the next batch takes them all (up to ``max_batch``) in **one statement** (:data:`SQL_BATCH`,
the batch as one JSON text): it claims each push's dedupe key with its reply (rendered ahead, in Simplified), and
for the keys it claimed writes the inbound log and the follower rows, and returns the keys claimed and which of the
batch's followers read Traditional. A key another transaction holds uncommitted makes the claim wait for it, as the
per-push store's unique insert does; a key not claimed was committed by someone else, and its stored reply is read
back; a Traditional reader's reply is stored again in Traditional before anyone of the batch is answered.

Pushes whose route uses the database go to ``writers`` writer threads per worker, one connection each, as one
transaction of two round trips when no push of it needs a handler with a Session:

1. ``BEGIN`` and one statement: claim the batch's dedupe keys (``INSERT … ON CONFLICT DO NOTHING RETURNING``,
   sorted, so two workers' batches never wait on each other in a cycle), each content-only push's dedupe row
   already with its reply, and, in the same statement, which of the batch's followers read Traditional;
2. each claimed push's database handler in a SAVEPOINT of its own (a handler that raises rolls back alone and only
   its push gets the error path; a unique conflict in it runs it once more), a copy later in the same batch gets
   the first one's reply;
3. pipelined with the COMMIT, one round trip: the bookkeeping in one statement per table (follower upsert in
   openid order, inbound log), the replies not known at the claim (a handler's, a Traditional reader's), the claims
   of pushes that failed deleted. Every statement has one text whatever the batch's size (arrays, ``unnest``), so
   psycopg prepares it once per connection; the arrays go in binary (``%b``).

Either way the replies are handed back only after the COMMIT: to a thread by its future, to an event loop by one
callback per loop and batch (not one wake-up per push). If the transaction or its COMMIT fails, every push of the
batch gets the error path and nothing of it is kept (a deadlock with another worker's batch is retried once).

A push no batch took within ``budget`` seconds (WeChat waits 5) is dropped unwritten; WeChat's retry runs it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from bot.store import (
    Answer,
    Job,
    Rendered,
    Touch,
    bookkeeping_rows,
    run_in_batch,
    run_in_savepoint,
    stored_answer,
    traditional_readers,
)
from posts import interactions
from posts.script import SIMPLIFIED, TRADITIONAL

log = logging.getLogger(__name__)

GATHER_BELOW = 8
"""A loop's batch of fewer content-only pushes than this waits :data:`GATHER_SECONDS` for more before it starts."""
GATHER_SECONDS = 0.001
"""One tick of the loop's timer (libuv counts milliseconds): what a small batch waits for the pushes on their way.
PostgreSQL spends ~0.5 ms of CPU on a batch's statement however small, ~0.1 ms per push more at 100,000 followers
(benchmarks.pg_batch)."""

DEADLOCK = "40P01"

SQL_KEYS_ONLY = "SET enable_seqscan = off"
"""Run once on the loop's own connection: its statements find rows by key, so no table is scanned (see
:data:`SQL_KEYS_ONLY_HERE`)."""
SQL_KEYS_ONLY_HERE = "SET LOCAL enable_seqscan = off"
"""First in each writer-thread transaction (the connection is the engine's). psycopg prepares a statement once per
connection and PostgreSQL soon keeps one generic plan for it, made with the tables as they are then: made while
``follower`` or ``seen_message`` was small or empty (a new database, a deploy), it would scan the whole table in
every batch from then on, as it grows (a 5,000-follower table cost ~1 ms of PostgreSQL's CPU a batch)."""

SQL_CLAIM = (
    "WITH claimed AS ("
    " INSERT INTO seen_message (dedup_key, received_at, reply_kind, reply_xml)"
    " SELECT * FROM unnest(%b::text[], %b::timestamptz[], %b::text[], %b::text[])"
    " ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key)"
    " SELECT 1, dedup_key FROM claimed"
    f" UNION ALL SELECT 2, openid FROM follower WHERE script = '{TRADITIONAL}' AND openid = ANY(%b::text[])"
)
"""The batch's dedupe keys claimed (1, key) and its Traditional readers among the given followers (2, openid)."""
SQL_STORED = "SELECT dedup_key, reply_xml, reply_kind FROM seen_message WHERE dedup_key = ANY(%b::text[])"
SQL_FILL = (
    "UPDATE seen_message SET reply_kind = f.kind, reply_xml = f.xml"
    " FROM unnest(%b::text[], %b::text[], %b::text[]) AS f(key, kind, xml) WHERE dedup_key = f.key"
)
SQL_UNCLAIM = "DELETE FROM seen_message WHERE dedup_key = ANY(%b::text[])"
SQL_LOG = (
    "INSERT INTO inbound_event (openid, msg_type, event, key, received_at, reply_kind, dedup_key)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::text[], %b::text[])"
)
SQL_TOUCH_OR_ADD = (
    "INSERT INTO follower"
    " (openid, subscribed, last_interaction_at, last_interaction_kind, last_message_at, last_event_at, created_at)"
    " SELECT t.openid, true, t.at, t.kind, t.message_at, t.event_at, t.at"
    " FROM unnest(%b::text[], %b::timestamptz[], %b::text[], %b::timestamptz[], %b::timestamptz[])"
    " AS t(openid, at, kind, message_at, event_at)"
    " ON CONFLICT (openid) DO UPDATE"
    " SET last_interaction_at = excluded.last_interaction_at, last_interaction_kind = excluded.last_interaction_kind,"
    " last_message_at = COALESCE(excluded.last_message_at, follower.last_message_at),"
    " last_event_at = COALESCE(excluded.last_event_at, follower.last_event_at)"
)
SQL_TOUCH = (
    "UPDATE follower SET last_interaction_at = t.at, last_interaction_kind = t.kind,"
    " last_message_at = COALESCE(t.message_at, follower.last_message_at),"
    " last_event_at = COALESCE(t.event_at, follower.last_event_at)"
    " FROM unnest(%b::text[], %b::timestamptz[], %b::text[], %b::timestamptz[], %b::timestamptz[])"
    " AS t(openid, at, kind, message_at, event_at) WHERE follower.openid = t.openid"
)


SQL_BATCH = (
    "WITH b AS (SELECT * FROM json_to_recordset(%s::json) AS b(n int, dedup_key text, at timestamptz,"
    " reply_kind text, reply_xml text, openid text, msg_type text, event text, log_key text, kind text,"
    " message_at timestamptz, event_at timestamptz, wants boolean)),"
    " claimed AS (INSERT INTO seen_message (dedup_key, received_at, reply_kind, reply_xml)"
    " SELECT dedup_key, at, reply_kind, reply_xml FROM b ORDER BY dedup_key"
    " ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key),"
    " done AS (SELECT b.* FROM b JOIN claimed USING (dedup_key)),"
    " logged AS (INSERT INTO inbound_event (openid, msg_type, event, key, received_at, reply_kind, dedup_key)"
    " SELECT openid, msg_type, event, log_key, at, reply_kind, dedup_key FROM done ORDER BY n),"
    " touch AS (SELECT openid, (array_agg(at ORDER BY n DESC))[1] AS at, (array_agg(kind ORDER BY n DESC))[1] AS kind,"
    " (array_agg(message_at ORDER BY n DESC) FILTER (WHERE message_at IS NOT NULL))[1] AS message_at,"
    " (array_agg(event_at ORDER BY n DESC) FILTER (WHERE event_at IS NOT NULL))[1] AS event_at,"
    f" bool_or(kind <> '{interactions.OTHER}') AS creates FROM done GROUP BY openid),"
    " added AS (INSERT INTO follower"
    " (openid, subscribed, last_interaction_at, last_interaction_kind, last_message_at, last_event_at, created_at)"
    " SELECT openid, true, at, kind, message_at, event_at, at FROM touch WHERE creates ORDER BY openid"
    " ON CONFLICT (openid) DO UPDATE SET last_interaction_at = excluded.last_interaction_at,"
    " last_interaction_kind = excluded.last_interaction_kind,"
    " last_message_at = COALESCE(excluded.last_message_at, follower.last_message_at),"
    " last_event_at = COALESCE(excluded.last_event_at, follower.last_event_at)),"
    " updated AS (UPDATE follower SET last_interaction_at = t.at, last_interaction_kind = t.kind,"
    " last_message_at = COALESCE(t.message_at, follower.last_message_at),"
    " last_event_at = COALESCE(t.event_at, follower.last_event_at) FROM touch t"
    " WHERE follower.openid = ANY(ARRAY(SELECT openid FROM touch WHERE NOT creates)) AND follower.openid = t.openid)"
    " SELECT 1, dedup_key FROM claimed"
    f" UNION ALL SELECT 2, openid FROM follower WHERE script = '{TRADITIONAL}'"
    " AND openid = ANY(ARRAY(SELECT openid FROM b WHERE wants))"
)
"""A batch of content-only pushes in one statement (one per batch, prepared once per connection): each push's
dedupe row claimed with its reply (sorted: two workers' batches never wait on each other in a cycle), and for the
claimed ones only, the inbound log and the follower rows (one per follower, in openid order: its last interaction
of the batch, the last of each window class; created unless only "other" events came from it, as
:class:`bot.store.Touch` has it); it returns the keys claimed (1, key) and the batch's Traditional readers
(2, openid). The batch goes as one JSON text (:meth:`_OneStatement.payload`)."""


class WriterTimeout(TimeoutError):
    """No batch took the push within the budget."""


class _Pending:
    """A push waiting for a batch: a thread waits on ``future``; a coroutine on ``waiter``, settled on its ``loop``."""

    __slots__ = ("deadline", "future", "job", "loop", "waiter")

    def __init__(
        self,
        job: Job,
        deadline: float,
        loop: asyncio.AbstractEventLoop | None = None,
        waiter: asyncio.Future[Answer] | None = None,
    ) -> None:
        self.job = job
        self.deadline = deadline
        self.future: Future[Answer] = Future()
        self.loop = loop
        self.waiter = waiter


class PgGroupCommit:
    """:class:`bot.store.Store` by group commit on PostgreSQL (``server.store = "group_commit"``)."""

    def __init__(self, engine: Engine, *, writers: int = 1, budget: float = 4.0, max_batch: int = 256) -> None:
        self.engine = engine
        self.writers = writers
        """Writer threads (and connections) per worker: batches in flight at once, one waiting for its COMMIT's
        fsync while the next is claimed."""
        self.budget = budget
        self.max_batch = max_batch
        self.batches = 0
        self.pushes = 0
        self._queue: deque[_Pending] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._pid = os.getpid()
        self._local = threading.local()  # each writer thread's connection
        self._lanes: dict[asyncio.AbstractEventLoop, _Lane] = {}
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    # --- the two faces ---

    def answer(self, job: Job) -> Answer:
        return self._submit(job).result(self.budget + 5)  # the budget itself is kept by the writer

    async def answer_async(self, job: Job) -> Answer:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Answer] = loop.create_future()
        if job.run is None and not job.message.interaction.closes:  # content-only: on this loop, no thread
            # (SQL_BATCH keeps the batch's last window times; an unfollow must not restore them: a writer's batch)
            self._on_loop(loop, job, waiter)
        else:  # a handler with a Session: a writer thread runs its batch
            self._submit(job, loop, waiter)
        return await waiter

    def pending(self) -> int:
        """Pushes waiting for a batch (for tests and metrics)."""
        return len(self._queue) + sum(len(lane.jobs) for lane in list(self._lanes.values()))

    def close(self) -> None:
        """Refuse new pushes; the batch being committed ends first, the pushes still queued get the error path."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        for writer in self._threads:
            if writer is not threading.current_thread():
                writer.join(self.budget + 5)

    def _submit(
        self,
        job: Job,
        loop: asyncio.AbstractEventLoop | None = None,
        waiter: asyncio.Future[Answer] | None = None,
    ) -> Future[Answer]:
        pending = _Pending(job, time.monotonic() + self.budget, loop, waiter)
        with self._ready:
            if self._closed:
                raise RuntimeError("group commit closed")
            if not self._threads or self._pid != os.getpid():  # first use, or a forked child
                self._pid = os.getpid()
                self._local = threading.local()
                self._threads = [
                    threading.Thread(target=self._write, name=f"wxbot-pg-group-commit-{n}", daemon=True)
                    for n in range(self.writers)
                ]
                for writer in self._threads:
                    writer.start()
            self._queue.append(pending)
            self._ready.notify()
        return pending.future

    # --- on the event loop: content-only pushes, psycopg's asynchronous connection ---

    def _on_loop(self, loop: asyncio.AbstractEventLoop, job: Job, waiter: asyncio.Future[Answer]) -> None:
        """Queue the push on its loop's lane; start a batch there unless ``writers`` of them are running already
        (then the push joins the next batch: the pushes arriving while a batch waits for PostgreSQL go together)."""
        if self._closed:
            raise RuntimeError("group commit closed")
        lane = self._lanes.get(loop)
        if lane is None or lane.pid != os.getpid():  # first use on this loop, or a forked child
            lane = self._lanes[loop] = _Lane()
        lane.jobs.append((job, waiter, loop.time() + self.budget))
        if lane.running < self.writers:
            lane.running += 1
            task = loop.create_task(self._drain(loop, lane))
            lane.tasks.add(task)
            task.add_done_callback(lane.tasks.discard)

    async def _drain(self, loop: asyncio.AbstractEventLoop, lane: _Lane) -> None:
        conn: Any = None
        try:
            await asyncio.sleep(0)  # the pushes this loop takes in the same turn join the first batch
            while lane.jobs:
                if len(lane.jobs) < GATHER_BELOW:
                    # A batch of a few costs PostgreSQL nearly what a full one does: the pushes on their way join.
                    await asyncio.sleep(GATHER_SECONDS)
                batch, now = lane.jobs[: self.max_batch], loop.time()
                del lane.jobs[: self.max_batch]
                live = []
                for job, waiter, deadline in batch:
                    if waiter.done():  # its coroutine went away before a batch took it: not run
                        continue
                    if deadline <= now:
                        waiter.set_exception(WriterTimeout(f"no batch took the push within {self.budget} s"))
                        continue
                    live.append((job, waiter))
                if not live:
                    continue
                if conn is None or conn.closed:
                    conn = lane.idle.pop() if lane.idle else None
                outcomes, conn = await self._commit_async(conn, [job for job, _ in live])
                self.batches += 1
                self.pushes += len(live)
                for (_, waiter), outcome in zip(live, outcomes, strict=True):
                    if waiter.done():  # cancelled meanwhile: the push is committed all the same
                        continue
                    if isinstance(outcome, BaseException):
                        waiter.set_exception(outcome)
                    else:
                        waiter.set_result(outcome)
        finally:
            lane.running -= 1
            if conn is not None and not conn.closed:
                lane.idle.append(conn)

    async def _commit_async(self, conn: Any, jobs: list[Job]) -> tuple[list[Answer | Exception], Any]:
        """One transaction for ``jobs`` on the loop's connection (opened if need be): the outcomes, and the
        connection to go on with (None if it broke)."""
        import psycopg

        try:
            if conn is None:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                await conn.execute(SQL_KEYS_ONLY)
            try:
                return await self._batch_async(conn, jobs), conn
            except psycopg.errors.DeadlockDetected:
                log.warning("group commit of %d push(es) deadlocked with another worker; trying again", len(jobs))
                return await self._batch_async(conn, jobs), conn
        except Exception as exc:  # the transaction itself failed: nothing of the batch was written
            log.exception("group commit of %d push(es) failed; none of them is answered", len(jobs))
            if conn is not None and conn.broken:
                conn = None
            return [exc] * len(jobs), conn

    async def _batch_async(self, conn: Any, jobs: list[Job]) -> list[Answer | Exception]:
        """Content-only pushes in one statement, committed on its own (autocommit): the claim, the inbound log and
        the follower rows of the claimed pushes, and the batch's Traditional readers (:data:`SQL_BATCH`). Only a
        batch holding a redelivery of a push committed before (its stored reply read back) or a Traditional reader
        (the reply worked out ahead in Simplified, stored again in Traditional before anyone is answered) takes a
        second statement."""
        batch = _OneStatement(jobs)
        if batch.rows:
            async with conn.cursor() as cursor:
                await cursor.execute(SQL_BATCH, (batch.payload(),))
                batch.found(await cursor.fetchall())
        if batch.others:
            async with conn.cursor() as cursor:
                await cursor.execute(SQL_STORED, (batch.others,))
                batch.stored = {key: (xml or "", kind) for key, xml, kind in await cursor.fetchall()}
        outcomes, filled = batch.outcomes()
        if filled:
            async with conn.cursor() as cursor:
                await cursor.execute(SQL_FILL, _columns(filled, 3))
        return outcomes

    # --- the writer thread ---

    def _write(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if self._closed:
                    left, self._queue = list(self._queue), deque()
                    break
                batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            now = time.monotonic()
            # A waiter that went away (a cancelled coroutine or future) is skipped; a running future cannot be.
            taken = [item for item in batch if _take(item)]
            late = [item for item in taken if item.deadline <= now]
            if late:
                _settle(late, [WriterTimeout(f"no batch took the push within {self.budget} s")] * len(late))
            taken = [item for item in taken if item.deadline > now]
            if taken:
                try:
                    self._commit(taken)
                except Exception as exc:  # never leave a push waiting, never lose the writer
                    log.exception("group commit writer failed")
                    _settle([item for item in taken if not item.future.done()], [exc] * len(taken))
        _settle([item for item in left if _take(item)], [RuntimeError("group commit closed")] * len(left))
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _commit(self, batch: list[_Pending]) -> None:
        jobs = [item.job for item in batch]
        try:
            try:
                outcomes = self._transaction(jobs)
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != DEADLOCK:
                    raise
                log.warning("group commit of %d push(es) deadlocked with another worker; trying again", len(jobs))
                outcomes = self._transaction(jobs)
        except Exception as exc:  # the transaction itself failed: nothing of the batch was written
            log.exception("group commit of %d push(es) failed; none of them is answered", len(jobs))
            outcomes = [exc] * len(jobs)
        self.batches += 1
        self.pushes += len(jobs)
        _settle(batch, outcomes)

    def _connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.invalidated or conn.closed:
            conn = self._local.conn = self.engine.connect()
        return conn

    def _transaction(self, jobs: list[Job]) -> list[Answer | Exception]:
        conn = self._connection()
        raw: Any = conn.connection.driver_connection  # psycopg's connection: pipeline mode, prepared statements
        transaction = conn.begin()
        try:
            outcomes, statements = self._batch(conn, raw, jobs)
            with raw.pipeline(), raw.cursor() as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
                transaction.commit()  # COMMIT joins the pipeline: the bookkeeping and it take one round trip
            return outcomes
        except Exception:
            try:
                transaction.rollback()  # also after a failed COMMIT: ends SQLAlchemy's and the server's transaction
            except Exception:
                log.exception("could not roll back the group commit's connection; opening a new one")
                conn.invalidate()
            if conn.invalidated:
                self._local.conn = None
            raise

    def _batch(
        self, conn: Connection, raw: Any, jobs: list[Job]
    ) -> tuple[list[Answer | Exception], list[tuple[str, tuple[Any, ...]]]]:
        """Every push of the batch in order (claims made, handlers run); the statements that write the rest."""
        claim = _Claim(jobs)
        with raw.pipeline(), raw.cursor() as cursor:  # BEGIN and the claim: one round trip
            cursor.execute(SQL_KEYS_ONLY_HERE)
            cursor.execute(SQL_CLAIM, claim.params())
            claim.found(cursor.fetchall())
        if claim.others:  # committed by another transaction (a copy answered earlier, or by another worker)
            with raw.cursor() as cursor:
                cursor.execute(SQL_STORED, (claim.others,))
                claim.stored_replies(cursor.fetchall())
        return claim.rest(partial(self._run_handler, conn), partial(traditional_readers, conn))

    def _run_handler(self, conn: Connection, job: Job) -> Rendered:
        """The job's handler and its rendered reply; its ORM Session is a savepoint of the batch."""
        return run_in_savepoint(conn, job)


class _Lane:
    """One event loop's content-only pushes waiting for a batch (push, its waiter, its deadline), how many batches
    run on it now, and its idle connections."""

    __slots__ = ("idle", "jobs", "pid", "running", "tasks")

    def __init__(self) -> None:
        self.jobs: list[tuple[Job, asyncio.Future[Answer], float]] = []
        self.running = 0
        self.idle: list[Any] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.pid = os.getpid()


class _Claim:
    """One batch's claim (its statement's parameters, what it found) and the rest of the batch worked out from it:
    the same for the writer threads and the event loop."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        first: dict[str, Job] = {}
        for job in jobs:
            first.setdefault(job.message.dedup_key, job)
        self.first = first
        self.keys = sorted(first)
        self.ahead = {key: _ahead(first[key]) for key in self.keys}  # the reply stored with the claim, if known
        self.wanting = {job.message.openid for job in jobs if job.wants_script}
        self.claimed: set[str] = set()
        self.readers: set[str] = set()
        """The batch's followers who read Traditional, for the replies worked out ahead in Simplified."""
        self.others: list[str] = []
        self.stored: dict[str, tuple[str, str]] = {}

    def params(self) -> tuple[Any, ...]:
        keys, ahead = self.keys, self.ahead
        at = [self.first[key].now for key in keys]
        return keys, at, [ahead[k][1] for k in keys], [ahead[k][0] for k in keys], sorted(self.wanting)

    def found(self, rows: list[tuple[int, str]]) -> None:
        self.claimed = {value for tag, value in rows if tag == 1}
        self.readers = {value for tag, value in rows if tag == 2}
        self.others = [k for k in self.keys if k not in self.claimed]

    def stored_replies(self, rows: list[tuple[str, str | None, str]]) -> None:
        self.stored = {key: (xml or "", kind) for key, xml, kind in rows}

    def rest(
        self, run: Callable[[Job], Rendered], lookup: Callable[[list[str]], set[str]]
    ) -> tuple[list[Answer | Exception], list[tuple[str, tuple[Any, ...]]]]:
        """Every push's outcome in order (handlers run by ``run``), and the statements that write the rest."""
        jobs, claimed, stored, ahead = self.jobs, self.claimed, self.stored, self.ahead
        readers, wanting = self.readers, self.wanting
        out: list[Answer | Exception] = []
        done: dict[str, Rendered] = {}
        log_rows: list[tuple[Any, ...]] = []
        filled: list[tuple[str, str, str]] = []
        touched: dict[str, Touch] = {}
        for job in jobs:
            message = job.message
            key = message.dedup_key
            if key not in claimed:
                hit = stored.get(key)
                out.append(stored_answer(*hit) if hit else Answer("", "empty", duplicate=True))
                continue
            if key in done:  # a copy earlier in this very batch answered it
                out.append(stored_answer(*done[key]))
                continue
            try:
                plaintext, kind = run_in_batch(job, run, readers, wanting, lookup)
            except Exception as exc:  # its writes are rolled back; it gets the error path, the batch goes on
                out.append(exc)
                continue
            done[key] = (plaintext, kind)
            if (plaintext, kind) != ahead[key]:  # a handler's reply, or a Traditional reader's
                filled.append((key, kind, plaintext))
            touched[message.openid] = Touch.of(message.interaction, job.now, touched.get(message.openid))
            log_rows.append(bookkeeping_rows(message, job.now, kind, plaintext)[0])
            out.append(Answer(plaintext, kind))
        statements: list[tuple[str, tuple[Any, ...]]] = []
        for sql, create in ((SQL_TOUCH_OR_ADD, True), (SQL_TOUCH, False)):
            # The followers of the batch, in openid order: created unless only "other" events came from them.
            rows = [
                (o, t.at, t.kind, t.message_at, t.event_at) for o, t in sorted(touched.items()) if t.create == create
            ]
            if rows:
                statements.append((sql, _columns(rows, 5)))
        if log_rows:
            statements.append((SQL_LOG, _columns(log_rows, 7)))
        if filled:
            statements.append((SQL_FILL, _columns(filled, 3)))
        unclaimed = sorted(claimed - done.keys())  # pushes that failed: WeChat's retry must run them normally
        if unclaimed:
            statements.append((SQL_UNCLAIM, (unclaimed,)))
        return out, statements


class _OneStatement:
    """A batch of content-only pushes as :data:`SQL_BATCH` takes it, and each push's outcome from what it found."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        first: dict[str, Job] = {}
        for job in jobs:
            if job.error is None:  # a push whose reply failed ahead is not claimed: it gets the error path
                first.setdefault(job.message.dedup_key, job)
        self.first = first
        self.rows = list(first.values())
        self.claimed: set[str] = set()
        self.readers: set[str] = set()
        self.others: list[str] = []
        """Keys committed before by another transaction (a redelivery): their stored replies are read back."""
        self.stored: dict[str, tuple[str, str]] = {}

    def payload(self) -> str:
        rows = []
        for n, job in enumerate(self.rows):
            message = job.message
            assert job.rendered is not None
            plaintext, reply_kind = job.rendered
            openid, msg_type, event, log_key, _, _, key = bookkeeping_rows(message, None, reply_kind, plaintext)[0]
            interaction = message.interaction
            opens = interactions.columns(interaction, job.now)
            rows.append(
                {
                    "n": n,
                    "dedup_key": key,
                    "at": job.now.isoformat(),
                    "reply_kind": reply_kind,
                    "reply_xml": plaintext,
                    "openid": openid,
                    "msg_type": msg_type,
                    "event": event,
                    "log_key": log_key,
                    "kind": interaction.kind,
                    "message_at": _iso(opens["last_message_at"]),
                    "event_at": _iso(opens["last_event_at"]),
                    "wants": job.wants_script,
                }
            )
        return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))

    def found(self, rows: list[tuple[int, str]]) -> None:
        self.claimed = {value for tag, value in rows if tag == 1}
        self.readers = {value for tag, value in rows if tag == 2}
        self.others = [key for key in self.first if key not in self.claimed]

    def outcomes(self) -> tuple[list[Answer | Exception], list[tuple[str, str, str]]]:
        """Every push's outcome in order, and the (key, kind, reply) to store again for the Traditional readers."""
        done: dict[str, Rendered] = {}
        filled: list[tuple[str, str, str]] = []
        for key in self.claimed:
            job = self.first[key]
            script = TRADITIONAL if job.message.openid in self.readers else SIMPLIFIED
            rendered = done[key] = job.reply(None, script)
            if rendered != job.rendered:
                filled.append((key, rendered[1], rendered[0]))
        out: list[Answer | Exception] = []
        seen: set[str] = set()
        for job in self.jobs:
            key = job.message.dedup_key
            if job.error is not None:
                out.append(job.error)
            elif key in done:
                out.append(Answer(*done[key]) if key not in seen else stored_answer(*done[key]))
                seen.add(key)
            else:
                hit = self.stored.get(key)
                out.append(stored_answer(*hit) if hit else Answer("", "empty", duplicate=True))
        return out, sorted(filled)


def _iso(at: Any) -> str | None:
    return None if at is None else at.isoformat()


def _ahead(job: Job) -> tuple[str, str]:
    """The (reply XML, kind) a push's dedupe row is claimed with: a content-only reply as rendered ahead, else
    "pending" (its handler has yet to run; or it failed ahead and its claim is taken back)."""
    if job.run is None and job.error is None and job.rendered is not None:
        return job.rendered
    return "", "pending"


def _columns(rows: list[tuple[Any, ...]], width: int) -> tuple[list[Any], ...]:
    """Rows as one list per column (the arrays ``unnest`` takes)."""
    if not rows:
        return tuple([] for _ in range(width))
    return tuple(list(column) for column in zip(*rows, strict=True))


def _take(item: _Pending) -> bool:
    """Whether the push is still awaited (its future now running, so it can no longer be cancelled)."""
    if item.waiter is not None and item.waiter.cancelled():
        return False
    return item.future.set_running_or_notify_cancel()


def _settle(items: list[_Pending], outcomes: list[Answer | Exception]) -> None:
    """Hand the outcomes back: each thread's future at once, each event loop's in one callback for all of its."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Answer], Answer | Exception]]] = {}
    for item, outcome in zip(items, outcomes, strict=False):
        if isinstance(outcome, BaseException):
            item.future.set_exception(outcome)
        else:
            item.future.set_result(outcome)
        if item.loop is not None and item.waiter is not None:
            by_loop.setdefault(item.loop, []).append((item.waiter, outcome))
    for loop, settled in by_loop.items():
        with suppress(RuntimeError):  # the loop was closed meanwhile (a worker shutting down): nobody awaits these
            loop.call_soon_threadsafe(_resolve, settled)


def _resolve(settled: list[tuple[asyncio.Future[Answer], Answer | Exception]]) -> None:
    for waiter, outcome in settled:
        if waiter.done():  # its coroutine was cancelled: the push is committed all the same
            continue
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)
