"""One outbound path: a retry waits on its own row, a send is a job of its own, reports count what WeChat says."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from posts import ledger, mass_budget
from posts.limits import MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE
from posts.queue import Delivery, JobFinished, MassBatch, Post, PostEvent
from posts.settings import replace
from sandbox import FakeClock, SandboxServer
from scheduler.runner import build
from scheduler.wechat_api import CUSTOM_SEND
from tests.scheduler.test_send import World, queue, rows, status
from tests.scheduler.test_wechat_state import bot_for
from wxbot.commands.post import _batch_line

CALL_SECONDS = 0.0075
"""What one API call costs on the injected clock: 1,990 calls take about 15 s, as on the real platform."""


def timed(world: World, clock: FakeClock) -> None:
    """Every API call moves the shared fake clock by CALL_SECONDS (the elapsed time is the injected clock's)."""
    request = world.api._request

    def slow(*args: Any, **kwargs: Any) -> Any:
        clock.advance(CALL_SECONDS)
        return request(*args, **kwargs)

    world.api._request = slow  # type: ignore[method-assign]


def test_busy_on_a_fifth_of_calls_delays_only_the_rows_that_wait_not_the_send(world: World, clock: FakeClock) -> None:
    openids = world.follow(1990, interact="message")
    timed(world, clock)
    world.platform.inject_fault(CUSTOM_SEND, "busy", None, every=5)
    post_id = queue(world, channel="custom_only")
    started = world.now()
    assert world.sender().run(post_id) == "sent"
    elapsed = (world.now() - started).total_seconds()
    calls = world.api.usage[CUSTOM_SEND]
    baseline = len(openids) * CALL_SECONDS  # the same send without a fault
    assert len(openids) * 1.2 < calls < len(openids) * 1.3  # each busy answer retried once more, no more
    assert elapsed < 2.5 * baseline, (elapsed, baseline)  # not 10×: backoffs overlap the other rows' calls
    assert all(len(world.received(o)) == 1 for o in openids)
    with world.sessions() as session:
        retried = session.scalar(select(Delivery.id).where(Delivery.post_id == post_id, Delivery.attempts > 1))
    assert retried is not None


def _month_used_outside(world: World, openids: list[str]) -> None:
    """Four mass sends made outside the product, which the bot never saw: WeChat's own count says 4."""
    month = time.strftime("%Y-%m", time.gmtime(world.platform.now() + 8 * 3600))
    for openid in openids:
        world.platform.follower_record(openid).mass_by_month[month] = MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE


def _batch(world: World, post_id: int) -> MassBatch:
    with world.sessions() as session:
        return session.scalars(select(MassBatch).where(MassBatch.post_id == post_id)).one()


def test_a_mass_send_wechat_refused_for_the_month_is_not_reported_sent_and_spends_the_budget(
    world: World, server: SandboxServer
) -> None:
    openids = world.follow(3)
    _month_used_outside(world, openids)
    post_id = queue(world, channel="mass")
    with bot_for(world):
        engine = world.engine()
        engine.tick()
        assert server.pusher.wait_idle()
        engine.tick()  # applies a job-finished event that came before the call's answer was recorded
    assert not any(world.received(o) for o in openids)
    with world.sessions() as session:
        rep = ledger.report(session, post_id)
        (batch,) = rep.batches
        assert (batch.confirmed, batch.total, batch.sent, batch.filtered) == (True, 3, 0, 3)
        assert rep.channels == {("mass", "undeliverable"): 3} and rep.received["mass"] == 0
        assert "本月群发已满" in next(iter(rep.reasons))
        assert session.get(Post, post_id).status == "failed"
        actions = [e.action for e in session.scalars(select(PostEvent).where(PostEvent.post_id == post_id))]
        assert "job_finished" in actions
        assert mass_budget.received_this_month(session, world.now()) == dict.fromkeys(openids, 4)
    assert "WeChat: sent 0 of 3, filtered 3" in _batch_line(batch)
    again = queue(world, channel="mass")
    with world.sessions() as session:
        plan, _ = world.sender().plan(session, session.get(Post, again), world.now())  # type: ignore[arg-type]
    assert {a.code for a in plan.assignments} == {"mass_month"}  # the budget knows now


def test_a_partly_filtered_mass_send_reports_wechats_counts_beside_the_api_call(
    world: World, server: SandboxServer
) -> None:
    openids = world.follow(3)
    _month_used_outside(world, openids[:1])
    post_id = queue(world, channel="mass")
    with bot_for(world):
        engine = world.engine()
        engine.tick()
        assert server.pusher.wait_idle()
        engine.tick()
    with world.sessions() as session:
        rep = ledger.report(session, post_id)
    (batch,) = rep.batches
    assert (batch.total, batch.accepted, batch.sent, batch.errors, batch.filtered) == (3, 2, 2, 0, 1)
    assert rep.received["mass"] == 2 and not rep.unconfirmed["mass"]
    assert "WeChat: sent 2 of 3, filtered 1 (month limit or refused), errors 0" in _batch_line(batch)


def test_without_a_job_finished_event_a_batch_is_marked_unconfirmed(world: World) -> None:
    openids = world.follow(3)
    post_id = queue(world, channel="mass")
    assert world.sender().run(post_id) == "sent"  # no bot: WeChat's push reaches nobody
    with world.sessions() as session:
        rep = ledger.report(session, post_id)
    assert rep.unconfirmed["mass"] == len(openids) and rep.received["mass"] == 0
    assert "unconfirmed: no job-finished event from WeChat yet" in _batch_line(rep.batches[0])


def test_crash_recovery_is_in_the_posts_history_and_a_requeued_mass_batch_is_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.follow(3)
    post_id = queue(world, channel="mass")
    sender = world.sender()
    assert sender.prepare(post_id)
    with world.sessions() as session:  # a process claimed the batch and died before recording the answer
        ledger.claim_batches(session, [_batch(world, post_id).id], world.now())
        session.commit()
    engine = world.engine()
    with caplog.at_level(logging.WARNING, logger="scheduler.runner"):
        engine.tick()
    assert any("mass batch list:1 requeued" in r.getMessage() for r in caplog.records)
    with world.sessions() as session:
        events = session.scalars(select(PostEvent).where(PostEvent.post_id == post_id)).all()
    (recovered,) = [e for e in events if e.action == "recovered"]
    assert "mass batch list:1 requeued (same clientmsgid)" in recovered.detail
    assert status(world, post_id) == "sent"
    assert {d.state for d in rows(world, post_id).values()} == {"sent"}


def test_a_long_send_runs_as_its_own_job_and_never_makes_the_tick_skip(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    openids = world.follow(5)
    settings = replace(world.settings, scheduler={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"})
    world.settings = settings
    post_id = queue(world, send_at=None, channel="mass")
    with world.sessions() as session:  # this scheduler runs on the real clock
        session.get(Post, post_id).due_at = datetime.now(UTC)
        session.commit()
    world.platform.inject_fault("message/mass/send", "slow", 1, delay=5.0)  # one call that takes 5 s
    handle = build(settings, world.sessions, world.catalog, world.renderer)
    ticks = []
    tick = handle.engine.tick

    def counted() -> bool:
        ticks.append(time.monotonic())
        return tick()

    handle.engine.tick = counted  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="apscheduler"):
        handle.start()
        try:
            deadline = time.monotonic() + 20
            while status(world, post_id) != "sent" and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            handle.stop()
    assert status(world, post_id) == "sent"
    assert all(len(world.received(o)) == 1 for o in openids)
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "maximum number of running instances" in m]
    assert len([m for m in messages if m.startswith('Running job "send post')]) == 1  # a job of its own
    assert len([m for m in messages if m.startswith(f"post {post_id} started")]) == 1  # logged once
    assert len(ticks) >= 3  # the tick went on every 2 s while the send waited 5 s for its answer


def test_job_finished_events_are_kept_a_week_then_forgotten(world: World) -> None:
    now = world.now()
    with world.sessions() as session:
        for n, days in enumerate((8, 10, 6, 1)):
            fields = {"Status": "success"}
            ledger.record_job_finished(session, "templatesendjobfinish", f"77{n}", fields, now - timedelta(days=days))
        session.commit()
    assert world.engine().tick()  # the hourly housekeeping runs on the first tick
    with world.sessions() as session:
        kept = sorted(session.scalars(select(JobFinished.msg_id)))
    assert kept == ["772", "773"]


def test_a_post_whose_send_job_waits_behind_another_is_not_marked_missed(world: World, clock: FakeClock) -> None:
    (openid,) = world.follow(1, interact="message")
    post_id = queue(world, channel="custom_only")
    engine = world.engine()
    waiting: list[int] = []
    engine.launch = waiting.append  # the sends executor is busy with a long send: this job waits its turn
    engine.tick()
    assert waiting == [post_id]
    clock.advance(2 * world.settings.scheduler.misfire_grace_seconds)
    engine.tick()
    assert status(world, post_id) == "queued" and waiting == [post_id]  # neither missed nor started twice
    assert engine.send(post_id) == "sent" and len(world.received(openid)) == 1
