"""Percentiles, the server's memory and the one-line JSON report."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from loadtest.runner import Outcome


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (`wxbot serve`'s workers), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    tree, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def rss_mib(pid: int | None) -> float | None:
    """Resident memory of ``pid`` and its descendants, in MiB (None without a pid)."""
    if pid is None:
        return None
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


def summary(outcome: Outcome, rate: float, rss_start: float | None, rss_end: float | None) -> dict[str, Any]:
    lat = outcome.latencies
    growth = None if not rss_start or rss_end is None else round((rss_end - rss_start) / rss_start * 100, 1)
    return {
        "rate": rate,
        "sent": outcome.sent,
        "ok": len(lat),
        "empty_replies": outcome.empty,
        "errors": outcome.error_count(),
        "error_kinds": outcome.errors,
        "elapsed_s": round(outcome.elapsed, 1),
        "achieved_rate": round(outcome.sent / outcome.elapsed, 1) if outcome.elapsed else 0.0,
        "p50_ms": round(percentile(lat, 50) * 1000, 1),
        "p95_ms": round(percentile(lat, 95) * 1000, 1),
        "p99_ms": round(percentile(lat, 99) * 1000, 1),
        "max_ms": round(max(lat, default=0.0) * 1000, 1),
        "rss_start_mib": rss_start,
        "rss_end_mib": rss_end,
        "rss_growth_pct": growth,
    }
