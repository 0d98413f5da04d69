"""Sending a post through the ledger to the stand-in: channels per follower, error codes, no template fallback."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from posts import followers, interactions, ledger
from posts.models import Follower
from posts.posting import add_post
from posts.queue import Delivery, Post, PostEvent
from scheduler import errors
from tests.scheduler.conftest import TEMPLATE_ID, World

UPDATE = "update:xs228/2025-09-15-first-dosing"
NOTICE = {"channel": "template_only", "content": "text", "text": "周六 20:00 专家答疑", "title": "直播预告"}
"""A service notice by template (the configured purpose "notice"): the only posts templates carry."""


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


def notice(world: World, **kw: object) -> int:
    return queue(world, **{**NOTICE, "purpose": "notice", **kw})  # type: ignore[arg-type]


def rows(world: World, post_id: int) -> dict[str, Delivery]:
    with world.sessions() as session:
        return {d.openid: d for d in session.scalars(select(Delivery).where(Delivery.post_id == post_id))}


def status(world: World, post_id: int) -> str:
    with world.sessions() as session:
        return session.get(Post, post_id).status


def test_auto_picks_custom_inside_the_window_and_a_mass_send_outside_never_a_template(world: World) -> None:
    talked = world.follow(2, interact="message", prefix="oMsg")
    silent = world.follow(3, prefix="oSil")
    post_id = queue(world)
    assert world.sender().run(post_id) == "sent"
    got = rows(world, post_id)
    assert {got[o].channel for o in talked} == {"custom"}
    assert {got[o].channel for o in silent} == {"mass"}
    for openid in talked + silent:
        inbox = world.received(openid)
        assert len(inbox) == 1
    assert world.received(talked[0])[0].kind == "custom"
    assert {world.received(o)[0].kind for o in silent} == {"mass"}
    assert "/cgi-bin/message/template/send" not in world.api.usage


def test_one_follower_outside_the_window_gets_the_true_reason_not_40130(world: World) -> None:
    world.follow(2, interact="message", prefix="oMsg")
    (alone,) = world.follow(1, prefix="oSil")
    post_id = queue(world)
    assert world.sender().run(post_id) == "partly_sent"
    row = rows(world, post_id)[alone]
    assert (row.channel, row.state) == ("none", "undeliverable")
    assert "40130" not in (row.reason or "") and "reachable when they next write to the account" in (row.reason or "")
    assert world.received(alone) == []


def test_a_notice_sends_its_purpose_template_with_the_fields_previewed(world: World) -> None:
    (openid,) = world.follow(1)
    post_id = notice(world)
    assert world.sender().run(post_id) == "sent"
    (record,) = world.received(openid)
    assert record.payload["template_id"] == TEMPLATE_ID
    assert record.payload["client_msg_id"] == f"wxbot-{rows(world, post_id)[openid].id}"
    assert record.payload["data"] == {
        "thing1": {"value": "直播预告"},
        "time2": {"value": "2026年12月1日 10:00"},
        "thing3": {"value": "周六 20:00 专家答疑"},
    }


def test_busy_minus_one_is_retried_and_sent_once(world: World) -> None:
    (openid,) = world.follow(1)
    world.platform.inject_fault("message/template/send", "busy", count=2)
    post_id = notice(world)
    assert world.sender().run(post_id) == "sent"
    assert len(world.received(openid)) == 1


def test_persistent_busy_is_tried_five_times_with_backoff_then_fails(world: World) -> None:
    """The one retry policy (scheduler/errors.py): 5 tries, waiting 1, 2, 4 and 8 s between them."""
    (openid,) = world.follow(1)
    world.platform.inject_fault("message/template/send", "busy", count=None)
    post_id = notice(world)
    started = world.now()
    assert world.sender().run(post_id) == "failed"
    row = rows(world, post_id)[openid]
    assert (row.state, row.errcode, row.attempts) == ("failed", -1, errors.MAX_ATTEMPTS)
    assert "系统繁忙 (-1)" in (row.reason or "") and "gave up after 5 tries" in (row.reason or "")
    assert world.api.usage["/cgi-bin/message/template/send"] == 5
    assert (world.now() - started).total_seconds() == 1 + 2 + 4 + 8


def test_a_retry_not_due_soon_ends_the_send_and_a_later_one_finishes_it(world: World) -> None:
    (openid,) = world.follow(1)
    world.platform.inject_fault("message/template/send", "error", count=1, errcode=45011)
    post_id = notice(world)
    sender = world.sender(sleep=lambda _s: None)  # a clock that does not move while waiting
    assert sender.run(post_id) == "sending"
    row = rows(world, post_id)[openid]
    assert (row.state, row.errcode) == ("planned", 45011)
    assert row.not_before == world.now() + timedelta(seconds=errors.RATE_LIMIT_SECONDS)
    world.sleep(errors.RATE_LIMIT_SECONDS)
    assert sender.run(post_id) == "sent" and len(world.received(openid)) == 1


def test_daily_quota_45009_postpones_the_channel_to_tomorrow(world: World) -> None:
    openids = world.follow(3)
    world.platform.inject_fault("message/template/send", "error", count=None, errcode=45009)
    post_id = notice(world)
    assert world.sender().run(post_id) == "sending"
    got = rows(world, post_id)
    assert {got[o].state for o in openids} == {"planned"}
    assert all(got[o].not_before and got[o].not_before > world.now() for o in openids)
    assert not any(world.received(o) for o in openids)
    assert world.api.usage["/cgi-bin/message/template/send"] == 1  # the quota is gone for all: one call says so


def test_unfollowed_43004_and_bad_openid_40003_are_recorded_per_follower(world: World) -> None:
    kept, gone = world.follow(2)
    world.platform.unsubscribe(gone)
    with world.sessions() as session:
        session.add(Follower(openid="oNotOfThisAccount000000000000", subscribed=True, created_at=world.now()))
        session.commit()
    post_id = notice(world)
    assert world.sender().run(post_id) == "partly_sent"
    got = rows(world, post_id)
    assert got[kept].state == "sent"
    assert (got[gone].state, got[gone].errcode) == ("failed", 43004)
    assert (got["oNotOfThisAccount000000000000"].errcode) == 40003
    with world.sessions() as session:
        rep = ledger.report(session, post_id)
    assert rep.states == {"sent": 1, "failed": 2}
    assert any("已取消关注 (43004)" in reason for reason in rep.reasons)


def test_window_closed_45015_is_undeliverable_never_a_template(world: World) -> None:
    (openid,) = world.follow(1)
    with world.sessions() as session:  # we believe the window is open; WeChat knows better
        follower = session.scalar(select(Follower).where(Follower.openid == openid))
        followers.touch(follower, world.now(), interactions.classify("text"))
        session.commit()
    post_id = queue(world)
    assert world.sender().run(post_id) == "failed"
    row = rows(world, post_id)[openid]
    assert (row.channel, row.state, row.errcode) == ("custom", "undeliverable", 45015)
    assert "改发模板消息" not in (row.reason or "") and "when they next write" in (row.reason or "")
    assert world.received(openid) == []
    assert "/cgi-bin/message/template/send" not in world.api.usage


def test_custom_only_reports_closed_windows_in_plain_words(world: World) -> None:
    (openid,) = world.follow(1)
    post_id = queue(world, channel="custom_only")
    assert world.sender().run(post_id) == "failed"
    row = rows(world, post_id)[openid]
    assert row.state == "undeliverable"
    assert row.reason == (
        "窗口已关闭 (45015): follower has not interacted in 48 hours; reachable when they next write to the account"
    )
    assert world.received(openid) == []


def test_invalid_template_40037_fails_every_template_row_without_more_calls(world: World) -> None:
    openids = world.follow(4)
    world.platform.inject_fault("message/template/send", "error", count=None, errcode=40037)
    post_id = notice(world)
    assert world.sender().run(post_id) == "failed"
    assert world.api.usage["/cgi-bin/message/template/send"] == 1
    assert {r.errcode for r in rows(world, post_id).values()} == {40037}
    assert not any(world.received(o) for o in openids)


def test_a_blocked_template_40249_is_recorded_as_blocked_and_not_retried(world: World) -> None:
    openids = world.follow(3)
    world.platform.block_template(TEMPLATE_ID)
    post_id = notice(world)
    assert world.sender().run(post_id) == "failed"
    assert world.api.usage["/cgi-bin/message/template/send"] == 1
    assert {(r.state, r.errcode) for r in rows(world, post_id).values()} == {("failed", 40249)}
    with world.sessions() as session:
        actions = [e.action for e in session.scalars(select(PostEvent).where(PostEvent.post_id == post_id))]
    assert "blocked" in actions
    assert not any(world.received(o) for o in openids)


def test_mass_channel_on_a_service_account_sends_one_list_slice(world: World) -> None:
    openids = world.follow(3)
    post_id = queue(world, channel="mass")
    assert world.sender().run(post_id) == "sent"
    assert [r.kind for o in openids for r in world.received(o)] == ["mass"] * 3
    with world.sessions() as session:
        rep = ledger.report(session, post_id)
    assert [b[:2] for b in rep.batches] == [("list:1", "sent")]


def test_test_audience_reaches_only_the_listed_openids(world: World) -> None:
    first, second, third = world.follow(3)
    post_id = queue(world, audience=f"test:{first},{third}", content="text", text="内部测试：请忽略。")
    assert world.sender().run(post_id) == "sent"
    assert [len(world.received(o)) for o in (first, second, third)] == [1, 0, 1]
