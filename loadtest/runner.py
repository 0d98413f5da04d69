"""Open-loop, fixed-rate runner: request i is due at start + i/rate; latency counts from that due time."""

from __future__ import annotations

import http.client
import queue
import threading
import time
from dataclasses import dataclass, field

from loadtest.pushes import Push


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    """Seconds from each request's due time to its complete answer (coordinated omission corrected)."""
    errors: dict[str, int] = field(default_factory=dict)
    empty: int = 0
    """200 answers with an empty body (no reply)."""
    sent: int = 0
    elapsed: float = 0.0

    def error_count(self) -> int:
        return sum(self.errors.values())


def _worker(host: str, port: int, jobs: queue.Queue, outcome: Outcome, lock: threading.Lock, timeout: float) -> None:
    conn: http.client.HTTPConnection | None = None
    while True:
        job = jobs.get()
        if job is None:
            break
        due, push = job
        error: str | None = None
        empty = False
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            conn.request("POST", push.path, body=push.body, headers={"Content-Type": "text/xml"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                error = f"HTTP {resp.status}"
            empty = not body
        except (OSError, http.client.HTTPException) as exc:
            error = type(exc).__name__
            if conn is not None:
                conn.close()
            conn = None
        finished = time.monotonic()
        with lock:
            outcome.sent += 1
            if error:
                outcome.errors[error] = outcome.errors.get(error, 0) + 1
            else:
                outcome.latencies.append(finished - due)
                outcome.empty += empty
    if conn is not None:
        conn.close()


def run(host: str, port: int, pushes: list[Push], rate: float, threads: int, timeout: float = 10.0) -> Outcome:
    """Send ``pushes`` at ``rate`` per second over ``threads`` keep-alive connections; bounded by their count."""
    outcome = Outcome()
    lock = threading.Lock()
    jobs: queue.Queue = queue.Queue()
    pool = [
        threading.Thread(target=_worker, args=(host, port, jobs, outcome, lock, timeout), daemon=True)
        for _ in range(threads)
    ]
    for thread in pool:
        thread.start()
    start = time.monotonic()
    for i, push in enumerate(pushes):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        jobs.put((due, push))
    for _ in pool:
        jobs.put(None)
    for thread in pool:
        thread.join(timeout + 5)
    outcome.elapsed = time.monotonic() - start
    return outcome
