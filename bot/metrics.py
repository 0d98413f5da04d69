"""Prometheus metrics of the web app, in a registry of its own."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "wxbot_http_requests", "HTTP requests by route and status.", ["route", "status"], registry=self.registry
        )
        self.replies = Counter("wxbot_replies", "Passive replies by kind.", ["kind"], registry=self.registry)
        self.duplicates = Counter(
            "wxbot_duplicates_dropped", "Redelivered pushes answered from the stored reply.", registry=self.registry
        )
        self.latency = Histogram(
            "wxbot_callback_seconds",
            "Time to answer a /wechat push.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )

        self._children: dict[tuple[str, ...], Any] = {}

    def count_request(self, route: str, status: int) -> None:
        key = ("req", route, str(status))
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(route, str(status))
        child.inc()

    def count_reply(self, kind: str) -> None:
        key = ("reply", kind)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.replies.labels(kind)
        child.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
