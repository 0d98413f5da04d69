"""WeChat-side state: job-finished events reconciled into the ledger, therapy tags and their drift, Redis mode."""

from __future__ import annotations

import uuid

import pytest
import redis
from sqlalchemy import select

from posts import ledger
from posts.models import Follower, InboundEvent, Subscription
from posts.queue import Delivery, MassBatch
from scheduler import tags
from scheduler.lease import RedisLeases
from scheduler.token_broker import RedisTokenStore, TokenBroker
from tests.scheduler.test_send import World, queue


def test_job_finished_events_confirm_template_and_mass_deliveries(world: World) -> None:
    openids = world.follow(2)
    template_post = queue(world)
    mass_post = queue(world, channel="mass")
    engine = world.engine()
    engine.tick()
    now = world.now()
    with world.sessions() as session:
        template_ids = session.scalars(select(Delivery.msg_id).where(Delivery.post_id == template_post)).all()
        mass_id = session.scalar(select(MassBatch.msg_id).where(MassBatch.post_id == mass_post))
        for msg_id in template_ids:
            session.add(
                InboundEvent(
                    openid=openids[0], msg_type="event", event="templatesendjobfinish", key=msg_id, received_at=now
                )
            )
        session.add(
            InboundEvent(openid="system", msg_type="event", event="masssendjobfinish", key=mass_id, received_at=now)
        )
        session.commit()
    engine.tick()
    with world.sessions() as session:
        assert ledger.report(session, template_post).confirmed == 2
        assert ledger.report(session, mass_post).confirmed == 2


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
