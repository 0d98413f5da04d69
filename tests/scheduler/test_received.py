"""A post skips followers who already received its content as a welcome's follow-up or a reply."""

from __future__ import annotations

from sqlalchemy import select

from posts import outbox, received
from posts.queue import Delivery, Post
from tests.scheduler.test_send import UPDATE, World, queue

THERAPY, KEY = UPDATE.removeprefix("update:").split("/")


def follow_up(world: World, openid: str) -> None:
    """What the bot queues after a therapy QR scan's welcome: the therapy's latest update."""
    message = {"msgtype": "text", "text": {"content": "XS228 最新进展"}}
    payload = {"message": message, "therapy": THERAPY, "update": KEY, "reason": "scene_follow"}
    with world.sessions() as session:
        outbox.enqueue(session, outbox.CUSTOM_MESSAGE, openid, payload, world.now(), dedup_key=f"k:{openid}")
        session.commit()


def test_a_post_skips_whoever_got_the_update_after_their_welcome(world: World) -> None:
    scanned, other = world.follow(2, interact="follow")
    follow_up(world, scanned)
    engine = world.engine()
    engine.tick()  # the follow-up goes out
    with world.sessions() as session:
        assert received.already(session, UPDATE, [scanned, other]) == {scanned}
    post_id = queue(world, audience=f"test:{scanned},{other}")
    with world.sessions() as session:
        plan, _ = world.sender().plan(session, session.get(Post, post_id), world.now())  # type: ignore[arg-type]
    assert plan.skipped == [scanned] and [a.openid for a in plan.assignments] == [other]
    engine.tick()
    with world.sessions() as session:
        rows = session.scalars(select(Delivery.openid).where(Delivery.post_id == post_id)).all()
        post = session.get(Post, post_id)
        assert rows == [other]
        assert any("1 skipped: already received" in (e.detail or "") for e in post.events)  # type: ignore[union-attr]
    pushed = [r for r in world.received(scanned) if "XS228" in str(r.payload)]
    assert len(pushed) == 1  # the follow-up only, not the post again


def test_a_post_everyone_already_received_is_not_sent(world: World) -> None:
    (scanned,) = world.follow(1, interact="follow")
    with world.sessions() as session:
        received.record(session, scanned, UPDATE, received.REPLY, world.now())
        received.record(session, scanned, UPDATE, received.REPLY, world.now())  # a repeat changes nothing
        session.commit()
    post_id = queue(world, audience=f"test:{scanned}")
    world.engine().tick()
    with world.sessions() as session:
        post = session.get(Post, post_id)
        assert post is not None and post.status == "cancelled"
        assert session.scalars(select(Delivery).where(Delivery.post_id == post_id)).all() == []
