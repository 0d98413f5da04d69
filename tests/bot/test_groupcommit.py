"""Group commit on SQLite: batches of pushes in one transaction, a savepoint each, replies only after the commit."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.handlers import Context, content_only
from bot.replies import Text
from bot.store.groupcommit import GroupCommit
from bot.store.per_push import PerPushStore
from bot.store.sqlite import SqliteGroupCommit
from bot.store.writelock import FileWriteLock
from posts.catalog import Catalog
from posts.models import Follower, InboundEvent, Outbox, SeenMessage, Subscription
from posts.settings import Settings, replace
from tests.bot.conftest import LiveBot, serve_with
from tests.bot.wechat import Reply, event_push, text_push


@pytest.fixture(params=["http1", "wsgi"])
def serve(request: pytest.FixtureRequest, serve: Callable[..., LiveBot]) -> Callable[..., LiveBot]:
    """Every test here twice: pushes awaited on the event loop of `wxbot serve`'s server, and threads blocked (WSGI)."""
    return lambda mode="plain", **kwargs: serve(mode, server=request.param, **kwargs)


def _group(bot: LiveBot) -> GroupCommit:
    store = bot.app.dispatcher.store
    assert isinstance(store, SqliteGroupCommit)
    return store.group


class Gate:
    """Keeps the write lock from the next batch until opened: the pushes arriving meanwhile join that batch."""

    def __init__(self, group: GroupCommit) -> None:
        self.group = group
        self.opened = threading.Event()
        self.entered = threading.Event()
        self._lock = group.write_lock
        group.write_lock = self  # type: ignore[assignment]

    def try_acquire(self) -> bool:
        self.entered.set()
        return self.opened.is_set() and self._lock.try_acquire()

    def acquire(self) -> None:
        self.entered.set()
        self.opened.wait(10)
        self._lock.acquire()

    def release(self) -> None:
        self._lock.release()

    def wait_queued(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while self.group.pending() < count:
            assert time.monotonic() < deadline, "pushes did not reach the group commit"
            time.sleep(0.005)


def _counts(bot: LiveBot) -> tuple[int, int, int, int]:
    with bot.sessions() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(model)) or 0
            for model in (SeenMessage, InboundEvent, Subscription, Outbox)
        )


def _lined_up(bot: LiveBot, pushes: list[str], first_answered: bool = True) -> list[Reply]:
    """A first push (帮助) waits for the write lock; ``pushes`` queue up behind it and all run as one batch, in
    order. Returns the replies to ``pushes``."""
    gate = Gate(_group(bot))
    with ThreadPoolExecutor(len(pushes) + 1) as pool:
        first = pool.submit(bot.wechat.push, text_push("帮助", msg_id=1))
        assert gate.entered.wait(10)
        futures: list[Future[Reply]] = []
        for n, push in enumerate(pushes, 2):
            futures.append(pool.submit(bot.wechat.push, push))
            gate.wait_queued(n)  # one at a time: the batch runs them in this order
        before = gate.group.batches
        gate.opened.set()
        assert first.result(10).content == ("HELP" if first_answered else "")
        replies = [f.result(10) for f in futures]
    assert gate.group.batches == before + 1  # the first push and all of ``pushes`` together
    return replies


def test_one_batch_one_commit_and_a_copy_in_the_same_batch_gets_the_stored_reply(
    serve: Callable[..., LiveBot],
) -> None:
    bot = serve("safe")
    follow = event_push("subscribe", "qrscene_nurown", create_time=1_800_000_000)
    replies = _lined_up(bot, [follow, follow, text_push("订阅 NurOwn", msg_id=2), follow])
    assert [r.content for r in replies if not r.empty].count("WELCOME nurown") == 3
    assert "已经订阅了 NurOwn" in replies[2].content  # sees the subscription the follow made earlier in the batch
    # 2 seen + 2 logged pushes (plus the first one), one subscription, one tag + one latest-update message
    assert _counts(bot) == (3, 3, 1, 2)
    metrics = bot.wechat.request("GET", "/metrics").body.decode()
    assert "wxbot_duplicates_dropped_total 2.0" in metrics


def test_a_copy_in_a_later_batch_gets_the_stored_reply(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    push = text_push("订阅 NurOwn", msg_id=7)
    first = bot.wechat.push(push)
    again = _lined_up(bot, [push])[0]
    assert first.fields == again.fields and "已订阅 NurOwn" in again.content
    assert _counts(bot)[2:] == (1, 1)


def test_a_handler_error_rolls_back_only_its_own_push(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    routes = bot.app.dispatcher.routes

    def explode(ctx: Context) -> Text:
        ctx.session.add(Follower(openid="oHalfWritten", subscribed=True, created_at=ctx.now))
        ctx.session.flush()  # a write that must be rolled back with the push
        raise RuntimeError("handler bug")

    routes.table["click", "BOOM"] = explode
    boom = event_push("CLICK", "BOOM", create_time=1_800_000_001)
    replies = _lined_up(bot, [text_push("帮助", msg_id=3), boom, text_push("目录", msg_id=4)])
    assert replies[0].content == "HELP" and replies[2].content == "TOC"
    assert replies[1].empty  # the error path: empty 200
    with bot.sessions() as s:
        keys = set(s.scalars(select(SeenMessage.dedup_key)))
        assert "msg:3" in keys and "msg:4" in keys and not any("BOOM" in k for k in keys)
        assert s.scalar(select(func.count()).select_from(Follower).where(Follower.openid == "oHalfWritten")) == 0
        assert s.scalar(select(func.count()).select_from(InboundEvent)) == 3
    routes.table["click", "BOOM"] = lambda ctx: Text("fixed")
    assert bot.wechat.push(boom).content == "fixed"  # nothing was recorded, so WeChat's retry runs normally


def test_a_failed_commit_answers_no_push_of_the_batch(serve: Callable[..., LiveBot]) -> None:
    """A reply is sent only after its transaction committed: if COMMIT fails, every push of the batch errs."""
    bot = serve("plain")
    routes = bot.app.dispatcher.routes

    def poison(ctx: Context) -> Text:
        # A deferred foreign-key violation passes the savepoint and fails only at COMMIT.
        ctx.session.execute(text("PRAGMA defer_foreign_keys = ON"))
        ctx.session.add(Subscription(follower_id=987654, therapy_key="nurown", created_at=ctx.now, changed_at=ctx.now))
        return Text("poisoned")

    routes.table["click", "POISON"] = poison
    bot.wechat.push(text_push("目录", msg_id=6))  # an earlier batch, committed
    poisoned = [text_push("帮助", msg_id=5), event_push("CLICK", "POISON", create_time=1_800_000_002)]
    replies = _lined_up(bot, poisoned, first_answered=False)
    assert all(r.empty for r in replies)  # the first push of the batch too
    with bot.sessions() as s:
        assert set(s.scalars(select(SeenMessage.dedup_key))) == {"msg:6"}  # only the earlier batch committed
    assert bot.wechat.push(text_push("帮助", msg_id=5)).content == "HELP"  # the retry runs normally


def test_a_push_no_batch_took_within_the_budget_is_dropped(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    group = _group(bot)
    group.budget = 0.3
    gate = Gate(group)
    started = time.monotonic()
    late = bot.wechat.push(text_push("目录", msg_id=9))
    assert late.empty and time.monotonic() - started < 2  # the error path within the budget
    assert gate.entered.is_set()
    gate.opened.set()
    group.budget = 4.0
    with bot.sessions() as s:
        assert "msg:9" not in set(s.scalars(select(SeenMessage.dedup_key)))  # dropped, never run
    assert bot.wechat.push(text_push("目录", msg_id=9)).content == "TOC"


def test_a_writer_outside_the_bot_delays_the_batch_without_blocking_the_server(
    serve: Callable[..., LiveBot],
) -> None:
    """The scheduler or a CLI command holds SQLite's write lock: the push waits for it, other requests do not."""
    bot = serve("plain")
    other = sqlite3.connect(bot.sessions.kw["bind"].url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(bot.wechat.push, text_push("帮助", msg_id=21))
            time.sleep(0.3)
            assert not waiting.done()
            assert bot.wechat.request("GET", "/p/").status == 200  # the server goes on answering meanwhile
            other.execute("ROLLBACK")
            assert waiting.result(5).content == "HELP"
    finally:
        other.close()
    with bot.sessions() as s:
        assert "msg:21" in set(s.scalars(select(SeenMessage.dedup_key)))


def test_closed_app_refuses_pushes(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    bot.app.close()
    assert bot.wechat.push(text_push("帮助", msg_id=13)).empty


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_keeps_the_per_push_transaction(url: str) -> None:
    from sqlalchemy.orm import sessionmaker

    from posts import db
    from posts.settings import Settings
    from wxbot.runtime import bot_store

    engine = db.make_engine(url)
    store = bot_store(Settings(), sessionmaker(engine))
    assert isinstance(store, PerPushStore)
    engine.dispose()


def test_a_sqlite_file_can_be_served_one_transaction_per_push(
    settings: Settings, sessions: sessionmaker[Session], catalog: Catalog
) -> None:
    """server.store = "per_push" on a SQLite file: each push its own transaction, under the file's write lock."""
    with serve_with(replace(settings, server={"store": "per_push"}), sessions, catalog) as bot:
        store = bot.app.dispatcher.store
        assert isinstance(store, PerPushStore) and isinstance(store.lock, FileWriteLock)
        push = text_push("订阅 NurOwn", msg_id=61)
        first, again = bot.wechat.push(push), bot.wechat.push(push)
        assert "已订阅 NurOwn" in first.content and again.fields == first.fields
        assert _counts(bot) == (1, 1, 1, 1)


def test_follower_bookkeeping_of_a_batch_follows_push_order(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    _lined_up(
        bot,
        [
            event_push("LOCATION", openid="oOnlyOther"),  # "other" never creates a follower
            text_push("帮助", openid="oBoth", msg_id=21),
            event_push("LOCATION", openid="oBoth", create_time=1_800_000_003),  # the last push wins
            event_push("LOCATION", openid="oOtherFirst", create_time=1_800_000_004),
            text_push("目录", openid="oOtherFirst", msg_id=22),
        ],
    )
    with bot.sessions() as s:
        kinds = {f.openid: f.last_interaction_kind for f in s.scalars(select(Follower))}
        assert s.scalar(select(func.count()).select_from(InboundEvent)) == 6
    assert "oOnlyOther" not in kinds
    assert kinds["oBoth"] == "other" and kinds["oOtherFirst"] == "message"


def test_a_batch_keeps_the_last_interaction_of_each_window_class(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    _lined_up(
        bot,
        [
            text_push("帮助", openid="oTalkThenView", msg_id=31),
            event_push("VIEW", "https://als.example.org/p/", openid="oTalkThenView", create_time=1_800_000_011),
            event_push("scancode_push", "SCAN", openid="oScan", create_time=1_800_000_012),
            text_push("帮助", openid="oTalkThenLeave", msg_id=32),
            event_push("unsubscribe", "", openid="oTalkThenLeave", create_time=1_800_000_013),
        ],
    )
    with bot.sessions() as s:
        rows = {f.openid: f for f in s.scalars(select(Follower))}
    viewed, scanned, left = rows["oTalkThenView"], rows["oScan"], rows["oTalkThenLeave"]
    assert viewed.last_interaction_kind == "view" and viewed.last_message_at is not None
    assert viewed.last_message_at <= viewed.last_interaction_at and viewed.last_event_at is None
    assert scanned.last_interaction_kind == "scancode_push" and scanned.last_event_at == scanned.last_interaction_at
    assert (left.subscribed, left.last_message_at, left.last_event_at) == (False, None, None)


def test_a_batch_with_more_distinct_keys_than_one_lookup_takes(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    pushes = [text_push("帮助", msg_id=100 + n) for n in range(40)] + [text_push("帮助", msg_id=100)]
    replies = _lined_up(bot, pushes)
    assert all(r.content == "HELP" for r in replies)
    assert _counts(bot)[:2] == (41, 41)  # 40 distinct pushes + the first; the copy of msg 100 stored nothing


def test_a_reply_that_needs_no_database_is_worked_out_before_the_batch(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    dispatcher = bot.app.dispatcher
    calls: list[str] = []
    in_batch: list[str] = []

    def from_content(ctx: Context) -> Text:
        calls.append("content")
        return Text("FROM CONTENT")

    def with_database(ctx: Context) -> Text:
        calls.append("database")
        ctx.session.add(Follower(openid="oWritten", subscribed=True, created_at=ctx.now))
        return Text("WROTE")

    dispatcher.routes.table["click", "CONTENT"] = content_only(from_content)  # declared on the route
    dispatcher.routes.table["click", "DATABASE"] = with_database
    store = dispatcher.store
    run_handler = store._run_handler
    store._run_handler = lambda conn, job: (
        in_batch.append(job.message.event_key),
        run_handler(conn, job),
    )[1]
    assert bot.wechat.push(event_push("CLICK", "CONTENT", create_time=1_800_000_010)).content == "FROM CONTENT"
    assert bot.wechat.push(event_push("CLICK", "DATABASE", create_time=1_800_000_011)).content == "WROTE"
    # The first never reached the writer's handler step; the second (a database route) ran once, whole, there.
    assert in_batch == ["DATABASE"]
    assert calls == ["content", "database"]
    with bot.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Follower).where(Follower.openid == "oWritten")) == 1
        assert s.scalar(select(func.count()).select_from(SeenMessage)) == 2
    again = bot.wechat.push(event_push("CLICK", "CONTENT", create_time=1_800_000_010))
    assert again.content == "FROM CONTENT" and calls.count("content") == 2  # worked out again, stored reply sent


def test_a_database_that_cannot_be_opened_answers_the_batch_at_once(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    group = _group(bot)

    def unreachable() -> None:
        raise OSError("disk gone")

    group._connection = unreachable  # type: ignore[method-assign]
    started = time.monotonic()
    assert bot.wechat.push(text_push("帮助", msg_id=31)).empty  # the error path: empty 200, WeChat retries
    assert time.monotonic() - started < group.budget / 2  # not left to the budget
    del group._connection  # the class's own again
    assert bot.wechat.push(text_push("帮助", msg_id=31)).content == "HELP"  # nothing was kept: the retry runs


def test_a_database_route_runs_once_so_a_follow_logs_its_unknown_scene_once(
    serve: Callable[..., LiveBot], caplog: pytest.LogCaptureFixture
) -> None:
    bot = serve("plain")
    _group(bot)  # group commit: no speculative run before the batch
    assert bot.wechat.push(event_push("subscribe", "qrscene_nowhere")).content == "WELCOME default"
    assert caplog.text.count("unknown QR scene 'nowhere'") == 1


def test_a_content_only_route_that_uses_the_database_gets_the_error_path(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    routes = bot.app.dispatcher.routes

    def sneaky(ctx: Context) -> Text:
        ctx.session.add(Follower(openid="oSneaky", subscribed=True, created_at=ctx.now))
        return Text("sneaky")

    routes.table["click", "SNEAKY"] = content_only(sneaky)
    assert bot.wechat.push(event_push("CLICK", "SNEAKY")).empty  # declared content-only: no Session, no retry
    with bot.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Follower).where(Follower.openid == "oSneaky")) == 0
        assert s.scalar(select(func.count()).select_from(SeenMessage)) == 0
    routes.table["click", "SNEAKY"] = sneaky  # undeclared: it uses the database, and gets a real Session
    assert bot.wechat.push(event_push("CLICK", "SNEAKY")).content == "sneaky"


def test_the_batch_writes_times_as_the_column_type_stores_them_on_sqlite() -> None:
    """posts.models.sqlite_text (the batch's fast conversion) gives the very text UTCDateTime's bind processor gives."""
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import create_engine

    from posts.models import SeenMessage, sqlite_text

    engine = create_engine("sqlite://")
    column_type = SeenMessage.__table__.c.received_at.type
    processor = column_type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
    shanghai = timezone(timedelta(hours=8))
    for value in (
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2027, 1, 1, 7, 30, 0, 5, tzinfo=shanghai),  # the day before in UTC
        datetime(1999, 2, 28, 0, 0, 1, 120_000, tzinfo=shanghai),
    ):
        assert sqlite_text(value) == processor(value)


def test_the_log_is_checkpointed_beside_the_batches_not_inside_their_commit(serve: Callable[..., LiveBot]) -> None:
    """The batch connection never checkpoints in its COMMIT; the store's checkpointer thread copies the log back."""
    bot = serve("plain")
    store = bot.app.dispatcher.store
    assert isinstance(store, SqliteGroupCommit)
    for n in range(40):
        assert bot.wechat.push(text_push("帮助", msg_id=1000 + n)).content == "HELP"
    _, raw = store.group._connection()
    assert raw.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    deadline = time.monotonic() + 10
    while not (store.checkpointer.last and 0 < store.checkpointer.last[1] == store.checkpointer.last[2]):
        assert time.monotonic() < deadline, f"the checkpointer did not copy the log: {store.checkpointer.last}"
        time.sleep(0.05)  # the checkpointer's own pass copied every page the batches wrote to the log
    assert _counts(bot)[0] == 40


def test_the_checkpointer_stops_with_the_store_and_checkpoints_once_more(tmp_path) -> None:
    from bot.store.sqlite import Checkpointer

    path = str(tmp_path / "wal.sqlite")
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 200,)] * 2000)
        assert os.path.getsize(path) < 10_000  # everything written so far is in the log only
        checkpointer = Checkpointer(path, every=30)  # only the closing checkpoint runs in this test
        checkpointer.ensure_running()
        checkpointer.close()
        assert checkpointer.checkpoints == 1
        assert os.path.getsize(path) > 400_000  # the 2,000 rows were copied into the database file
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2000,)


def test_a_long_log_starts_over_after_a_checkpoint_holding_the_write_lock(tmp_path, monkeypatch) -> None:
    """Past CHECKPOINT_RESTART_PAGES the checkpointer copies the pages written since its passive pass while holding
    the batches' write lock, so the next transaction writes the log from its start instead of growing it."""
    from bot.store import sqlite as sqlite_store
    from bot.store.sqlite import Checkpointer

    monkeypatch.setattr(sqlite_store, "CHECKPOINT_RESTART_PAGES", 50)
    path = str(tmp_path / "wal.sqlite")
    held: list[bool] = []

    class Lock(FileWriteLock):
        def acquire(self) -> None:
            super().acquire()
            held.append(True)

    lock = Lock.beside(path)
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("CREATE TABLE t (x TEXT)")
        for _ in range(100):
            conn.execute("INSERT INTO t VALUES (?)", ("x" * 3000,))  # a page or so a transaction, as batches write
        checkpointer = Checkpointer(path, every=30, write_lock=lock)
        with sqlite3.connect(path, isolation_level=None) as own:
            busy, pages, copied = checkpointer.checkpoint(own)
            assert (busy, held, checkpointer.restarts) == (0, [True], 1) and pages == copied >= 100
            assert lock.try_acquire()  # released again
            lock.release()
            conn.execute("INSERT INTO t VALUES ('y')")
            assert own.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1] <= 3  # the log started over
            for _ in range(10):
                conn.execute("INSERT INTO t VALUES (?)", ("x" * 3000,))
            assert checkpointer.checkpoint(own)[1] < 50 and checkpointer.restarts == 1  # a short log: passive only
            with sqlite3.connect(path, isolation_level=None) as reader:
                reader.execute("BEGIN")
                assert reader.execute("SELECT count(*) FROM t").fetchone() == (111,)  # its snapshot pins the log
                for _ in range(60):
                    conn.execute("INSERT INTO t VALUES (?)", ("x" * 3000,))
                busy, pages, copied = checkpointer.checkpoint(own)
                assert pages >= 50 and copied < pages  # the pinned pages could not be copied...
                assert (held, checkpointer.restarts) == ([True], 1)  # ...so the batches were not stopped for nothing
                reader.execute("COMMIT")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (171,)


def test_a_push_arriving_on_the_next_turn_of_the_loop_joins_the_first_ones_batch(tmp_path) -> None:
    """The first push of a batch waits one more turn of the loop, so a push read by that turn's poll (another
    connection's bytes, here a callback of that turn) is committed with it: one batch, one COMMIT."""
    import asyncio

    from posts.db import sqlite_writer_engine

    database = tmp_path / "batch.db"
    batches: list[list[str]] = []

    def run(_conn, items: list[str]) -> list[str]:
        batches.append(list(items))
        return [item.upper() for item in items]

    group: GroupCommit[str, str] = GroupCommit(
        sqlite_writer_engine(f"sqlite:///{database}"), run, FileWriteLock.beside(str(database))
    )

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        first = loop.create_task(group.submit_async("a"))
        second: asyncio.Future[asyncio.Task[str]] = loop.create_future()
        # The first push is submitted on the next turn (its task's first step); the second on the turn after, as a
        # push read by that turn's poll would be: without the extra turn the first push's flush runs before it.
        loop.call_soon(lambda: second.set_result(loop.create_task(group.submit_async("b"))))
        return [await first, await (await second)]

    try:
        assert asyncio.run(main()) == ["A", "B"]
    finally:
        group.close()
        group.engine.dispose()
    assert batches == [["a", "b"]]
    assert group.batches == 1
