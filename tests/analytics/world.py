"""A generated month of an account's rows (follows, unfollows, taps, texts, page views, two pushes) and the
figures counted the slow way from those raw rows, to check posts/analytics.py against."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posts.analytics import PageViews
from posts.models import Follower, InboundEvent, QrScene
from posts.queue import Delivery, MassBatch, Post

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
START = datetime(2026, 11, 1, 0, 0, tzinfo=ZONE).astimezone(UTC)
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 local, 1 December
SCENES = ("clinic-poster", "ward-leaflet", None)
CLICKS = ("TOC", "HELP", "MY_SUBSCRIPTIONS", "SECTION_1")
TEXTS = ("帮助", "help", "目录", "订阅 NurOwn", "我妈妈最近说话不清楚怎么办", "你好")
PAGES = ("/p/", "/p/review/1", "/p/therapy/nurown")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    views: Counter[tuple[date, str]] = field(default_factory=Counter)
    post_ids: list[int] = field(default_factory=list)


def build(sessions: sessionmaker[Session], seed: int = 16, followers: int = 80) -> World:
    """Write the rows; returns the page views counted (the only figure with no raw row per request)."""
    rng = random.Random(seed)
    world = World()
    events: list[InboundEvent] = []
    people: list[Follower] = []
    span = (NOW - START).total_seconds()
    with sessions() as session:
        for key in SCENES:  # the shipped pack may already have them
            if key is not None and session.get(QrScene, key) is None:
                session.add(QrScene(key=key, purpose=f"poster {key}", created_at=START))
        for n in range(followers):
            openid = f"o{n:04d}"
            first = START - timedelta(days=5) + timedelta(seconds=rng.uniform(0, span + 4 * 86400))
            scene = rng.choice(SCENES)
            follower = Follower(openid=openid, scene_key=scene, first_followed_at=first, created_at=first)
            at = first
            key = f"qrscene_{scene}" if scene else None
            for _ in range(rng.choice((1, 1, 2))):  # some follow twice
                events.append(_event(openid, "subscribe", key, at))
                if rng.random() < 0.5:
                    at += timedelta(hours=rng.choice((2, 30, 100, 160, 170, 200, 400)))
                    events.append(_event(openid, "unsubscribe", None, at))
                    follower.last_unfollowed_at = at
                    at += timedelta(days=rng.uniform(0.5, 6))
                    key = None
                else:
                    break
            for _ in range(rng.randrange(6)):
                when = at + timedelta(hours=rng.uniform(0, 200))
                events.append(_event(openid, "click", rng.choice(CLICKS), when))
            for _ in range(rng.randrange(5)):
                text = rng.choice(TEXTS)
                when = at + timedelta(hours=rng.uniform(0, 200))
                events.append(InboundEvent(openid=openid, msg_type="text", event=None, key=text, received_at=when))
            people.append(follower)
        session.add_all(people)
        session.add_all(events)
        session.flush()
        for n, (channel, sent_at) in enumerate(
            (("custom", START + timedelta(days=10)), ("template", START + timedelta(days=20)))
        ):
            post = Post(content="section:1" if n else "update:nurown/2025-04-10-ind-amendment", audience="all",
                        channel="auto", status="sent", created_at=sent_at, started_at=sent_at,
                        finished_at=sent_at)  # fmt: skip
            session.add(post)
            session.flush()
            world.post_ids.append(post.id)
            batch = None
            if n == 0:
                batch = MassBatch(post_id=post.id, slice_key="list:1", state="sent", msg_id="m1",
                                  result={"SentCount": 7}, sent_at=sent_at, confirmed_at=sent_at)  # fmt: skip
                session.add(batch)
                session.flush()
            for follower in people[n::2]:
                state = rng.choice(("sent", "sent", "sent", "failed", "unknown"))
                confirmed = sent_at + timedelta(minutes=1) if state == "sent" and rng.random() < 0.7 else None
                at = sent_at + timedelta(seconds=rng.uniform(0, 600))
                session.add(Delivery(post_id=post.id, openid=follower.openid, follower_id=follower.id,
                                     channel=channel if rng.random() < 0.8 else "mass",
                                     batch_id=batch.id if batch else None, state=state, sent_at=at,
                                     confirmed_at=confirmed))  # fmt: skip
                if state == "sent" and rng.random() < 0.3:  # some leave after the push, some much later
                    gone = at + timedelta(hours=rng.choice((1, 5, 23, 25, 60)))
                    session.add(_event(follower.openid, "unsubscribe", None, gone))
        session.commit()
    clock = Clock(START)
    counter = PageViews(sessions, TZ, clock, every=3600, most=40)
    while clock.now < NOW:
        clock.now += timedelta(minutes=rng.uniform(5, 240))
        path = rng.choice(PAGES)
        counter.count(path)
        world.views[(clock.now.astimezone(ZONE).date(), path)] += 1
        if counter.due():
            counter.flush()
    counter.flush()
    return world


def _event(openid: str, event: str, key: str | None, at: datetime) -> InboundEvent:
    return InboundEvent(openid=openid, msg_type="event", event=event, key=key, received_at=at)


# --- the slow way ---------------------------------------------------------------------------------------------------


def local_day(at: datetime) -> date:
    return at.astimezone(ZONE).date()


def expected(session: Session, first: date, last: date) -> dict[str, object]:
    """Every figure, from a full read of the raw rows, one loop each."""
    rows = session.scalars(select(InboundEvent).order_by(InboundEvent.id)).all()
    scene_of = {f.openid: f.scene_key or "" for f in session.scalars(select(Follower))}
    inside = [r for r in rows if first <= local_day(r.received_at) <= last]
    follows: Counter[tuple[date, str]] = Counter()
    unfollows: Counter[tuple[date, str]] = Counter()
    quick: Counter[tuple[date, str]] = Counter()
    for r in inside:
        if r.event == "subscribe":
            scene = r.key[len("qrscene_") :] if r.key and r.key.startswith("qrscene_") else ""
            follows[(local_day(r.received_at), scene)] += 1
        if r.event == "unsubscribe":
            where = (local_day(r.received_at), scene_of[r.openid])
            unfollows[where] += 1
            earlier = [s.received_at for s in rows if s.openid == r.openid and s.event == "subscribe"
                       and s.received_at <= r.received_at]  # fmt: skip
            if earlier and r.received_at - max(earlier) <= timedelta(days=7):
                quick[where] += 1
    menu = Counter(r.key for r in inside if r.event in ("click", "view"))
    texts = Counter(r.key for r in inside if r.msg_type == "text")
    pushes = {}
    for post in session.scalars(select(Post)):
        if not (first <= local_day(post.started_at) <= last):
            continue
        deliveries = session.scalars(select(Delivery).where(Delivery.post_id == post.id)).all()
        per: dict[str, Counter[str]] = defaultdict(Counter)
        for d in deliveries:
            per[d.channel][d.state] += 1
            per[d.channel]["recipients"] += 1
            per[d.channel]["confirmed"] += d.state == "sent" and d.confirmed_at is not None
        gone = set()
        for d in deliveries:
            if d.state != "sent":
                continue
            for r in rows:
                if (
                    r.openid == d.openid
                    and r.event == "unsubscribe"
                    and d.sent_at <= r.received_at <= d.sent_at + timedelta(hours=24)
                ):
                    gone.add(d.openid)
        pushes[post.id] = (dict(per), len(gone))
    return {"follows": follows, "unfollows": unfollows, "quick": quick, "menu": menu, "texts": texts,
            "pushes": pushes}  # fmt: skip
