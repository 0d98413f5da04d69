"""Per-API call counters: daily quotas (45009, Beijing-time days) and per-minute limits (45011)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from .errors import ApiError

BEIJING_OFFSET = 8 * 3600


class QuotaCounter:
    """Counts calls per path per Beijing day and per group per minute; not locked (platform lock held)."""

    def __init__(self, clock: Callable[[], float], daily_limit: Callable[[str], int | None]) -> None:
        self._clock = clock
        self._daily_limit = daily_limit
        self._daily: Counter[tuple[str, int]] = Counter()
        self._minute: Counter[tuple[str, int]] = Counter()

    def _day(self) -> int:
        return int((self._clock() + BEIJING_OFFSET) // 86_400)

    def count(self, path: str) -> None:
        """Record one call to `path`, raising 45009 when the daily quota is already used up."""
        limit = self._daily_limit(path)
        key = (path, self._day())
        if limit is not None and self._daily[key] >= limit:
            raise ApiError(45009)
        self._daily[key] += 1

    def count_minute(self, group: str, limit: int) -> None:
        """Record one call in a per-minute group, raising 45011 when over `limit`."""
        key = (group, int(self._clock() // 60))
        if self._minute[key] >= limit:
            raise ApiError(45011)
        self._minute[key] += 1

    def used(self, path: str) -> int:
        """Calls to `path` today."""
        return self._daily[(path, self._day())]

    def clear(self) -> None:
        """Reset every daily counter (what `clear_quota` does)."""
        self._daily.clear()
