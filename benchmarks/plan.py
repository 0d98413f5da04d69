"""Benchmark: plan 100,000 followers into the ledger, then send to the stand-in (`python -m benchmarks.plan`)."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from posts import db, interactions
from posts.clock import system_clock as utcnow
from posts.loader import default_content_dir, load_catalog
from posts.models import Follower
from posts.posting import add_post
from posts.render import Renderer
from posts.settings import Settings, load_settings, replace
from scheduler.sender import Sender
from scheduler.wechat_api import make_api

TEMPLATE_ID = "tmpl_benchmark_000000000000000000000000001"
CONTENT = "update:xs228/2025-09-15-first-dosing"


def start_stand_in(followers: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """The stand-in in its own process, so its work does not share our interpreter."""
    args = [sys.executable, "-m", "sandbox", "--port", "0", "--followers", str(followers), "--template", TEMPLATE_ID]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def seed(sessions: Any, followers: int) -> None:
    now = utcnow()
    rows = []
    for i in range(followers):
        row: dict[str, Any] = {"openid": f"oSbx{i:024d}", "subscribed": True, "created_at": now}
        if i % 10 == 0:  # a tenth talked to the account an hour ago
            row.update(interactions.columns(interactions.classify("text"), now - timedelta(hours=1)))
        rows.append(row)
    with sessions() as session:
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Follower), rows[start : start + 10_000])
        session.commit()


def queue(sessions: Any, settings: Settings, channel: str) -> int:
    """A post to everyone due now: the update (auto), or a service notice by template (template_only)."""
    notice = channel == "template_only"
    with sessions() as session:
        post = add_post(
            session,
            content="text" if notice else CONTENT,
            text="周六 20:00 专家答疑" if notice else "",
            title="直播预告" if notice else "",
            purpose="notice" if notice else "",
            audience="all",
            channel=channel,
            by="bench",
            now=utcnow(),
            scheduling=settings.scheduler,
            send_at=None,
        )
        post.due_at = utcnow()
        session.commit()
        return post.id


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.plan", description=__doc__)
    ap.add_argument("--followers", type=int, default=100_000)
    ap.add_argument("--send", type=int, default=10_000, help="how many template messages to send (0: none)")
    args = ap.parse_args(argv)

    proc, info = start_stand_in(args.followers)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            settings = replace(
                load_settings(env={}),
                database={"url": url},
                wechat={
                    "app_id": info["app_id"],
                    "app_secret": info["app_secret"],
                    "token": info["token"],
                    "api_base_url": info["url"],
                    "templates": {"notice": {"template_id": TEMPLATE_ID, "thing1": "title", "time2": "time"}},
                },
                scheduler={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"},
            )
            engine = db.make_engine(url)
            db.upgrade(engine)
            sessions = db.session_factory(engine)
            catalog, _ = load_catalog(default_content_dir())
            renderer = Renderer(catalog, "https://als.example.org")
            seed(sessions, args.followers)
            api = make_api(settings, sessions)
            sender = Sender(settings, sessions, api, catalog, renderer)

            started = time.perf_counter()
            sender.prepare(queue(sessions, settings, "auto"))
            plan_seconds = time.perf_counter() - started
            tracemalloc.start()  # a second plan under tracemalloc (which slows allocation) for the memory peak
            sender.prepare(queue(sessions, settings, "auto"))
            _, plan_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"planned {args.followers:,} followers (auto) in {plan_seconds:.2f} s, "
                f"peak Python memory {plan_peak / 2**20:.0f} MB"
            )

            if args.send:
                http_seconds = [0.0]
                lock = threading.Lock()
                original = api.http.request

                def timed(*a: Any, **kw: Any) -> Any:
                    t0 = time.perf_counter()
                    try:
                        return original(*a, **kw)
                    finally:
                        with lock:
                            http_seconds[0] += time.perf_counter() - t0

                api.http.request = timed  # type: ignore[method-assign]
                post_id = queue(sessions, settings, "template_only")
                sender.prepare(post_id)
                stop = threading.Event()
                sent = [0]

                def progress(done: int, _total: int) -> None:
                    sent[0] = done
                    if done >= args.send:
                        stop.set()

                started = time.perf_counter()
                sender.deliver(post_id, progress, stop)
                send_seconds = time.perf_counter() - started
                ours = send_seconds - http_seconds[0]
                print(
                    f"sent {sent[0]:,} template messages in {send_seconds:.1f} s = {sent[0] / send_seconds:,.0f}/s; "
                    f"time in HTTP (stand-in + network) {http_seconds[0]:.1f} s, in our code {ours:.1f} s "
                    f"({ours / sent[0] * 1000:.2f} ms per message)"
                )
            api.close()
            engine.dispose()
    finally:
        proc.terminate()
        proc.wait()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak_rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
