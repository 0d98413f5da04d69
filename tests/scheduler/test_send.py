"""Sending a post through the ledger to the stand-in: channels per follower, error codes, fallbacks."""

from __future__ import annotations

from sqlalchemy import select

from posts.posting import add_post
from posts.queue import Delivery, Post
from tests.scheduler.conftest import World

UPDATE = "update:xs228/2025-09-30-first-dosing"


def queue(world: World, audience: str = "all", channel: str = "auto", content: str = UPDATE, **kw: object) -> int:
    with world.sessions() as session:
        post = add_post(
            session,
            content=content,
            audience=audience,
            channel=channel,
            by="test",
            now=world.now(),
            scheduling=world.settings.scheduler,
            **kw,
        )
        session.commit()
        return post.id


def rows(world: World, post_id: int) -> dict[str, Delivery]:
    with world.sessions() as session:
        return {d.openid: d for d in session.scalars(select(Delivery).where(Delivery.post_id == post_id))}


def status(world: World, post_id: int) -> str:
    with world.sessions() as session:
        return session.get(Post, post_id).status


def test_auto_picks_custom_inside_the_window_and_template_outside(world: World) -> None:
    talked = world.follow(2, interact="message", prefix="oMsg")
    silent = world.follow(3, prefix="oSil")
    post_id = queue(world)
    assert world.sender().run(post_id) == "sent"
    got = rows(world, post_id)
    assert {got[o].channel for o in talked} == {"custom"}
    assert {got[o].channel for o in silent} == {"template"}
    for openid in talked + silent:
        inbox = world.received(openid)
        assert len(inbox) == 1
    assert world.received(talked[0])[0].kind == "custom"
    template = world.received(silent[0])[0]
    assert template.payload["client_msg_id"] == f"wxbot-{got[silent[0]].id}"
    assert template.payload["url"].endswith("/p/t/xs228/2025-09-30-first-dosing")
