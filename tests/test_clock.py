"""One clock: no model column takes its time from the wall, and only posts/clock.py reads the wall clock."""

from __future__ import annotations

import re
from pathlib import Path

from posts.models import UTCDateTime
from posts.schema import metadata

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("bot", "console", "posts", "scheduler", "wxbot")
WALL_CLOCK = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|time\.time\(|\butcnow\(")


def test_no_model_column_has_a_python_side_time_default() -> None:
    """The product sets every stored time from its clock; a default would take it from the wall behind its back."""
    timed = [
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, UTCDateTime) and (column.default is not None or column.onupdate is not None)
    ]
    assert timed == []


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts and path != ROOT / "posts" / "clock.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if WALL_CLOCK.search(line)
    ]
    assert readers == []
