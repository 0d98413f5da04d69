"""Group commit on PostgreSQL (server.store = "group_commit"), against the real service: several pushes per
transaction, no reply before its rows are committed, a MsgId answered once however often WeChat retries it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.dispatch import Dispatcher
from bot.handlers import Context
from bot.message import Inbound
from bot.replies import Text
from bot.routes import build_routes
from bot.store import Answer, Job
from bot.store.postgres import PgGroupCommit
from bot.texts import Texts
from bot.xmlin import parse_fields
from posts import db
from posts.catalog import Catalog
from posts.models import Follower, InboundEvent, Outbox, SeenMessage, Subscription
from posts.settings import Settings, replace
from tests.bot.conftest import FakeRenderer, serve_with
from tests.bot.wechat import event_push, text_push
from wxbot.runtime import bot_store

pytestmark = pytest.mark.postgres


def inbound(xml: str) -> Inbound:
    return Inbound.from_fields(parse_fields(xml.encode("utf-8")))


class Bot:
    """A dispatcher on a PostgreSQL group-commit store, as one `wxbot serve` worker has it."""

    def __init__(self, engine: Engine, catalog: Catalog, writers: int = 1) -> None:
        self.sessions = db.session_factory(engine)
        settings = replace(Settings(), database={"url": engine.url.render_as_string(hide_password=False)})
        self.store = bot_store(replace(settings, server={"store": "group_commit", "writers": writers}), self.sessions)
        assert isinstance(self.store, PgGroupCommit)
        self.dispatcher = Dispatcher(self.store, catalog, FakeRenderer(catalog), Texts(), build_routes(catalog))

    def submit(self, xml: str) -> Future[Answer]:
        return self.store._submit(self.dispatcher.job(inbound(xml)))

    def counts(self) -> tuple[int, int, int, int]:
        with self.sessions() as s:
            return tuple(  # type: ignore[return-value]
                s.scalar(select(func.count()).select_from(model)) or 0
                for model in (SeenMessage, InboundEvent, Subscription, Outbox)
            )


@pytest.fixture
def bots(pg: Engine, catalog: Catalog) -> Iterator[Callable[[], Bot]]:
    made: list[Bot] = []

    def make() -> Bot:
        made.append(Bot(pg, catalog))
        return made[-1]

    yield make
    for bot in made:
        bot.store.close()


class Gate:
    """Holds the writer inside its next transaction until opened: the pushes arriving meanwhile queue up and go
    together in the batch after it."""

    def __init__(self, store: PgGroupCommit) -> None:
        self.store = store
        self.entered = threading.Event()
        self.opened = threading.Event()
        self._transaction = store._transaction
        store._transaction = self._held  # type: ignore[method-assign]

    def _held(self, jobs: list[Job]) -> list[Any]:
        self.entered.set()
        assert self.opened.wait(10)
        self.store._transaction = self._transaction  # type: ignore[method-assign]
        return self._transaction(jobs)

    def wait_queued(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while self.store.pending() < count:
            assert time.monotonic() < deadline, "pushes did not reach the group commit"
            time.sleep(0.005)


def lined_up(bot: Bot, pushes: list[str]) -> list[Future[Answer]]:
    """A first push (帮助) holds the writer; ``pushes`` queue behind it and run as one batch, in order."""
    gate = Gate(bot.store)
    first = bot.submit(text_push("帮助", msg_id=1))
    assert gate.entered.wait(10)
    futures = [bot.submit(push) for push in pushes]
    gate.wait_queued(len(pushes))
    before = bot.store.batches
    gate.opened.set()
    assert first.result(10).plaintext
    for future in futures:
        future.exception(10)
    assert bot.store.batches == before + 2  # the first push's batch, then all of ``pushes`` together
    return futures


def test_no_reply_before_its_rows_are_committed(bots: Callable[[], Bot]) -> None:
    bot = bots()
    committed_at_reply: list[tuple[int, int, int, int]] = []
    read = threading.Event()
    gate = Gate(bot.store)
    future = bot.submit(text_push("订阅 NurOwn", msg_id=11))

    def on_reply(_: Future[Answer]) -> None:  # in the writer thread, the moment it hands the reply back
        committed_at_reply.append(bot.counts())  # read from another connection
        read.set()

    future.add_done_callback(on_reply)
    assert gate.entered.wait(10)
    time.sleep(0.2)
    assert not future.done()  # the writer holds the transaction: no reply yet
    gate.opened.set()
    answer = future.result(10)
    assert "已订阅 NurOwn" in answer.plaintext and not answer.duplicate
    assert read.wait(10)
    # dedupe row with the reply, the inbound log row, the subscription and its tag change: all visible already
    assert committed_at_reply == [(1, 1, 1, 1)]
    with bot.sessions() as s:
        row = s.scalars(select(SeenMessage)).one()
        assert (row.dedup_key, row.reply_kind, row.reply_xml) == ("msg:11", "text", answer.plaintext)


def test_several_pushes_commit_in_one_transaction(bots: Callable[[], Bot]) -> None:
    bot = bots()
    follow = event_push("subscribe", "qrscene_nurown", openid="oNew", create_time=1_800_000_000)
    futures = lined_up(bot, [follow, text_push("订阅 NurOwn", openid="oNew", msg_id=2), follow, text_push("目录")])
    welcome, subscribed, again, toc = (f.result() for f in futures)
    assert "WELCOME nurown" in welcome.plaintext and "已经订阅了 NurOwn" in subscribed.plaintext
    assert again.duplicate and again.plaintext == welcome.plaintext  # a copy in the same batch: the stored reply
    assert "TOC" in toc.plaintext
    # 4 distinct pushes logged and deduped; one subscription; its tag change and the scene's latest update
    assert bot.counts() == (4, 4, 1, 2)
    with bot.sessions() as s:
        follower = s.scalars(select(Follower).where(Follower.openid == "oNew")).one()
        assert follower.subscribed and follower.last_interaction_kind == "message"
        assert follower.last_event_at is not None and follower.last_message_at is not None


def test_a_msgid_retried_many_times_over_two_workers_is_answered_once(bots: Callable[[], Bot]) -> None:
    workers = [bots(), bots()]  # two `wxbot serve` workers on the same database
    push = text_push("订阅 NurOwn", openid="oRetry", msg_id=77)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: workers[n % 2].dispatcher(inbound(push)), range(24)))
    assert len({a.plaintext for a in answers}) == 1 and "已订阅 NurOwn" in answers[0].plaintext
    assert sum(not a.duplicate for a in answers) == 1  # the handler ran once; every copy got the stored reply
    assert workers[0].counts() == (1, 1, 1, 1)
    # A retry long after: the stored reply, nothing run or written again.
    late = workers[1].dispatcher(inbound(push))
    assert late.duplicate and late.plaintext == answers[0].plaintext
    assert workers[0].counts() == (1, 1, 1, 1)


def test_a_msgid_retried_over_two_workers_with_two_writers_each_is_answered_once(pg: Engine, catalog: Catalog) -> None:
    workers = [Bot(pg, catalog, writers=2), Bot(pg, catalog, writers=2)]  # four batches in flight at once
    try:
        pushes = [text_push("订阅 NurOwn", openid="oRetry", msg_id=78), text_push("目录", openid="oRetry", msg_id=79)]
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda n: workers[n % 2].dispatcher(inbound(pushes[n % 4 // 2])), range(32)))
        subscribed = [a for n, a in enumerate(answers) if n % 4 // 2 == 0]
        toc = [a for n, a in enumerate(answers) if n % 4 // 2 == 1]
        assert {a.plaintext for a in subscribed} == {subscribed[0].plaintext} and "已订阅" in subscribed[0].plaintext
        assert {a.plaintext for a in toc} == {toc[0].plaintext} and "TOC" in toc[0].plaintext
        assert sum(not a.duplicate for a in subscribed) == 1 and sum(not a.duplicate for a in toc) == 1
        assert workers[0].counts() == (2, 2, 1, 1)
    finally:
        for bot in workers:
            bot.store.close()


def test_a_handler_error_rolls_back_only_its_own_push(bots: Callable[[], Bot]) -> None:
    bot = bots()

    def explode(ctx: Context) -> Text:
        ctx.session.add(Follower(openid="oHalfWritten", subscribed=True, created_at=ctx.now))
        ctx.session.flush()  # a write that must be rolled back with the push
        raise RuntimeError("handler bug")

    bot.dispatcher.routes.table["click", "BOOM"] = explode
    boom = event_push("CLICK", "BOOM", create_time=1_800_000_001)
    futures = lined_up(bot, [text_push("帮助", msg_id=3), boom, text_push("目录", msg_id=4)])
    assert "HELP" in futures[0].result().plaintext and "TOC" in futures[2].result().plaintext
    assert isinstance(futures[1].exception(), RuntimeError)  # the error path
    with bot.sessions() as s:
        keys = set(s.scalars(select(SeenMessage.dedup_key)))
        assert keys == {"msg:1", "msg:3", "msg:4"}  # no claim of the failed push is left behind
        assert s.scalar(select(func.count()).select_from(Follower).where(Follower.openid == "oHalfWritten")) == 0
    bot.dispatcher.routes.table["click", "BOOM"] = lambda ctx: Text("fixed")
    assert "fixed" in bot.dispatcher(inbound(boom)).plaintext  # nothing was recorded: WeChat's retry runs


def test_a_failed_commit_answers_no_push_of_the_batch(bots: Callable[[], Bot], pg: Engine) -> None:
    bot = bots()
    with pg.begin() as conn:  # a constraint checked only at COMMIT
        conn.execute(text("CREATE TABLE poison (ref integer REFERENCES follower (id) DEFERRABLE INITIALLY DEFERRED)"))

    def poison(ctx: Context) -> Text:
        ctx.session.execute(text("INSERT INTO poison VALUES (987654)"))
        return Text("poisoned")

    bot.dispatcher.routes.table["click", "POISON"] = poison
    assert "TOC" in bot.dispatcher(inbound(text_push("目录", msg_id=6))).plaintext  # an earlier batch, committed
    futures = lined_up(bot, [text_push("帮助", msg_id=5), event_push("CLICK", "POISON", create_time=1_800_000_002)])
    assert all(f.exception() is not None for f in futures)  # the first push of the batch too
    with bot.sessions() as s:
        assert set(s.scalars(select(SeenMessage.dedup_key))) == {"msg:1", "msg:6"}
    assert "HELP" in bot.dispatcher(inbound(text_push("帮助", msg_id=5))).plaintext  # the retry runs normally


def test_a_push_no_batch_took_within_the_budget_is_dropped(bots: Callable[[], Bot]) -> None:
    bot = bots()
    gate = Gate(bot.store)
    first = bot.submit(text_push("帮助", msg_id=1))
    assert gate.entered.wait(10)
    bot.store.budget = 0.2
    late = bot.submit(text_push("目录", msg_id=9))
    time.sleep(0.4)
    gate.opened.set()
    assert first.result(10).plaintext
    assert isinstance(late.exception(10), TimeoutError)
    with bot.sessions() as s:
        assert "msg:9" not in set(s.scalars(select(SeenMessage.dedup_key)))  # dropped, never run


@pytest.mark.parametrize("server", ["http1", "wsgi"])
def test_served_on_postgresql_with_group_commit(server: str, pg: Engine, settings: Settings, catalog: Catalog) -> None:
    """Both server faces on the store the setting chooses: replies, redeliveries, and what is recorded."""
    url = pg.url.render_as_string(hide_password=False)
    configured = replace(settings, database={"url": url}, server={"store": "group_commit"})
    sessions: sessionmaker[Session] = db.session_factory(pg)
    with serve_with(configured, sessions, catalog, "safe", server=server) as bot:
        assert isinstance(bot.app.dispatcher.store, PgGroupCommit)
        push = text_push("订阅 NurOwn", msg_id=42)
        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(lambda _: bot.wechat.push(push), range(8)))
        assert all("已订阅 NurOwn" in r.content for r in replies)
        assert bot.wechat.push(text_push("目录", msg_id=43)).content == "TOC"
        assert bot.wechat.push(event_push("CLICK", "TOC")).content == "TOC"
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(SeenMessage)) == 3
            assert s.scalar(select(func.count()).select_from(Subscription)) == 1
            assert s.scalar(select(func.count()).select_from(InboundEvent)) == 3


def test_a_waiter_that_went_away_neither_runs_nor_stops_the_writer(bots: Callable[[], Bot]) -> None:
    bot = bots()
    gate = Gate(bot.store)
    first = bot.submit(text_push("帮助", msg_id=1))
    assert gate.entered.wait(10)
    gone = bot.submit(text_push("目录", msg_id=2))
    assert gone.cancel()  # e.g. the coroutine awaiting it was cancelled before a batch took it
    gate.opened.set()
    assert first.result(10).plaintext
    assert "TOC" in bot.dispatcher(inbound(text_push("目录", msg_id=3))).plaintext  # the writer goes on
    with bot.sessions() as s:
        assert set(s.scalars(select(SeenMessage.dedup_key))) == {"msg:1", "msg:3"}
