"""A controllable clock for tests (the platform takes any `Callable[[], float]`)."""

from __future__ import annotations

import threading
import time


class FakeClock:
    """Manual clock: starts at `start` (default: real now) and moves only with `advance`/`set`."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by `seconds` and return the new time."""
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> None:
        """Jump to an absolute Unix time."""
        with self._lock:
            self._now = float(when)
