"""The scheduler summarises the analytics' closed days: an hourly job, only while it holds the lease."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select

from posts.analytics_models import DayCount, RollupMark
from posts.models import InboundEvent
from sandbox import FakeClock
from scheduler.runner import build
from tests.scheduler.conftest import World


def test_the_active_scheduler_rolls_up_closed_days_every_hour(world: World, clock: FakeClock) -> None:
    now = world.now()
    with world.sessions() as session:
        for days in (3, 2, 0):
            session.add(InboundEvent(openid="o1", msg_type="event", event="click", key="TOC",
                                     received_at=now - timedelta(days=days)))  # fmt: skip
        session.commit()
    standby = world.engine(holder="standby")
    assert standby.analytics_rollup() is None  # no lease: nothing done
    engine = world.engine()
    assert engine.renew()
    done = engine.analytics_rollup()
    assert done is not None and done.inbound == 2  # the two closed days; today's row stays raw
    assert engine.analytics_rollup().inbound == 0  # type: ignore[union-attr]
    with world.sessions() as session:
        assert session.scalar(select(func.sum(DayCount.count)).where(DayCount.kind == "menu")) == 2
        assert session.get(RollupMark, "inbound").tz == world.settings.scheduler.timezone  # type: ignore[union-attr]
    engine.release()
    handle = build(world.settings, world.sessions, world.catalog, world.renderer, api=world.api, clock=world.now)
    handle.start()
    try:
        job = handle.scheduler.get_job("analytics-rollup")
        assert isinstance(job.trigger, CronTrigger)
        fields = {f.name: str(f) for f in job.trigger.fields}
        assert (fields["hour"], fields["minute"]) == ("*", "20")
    finally:
        handle.stop()
