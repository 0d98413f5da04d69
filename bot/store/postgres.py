"""Group commit on PostgreSQL: the pushes waiting in a worker are committed together, so none waits for its own fsync.

One writer thread per worker process holds one connection. While it commits a batch, the pushes arriving queue up;
then it takes them all (up to ``max_batch``) as the next batch, in one transaction:

1. claim the batch's new dedupe keys in one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (sorted, so two
   workers' batches never wait on each other in a cycle). A key another transaction holds uncommitted makes the
   claim wait for it, as the per-push store's unique insert does; a key not returned was committed by someone
   else, and its stored reply is read back;
2. each claimed push's database handler in a SAVEPOINT of its own (a handler that raises rolls back alone and
   only its push gets the error path; a unique conflict in it runs it once more), a copy later in the same batch
   gets the first one's reply;
3. the bookkeeping in one statement per table (follower upsert in openid order, inbound log, the claimed dedupe
   rows filled with their replies); the claims of pushes that failed are deleted;
4. one COMMIT; only then are the replies handed back. If the transaction or its COMMIT fails, every push of the
   batch gets the error path and nothing of it is kept (a deadlock with another worker's batch is retried once).

A push no batch took within ``budget`` seconds (WeChat waits 5) is dropped unwritten; WeChat's retry runs it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.store import (
    LOG_COLUMNS,
    Answer,
    HandlerConflict,
    Job,
    Rendered,
    Touch,
    bookkeeping_rows,
    run_in_batch,
    stored_answer,
    traditional_readers,
)
from bot.store.per_push import TOUCH
from posts.models import Follower, InboundEvent, SeenMessage

log = logging.getLogger(__name__)

_SEEN = SeenMessage.__table__
_FOLLOWER = Follower.__table__
_LOG = insert(InboundEvent.__table__)
_STORED = select(_SEEN.c.dedup_key, _SEEN.c.reply_xml, _SEEN.c.reply_kind).where(
    _SEEN.c.dedup_key.in_(bindparam("b_keys", expanding=True))
)
_FILL = (
    update(_SEEN)
    .where(_SEEN.c.dedup_key == bindparam("b_key"))
    .values(reply_kind=bindparam("b_kind"), reply_xml=bindparam("b_xml"))
)
_UNCLAIM = delete(_SEEN).where(_SEEN.c.dedup_key.in_(bindparam("b_keys", expanding=True)))
DEADLOCK = "40P01"


class WriterTimeout(TimeoutError):
    """No batch took the push within the budget."""


class _Pending:
    __slots__ = ("deadline", "future", "job")

    def __init__(self, job: Job, deadline: float) -> None:
        self.job = job
        self.deadline = deadline
        self.future: Future[Answer] = Future()


class PgGroupCommit:
    """:class:`bot.store.Store` by group commit on PostgreSQL (``server.store = "group_commit"``)."""

    def __init__(self, engine: Engine, *, budget: float = 4.0, max_batch: int = 256) -> None:
        self.engine = engine
        self.budget = budget
        self.max_batch = max_batch
        self.batches = 0
        self.pushes = 0
        self._queue: deque[_Pending] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._writer: threading.Thread | None = None
        self._pid = os.getpid()
        self._conn: Connection | None = None

    # --- the two faces ---

    def answer(self, job: Job) -> Answer:
        return self._submit(job).result(self.budget + 5)  # the budget itself is kept by the writer

    async def answer_async(self, job: Job) -> Answer:
        return await asyncio.wrap_future(self._submit(job))

    def pending(self) -> int:
        """Pushes waiting for a batch (for tests and metrics)."""
        return len(self._queue)

    def close(self) -> None:
        """Refuse new pushes; the batch being committed ends first, the pushes still queued get the error path."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        writer = self._writer
        if writer is not None and writer is not threading.current_thread():
            writer.join(self.budget + 5)

    def _submit(self, job: Job) -> Future[Answer]:
        pending = _Pending(job, time.monotonic() + self.budget)
        with self._ready:
            if self._closed:
                raise RuntimeError("group commit closed")
            if self._writer is None or self._pid != os.getpid():  # first use, or a forked child
                self._pid = os.getpid()
                self._conn = None
                self._writer = threading.Thread(target=self._write, name="wxbot-pg-group-commit", daemon=True)
                self._writer.start()
            self._queue.append(pending)
            self._ready.notify()
        return pending.future

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
            # A waiter that went away (a cancelled coroutine) is skipped; once running, a future cannot be cancelled.
            taken = [item for item in batch if item.future.set_running_or_notify_cancel()]
            for item in taken:
                if item.deadline <= now:
                    item.future.set_exception(WriterTimeout(f"no batch took the push within {self.budget} s"))
            taken = [item for item in taken if item.deadline > now]
            if taken:
                try:
                    self._commit(taken)
                except Exception as exc:  # never leave a push waiting, never lose the writer
                    log.exception("group commit writer failed")
                    for item in taken:
                        if not item.future.done():
                            item.future.set_exception(exc)
        for item in left:
            if item.future.set_running_or_notify_cancel():
                item.future.set_exception(RuntimeError("group commit closed"))
        if self._conn is not None:
            self._conn.close()
            self._conn = None

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
        for item, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.invalidated or self._conn.closed:
            self._conn = self.engine.connect()
        return self._conn

    def _transaction(self, jobs: list[Job]) -> list[Answer | Exception]:
        conn = self._connection()
        try:
            with conn.begin():
                return self._batch(conn, jobs)  # COMMIT when the block ends, ROLLBACK if it raises
        except Exception:
            if conn.invalidated:
                self._conn = None
            raise

    def _batch(self, conn: Connection, jobs: list[Job]) -> list[Answer | Exception]:
        keys = sorted({job.message.dedup_key for job in jobs})
        first: dict[str, Job] = {}
        for job in jobs:
            first.setdefault(job.message.dedup_key, job)
        claim = (
            pg_insert(_SEEN)
            .values([{"dedup_key": k, "received_at": first[k].now, "reply_kind": "pending"} for k in keys])
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(_SEEN.c.dedup_key)
        )
        claimed = set(conn.execute(claim).scalars())
        stored: dict[str, tuple[str, str]] = {}
        others = [k for k in keys if k not in claimed]
        if others:  # committed by another transaction (a copy answered earlier, or by another worker)
            stored = {key: (xml or "", kind) for key, xml, kind in conn.execute(_STORED, {"b_keys": others})}
        out: list[Answer | Exception] = []
        done: dict[str, Rendered] = {}
        log_rows: list[dict[str, Any]] = []
        filled: list[dict[str, Any]] = []
        touched: dict[str, Touch] = {}
        wanting = {job.message.openid for job in jobs if job.wants_script}
        readers = traditional_readers(conn, list(wanting))
        """The batch's followers who read Traditional, for the replies worked out ahead in Simplified."""
        run, lookup = partial(self._run_handler, conn), partial(traditional_readers, conn)
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
            touched[message.openid] = Touch.of(message.interaction, job.now, touched.get(message.openid))
            log_row, (_, _, _, xml) = bookkeeping_rows(message, job.now, kind, plaintext)
            log_rows.append(dict(zip(LOG_COLUMNS, log_row, strict=True)))
            filled.append({"b_key": key, "b_kind": kind, "b_xml": xml})
            out.append(Answer(plaintext, kind))
        self._bookkeeping(conn, touched)
        if log_rows:
            conn.execute(_LOG, log_rows)
            conn.execute(_FILL, filled)
        unclaimed = sorted(claimed - done.keys())  # pushes that failed: WeChat's retry must run them normally
        if unclaimed:
            conn.execute(_UNCLAIM, {"b_keys": unclaimed})
        return out

    def _bookkeeping(self, conn: Connection, touched: dict[str, Touch]) -> None:
        """The followers of the batch, in openid order: created unless only "other" events came from them."""
        add = [
            {
                "openid": openid,
                "subscribed": True,
                "last_interaction_at": t.at,
                "last_interaction_kind": t.kind,
                "last_message_at": t.message_at,
                "last_event_at": t.event_at,
                "created_at": t.at,
            }
            for openid, t in sorted(touched.items())
            if t.create
        ]
        if add:
            upsert = pg_insert(_FOLLOWER).values(add)
            new = upsert.excluded
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=["openid"],
                    set_={
                        "last_interaction_at": new.last_interaction_at,
                        "last_interaction_kind": new.last_interaction_kind,
                        "last_message_at": func.coalesce(new.last_message_at, _FOLLOWER.c.last_message_at),
                        "last_event_at": func.coalesce(new.last_event_at, _FOLLOWER.c.last_event_at),
                    },
                )
            )
        only_touch = [
            {"b_openid": openid, "b_at": t.at, "b_kind": t.kind, "b_message_at": t.message_at, "b_event_at": t.event_at}
            for openid, t in sorted(touched.items())
            if not t.create
        ]
        if only_touch:
            conn.execute(TOUCH, only_touch)

    def _run_handler(self, conn: Connection, job: Job) -> Rendered:
        """The job's handler and its rendered reply; its ORM Session is a savepoint of the batch."""
        session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            rendered = job.reply(session)
            session.commit()  # flushes the handler's writes and releases its savepoint
        except IntegrityError as exc:
            raise HandlerConflict from exc
        finally:
            session.close()  # after a failure: rolls back to its savepoint, nothing of this push is kept
        return rendered
