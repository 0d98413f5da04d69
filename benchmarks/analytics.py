"""`python -m benchmarks.analytics`: a year of generated rows for 100,000 followers, on SQLite and PostgreSQL,
and the time of each analytics table's query (posts/analytics.py) for the last 30 days and for the whole year.

Per follower and year: 1.3 follows, 0.4 unfollows, 10 menu taps, 10 texts; a push a week to a fifth of them
(deliveries, confirmations, unfollows after it); 300 page paths' views per day. The rollup (posts/rollup.py)
then summarises the closed days, as the scheduler's hourly job does. Target: each query < 200 ms.
PostgreSQL: a database of its own on 127.0.0.1:5432 (``--pg``), dropped after. ``--scale 0.1`` for a quick run.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.scratchdb import scratch_database
from posts import analytics, db, rollup
from posts.analytics import Span
from posts.loader import default_content_dir, load_catalog

TZ = "Asia/Shanghai"
END = datetime(2026, 12, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
TEXTS = ("帮助", "目录", "订阅 NurOwn", "最新进展", "NurOwn", "你好", "我爸爸手抖是不是渐冻症")
CLICKS = ("TOC", "HELP", "MY_SUBSCRIPTIONS", "SUBSCRIBE", "SECTION_1", "SECTION_2", "THERAPY_NUROWN_CARD")
SCENES = (None, "clinic-poster", "ward-leaflet", "conference", "pharmacy")
BATCH = 20_000


def _at(rng: random.Random) -> datetime:
    return END - timedelta(seconds=rng.uniform(0, YEAR.total_seconds()))


def generate(sessions: sessionmaker[Session], followers: int, seed: int = 16) -> dict[str, int]:
    """The rows, written in time order (as the product writes them) through the driver's bulk path."""
    rng = random.Random(seed)
    people, events = [], []
    for n in range(followers):
        openid, first, scene = f"o{n:07d}", _at(rng), rng.choice(SCENES)
        people.append((openid, True, scene, first, first, "s"))
        events.append((first, "event", "subscribe", f"qrscene_{scene}" if scene else None, openid))
        if rng.random() < 0.3:
            events.append((_at(rng), "event", "subscribe", None, openid))
        if rng.random() < 0.4:
            events.append((first + timedelta(days=rng.expovariate(1 / 20)), "event", "unsubscribe", None, openid))
        for _ in range(rng.randrange(21)):
            events.append((_at(rng), "event", "click", rng.choice(CLICKS), openid))
        for _ in range(rng.randrange(21)):
            events.append((_at(rng), "text", None, rng.choice(TEXTS), openid))
    posts, deliveries = [], []
    for week in range(52):
        started = END - YEAR + timedelta(weeks=week, hours=2)
        picked = rng.sample(range(followers), followers // 5)
        posts.append((week + 1, started, started + timedelta(seconds=len(picked) // 50)))
        for i, n in enumerate(picked):
            sent = started + timedelta(seconds=i // 50)
            confirmed = started + timedelta(minutes=2) if i % 3 else None
            deliveries.append((week + 1, f"o{n:07d}", rng.choice(("custom", "template")), "sent", 1, sent, confirmed))
        for i in picked[: len(picked) // 200]:
            events.append((started + timedelta(hours=rng.uniform(0, 30)), "event", "unsubscribe", None, f"o{i:07d}"))
    events = [e for e in events if e[0] < END]
    events.sort()
    first_day = (END - YEAR).astimezone(ZoneInfo(TZ)).date()
    midnight = datetime.min.time()
    flushed = [datetime.combine(first_day + timedelta(days=d + 1), midnight, ZoneInfo(TZ)) for d in range(365)]
    views = [(first_day + timedelta(days=day), f"/p/review/{path}", rng.randrange(1, 60), min(flushed[day], END))
             for day in range(365) for path in range(300)]  # fmt: skip
    with sessions() as session:
        bulk(session, "follower", ("openid", "subscribed", "scene_key", "first_followed_at", "created_at", "script"),
             people)  # fmt: skip
        bulk(session, "inbound_event", ("received_at", "msg_type", "event", "key", "openid", "reply_kind"),
             [(*e, "text") for e in events])  # fmt: skip
        bulk(session, "post", ("id", "content", "audience", "channel", "status", "created_by", "data", "text",
                               "created_at", "started_at", "finished_at"),
             [(i, "update:nurown/2025-04-10-ind-amendment", "therapy:nurown", "auto", "sent", "bench", "{}", "", at, at,
               done) for i, at, done in posts])  # fmt: skip
        bulk(session, "delivery", ("post_id", "openid", "channel", "state", "attempts", "sent_at", "confirmed_at"),
             deliveries)  # fmt: skip
        bulk(session, "page_view", ("day", "path", "views", "counted_at"), views)
        if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
            session.execute(text("SELECT setval('post_id_seq', (SELECT max(id) FROM post))"))
        session.commit()
    return {"followers": followers, "inbound_event": len(events), "delivery": len(deliveries), "page_view": len(views)}


def bulk(session: Session, table: str, columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    """COPY on PostgreSQL; executemany with the stored text of each datetime (naive UTC) on SQLite."""
    raw = session.connection().connection.dbapi_connection
    names = ", ".join(columns)
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return

    def stored(value: object) -> object:
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value.isoformat() if isinstance(value, date) else value

    marks = ", ".join("?" * len(columns))
    cursor = raw.cursor()  # type: ignore[union-attr]
    for start in range(0, len(rows), BATCH):
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                           [tuple(stored(v) for v in row) for row in rows[start : start + BATCH]])  # fmt: skip


def time_queries(sessions: sessionmaker[Session], label: str) -> list[tuple[str, str, float]]:
    catalog, _ = load_catalog(default_content_dir())
    today = END.date() - timedelta(days=1)
    results = []
    for span_name, span in (("30 days", Span.ending(today, 30, TZ)), ("365 days", Span.ending(today, 365, TZ))):
        for name in analytics.TABLES:
            best = float("inf")
            for _ in range(3):
                with sessions() as session:
                    started = time.perf_counter()
                    analytics.table_rows(name, session, span, catalog)
                    best = min(best, time.perf_counter() - started)
            results.append((span_name, name, best * 1000))
            print(f"{label:10} {span_name:8} {name:9} {best * 1000:8.1f} ms", flush=True)
    return results


def run(url: str, label: str, followers: int) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    sessions = db.session_factory(engine)
    started = time.perf_counter()
    counts = generate(sessions, followers)
    if label == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    print(f"{label}: generated {counts} in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    done = rollup.run(sessions, END, TZ)  # the first run summarises the whole year (later ones: an hour's rows)
    print(f"{label}: rollup {done} in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    rollup.run(sessions, END + timedelta(hours=1), TZ)
    print(f"{label}: next hourly rollup in {(time.perf_counter() - started) * 1000:.0f} ms", flush=True)
    if label == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    time_queries(sessions, label)
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="followers = 100,000 × scale")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args(argv)
    followers = int(100_000 * args.scale)
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            run(f"sqlite:///{Path(folder) / 'analytics.db'}", "sqlite", followers)
    if args.only != "sqlite":
        with scratch_database(args.pg, f"wxbot_bench_analytics_{uuid.uuid4().hex[:8]}") as url:
            run(url, "postgresql", followers)


if __name__ == "__main__":
    main()
