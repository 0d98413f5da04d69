"""`python -m benchmarks.inprocess`: the /wechat WSGI app called in a loop, no HTTP server (per-push cost, profiles).

Builds the app as `wxbot serve` does (real content pack, Renderer, SQLite file in a temporary folder, everything
on: dedupe, log, follower update, stored reply) and replays pre-signed pushes straight into ``app(environ, ...)``.
``--threads N`` calls it from N threads at once (as granian's blocking threads do); ``--profile`` prints the top
of a cProfile of the request threads (merged) and of the group-commit writer thread.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.callback import AES_KEY, APP_ID, GH, TOKEN, write_requests


def build_app(folder: Path, mode: str) -> Any:
    from bot.app import create_app
    from posts import db
    from posts.content_sync import sync_catalog
    from posts.loader import default_content_dir, load_catalog
    from posts.render import Renderer
    from posts.settings import Settings, replace

    url = f"sqlite:///{folder / 'bench.db'}"
    settings = replace(
        Settings(),
        database={"url": url},
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
        sync_catalog(session, catalog)
    return create_app(settings, sessions, catalog, Renderer(catalog, "http://127.0.0.1"))


def environs(folder: Path, mode: str, scenario: str, count: int) -> list[tuple[str, bytes]]:
    file = folder / f"req-{mode}-{scenario}.txt"
    write_requests(file, mode, scenario, count)
    out = []
    for line in file.read_text(encoding="utf-8").splitlines():
        path, body = line.split("\t", 1)
        out.append((path, body.encode("utf-8")))
    return out


def call(app: Any, path: str, body: bytes) -> bytes:
    parts = urlsplit(path)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "text/xml",
        "wsgi.input": io.BytesIO(body),
    }
    status: list[str] = []
    out = b"".join(app(environ, lambda s, h, *a: status.append(s)))
    if not status or not status[0].startswith("200") or not out:
        raise RuntimeError(f"unexpected answer {status} {out[:100]!r}")
    return out


def _replay(app: Any, requests: list[tuple[str, bytes]], profilers: list[cProfile.Profile] | None = None) -> None:
    profiler = cProfile.Profile() if profilers is not None else None
    if profiler is not None:
        profilers.append(profiler)  # type: ignore[union-attr]
        profiler.enable()
    for path, body in requests:
        call(app, path, body)
    if profiler is not None:
        profiler.disable()


def _profile_writer(app: Any) -> cProfile.Profile | None:
    """Profile the group-commit writer thread too (cProfile only sees the thread that enables it)."""
    group = getattr(app.callback.dispatch, "group", None)
    if group is None:
        return None
    profiler = cProfile.Profile()
    run_batch = group._run_batch

    def profiled(conn: Any, batch: Any) -> Any:
        profiler.enable()
        try:
            return run_batch(conn, batch)
        finally:
            profiler.disable()

    group._run_batch = profiled
    return profiler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--modes", default="plain,aes")
    parser.add_argument("--scenarios", default="keyword,click")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (cumulative, tottime...)")
    args = parser.parse_args()
    for mode in args.modes.split(","):
        with tempfile.TemporaryDirectory(prefix="wxbot-inproc-") as tmp:
            folder = Path(tmp)
            app = build_app(folder, mode)
            for scenario in args.scenarios.split(","):
                requests = environs(folder, mode, scenario, args.count)
                for path, body in requests[:50]:  # warm-up (caches, connections)
                    call(app, path, body)
                requests = requests[50:]
                profilers: list[cProfile.Profile] | None = [] if args.profile else None
                writer_profiler = _profile_writer(app) if args.profile else None
                started, cpu_started = time.perf_counter(), time.process_time()
                chunks = [requests[i :: args.threads] for i in range(args.threads)]
                workers = [threading.Thread(target=_replay, args=(app, c, profilers)) for c in chunks]
                for w in workers:
                    w.start()
                for w in workers:
                    w.join()
                elapsed = time.perf_counter() - started
                cpu = (time.process_time() - cpu_started) / len(requests) * 1e6
                per = elapsed / len(requests) * 1e6
                rate = len(requests) / elapsed
                group = getattr(app.callback.dispatch, "group", None)
                batch = f", {group.pushes / group.batches:.1f} pushes per commit" if group and group.batches else ""
                print(
                    f"{mode:5} {scenario:7} threads={args.threads}: {per:7.1f} µs/push wall, {cpu:6.1f} µs CPU "
                    f"({rate:.0f}/s{batch})"
                )
                if profilers:
                    for title, profs in (("request threads", profilers), ("writer thread", [writer_profiler])):
                        if profs and profs[0] is not None:
                            stream = io.StringIO()
                            stats = pstats.Stats(*profs, stream=stream)  # type: ignore[arg-type]
                            stats.sort_stats(args.sort).print_stats(args.top)
                            print(f"--- {title} ---")
                            print(stream.getvalue())
            close = getattr(app, "close", None)
            if close:
                close()


if __name__ == "__main__":
    main()
