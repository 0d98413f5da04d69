"""The test run under libfaketime (.ci/run's faked dates) with the monotonic clock left real.

libfaketime 0.9.10 has to leave CLOCK_MONOTONIC alone here: faked, every wait with a timeout (locks,
``Event.wait``, APScheduler's loop) sleeps until the real monotonic clock reaches the faked one, i.e.
for good. Left real, its ``clock_nanosleep`` wrapper still shifts Python's absolute monotonic deadlines
and ``time.sleep`` fails with EINVAL, so :func:`install` makes ``time.sleep`` wait on an event instead.
Nothing changes outside such a run.
"""

from __future__ import annotations

import os
import threading
import time


def under_faketime() -> bool:
    return "faketime" in os.environ.get("LD_PRELOAD", "") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1"


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(seconds)


def install() -> None:
    if under_faketime():
        time.sleep = _sleep
