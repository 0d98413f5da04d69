"""Content-only pushes committed on the event loop in one statement per batch (bot.store.postgres.SQL_BATCH),
against the real service: the same rows as the writer threads' transaction, copies and redeliveries answered
once, a Traditional reader's reply stored as sent, a failed reply never claimed."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update

from bot.dispatch import Dispatcher
from bot.message import Inbound
from bot.routes import build_routes
from bot.store import Answer
from bot.store.postgres import PgGroupCommit
from bot.texts import Texts
from bot.xmlin import parse_fields
from posts import db
from posts.catalog import Catalog
from posts.models import Follower, InboundEvent, SeenMessage
from posts.script import TRADITIONAL, converter
from posts.settings import Settings, replace
from tests.bot.conftest import FakeRenderer
from tests.bot.wechat import event_push, text_push
from wxbot.runtime import bot_store

pytestmark = pytest.mark.postgres

ALICE, BOB, CAROL = "oAlice", "oBob", "oCarol"
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(pg_store: PgGroupCommit) -> PgGroupCommit:
    return pg_store


def dispatcher(store: PgGroupCommit, catalog: Catalog) -> Dispatcher:
    """A dispatcher whose clock ticks a second per push from a fixed moment (the same times on every run)."""
    ticks = itertools.count()

    def clock() -> datetime:
        return START + timedelta(seconds=next(ticks))

    return Dispatcher(store, catalog, FakeRenderer(catalog), Texts(), build_routes(catalog), clock)


def inbound(xml: str) -> Inbound:
    return Inbound.from_fields(parse_fields(xml.encode("utf-8")))


def one_batch(store: PgGroupCommit, bot: Dispatcher, pushes: list[str]) -> list[Answer | BaseException]:
    """``pushes`` handed to the store in one turn of a loop: one batch on the loop (none has a database route)."""
    jobs = [bot.job(inbound(push)) for push in pushes]
    assert all(job.run is None for job in jobs), "content-only pushes only"

    async def run() -> list[Answer | BaseException]:
        return await asyncio.gather(*(store.answer_async(job) for job in jobs), return_exceptions=True)

    before = store.batches
    answers = asyncio.run(run())
    assert store.batches == before + 1
    return answers


def rows(pg: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with pg.connect() as conn:
        return {
            "seen": sorted(conn.execute(select(SeenMessage.dedup_key, SeenMessage.reply_kind, SeenMessage.reply_xml))),
            "log": list(
                conn.execute(
                    select(
                        InboundEvent.openid,
                        InboundEvent.msg_type,
                        InboundEvent.event,
                        InboundEvent.key,
                        InboundEvent.reply_kind,
                        InboundEvent.dedup_key,
                    ).order_by(InboundEvent.id)
                )
            ),
            "followers": sorted(
                conn.execute(
                    select(
                        Follower.openid,
                        Follower.subscribed,
                        Follower.last_interaction_at,
                        Follower.last_interaction_kind,
                        Follower.last_message_at,
                        Follower.last_event_at,
                    )
                )
            ),
        }


MIXED = [
    text_push("帮助", openid=ALICE, msg_id=101, create_time=1_700_000_001),
    event_push("CLICK", "TOC", openid=ALICE, create_time=1_700_000_002),
    event_push("VIEW", "https://example.com/", openid=ALICE, create_time=1_700_000_003),  # opens no window
    text_push("目录", openid=BOB, msg_id=102, create_time=1_700_000_004),
    event_push("LOCATION", openid=CAROL, create_time=1_700_000_005),  # "other" only: no follower row made
    event_push("CLICK", "TOC", openid=BOB, create_time=1_700_000_006),
]


def test_one_statement_writes_what_the_writer_threads_write(store: PgGroupCommit, pg: Engine, catalog: Catalog) -> None:
    bot = dispatcher(store, catalog)
    by_thread = [store.answer(bot.job(inbound(push))) for push in MIXED]  # a writer thread's transaction each
    bot = dispatcher(store, catalog)  # the clock from the same moment again
    expected = rows(pg)
    with pg.begin() as conn:
        conn.execute(text("TRUNCATE seen_message, inbound_event, follower CASCADE"))
    on_loop = one_batch(store, bot, MIXED)
    assert on_loop == by_thread
    assert rows(pg) == expected
    assert [f[0] for f in expected["followers"]] == [ALICE, BOB]
    alice = next(f for f in expected["followers"] if f[0] == ALICE)
    assert alice[3] == "view" and alice[4] is not None and alice[5] is not None  # the VIEW kept both windows


def test_an_existing_follower_is_touched_by_an_other_event(store: PgGroupCommit, pg: Engine, catalog: Catalog) -> None:
    bot = dispatcher(store, catalog)
    one_batch(store, bot, [text_push("帮助", openid=CAROL, msg_id=7)])
    one_batch(store, bot, [event_push("LOCATION", openid=CAROL)])
    with pg.connect() as conn:
        kind, message_at = conn.execute(
            select(Follower.last_interaction_kind, Follower.last_message_at).where(Follower.openid == CAROL)
        ).one()
    assert kind == "other" and message_at is not None


def test_copies_and_redeliveries_are_answered_once(store: PgGroupCommit, pg: Engine, catalog: Catalog) -> None:
    bot = dispatcher(store, catalog)
    push = text_push("帮助", openid=ALICE, msg_id=55)
    first, copy = one_batch(store, bot, [push, push])
    assert isinstance(first, Answer) and isinstance(copy, Answer)
    assert first.plaintext and not first.duplicate
    assert copy.duplicate and copy.plaintext == first.plaintext
    (again,) = one_batch(store, bot, [push])  # WeChat's retry after the batch committed
    assert again.duplicate and again.plaintext == first.plaintext
    counted = rows(pg)
    assert len(counted["seen"]) == 1 and len(counted["log"]) == 1


def test_two_loops_racing_one_push_claim_it_once(store: PgGroupCommit, pg: Engine, catalog: Catalog) -> None:
    settings = replace(Settings(), database={"url": pg.url.render_as_string(hide_password=False)})
    other = bot_store(replace(settings, server={"store": "group_commit"}), db.session_factory(pg))
    try:
        bots = [dispatcher(store, catalog), dispatcher(other, catalog)]  # type: ignore[arg-type]
        push = text_push("目录", openid=BOB, msg_id=77)

        async def race() -> list[Answer]:
            jobs = [bots[n % 2].job(inbound(push)) for n in range(8)]
            stores = [store, other] * 4
            return await asyncio.gather(*(s.answer_async(job) for s, job in zip(stores, jobs, strict=True)))

        answers = asyncio.run(race())
    finally:
        other.close()
    assert sum(not a.duplicate for a in answers) == 1
    assert len({a.plaintext for a in answers if a.plaintext}) == 1
    assert len(rows(pg)["log"]) == 1


def test_a_traditional_readers_reply_is_stored_as_sent(store: PgGroupCommit, pg: Engine, catalog: Catalog) -> None:
    bot = dispatcher(store, catalog)
    one_batch(store, bot, [text_push("你好", openid=ALICE, msg_id=1), text_push("你好", openid=BOB, msg_id=2)])
    with pg.begin() as conn:
        conn.execute(update(Follower).where(Follower.openid == BOB).values(script=TRADITIONAL))
    simplified, traditional = one_batch(
        store, bot, [text_push("你好", openid=ALICE, msg_id=3), text_push("你好", openid=BOB, msg_id=4)]
    )
    assert isinstance(simplified, Answer) and isinstance(traditional, Answer)
    said = {
        a: parse_fields(answer.plaintext.encode("utf-8"))["Content"]
        for a, answer in ((ALICE, simplified), (BOB, traditional))
    }
    assert said[BOB] == converter(catalog.script).to_traditional(said[ALICE]) != said[ALICE]
    with pg.connect() as conn:
        stored = dict(conn.execute(select(SeenMessage.dedup_key, SeenMessage.reply_xml)).all())
    assert stored["msg:4"] == traditional.plaintext
    assert stored["msg:3"] == simplified.plaintext


def test_a_reply_that_failed_ahead_is_not_claimed(
    store: PgGroupCommit, pg: Engine, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = dispatcher(store, catalog)
    broken = text_push("目录", openid=ALICE, msg_id=9)
    job = bot.job(inbound(broken))
    failing = type(job)(job.message, job.now, error=RuntimeError("the pack's text failed to render"))

    async def run() -> list[Any]:
        good = bot.job(inbound(text_push("帮助", openid=BOB, msg_id=10)))
        return await asyncio.gather(store.answer_async(failing), store.answer_async(good), return_exceptions=True)

    error, answer = asyncio.run(run())
    assert isinstance(error, RuntimeError) and isinstance(answer, Answer) and answer.plaintext
    assert [row[0] for row in rows(pg)["seen"]] == ["msg:10"]  # WeChat's retry of msg:9 runs it normally
    (retried,) = one_batch(store, bot, [broken])
    assert isinstance(retried, Answer) and not retried.duplicate and "TOC" in retried.plaintext


def test_pushes_arriving_within_a_tick_join_a_small_batch(store: PgGroupCommit, catalog: Catalog) -> None:
    """A batch of fewer than GATHER_BELOW waits one timer tick: the pushes on their way go with it."""
    bot = dispatcher(store, catalog)
    jobs = [bot.job(inbound(text_push("帮助", openid=f"oGather{n}", msg_id=300 + n))) for n in range(4)]

    async def run() -> list[Answer]:
        first = [asyncio.create_task(store.answer_async(job)) for job in jobs[:2]]
        for _ in range(3):
            await asyncio.sleep(0)  # the batch has started and is waiting for more
        assert store.pending() == 2
        later = [asyncio.create_task(store.answer_async(job)) for job in jobs[2:]]
        return await asyncio.gather(*first, *later)

    before = (store.batches, store.pushes)
    answers = asyncio.run(run())
    assert all(a.plaintext and not a.duplicate for a in answers)
    assert (store.batches, store.pushes) == (before[0] + 1, before[1] + 4)


def test_a_push_that_closes_the_windows_is_never_in_the_one_statement(
    store: PgGroupCommit, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQL_BATCH keeps a follower's last window times of the batch; an unfollow must not have them restored, so
    even a content-only one goes to a writer thread's batch (bot.store.Touch handles it there)."""
    bot = dispatcher(store, catalog)
    job = bot.job(inbound(event_push("unsubscribe", openid=ALICE)))
    closing = type(job)(job.message, job.now, rendered=("", "empty"))  # as if its route were content-only
    assert closing.message.interaction.closes and closing.run is None
    to_writer: list[Any] = []
    submit = store._submit
    monkeypatch.setattr(store, "_submit", lambda *args: to_writer.append(args[0]) or submit(*args))
    answer = asyncio.run(store.answer_async(closing))
    assert to_writer == [closing] and answer.kind == "empty"
