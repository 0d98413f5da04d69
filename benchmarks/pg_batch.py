"""`python -m benchmarks.pg_batch`: PostgreSQL's own cost of one group-commit batch of content-only pushes.

Runs the very statement a `wxbot serve` worker runs for a batch on its event loop (bot/store/postgres.py:
``SQL_BATCH``, built by its own code from menu-click pushes of 5,000 followers) on a fresh, migrated database of
the local PostgreSQL service, in autocommit as the worker does, and prints for each batch size the wall time of
the statement and the CPU its backend spent (read from /proc: the service must run on this machine), per batch
and per push. No HTTP, no second worker: what PostgreSQL itself needs, whatever the server in front of it.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from uuid import uuid4

from benchmarks.scratchdb import scratch_database
from bot.message import Inbound
from bot.store import Job
from bot.store.postgres import SQL_BATCH, SQL_KEYS_ONLY, _OneStatement
from bot.xmlin import parse_fields
from posts import db

FOLLOWERS = 5000
REPLY = "<xml>" + "x" * 400 + "</xml>"
"""A menu reply's size (the table of contents with the disclaimer)."""
AT = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _click(openid: str, create_time: int) -> Inbound:
    xml = (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[TOC]]></EventKey></xml>"
    )
    return Inbound.from_fields(parse_fields(xml.encode("utf-8")))


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def run(conninfo: str, sizes: list[int], batches: int, followers: int = FOLLOWERS) -> dict[int, tuple[float, float]]:
    """For each batch size: (median wall µs of the statement, backend CPU µs per batch), ``followers`` known."""
    import psycopg

    rng = random.Random(7)
    openids = [f"oBench{n:022d}" for n in range(followers)]
    tick = iter(range(1_764_000_000, 1_764_000_000 + 10**9))
    figures: dict[int, tuple[float, float]] = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        conn.execute(SQL_KEYS_ONLY)  # as the worker's connection runs

        def batch(size: int) -> str:
            at = AT + timedelta(seconds=next(tick) % 86_400)
            jobs = [Job(_click(rng.choice(openids), next(tick)), at, rendered=(REPLY, "text")) for _ in range(size)]
            return _OneStatement(jobs).payload()

        for start in range(0, followers, 500):  # every follower exists, as after a day of traffic
            conn.execute(
                SQL_BATCH,
                (
                    _OneStatement(
                        [
                            Job(_click(openid, next(tick)), AT, rendered=(REPLY, "text"))
                            for openid in openids[start : start + 500]
                        ]
                    ).payload(),
                ),
            )
        for size in sizes:
            for _ in range(10):  # prepared after 5 runs, as on a worker's connection
                conn.execute(SQL_BATCH, (batch(size),)).fetchall()
            walls: list[float] = []
            cpu_before = _backend_cpu(pid)
            for _ in range(batches):
                payload = batch(size)
                started = time.perf_counter()
                conn.execute(SQL_BATCH, (payload,)).fetchall()
                walls.append(time.perf_counter() - started)
            figures[size] = (median(walls) * 1e6, (_backend_cpu(pid) - cpu_before) / batches * 1e6)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,8,16,64", help="pushes per batch")
    parser.add_argument("--batches", type=int, default=400, help="batches per size")
    parser.add_argument("--followers", type=int, default=FOLLOWERS, help="followers in the table")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("WXBOT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL database to create the bench's in",
    )
    args = parser.parse_args()
    from sqlalchemy.engine import make_url

    with scratch_database(args.pg_admin_url, f"wxbot_pg_batch_{uuid4().hex[:8]}") as database_url:
        url = make_url(database_url)
        engine = db.make_engine(database_url)
        db.upgrade(engine)
        engine.dispose()
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        sizes = [int(s) for s in args.sizes.split(",")]
        print(f"SQL_BATCH of menu clicks, {args.followers} followers, {args.batches} batches per size, autocommit")
        print("| pushes per batch | wall µs (median) | backend CPU µs per batch | per push |")
        print("| --- | --- | --- | --- |")
        for size, (wall, cpu) in run(conninfo, sizes, args.batches, args.followers).items():
            print(f"| {size} | {wall:.0f} | {cpu:.0f} | {cpu / size:.0f} |")


if __name__ == "__main__":
    main()
