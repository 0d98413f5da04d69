"""`python -m benchmarks.analytics`: a year of generated rows for 100,000 followers, on SQLite and PostgreSQL,
and the time of each analytics table's query (posts/analytics.py) for the last 30 days and for the whole year.

Per follower and year: 1.3 follows, 0.4 unfollows, 10 menu taps, 10 texts; a push a week to a fifth of them
(deliveries, confirmations, unfollows after it); 300 page paths' views per day. Target: each query < 200 ms.
PostgreSQL: a database of its own on 127.0.0.1:5432 (``--pg``), dropped after. ``--scale 0.1`` for a quick run.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session, sessionmaker

from posts import analytics, db
from posts.analytics import Span
from posts.loader import default_content_dir, load_catalog
from posts.models import Follower, InboundEvent, PageView
from posts.queue import Delivery, Post

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
    rng = random.Random(seed)
    counts = {"followers": followers, "inbound_event": 0, "delivery": 0, "page_view": 0}
    with sessions() as session:
        rows, events = [], []
        for n in range(followers):
            openid, first, scene = f"o{n:07d}", _at(rng), rng.choice(SCENES)
            rows.append({"openid": openid, "subscribed": True, "scene_key": scene, "first_followed_at": first,
                         "created_at": first, "script": "s"})  # fmt: skip
            key = f"qrscene_{scene}" if scene else None
            events.append(("event", "subscribe", key, openid, first))
            if rng.random() < 0.3:
                events.append(("event", "subscribe", None, openid, _at(rng)))
            if rng.random() < 0.4:
                events.append(("event", "unsubscribe", None, openid, first + timedelta(days=rng.expovariate(1 / 20))))
            for _ in range(rng.randrange(21)):
                events.append(("event", "click", rng.choice(CLICKS), openid, _at(rng)))
            for _ in range(rng.randrange(21)):
                events.append(("text", None, rng.choice(TEXTS), openid, _at(rng)))
            if len(events) >= BATCH:
                counts["inbound_event"] += _events(session, events)
        counts["inbound_event"] += _events(session, events)
        for chunk in range(0, len(rows), BATCH):
            session.execute(insert(Follower), rows[chunk : chunk + BATCH])
        for week in range(52):
            started = END - YEAR + timedelta(weeks=week, hours=2)
            post_id = session.execute(
                insert(Post)
                .values(
                    content="update:nurown/2025-04-10-ind-amendment",
                    audience="therapy:nurown",
                    channel="auto",
                    status="sent",
                    created_by="bench",
                    data={},
                    created_at=started,
                    started_at=started,
                )
                .returning(Post.id)
            ).scalar_one()
            picked = rng.sample(range(followers), followers // 5)
            deliveries = [{"post_id": post_id, "openid": f"o{n:07d}", "channel": rng.choice(("custom", "template")),
                           "state": "sent", "attempts": 1, "sent_at": started + timedelta(seconds=i // 50),
                           "confirmed_at": started + timedelta(minutes=2) if i % 3 else None}
                          for i, n in enumerate(picked)]  # fmt: skip
            for chunk in range(0, len(deliveries), BATCH):
                session.execute(insert(Delivery), deliveries[chunk : chunk + BATCH])
            counts["delivery"] += len(deliveries)
            gone = [("event", "unsubscribe", None, d["openid"], started + timedelta(hours=rng.uniform(0, 30)))
                    for d in deliveries[: len(deliveries) // 200]]  # fmt: skip
            counts["inbound_event"] += _events(session, gone)
        views = []
        for day in range(365):
            local = (END - YEAR).date() + timedelta(days=day)
            for path in range(300):
                views.append({"day": local, "path": f"/p/review/{path}", "views": rng.randrange(1, 60),
                              "counted_at": END})  # fmt: skip
        for chunk in range(0, len(views), BATCH):
            session.execute(insert(PageView), views[chunk : chunk + BATCH])
        counts["page_view"] = len(views)
        session.commit()
    return counts


def _events(session: Session, events: list[tuple[str, str | None, str | None, str, datetime]]) -> int:
    if not events:
        return 0
    n = len(events)
    session.execute(insert(InboundEvent), [{"msg_type": m, "event": e, "key": k, "openid": o, "received_at": at,
                                            "reply_kind": "text"} for m, e, k, o, at in events])  # fmt: skip
    events.clear()
    return n


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
        name = f"wxbot_bench_analytics_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(args.pg.rsplit("/", 1)[0] + f"/{name}", "postgresql", followers)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
