"""WeChat-side state: job-finished events reconciled into the ledger, therapy tags and their drift, Redis mode."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import select

from posts import ledger
from posts.models import Follower, InboundEvent, Subscription
from posts.queue import Delivery, MassBatch
from posts.settings import replace
from sandbox import SandboxServer
from scheduler import tags
from scheduler.lease import RedisLeases
from scheduler.token_broker import RedisTokenStore, TokenBroker
from tests.scheduler.test_send import World, notice, queue
from wxbot.localserver import LocalServer
from wxbot.runtime import bot_app


@contextlib.contextmanager
def bot_for(world: World) -> Iterator[None]:
    """The bot on a local port as the stand-in's callback URL: WeChat's job-finished pushes reach it."""
    cfg = world.platform.config
    settings = replace(
        world.settings,
        wechat={"encoding_aes_key": cfg.encoding_aes_key, "original_id": cfg.original_id, "message_mode": "safe"},
    )
    app = bot_app(settings, world.sessions, world.catalog, world.renderer, clock=world.now)
    bot = LocalServer(app).start()
    cfg.callback_url = bot.url + "/wechat"
    try:
        yield
    finally:
        cfg.callback_url = None
        bot.stop()
        app.close()


def test_job_finished_events_pushed_by_wechat_confirm_template_and_mass_deliveries(
    world: World, server: SandboxServer
) -> None:
    openids = world.follow(2)
    template_post = notice(world)
    mass_post = queue(world, channel="mass")
    with bot_for(world):
        world.engine().tick()  # the stand-in pushes TEMPLATESENDJOBFINISH and MASSSENDJOBFINISH as WeChat does
        assert server.pusher.wait_idle()
    pushed = server.pusher.events("TEMPLATESENDJOBFINISH") + server.pusher.events("MASSSENDJOBFINISH")
    assert len(pushed) == 3 and all(p.ok for p in pushed)
    with world.sessions() as session:
        assert ledger.report(session, template_post).confirmed == 2
        assert ledger.report(session, mass_post).confirmed == 2
        batch = session.scalars(select(MassBatch).where(MassBatch.post_id == mass_post)).one()
        assert batch.confirmed_at is not None
        assert batch.result["Status"] == "send success" and batch.result["SentCount"] == len(openids)
        logged = session.scalars(select(InboundEvent.key).where(InboundEvent.event == "masssendjobfinish")).all()
        assert logged == [batch.msg_id]  # the inbound log keeps the MsgID, not an empty EventKey


def test_a_failed_template_job_marks_the_delivery_failed(world: World, server: SandboxServer) -> None:
    (blocked,) = world.follow(1)
    post_id = notice(world)
    world.engine().tick()  # no callback URL yet: the stand-in's own success event goes nowhere
    assert server.pusher.wait_idle()
    with world.sessions() as session:
        (msg_id,) = session.scalars(select(Delivery.msg_id).where(Delivery.post_id == post_id)).all()
    with bot_for(world):
        event = {"FromUserName": blocked, "Event": "TEMPLATESENDJOBFINISH", "MsgID": msg_id}
        assert server.pusher.push_job_event({**event, "Status": "failed:user block"}).ok
    with world.sessions() as session:
        row = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()
        assert (row.state, row.reason, row.confirmed_at) == ("failed", "TEMPLATESENDJOBFINISH failed:user block", None)


def test_reconcile_tags_repairs_drift_in_batches_of_50(world: World) -> None:
    subscribers = world.follow(120, prefix="oSub")
    (stray,) = world.follow(1, prefix="oStray")
    with world.sessions() as session:
        for follower in session.scalars(select(Follower).where(Follower.openid.like("oSub%"))):
            session.add(
                Subscription(
                    follower_id=follower.id, therapy_key="str03", created_at=world.now(), changed_at=world.now()
                )
            )
        session.commit()
        tag_id = tags.ensure_tag(session, world.api, "str03", "STR03", world.now())
    tags.tag_users(world.api, tag_id, [stray, subscribers[0]])
    with world.sessions() as session:
        (drift,) = tags.reconcile(session, world.api, {"str03": "STR03"}, world.now())
        session.commit()
    assert (len(drift.added), drift.removed) == (119, [stray])
    assert world.api.usage["/cgi-bin/tags/members/batchtagging"] == 1 + 3
    assert tags.members(world.api, tag_id) == set(subscribers)
    with world.sessions() as session:
        (again,) = tags.reconcile(session, world.api, {"str03": "STR03"}, world.now())
    assert again.added == again.removed == []


@pytest.mark.redis
def test_redis_lease_and_token_store() -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"wxbot-test-{uuid.uuid4().hex[:8]}:"
    leases = RedisLeases(client, prefix + "lease:")
    try:
        assert leases.acquire("scheduler", "a", 5)
        assert not leases.acquire("scheduler", "b", 5)
        assert leases.acquire("scheduler", "a", 5)  # renewal by the holder
        leases.release("scheduler", "b")  # not the holder: no effect
        assert leases.holder("scheduler") == "a"
        leases.release("scheduler", "a")
        assert leases.acquire("scheduler", "b", 5)
        fetched: list[bool] = []
        store = RedisTokenStore(client, prefix + "token:")
        brokers = [
            TokenBroker("wxapp", lambda force: (fetched.append(force), ("T", 7200))[1], store, leases) for _ in range(3)
        ]
        assert {b.token() for b in brokers} == {"T"}
        assert fetched == [False]
    finally:
        for key in client.scan_iter(prefix + "*"):
            client.delete(key)
