"""Recurring posts: cron strings (crontab syntax, in the scheduler's timezone) and their next firing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger


class CronError(ValueError):
    """A cron string APScheduler cannot read."""


def trigger(cron: str, tz: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(cron.strip(), timezone=ZoneInfo(tz))
    except ValueError as exc:
        raise CronError(
            f"cannot read the cron schedule {cron!r}: {exc} (use 'minute hour day month weekday')"
        ) from None


def next_fire(cron: str, tz: str, after: datetime) -> datetime:
    """The first firing strictly after ``after``, in UTC."""
    start = (after + timedelta(seconds=1)).astimezone(ZoneInfo(tz))
    fire = trigger(cron, tz).get_next_fire_time(None, start)
    if fire is None:  # pragma: no cover - crontab strings always fire again
        raise CronError(f"the cron schedule {cron!r} never fires again")
    return fire.astimezone(UTC)
