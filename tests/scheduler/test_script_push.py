"""A push to a mixed audience is rendered per follower: Simplified or Traditional (posts.script)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from posts.audience import Recipient
from posts.models import Follower
from posts.queue import Delivery
from posts.script import converter
from scheduler import planner
from tests.scheduler.test_planner import SERVICE
from tests.scheduler.test_send import World, queue


def read_traditional(world: World, openids: list[str]) -> None:
    with world.sessions() as session:
        session.execute(update(Follower).where(Follower.openid.in_(openids)).values(script="t"))
        session.commit()


def text_of(world: World, openid: str) -> str:
    (record,) = world.received(openid)
    return str(record.payload["content"])


def test_custom_messages_are_rendered_per_follower(world: World) -> None:
    hant, hans = world.follow(2, interact="message", prefix="oMsg")
    read_traditional(world, [hant])
    post_id = queue(world)
    assert world.sender().run(post_id) == "sent"
    convert = converter(world.catalog.script).to_traditional
    assert text_of(world, hant) == convert(text_of(world, hans))
    assert "漸凍症" in text_of(world, hant) and "渐冻症" in text_of(world, hans)


def test_a_list_mass_send_goes_in_one_list_per_script(world: World) -> None:
    hant = world.follow(2, prefix="oHant")
    hans = world.follow(3, prefix="oHans")
    read_traditional(world, hant)
    post_id = queue(world, channel="mass")
    assert world.sender().run(post_id) == "sent"
    with world.sessions() as session:
        slices = {d.openid: d.channel for d in session.scalars(select(Delivery).where(Delivery.post_id == post_id))}
    assert set(slices.values()) == {"mass"}
    convert = converter(world.catalog.script).to_traditional
    for openid in hant:
        assert text_of(world, openid) == convert(text_of(world, hans[0]))
    for openid in hans:
        assert "渐冻症" in text_of(world, openid)


def person(n: int, script: str) -> Recipient:
    return Recipient(f"o{n:027d}", n, True, script=script)


def test_the_planner_splits_list_slices_by_script_when_each_can_be_a_list() -> None:
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    people = [person(i, "t" if i < 2 else "s") for i in range(5)]
    plan = planner.plan(people, "mass", SERVICE, now)
    assert sorted(s.key for s in plan.slices) == ["list:1", "list:1:t"]
    assert {a.openid: a.slice_key for a in plan.assignments}[people[0].openid] == "list:1:t"
    assert (planner.slice_script("list:1:t"), planner.slice_script("list:1"), planner.slice_script("all")) == (
        "t",
        "s",
        "s",
    )
    lone = [person(i, "t" if i == 0 else "s") for i in range(5)]  # one reader cannot be a list of their own
    assert [s.key for s in planner.plan(lone, "mass", SERVICE, now).slices] == ["list:1"]
