"""`python -m benchmarks.inprocess`: the /wechat app called in a loop, no sockets (per-push cost, profiles).

Builds the app as `wxbot serve` does (real content pack, Renderer, SQLite file in a temporary folder, everything
on: dedupe, log, follower update, stored reply, group commit) and replays pre-signed pushes as HTTP/1.1 bytes
straight into `wxbot serve`'s connection protocol (bot.http1) on one event loop, ``--concurrency N`` connections
at once, each sending its next push after its answer. Only the sockets are missing, so ``--profile`` (cProfile of
the loop) sees the whole push: HTTP parse, push parse, reply, batch, commit, response bytes.
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
from uuid import uuid4

try:  # the loop `wxbot serve` runs (wxbot.workers)
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
    write_requests,
)
from benchmarks.scratchdb import drop_databases


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


class _Transport:
    """The part of an asyncio transport the connection uses: what it writes settles the waiting future."""

    def __init__(self) -> None:
        self.answer: asyncio.Future[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(data)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def raw_request(path: str, body: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/xml\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode("ascii") + body


async def _replay(server: Any, requests: list[tuple[str, bytes]], concurrency: int) -> None:
    from bot.http1 import HttpConnection

    pending: Iterator[bytes] = (raw_request(path, body) for path, body in requests)
    loop = asyncio.get_running_loop()

    async def one_connection() -> None:  # a keep-alive connection: its next push after its answer
        transport = _Transport()
        connection = HttpConnection(server)
        connection.connection_made(transport)
        for raw in pending:
            transport.answer = loop.create_future()
            connection.data_received(raw)
            answer = await transport.answer
            if not answer.startswith(b"HTTP/1.1 200 ") or answer.endswith(b"\r\n\r\n"):
                raise RuntimeError(f"unexpected answer {answer[:200]!r}")
        connection.connection_lost(None)

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
    from bot.http1 import HttpServer

    for mode in args.modes.split(","):
        created: list[str] = []
        with tempfile.TemporaryDirectory(prefix="wxbot-inproc-") as tmp:
            folder = Path(tmp)
            url = ""
            if args.database == "postgres":
                url = _create_database(args.pg_admin_url, f"wxbot_inproc_{mode}_{uuid4().hex[:8]}", created)
            store = args.store or ("group_commit" if args.database == "postgres" else "auto")
            web = build_app(folder, mode, url, store, args.writers)
            server = HttpServer(web)
            loop = uvloop.new_event_loop() if uvloop is not None else asyncio.new_event_loop()
            for scenario in args.scenarios.split(","):
                requests = environs(folder, mode, scenario, args.count)
                loop.run_until_complete(_replay(server, requests[:50], 1))  # warm-up (caches, connections)
                requests = requests[50:]
                group = getattr(web.dispatcher.store, "group", web.dispatcher.store)
                group = group if hasattr(group, "batches") else None
                before = (group.batches, group.pushes) if group else (0, 0)
                profiler = cProfile.Profile() if args.profile else None
                started, cpu_started = time.perf_counter(), time.process_time()
                if profiler:
                    profiler.enable()
                loop.run_until_complete(_replay(server, requests, args.concurrency))
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
        drop_databases(args.pg_admin_url, created)


if __name__ == "__main__":
    main()
