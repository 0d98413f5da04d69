"""Prometheus metrics of the web app, in a registry of its own.

The hot path (one /wechat push) only bumps plain counters under one lock: ``prometheus_client``'s ``Counter.inc``
and ``Histogram.observe`` cost a lock and several Python calls each (~6 µs per push for the four of them). The
registry reads the counters through a collector when /metrics is scraped; the exposed names, labels and values are
the ones ``Counter``/``Histogram`` would give.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, int], int] = {}
        self._replies: dict[str, int] = {}
        self._duplicates = 0
        self._buckets = [0] * (len(BUCKETS) + 1)  # the last one is +Inf
        self._sum = 0.0
        self.registry.register(_Collector(self))

    def count_request(self, route: str, status: int) -> None:
        key = (route, status)
        with self._lock:
            self._requests[key] = self._requests.get(key, 0) + 1

    def count_reply(self, kind: str) -> None:
        with self._lock:
            self._replies[kind] = self._replies.get(kind, 0) + 1

    def observe(self, seconds: float) -> None:
        """One /wechat answer took ``seconds`` (``wxbot_callback_seconds``)."""
        index = bisect_left(BUCKETS, seconds)
        with self._lock:
            self._buckets[index] += 1
            self._sum += seconds

    def push(self, seconds: float, kind: str, duplicate: bool) -> None:
        """An answered push: its latency, its reply kind and whether it was a redelivery, under one lock."""
        index = bisect_left(BUCKETS, seconds)
        with self._lock:
            self._buckets[index] += 1
            self._sum += seconds
            self._replies[kind] = self._replies.get(kind, 0) + 1
            if duplicate:
                self._duplicates += 1

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def _collect(self) -> Iterator[Metric]:
        with self._lock:
            requests = dict(self._requests)
            replies = dict(self._replies)
            duplicates = self._duplicates
            buckets = list(self._buckets)
            total = self._sum
        family = CounterMetricFamily(
            "wxbot_http_requests", "HTTP requests by route and status.", labels=["route", "status"]
        )
        for (route, status), value in requests.items():
            family.add_metric([route, str(status)], value)
        yield family
        family = CounterMetricFamily("wxbot_replies", "Passive replies by kind.", labels=["kind"])
        for kind, value in replies.items():
            family.add_metric([kind], value)
        yield family
        yield CounterMetricFamily(
            "wxbot_duplicates_dropped", "Redelivered pushes answered from the stored reply.", value=duplicates
        )
        cumulative, running = [], 0
        for bound, count in zip((*[repr(float(b)) for b in BUCKETS], "+Inf"), buckets, strict=True):
            running += count
            cumulative.append((bound, running))
        yield HistogramMetricFamily(
            "wxbot_callback_seconds", "Time to answer a /wechat push.", buckets=cumulative, sum_value=total
        )


class _Collector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self.metrics._collect()
