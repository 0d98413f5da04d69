"""`python -m benchmarks.inprocess`: the /wechat app called in a loop, no HTTP server (per-push cost, profiles).

Builds the app as `wxbot serve` does (real content pack, Renderer, SQLite file in a temporary folder, everything
on: dedupe, log, follower update, stored reply, group commit) and replays pre-signed pushes straight into the RSGI
app on one event loop, ``--concurrency N`` of them in flight at once (as granian hands them to a worker's loop).
Everything runs on that loop, so ``--profile`` (cProfile of it) sees the whole push: parse, reply, batch, commit.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

try:  # the loop `wxbot serve` runs (granian with Loops.uvloop)
    import uvloop
except ImportError:  # pragma: no cover - Windows
    uvloop = None  # type: ignore[assignment]

from benchmarks.callback import (
    AES_KEY,
    APP_ID,
    GH,
    PG_ADMIN_URL,
    TOKEN,
    _create_database,
    _drop_databases,
    write_requests,
)


def build_app(folder: Path, mode: str, url: str = "", store: str = "auto", writers: int = 1) -> Any:
    from posts import db
    from posts.clock import system_clock
    from posts.content_sync import sync_catalog
    from posts.loader import default_content_dir, load_catalog
    from posts.render import Renderer
    from posts.settings import Settings, replace
    from wxbot.runtime import bot_app

    url = url or f"sqlite:///{folder / 'bench.db'}"
    settings = replace(
        Settings(),
        database={"url": url},
        server={"store": store, "writers": writers},
        wechat={
            "app_id": APP_ID,
            "token": TOKEN,
            "encoding_aes_key": AES_KEY,
            "original_id": GH,
            "message_mode": "safe" if mode == "aes" else "plain",
        },
    )
    engine = db.make_engine(url)
    db.upgrade(engine)
    catalog, _ = load_catalog(default_content_dir())
    sessions = db.session_factory(engine)
    with db.session_scope(sessions) as session:
        sync_catalog(session, catalog, system_clock())
    return bot_app(settings, sessions, catalog, Renderer(catalog, "http://127.0.0.1"))


def environs(folder: Path, mode: str, scenario: str, count: int) -> list[tuple[str, bytes]]:
    file = folder / f"req-{mode}-{scenario}.txt"
    write_requests(file, mode, scenario, count)
    out = []
    for line in file.read_text(encoding="utf-8").splitlines():
        path, body = line.split("\t", 1)
        out.append((path, body.encode("utf-8")))
    return out


class _Headers(dict[str, str]):
    pass


class _Scope:
    """The part of granian's RSGI scope the app reads."""

    proto = "http"
    method = "POST"

    def __init__(self, path: str, query: str, length: int) -> None:
        self.path = path
        self.query_string = query
        self.headers = _Headers({"content-length": str(length), "content-type": "text/xml"})


class _Protocol:
    """The part of granian's RSGI HTTP protocol the app uses: the body in, one response out."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.status = 0
        self.answer = b""

    async def __call__(self) -> bytes:
        return self.body

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status, self.answer = status, body


async def call(app: Any, path: str, body: bytes) -> bytes:
    parts = urlsplit(path)
    protocol = _Protocol(body)
    await app.__rsgi__(_Scope(parts.path, parts.query, len(body)), protocol)
    if protocol.status != 200 or not protocol.answer:
        raise RuntimeError(f"unexpected answer {protocol.status} {protocol.answer[:100]!r}")
    return protocol.answer


async def _replay(app: Any, requests: list[tuple[str, bytes]], concurrency: int) -> None:
    pending: Iterator[tuple[str, bytes]] = iter(requests)

    async def one_connection() -> None:  # like a keep-alive connection: its next push after its answer
        for path, body in pending:
            await call(app, path, body)

    await asyncio.gather(*(one_connection() for _ in range(concurrency)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--modes", default="plain,aes")
    parser.add_argument("--scenarios", default="keyword,click")
    parser.add_argument("--concurrency", type=int, default=16, help="pushes in flight at once")
    parser.add_argument("--database", default="sqlite", help="sqlite (a temporary file) or postgres")
    parser.add_argument("--store", default="", help="server.store (default: auto; group_commit on PostgreSQL)")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--writers", type=int, default=1, help="server.writers (PostgreSQL group commit)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (cumulative, tottime...)")
    args = parser.parse_args()
    from bot.rsgi import RsgiApp

    for mode in args.modes.split(","):
        created: list[str] = []
        with tempfile.TemporaryDirectory(prefix="wxbot-inproc-") as tmp:
            folder = Path(tmp)
            url = ""
            if args.database == "postgres":
                url = _create_database(args.pg_admin_url, f"wxbot_inproc_{mode}_{uuid4().hex[:8]}", created)
            store = args.store or ("group_commit" if args.database == "postgres" else "auto")
            web = build_app(folder, mode, url, store, args.writers)
            app = RsgiApp(web)
            loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
            for scenario in args.scenarios.split(","):
                requests = environs(folder, mode, scenario, args.count)
                loop.run_until_complete(_replay(app, requests[:50], 1))  # warm-up (caches, connections)
                requests = requests[50:]
                group = getattr(web.dispatcher.store, "group", web.dispatcher.store)
                group = group if hasattr(group, "batches") else None
                before = (group.batches, group.pushes) if group else (0, 0)
                profiler = cProfile.Profile() if args.profile else None
                started, cpu_started = time.perf_counter(), time.process_time()
                if profiler:
                    profiler.enable()
                loop.run_until_complete(_replay(app, requests, args.concurrency))
                if profiler:
                    profiler.disable()
                elapsed = time.perf_counter() - started
                cpu = (time.process_time() - cpu_started) / len(requests) * 1e6
                per = elapsed / len(requests) * 1e6
                batches = (group.batches - before[0]) if group else 0
                batch = f", {(group.pushes - before[1]) / batches:.1f} pushes per commit" if group and batches else ""
                print(
                    f"{mode:5} {scenario:7} concurrency={args.concurrency}: {per:7.1f} µs/push wall, "
                    f"{cpu:6.1f} µs CPU ({len(requests) / elapsed:.0f}/s{batch})"
                )
                if profiler:
                    stream = io.StringIO()
                    pstats.Stats(profiler, stream=stream).sort_stats(args.sort).print_stats(args.top)
                    print(stream.getvalue())
            loop.close()
            web.close()
        _drop_databases(args.pg_admin_url, created)


if __name__ == "__main__":
    main()
