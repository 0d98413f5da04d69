"""Redeliveries: sequential and concurrent copies of a push have one side effect and get the same reply."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from sqlalchemy import func, select

from posts.models import InboundEvent, Outbox, SeenMessage, Subscription
from tests.bot.conftest import LiveBot
from tests.bot.wechat import Reply, event_push, text_push


def _counts(bot: LiveBot) -> tuple[int, int, int, int]:
    with bot.sessions() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(model)) or 0
            for model in (SeenMessage, InboundEvent, Subscription, Outbox)
        )


def test_retry_gets_the_stored_reply_reencrypted(serve: Callable[..., LiveBot]) -> None:
    bot = serve("safe")
    push = text_push("订阅 NurOwn")
    first_params = bot.wechat.query(nonce="111")
    first = bot.wechat.post(bot.wechat.envelope(push, first_params), first_params)
    again_params = bot.wechat.query(nonce="222")
    again = bot.wechat.post(bot.wechat.envelope(push, again_params), again_params)
    a, b = bot.wechat.open(first), bot.wechat.open(again)
    assert "已订阅 NurOwn" in a.content and a.fields == b.fields
    assert first.body != again.body  # same plaintext, fresh encryption
    assert _counts(bot) == (1, 1, 1, 1)
    metrics = bot.wechat.request("GET", "/metrics").body.decode()
    assert "wxbot_duplicates_dropped_total 1.0" in metrics


def test_event_dedupe_key_includes_event_and_key(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    bot.wechat.push(event_push("CLICK", "TOC", create_time=1_800_000_000))
    bot.wechat.push(event_push("CLICK", "HELP", create_time=1_800_000_000))
    bot.wechat.push(event_push("CLICK", "HELP", create_time=1_800_000_000))
    with bot.sessions() as s:
        keys = sorted(s.scalars(select(SeenMessage.dedup_key)))
    assert keys == [
        "evt:1800000000:oUser000000000000000000000001:click:HELP",
        "evt:1800000000:oUser000000000000000000000001:click:TOC",
    ]


def _concurrent(bot: LiveBot, push: str, copies: int) -> list[Reply]:
    bodies = []
    for _ in range(copies):
        params = bot.wechat.query()
        bodies.append((bot.wechat.envelope(push, params), params))
    barrier = Barrier(copies)

    def send(item: tuple[bytes, dict[str, str]]) -> Reply:
        barrier.wait()
        resp = bot.wechat.post(*item)
        assert resp.status == 200
        return bot.wechat.open(resp)

    with ThreadPoolExecutor(copies) as pool:
        return list(pool.map(send, bodies))


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_concurrent_copies_have_one_side_effect(serve: Callable[..., LiveBot], mode: str) -> None:
    bot = serve(mode)
    replies = _concurrent(bot, event_push("subscribe", "qrscene_nurown"), 12)
    contents = {r.content for r in replies if not r.empty}
    assert contents == {"WELCOME nurown"}
    assert _counts(bot) == (1, 1, 1, 2)  # one seen row, one log row, one subscription, tag + latest update


def test_concurrent_first_messages_of_a_new_follower_all_land(serve: Callable[..., LiveBot]) -> None:
    """Different pushes racing to create the same follower: the loser retries, nobody is lost."""
    bot = serve("plain")
    pushes = [text_push(f"订阅 {name}") for name in ("NurOwn", "Neuronata-R") for _ in range(4)]
    barrier = Barrier(len(pushes))

    def send(push: str) -> Reply:
        barrier.wait()
        return bot.wechat.push(push)

    with ThreadPoolExecutor(len(pushes)) as pool:
        replies = list(pool.map(send, pushes))
    assert all("订阅" in r.content for r in replies)
    seen, logged, subs, _ = _counts(bot)
    assert (seen, logged, subs) == (8, 8, 2)


@pytest.mark.postgres
@pytest.mark.parametrize("store", ["per_push", "group_commit"])
def test_concurrent_copies_on_postgresql(pg_url: str, settings, catalog, store: str) -> None:  # type: ignore[no-untyped-def]
    from posts import db
    from posts.settings import replace
    from tests.bot.conftest import serve_with

    engine = db.make_engine(pg_url, pool_size=16)
    db.upgrade(engine)
    try:
        configured = replace(settings, database={"url": pg_url}, server={"store": store})
        with serve_with(configured, db.session_factory(engine), catalog) as bot:
            replies = _concurrent(bot, event_push("subscribe", "qrscene_nurown"), 12)
            assert {r.content for r in replies if not r.empty} == {"WELCOME nurown"}
            assert _counts(bot) == (1, 1, 1, 2)
    finally:
        engine.dispose()
