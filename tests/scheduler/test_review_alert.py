"""The daily review check: content past its next_review date raises one operator alert a day, not one per tick."""

from __future__ import annotations

import dataclasses
import time
from datetime import date, timedelta
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from typer.testing import CliRunner

from posts.catalog import Catalog, Review
from posts.models import OperatorAlert
from posts.settings import replace
from sandbox import FakeClock
from scheduler.runner import build
from tests.scheduler.conftest import World
from wxbot.cli import app
from wxbot.context import AppContext


def overdue(catalog: Catalog, next_review: date) -> Catalog:
    """The pack with its first section and the NurOwn card due for review on ``next_review``."""
    due = Review("王医生", next_review - timedelta(days=180), next_review)
    first = dataclasses.replace(catalog.sections[0], review=due)
    nurown = dataclasses.replace(catalog.therapies["nurown"], review=due)
    return dataclasses.replace(
        catalog, sections=(first, *catalog.sections[1:]), therapies={**catalog.therapies, "nurown": nurown}
    )


def rows(world: World) -> list[OperatorAlert]:
    with world.sessions() as session:
        return list(session.scalars(select(OperatorAlert).order_by(OperatorAlert.id)))


def test_nothing_overdue_raises_nothing(world: World) -> None:
    engine = world.engine()
    raised = engine.review_check()
    assert raised is not None and raised.alert is None
    assert rows(world) == []


def test_one_alert_a_day_whatever_the_ticks(world: World, clock: FakeClock) -> None:
    world.catalog = overdue(world.catalog, date(2026, 11, 30))  # the clock says 2026-12-01 10:00 in Shanghai
    engine = world.engine()
    for _ in range(3):
        assert engine.tick()
    assert rows(world) == []  # the tick never checks reviews: the check is its own daily job

    first = engine.review_check()
    assert first is not None and first.new and first.alert is not None
    (alert,) = rows(world)
    assert (alert.kind, alert.day) == ("review_overdue", date(2026, 12, 1))
    assert alert.message.startswith("2 content item(s) past their next_review date (the longest since 2026-11-30)")
    paths = {world.catalog.sections[0].path, world.catalog.therapies["nurown"].path}
    assert {d["path"] for d in alert.details} == paths
    assert alert.details[0]["reviewed_by"] == "王医生"

    clock.advance(6 * 3600)  # later the same day: nothing more, not even a query
    assert engine.review_check() is None
    again = world.engine(holder="another process").review_check()  # another scheduler, the same day
    assert again is not None and not again.new
    assert len(rows(world)) == 1

    clock.advance(12 * 3600)  # the next local day (2026-12-02 04:00 in Shanghai)
    nextday = engine.review_check()
    assert nextday is not None and nextday.new
    assert [a.day for a in rows(world)] == [date(2026, 12, 1), date(2026, 12, 2)]


def test_an_item_due_today_is_not_yet_overdue(world: World) -> None:
    world.catalog = overdue(world.catalog, date(2026, 12, 1))
    raised = world.engine().review_check()
    assert raised is not None and raised.alert is None


def test_the_running_scheduler_has_a_daily_review_job(world: World, clock: FakeClock) -> None:
    world.catalog = overdue(world.catalog, date(2026, 11, 1))
    settings = replace(world.settings, scheduler={"review_check_time": "07:30"})
    handle = build(settings, world.sessions, world.catalog, world.renderer, api=world.api, clock=world.now)
    handle.start()
    try:
        job = handle.scheduler.get_job("review-check")
        assert isinstance(job.trigger, CronTrigger)
        fields = {f.name: str(f) for f in job.trigger.fields}
        assert (fields["hour"], fields["minute"], fields["day"]) == ("7", "30", "*")
        deadline = time.monotonic() + 10
        while not rows(world) and time.monotonic() < deadline:  # it also checks at start-up
            time.sleep(0.05)
    finally:
        handle.stop()
    assert [a.day for a in rows(world)] == [date(2026, 12, 1)]


def test_wxbot_alerts_list(world: World, clock: FakeClock, tmp_path: Path) -> None:
    world.catalog = overdue(world.catalog, date(2026, 11, 30))
    world.engine().review_check()
    config = tmp_path / "wxbot.toml"
    config.write_text(f'[database]\nurl = "{world.settings.database.url}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(config), "alerts", "list"], obj=AppContext(clock=world.now))
    assert result.exit_code == 0, result.output
    assert "2026-12-01" in result.output and "review_overdue" in result.output
    assert "next_review 2026-11-30" in result.output
    bad = CliRunner().invoke(app, ["--config", str(config), "alerts", "list", "--kind", "nope"])
    assert bad.exit_code == 2 and "unknown alert kind 'nope'" in bad.output
