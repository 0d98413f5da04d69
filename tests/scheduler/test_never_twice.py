"""Never twice: a lost or late answer to custom/send is "unknown", never resent; safe failures are retried."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from posts import ledger, outbox
from posts.models import Outbox
from posts.settings import replace
from sandbox import FakeClock
from scheduler import errors
from scheduler.errors import Action, TransportError
from scheduler.outbox import send_outbox
from scheduler.planner import CUSTOM, TEMPLATE, reason
from scheduler.wechat_api import WeChatApi, make_api
from tests.scheduler.conftest import World
from tests.scheduler.test_send import notice, queue, rows

TIMEOUT = 0.5
"""The client's timeout in these tests (wechat.api_timeout); a "late" answer comes after LATE seconds."""
LATE = 1.5
LOST = {"drop_answer": {}, "late": {"delay": LATE}}
"""The two ways an answer is lost after WeChat delivered the message."""


@pytest.fixture
def quick(world: World) -> Iterator[World]:
    """The world with a client that gives up after TIMEOUT seconds, as configured by wechat.api_timeout."""
    settings = replace(world.settings, wechat={"api_timeout": TIMEOUT})
    api = make_api(settings, world.sessions)
    assert api.timeout == TIMEOUT
    yield dataclasses.replace(world, settings=settings, api=api)
    api.close()


def arm(world: World, path: str, kind: str) -> None:
    world.platform.inject_fault(path, kind, 1, **LOST[kind])  # type: ignore[arg-type]


def custom_messages(world: World, openid: str) -> int:
    return sum(1 for record in world.received(openid) if record.kind == "custom")


@pytest.mark.parametrize("kind", sorted(LOST))
def test_a_lost_answer_on_custom_send_delivers_a_post_once_and_reports_it_unknown(quick: World, kind: str) -> None:
    openids = quick.follow(3, interact="message")
    post_id = queue(quick, channel="custom_only")
    arm(quick, CUSTOM, kind)
    assert quick.sender().run(post_id) == "partly_sent"
    assert [custom_messages(quick, o) for o in openids] == [1, 1, 1]
    got = rows(quick, post_id)
    assert sorted(d.state for d in got.values()) == ["sent", "sent", "unknown"]
    (lost,) = [d for d in got.values() if d.state == "unknown"]
    assert lost.attempts == 1 and lost.reason.startswith("结果未知: the request may have reached WeChat")
    with quick.sessions() as session:
        report = ledger.report(session, post_id)
    assert report.states["sent"] == 2 and report.reasons == {lost.reason: 1}
    quick.sender().deliver(post_id)  # a later tick: the unknown row is not resent
    assert [custom_messages(quick, o) for o in openids] == [1, 1, 1]


@pytest.mark.parametrize("kind", sorted(LOST))
def test_a_lost_answer_on_an_outbox_custom_message_delivers_it_once(quick: World, clock: FakeClock, kind: str) -> None:
    (openid,) = quick.follow(1, interact="follow")
    with quick.sessions() as session:
        message = {"msgtype": "text", "text": {"content": "扫码欢迎"}}
        outbox.enqueue(session, outbox.CUSTOM_MESSAGE, openid, {"message": message}, quick.now(), "welcome")
        session.commit()
    arm(quick, CUSTOM, kind)
    assert send_outbox(quick.sessions, quick.api, quick.catalog, quick.now) == 1
    clock.advance(600)  # past any retry backoff
    assert send_outbox(quick.sessions, quick.api, quick.catalog, quick.now) == 0
    assert custom_messages(quick, openid) == 1
    with quick.sessions() as session:
        row = session.scalar(select(Outbox))
        assert (row.status, row.attempts) == ("unknown", 1)
        assert row.last_error.startswith("结果未知") and row.sent_at is not None


def test_the_window_count_treats_an_unknown_send_as_used(world: World) -> None:
    """A follow opens 3 messages: 2 welcome messages sent and 1 unknown leave none for a post."""
    (openid,) = world.follow(1, interact="follow")
    with world.sessions() as session:
        for number in range(3):
            message = {"msgtype": "text", "text": {"content": f"第{number}条"}}
            outbox.enqueue(session, outbox.CUSTOM_MESSAGE, openid, {"message": message}, world.now(), f"w{number}")
        session.commit()
    world.platform.inject_fault(CUSTOM, "drop_answer", 1)
    assert send_outbox(world.sessions, world.api, world.catalog, world.now) == 3
    with world.sessions() as session:
        assert sorted(r.status for r in session.scalars(select(Outbox))) == ["sent", "sent", "unknown"]
        follower_since = {openid: world.now() - timedelta(seconds=1)}
        assert ledger.window_used(session, follower_since) == {openid: 3}
    post_id = queue(world, channel="custom_only")
    assert world.sender().run(post_id) == "failed"
    assert rows(world, post_id)[openid].reason == reason("window_used", world.now())
    assert custom_messages(world, openid) == 3


def test_an_unknown_post_delivery_counts_in_the_window_too(world: World) -> None:
    (openid,) = world.follow(1, interact="follow")
    world.platform.inject_fault(CUSTOM, "drop_answer", 1)
    first = queue(world, channel="custom_only")
    assert world.sender().run(first) == "failed"
    assert rows(world, first)[openid].state == "unknown"
    with world.sessions() as session:
        assert ledger.window_used(session, {openid: world.now() - timedelta(seconds=1)}) == {openid: 1}


def test_a_crash_mid_send_leaves_an_outbox_custom_message_unknown(world: World) -> None:
    (openid,) = world.follow(1, interact="follow")
    with world.sessions() as session:
        message = {"msgtype": "text", "text": {"content": "扫码欢迎"}}
        row = outbox.enqueue(session, outbox.CUSTOM_MESSAGE, openid, {"message": message}, world.now(), "w")
        row.status = "sending"
        session.commit()
        ledger.recover(session, world.now(), timedelta(minutes=9))
        session.commit()
        assert session.scalar(select(Outbox.status)) == "unknown"
        assert ledger.window_used(session, {openid: world.now() - timedelta(seconds=1)}) == {openid: 1}
    assert send_outbox(world.sessions, world.api, world.catalog, world.now) == 0
    assert custom_messages(world, openid) == 0


def test_a_lost_answer_on_a_deduplicated_template_send_is_retried_and_delivered_once(quick: World) -> None:
    (openid,) = quick.follow(1)
    post_id = notice(quick)
    quick.platform.inject_fault(TEMPLATE, "drop_answer", 1)
    assert quick.sender().run(post_id) == "sent"
    assert len(quick.received(openid)) == 1
    assert rows(quick, post_id)[openid].attempts == 2  # retried after its backoff with the same client_msg_id


def test_busy_minus_one_on_custom_send_is_retried_and_sent_once(world: World) -> None:
    (openid,) = world.follow(1, interact="message")
    post_id = queue(world, channel="custom_only")
    world.platform.inject_fault(CUSTOM, "busy", 2)
    assert world.sender().run(post_id) == "sent"
    assert custom_messages(world, openid) == 1


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_transport_failures_say_whether_the_request_may_have_reached_wechat(quick: World) -> None:
    refused = WeChatApi(f"http://127.0.0.1:{closed_port()}", "app", "secret", timeout=TIMEOUT)
    with pytest.raises(TransportError) as never_sent:
        refused.fetch_stable_token()
    assert never_sent.value.sent is False and never_sent.value.errcode is None
    refused.close()
    for kind in sorted(LOST):
        arm(quick, "stable_token", kind)
        with pytest.raises(TransportError) as lost:
            quick.api.fetch_stable_token(force_refresh=True)
        assert lost.value.sent is True, kind


def test_the_retry_policy_per_error_class_and_api(now: Callable[[], datetime]) -> None:
    not_sent = TransportError("ConnectionError: refused", sent=False)
    lost = TransportError("ReadTimeout: read timed out", sent=True)
    assert errors.outcome(not_sent, deduplicated=False) is Action.RETRY
    assert errors.outcome(lost, deduplicated=False) is Action.UNKNOWN
    assert errors.outcome(lost, deduplicated=True) is Action.RETRY
    busy = errors.WeChatError(-1, "system error")
    assert errors.outcome(busy, deduplicated=False) is Action.RETRY
    described = errors.describe(lost, deduplicated=False)
    assert described.startswith("结果未知") and "ReadTimeout" in described
    assert errors.describe(not_sent, deduplicated=False) == errors.plain(None)
    at = now()
    first = errors.decide(busy, deduplicated=False, attempts=1, now=at)
    assert (first.state, first.retry_at) == ("planned", at + timedelta(seconds=1))
    fourth = errors.decide(busy, deduplicated=False, attempts=4, now=at)
    assert fourth.retry_at == at + timedelta(seconds=8)
    assert errors.decide(busy, deduplicated=False, attempts=errors.MAX_ATTEMPTS, now=at).state == "failed"
    rate = errors.decide(errors.WeChatError(45011), deduplicated=True, attempts=1, now=at)
    assert rate.retry_at == at + timedelta(seconds=60)
    daily = errors.decide(errors.WeChatError(45009), deduplicated=True, attempts=9, now=at)
    assert daily.daily_quota and daily.retry_at is not None and daily.retry_at > at + timedelta(hours=1)
    assert errors.decide(lost, deduplicated=False, attempts=1, now=at).state == "unknown"
    assert errors.decide(errors.WeChatError(45015), deduplicated=False, attempts=1, now=at).state == "undeliverable"
    blocked = errors.decide(errors.WeChatError(40249), deduplicated=True, attempts=1, now=at)
    assert (blocked.state, blocked.blocked, blocked.whole_channel) == ("failed", True, True)
    assert errors.decide(errors.WeChatError(43004), deduplicated=True, attempts=1, now=at).whole_channel is False
