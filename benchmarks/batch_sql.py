"""`python -m benchmarks.batch_sql`: SQLite time of one group-commit batch, statement by statement, no HTTP.

Runs the statements a batch of the bot runs (bot/store/sqlite.py: stored-reply lookup, follower upsert, inbound log,
dedupe rows) inside ``BEGIN IMMEDIATE`` … ``COMMIT`` on a fresh, migrated SQLite file, for keyword pushes (growing
MsgIds) and menu clicks (event keys), and prints µs per batch, with the schema as it is and as it was before
migration 0020 (the inbound log's ``(openid, received_at)`` index and openid-first event keys).
``--connections 2`` runs the batches on two connections in turn, as two `wxbot serve` workers do: a connection
that finds the database changed by another one starts from an empty page cache (SQLite in WAL mode), which is
what each batch of a worker pays when the other worker committed last.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from itertools import pairwise
from pathlib import Path

from bot.store.sqlite import (
    SQL_LOG,
    SQL_LOG_ROW,
    SQL_SEEN,
    SQL_SEEN_ROW,
    SQL_TOUCH_OR_ADD,
    SQL_TOUCH_OR_ADD_ROW,
    SQL_TOUCH_OR_ADD_TAIL,
    insert_rows,
    sql_stored,
)
from posts import db

FOLLOWERS = 5000
AT = "2026-11-26 08:00:00.000000"
STEPS = ("begin", "lookup", "follower", "log", "dedupe", "commit")


def _database(folder: Path, before_0020: bool) -> sqlite3.Connection:
    path = folder / "batch.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    if before_0020:
        conn.execute("DROP INDEX ix_inbound_event_event_key")
        conn.execute("CREATE INDEX ix_inbound_event_openid_received ON inbound_event (openid, received_at)")
    return conn


def run(scenario: str, batch: int, pushes: int, before_0020: bool, connections: int = 1) -> dict[str, float]:
    """µs per batch for each step, and in total; ``connections`` take the batches in turn."""
    rng = random.Random(7)
    reply = "x" * (2000 if scenario == "click" else 400)
    totals = dict.fromkeys(STEPS, 0.0)
    with tempfile.TemporaryDirectory() as folder:
        first_conn = _database(Path(folder), before_0020)
        conns = [first_conn] + [
            sqlite3.connect(Path(folder) / "batch.db", isolation_level=None) for _ in range(connections - 1)
        ]
        batches = pushes // batch
        for number in range(batches):
            conn = conns[number % connections]
            first = 1_000_000 + number * batch
            openids = [f"oBench{rng.randrange(FOLLOWERS):022d}" for _ in range(batch)]
            if scenario == "keyword":
                keys = [f"msg:{first + i}" for i in range(batch)]
                logged = [(o, "text", None, "你好", AT, "text", k) for o, k in zip(openids, keys, strict=True)]
            else:
                keys = [
                    f"evt:{o}:{first + i}:CLICK:TOC" if before_0020 else f"evt:{first + i}:{o}:CLICK:TOC"
                    for i, o in enumerate(openids)
                ]
                logged = [(o, "event", "CLICK", "TOC", AT, "text", k) for o, k in zip(openids, keys, strict=True)]
            size = 1 << (batch - 1).bit_length()
            times = [time.perf_counter()]
            conn.execute("BEGIN IMMEDIATE")
            times.append(time.perf_counter())
            conn.execute(sql_stored(size), keys + [keys[0]] * (size - batch)).fetchall()
            times.append(time.perf_counter())
            kind, message_at, event_at = ("message", AT, None) if scenario == "keyword" else ("click", None, AT)
            touched = [(o, AT, kind, message_at, event_at, AT) for o in dict.fromkeys(openids)]
            insert_rows(conn, SQL_TOUCH_OR_ADD, SQL_TOUCH_OR_ADD_ROW, touched, SQL_TOUCH_OR_ADD_TAIL)
            times.append(time.perf_counter())
            insert_rows(conn, SQL_LOG, SQL_LOG_ROW, logged)
            times.append(time.perf_counter())
            insert_rows(conn, SQL_SEEN, SQL_SEEN_ROW, [(k, AT, "text", reply) for k in keys])
            times.append(time.perf_counter())
            conn.execute("COMMIT")
            times.append(time.perf_counter())
            for step, (start, end) in zip(STEPS, pairwise(times), strict=True):
                totals[step] += end - start
        for conn in conns:
            conn.close()
    out = {step: value / batches * 1e6 for step, value in totals.items()}
    out["total"] = sum(out.values())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4, 16, 64], help="pushes per batch")
    parser.add_argument("--pushes", type=int, default=20000, help="pushes per measurement")
    parser.add_argument("--scenarios", default="keyword,click")
    parser.add_argument("--connections", type=int, default=1, help="connections taking the batches in turn")
    args = parser.parse_args()
    print(
        f"µs per batch ({args.pushes} pushes from {FOLLOWERS} followers per measurement, fresh database each, "
        f"{args.connections} connection(s) in turn)"
    )
    print(f"{'schema':<12}{'reply':<9}{'batch':>6}" + "".join(f"{s:>10}" for s in (*STEPS, "total")) + "  per push")
    for scenario in args.scenarios.split(","):
        for batch in args.batch:
            for before in (True, False):
                r = run(scenario, batch, args.pushes, before, args.connections)
                label = "before 0020" if before else "now"
                cells = "".join(f"{r[s]:>10.1f}" for s in (*STEPS, "total"))
                print(f"{label:<12}{scenario:<9}{batch:>6}{cells}  {r['total'] / batch:8.1f}")


if __name__ == "__main__":
    main()
