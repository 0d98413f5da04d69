"""A running demo (stand-in + bot + scheduler) on ephemeral ports, for end-to-end and browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from posts.settings import Settings
from wxbot.demo import Demo


@pytest.fixture
def demo(settings: Settings, tmp_path: Path) -> Iterator[Demo]:
    running = Demo(settings, port=0, database=tmp_path / "demo.db").start()
    try:
        yield running
    finally:
        running.stop()
