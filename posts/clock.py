"""The product's one clock: every time the product stores or compares comes from a ``Clock`` it was given.

The composition root (``wxbot/``) hands :func:`system_clock` down; tests hand a fake one. Nothing else in the
product reads the wall clock (``tests/test_clock.py`` guards this).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A callable giving the current time, timezone-aware."""


def system_clock() -> datetime:
    """The wall clock, in UTC: the only place the product reads it."""
    return datetime.now(UTC)
