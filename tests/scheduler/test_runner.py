"""The scheduler: quiet hours, misfire policy, recurrence, one active process, outbox, clean shutdown."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from posts import outbox, retention
from posts.models import Follower, SeenMessage, Subscription
from posts.queue import Post, PostEvent
from posts.settings import replace
from sandbox import FakeClock
from scheduler.lease import DbLeases
from scheduler.outbox import send_outbox
from scheduler.runner import Engine, build
from tests.scheduler.test_send import UPDATE, World, queue, status


def events(world: World, post_id: int) -> list[str]:
    with world.sessions() as session:
        return list(session.scalars(select(PostEvent.action).where(PostEvent.post_id == post_id)))


def test_quiet_hours_hold_a_post_until_they_end(world: World, clock: FakeClock) -> None:
    (openid,) = world.follow(1)
    clock.set(datetime(2026, 12, 1, 15, 0, tzinfo=UTC).timestamp())  # 23:00 in Shanghai
    post_id = queue(world, send_at=world.now() + timedelta(minutes=5))
    with world.sessions() as session:
        assert session.get(Post, post_id).due_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 08:00 Shanghai
    engine = world.engine()
    clock.advance(3600)
    engine.tick()
    assert world.received(openid) == [] and status(world, post_id) == "queued"
    clock.set(datetime(2026, 12, 2, 0, 0, 5, tzinfo=UTC).timestamp())
    engine.tick()
    assert status(world, post_id) == "sent" and len(world.received(openid)) == 1


def test_misfire_inside_grace_is_sent_later_is_missed_and_reported(world: World, clock: FakeClock) -> None:
    (openid,) = world.follow(1)
    on_time = queue(world, send_at=world.now() + timedelta(minutes=1))
    too_late = queue(world, send_at=world.now() + timedelta(minutes=1), content="section:opening")
    engine = world.engine()
    with world.sessions() as session:  # the second one was due long ago (scheduler was down)
        session.get(Post, too_late).due_at = world.now() - timedelta(hours=3)
        session.commit()
    clock.advance(60 + 1800)  # 30 minutes late, grace is an hour
    engine.tick()
    assert status(world, on_time) == "sent"
    assert status(world, too_late) == "missed"
    assert events(world, too_late)[-1] == "missed"
    assert len(world.received(openid)) == 1


def test_weekly_digest_creates_one_occurrence_per_firing(world: World, clock: FakeClock) -> None:
    (openid,) = world.follow(1)
    from scheduler.recurrence import next_fire

    cron = "0 9 * * 1"
    first = next_fire(cron, "Asia/Shanghai", world.now())
    with world.sessions() as session:
        from posts.posting import add_post

        parent = add_post(
            session,
            content="digest",
            audience="all",
            channel="auto",
            by="test",
            now=world.now(),
            scheduling=world.settings.scheduler,
            cron=cron,
            next_run_at=first,
        )
        parent.data = {"last_until": "2025-01-01"}
        session.commit()
        parent_id = parent.id
    engine = world.engine()
    engine.tick()
    assert world.received(openid) == []
    clock.set(first.timestamp() + 5)
    engine.tick()
    engine.tick()
    with world.sessions() as session:
        children = session.scalars(select(Post).where(Post.parent_id == parent_id)).all()
        parent = session.get(Post, parent_id)
        assert [c.status for c in children] == ["sent"]
        assert parent.next_run_at == first + timedelta(days=7)
        assert parent.status == "queued"
        text = children[0].data["message"]["text"]
    (received,) = world.received(openid)
    assert received.kind == "mass" and "进展汇总" in text  # a lone follower outside the window: a send to all
    assert received.payload["content"].startswith("【进展汇总】")


def test_only_the_lease_holder_sends(world: World) -> None:
    openids = world.follow(20)
    post_id = queue(world)
    first, second = world.engine(holder="first"), world.engine(holder="second")
    assert first.tick() is True
    assert second.tick() is False
    assert status(world, post_id) == "sent"
    assert all(len(world.received(o)) == 1 for o in openids)


def test_an_expired_lease_is_taken_over(world: World, clock: FakeClock) -> None:
    leases = DbLeases(world.sessions)
    assert leases.acquire("scheduler", "dead", 30, world.now())
    assert not leases.acquire("scheduler", "alive", 30, world.now())
    clock.advance(31)
    assert leases.acquire("scheduler", "alive", 30, world.now())


def test_two_schedulers_started_at_once_send_exactly_once(world: World) -> None:
    openids = world.follow(30)
    settings = replace(world.settings, scheduler={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"})
    world.settings = settings
    post_id = queue(world, send_at=None)
    with world.sessions() as session:  # these schedulers run on the real clock
        session.get(Post, post_id).due_at = datetime.now(UTC)
        session.commit()
    handles = [build(settings, world.sessions, world.catalog, world.renderer) for _ in range(2)]
    for handle in handles:
        handle.start()
    try:
        deadline = time.monotonic() + 15
        while status(world, post_id) != "sent" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for handle in handles:
            handle.stop()
    assert status(world, post_id) == "sent"
    assert all(len(world.received(o)) == 1 for o in openids)
    assert events(world, post_id).count("started") == 1
    assert sum(h.engine.holder in (DbLeases(world.sessions).holder("scheduler") or "") for h in handles) == 0


def test_outbox_custom_message_and_tag_mirror_go_out_within_a_tick(world: World) -> None:
    (openid,) = world.follow(1, interact="follow")
    now = world.now()
    with world.sessions() as session:
        follower = session.scalar(select(Follower).where(Follower.openid == openid))
        session.add(Subscription(follower_id=follower.id, therapy_key="nurown", created_at=now, changed_at=now))
        outbox.enqueue(session, outbox.TAG_ADD, openid, {"therapy": "nurown"}, now, dedup_key="k1")
        message = {"msgtype": "text", "text": {"content": "NurOwn 最新进展"}}
        outbox.enqueue(session, outbox.CUSTOM_MESSAGE, openid, {"message": message}, now, dedup_key="k2")
        session.commit()
    engine = world.engine()
    engine.tick()
    assert [r.payload for r in world.received(openid)] == [{"content": "NurOwn 最新进展"}]
    tag_ids = world.platform.follower(openid).tags
    assert len(tag_ids) == 1 and world.platform.tags()[tag_ids[0]].endswith("NurOwn")
    with world.sessions() as session:
        assert {r.status for r in outbox.pending(session)} == set()


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # a crashed pass fails it
def test_concurrent_outbox_passes_send_each_row_once(world: World) -> None:
    """The tick and the outbox job (or two processes) may run a pass at the same moment."""
    openids = world.follow(6, interact="follow")
    with world.sessions() as session:
        for number, openid in enumerate(openids):
            message = {"msgtype": "text", "text": {"content": f"第{number}条"}}
            outbox.enqueue(
                session, outbox.CUSTOM_MESSAGE, openid, {"message": message}, world.now(), dedup_key=f"c{number}"
            )
        session.commit()
    engines = [world.engine(), world.engine()]
    barrier = threading.Barrier(len(engines))

    def run(engine: Engine) -> None:
        barrier.wait()
        send_outbox(engine.sessions, engine.api, engine.catalog, engine.clock)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [len(world.received(o)) for o in openids] == [1] * len(openids)


def test_update_content_reference_is_rendered_once_and_stored(world: World) -> None:
    world.follow(1)
    post_id = queue(world, content=UPDATE)
    world.engine().tick()
    with world.sessions() as session:
        assert "xs228" in session.get(Post, post_id).data["message"]["url"]


def test_housekeeping_forgets_dedupe_rows_past_the_keep_hourly_in_short_transactions(
    world: World, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "CHUNK", 3)  # several transactions
    now = world.now()
    with world.sessions() as session:
        for hours in (49, 49, 50, 60, 72, 100, 200, 46, 1):  # seven past the 48-hour keep, two within it
            at = now - timedelta(hours=hours)
            session.add(SeenMessage(dedup_key=f"msg:{hours}-{len(session.new)}", received_at=at, reply_xml="<xml/>"))
        session.commit()
    engine = world.engine()
    assert engine.tick()
    with world.sessions() as session:
        kept = sorted(session.scalars(select(SeenMessage.received_at)))
    assert kept == [now - timedelta(hours=46), now - timedelta(hours=1)]

    with world.sessions() as session:  # another old row: not looked at again until an hour has passed
        session.add(SeenMessage(dedup_key="msg:late", received_at=now - timedelta(hours=90)))
        session.commit()
    engine.tick()
    assert _seen_count(world) == 3
    clock.advance(3601)
    engine.tick()
    assert _seen_count(world) == 2  # the late row went; the 46-hour one is 47 hours old, still kept
    clock.advance(2 * 3601)
    engine.tick()
    assert _seen_count(world) == 1


def _seen_count(world: World) -> int:
    with world.sessions() as session:
        return len(session.scalars(select(SeenMessage.id)).all())


def test_stop_while_a_job_rebuilds_the_job_list_does_not_hang(world: World) -> None:
    """APScheduler's shutdown(wait=True) holds its job-store lock while it waits for the running jobs: a job still
    changing the job list (the tick's sync) must finish before it, or both wait for each other for ever."""
    handle = build(world.settings, world.sessions, world.catalog, world.renderer).start()
    in_sync, go_on = threading.Event(), threading.Event()
    jobs = handle.engine.jobs

    def slow_jobs() -> dict:
        in_sync.set()
        go_on.wait(5)
        return jobs()

    handle.engine.jobs = slow_jobs  # type: ignore[method-assign]
    handle._known = {"post:999999": ("date", None)}  # gone from the queue: the sync asks APScheduler for its job
    handle.scheduler.add_job(handle.sync_jobs, id="sync-now")
    assert in_sync.wait(5), "the sync job did not start"
    stopper = threading.Thread(target=handle.stop, daemon=True)
    stopper.start()
    time.sleep(0.2)  # stop() is now waiting for the sync
    assert stopper.is_alive()
    go_on.set()
    stopper.join(10)
    assert not stopper.is_alive(), "stop() and the running sync job deadlocked"
    handle.sync_jobs()  # after the stop, a late sync changes nothing and returns at once
