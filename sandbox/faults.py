"""Run-time fault injection per API path: system busy (-1), forced errcodes, slow answers, dropped sockets.

`slow` and `drop` act before the request is served (nothing happens on the platform); `late` and
`drop_answer` serve it first (a message is delivered) and then hold the answer for `delay` seconds or
close the connection without one: the lost answers a client cannot tell from a request that never arrived.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal

FaultKind = Literal["busy", "error", "slow", "drop", "late", "drop_answer"]
FAULT_KINDS: tuple[str, ...] = ("busy", "error", "slow", "drop", "late", "drop_answer")
AFTER_SERVING: frozenset[str] = frozenset({"late", "drop_answer"})
"""Kinds that let the request take effect and only then spoil its answer."""


def normalize_path(path: str) -> str:
    """`menu/create` and `/cgi-bin/menu/create` name the same endpoint; `*` means every API path."""
    if path == "*" or path.startswith("/"):
        return path
    return "/cgi-bin/" + path


@dataclass
class Fault:
    """One injected fault; `remaining=None` means it never runs out."""

    path: str
    kind: FaultKind
    remaining: int | None = 1
    delay: float = 0.0
    errcode: int = -1
    every: int = 1
    """Strike one matching request in ``every`` (the every-th, 2×every-th...): 5 means a fifth of the calls."""
    seen: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return asdict(self)


class FaultInjector:
    """Holds the active faults; each matching request consumes one use of every matching fault."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def inject(
        self,
        path: str,
        kind: FaultKind,
        count: int | None = 1,
        *,
        delay: float = 0.0,
        errcode: int | None = None,
        every: int = 1,
    ) -> Fault:
        """Make the next `count` calls to `path` fail in the given way (`count=None`: until cleared).

        With ``every=n`` only one matching call in n fails (the n-th, the 2n-th...); `count` counts the failures.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        if kind in ("slow", "late") and delay <= 0:
            raise ValueError(f"a {kind} fault needs delay > 0")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 or None")
        if every < 1:
            raise ValueError("every must be >= 1")
        code = errcode if errcode is not None else -1
        fault = Fault(normalize_path(path), kind, count, float(delay), code, int(every))
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self, path: str | None = None) -> None:
        """Remove all faults, or only those of one path."""
        with self._lock:
            if path is None:
                self._faults.clear()
            else:
                target = normalize_path(path)
                self._faults = [f for f in self._faults if f.path != target]

    def active(self) -> list[Fault]:
        """Snapshot of the faults still armed."""
        with self._lock:
            return [Fault(**asdict(f)) for f in self._faults]

    def take(self, path: str) -> list[Fault]:
        """Consume and return the faults that apply to one request to `path`."""
        hits: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.path in (path, "*"):
                    fault.seen += 1
                    if fault.seen % fault.every:
                        continue
                    hits.append(Fault(**asdict(fault)))
                    if fault.remaining is not None:
                        fault.remaining -= 1
            self._faults = [f for f in self._faults if f.remaining is None or f.remaining > 0]
        return hits
