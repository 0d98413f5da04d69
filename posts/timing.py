"""Send times: parse the operator's local time, hold posts out of the quiet hours, month and day keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from posts.settings import SchedulerSettings

BEIJING = ZoneInfo("Asia/Shanghai")
"""WeChat counts daily quotas and monthly mass sends in Beijing time."""


class TimingError(ValueError):
    """A send time the operator cannot use, phrased as one line."""


def parse_local(text: str, tz: str) -> datetime:
    """``2026-12-01 09:00`` (or ISO 8601 with an offset) as an aware datetime, naive values in ``tz``."""
    try:
        value = datetime.fromisoformat(text.strip().replace("T", " "))
    except ValueError:
        raise TimingError(f"cannot read the time {text!r}: use 'YYYY-MM-DD HH:MM'") from None
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))


def minute_start(moment: datetime) -> datetime:
    """The first instant of ``moment``'s minute: the earliest send time an operator may still give at ``moment``.

    Operators type minutes, so a time in the current minute is "now", not "in the past".
    """
    return moment.replace(second=0, microsecond=0)


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(moment: datetime, settings: SchedulerSettings) -> bool:
    """Whether ``moment`` (aware) falls in the quiet hours, which may wrap midnight."""
    start, end = _hhmm(settings.quiet_hours_start), _hhmm(settings.quiet_hours_end)
    if start == end:
        return False
    local = moment.astimezone(ZoneInfo(settings.timezone)).time()
    return start <= local < end if start < end else (local >= start or local < end)


def hold_for_quiet_hours(moment: datetime, settings: SchedulerSettings) -> datetime:
    """``moment`` if outside the quiet hours, else the end of those quiet hours (in UTC)."""
    if not in_quiet_hours(moment, settings):
        return moment.astimezone(UTC)
    tz = ZoneInfo(settings.timezone)
    local = moment.astimezone(tz)
    end = _hhmm(settings.quiet_hours_end)
    candidate = datetime.combine(local.date(), end, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return candidate.astimezone(UTC)


def beijing_day(moment: datetime) -> str:
    """``YYYY-MM-DD`` of ``moment`` in Beijing (the key of daily API quotas)."""
    return moment.astimezone(BEIJING).date().isoformat()


def beijing_month_start(moment: datetime) -> datetime:
    """The first instant of ``moment``'s natural month in Beijing, in UTC."""
    local = moment.astimezone(BEIJING)
    return datetime.combine(date(local.year, local.month, 1), time(0), tzinfo=BEIJING).astimezone(UTC)


def beijing_next_month_start(moment: datetime) -> datetime:
    """The first instant of the natural month after ``moment``'s, in Beijing, in UTC (when mass quotas renew)."""
    local = moment.astimezone(BEIJING)
    first = date(local.year + local.month // 12, local.month % 12 + 1, 1)
    return datetime.combine(first, time(0), tzinfo=BEIJING).astimezone(UTC)


def beijing_day_start(moment: datetime) -> datetime:
    """The first instant of ``moment``'s day in Beijing, in UTC."""
    local = moment.astimezone(BEIJING)
    return datetime.combine(local.date(), time(0), tzinfo=BEIJING).astimezone(UTC)
