"""The analytics rollup: closed local days of the inbound log and of the page-view count summarised once, and the
figures of settled posts (the tables: posts/analytics_models.py; posts/analytics.py reads them with the raw rows
no summary covers, so every figure stays the raw rows' count).

Rows are summarised by id, each once: a run takes the rows after the last run's mark whose local day has closed,
and a row that comes late (its day already closed) is read raw until the next run folds it in. Idempotent; run by
the scheduler every hour (``Engine.analytics_rollup``) and on demand (``wxbot stats --rollup``). Only ever reads
the log by id: it adds nothing to a push's write.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from posts.analytics_models import DayCount, FollowSeen, PushCount, PushGone, PushRolled, RollupMark, UnfollowSeen
from posts.models import InboundEvent, PageView
from posts.queue import FINAL_POST_STATES, Delivery, Post

SETTLE = timedelta(minutes=10)
"""Rows younger than this are left to the raw read: a transaction still open cannot hide a row from a run."""
PUSH_SETTLE = timedelta(days=8)
"""A post is summarised this long after it finished: its job-finish confirmations (which come within minutes and
are kept 7 days) and the unfollows within 24 hours of its deliveries are all in by then."""
QUICK_UNFOLLOW = timedelta(days=7)
AFTER_PUSH = timedelta(hours=24)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_DAY = date(1970, 1, 1)
SCENE_PREFIX = "qrscene_"
CHUNK = 500
READ = 50_000
TABLES = (DayCount, FollowSeen, UnfollowSeen, PushRolled, PushCount, PushGone)


@dataclass
class Rolled:
    """What one run summarised."""

    inbound: int = 0
    page_views: int = 0
    posts: int = 0


def run(sessions: sessionmaker[Session], now: datetime, tz: str) -> Rolled:
    """One run in its own transaction."""
    with sessions() as session:
        done = rollup(session, now, tz)
        session.commit()
    return done


def rollup(session: Session, now: datetime, tz: str) -> Rolled:
    """Summarise what has closed by ``now`` (the local day before ``now - SETTLE``); the caller commits."""
    zone = ZoneInfo(tz)
    cutoff = now - SETTLE
    closed_day = cutoff.astimezone(zone).date()
    closed_before = datetime.combine(closed_day, time(), zone).astimezone(UTC)
    inbound, pages = _mark(session, "inbound"), _mark(session, "page_view")
    if inbound.tz != tz or pages.tz != tz:
        _reset(session, (inbound, pages), tz)
    done = Rolled()
    done.inbound = _inbound(session, inbound, closed_before, cutoff, zone, now)
    done.page_views = _page_views(session, pages, closed_day, cutoff, now)
    done.posts = _pushes(session, inbound.closed_before or EPOCH, now)
    return done


def _mark(session: Session, name: str) -> RollupMark:
    mark = session.scalar(select(RollupMark).where(RollupMark.name == name).with_for_update())
    if mark is None:
        mark = RollupMark(name=name, covered_id=0, raw_from=0, tz="")
        session.add(mark)
        session.flush()
    return mark


def _reset(session: Session, marks: Iterable[RollupMark], tz: str) -> None:
    """Another timezone: local days are other days, so every summary starts again."""
    for table in TABLES:
        session.execute(delete(table))
    for mark in marks:
        mark.covered_id, mark.raw_from, mark.closed_before, mark.closed_day, mark.tz = 0, 0, None, None, tz
    session.flush()


# --- the inbound log ------------------------------------------------------------------------------------------------


def _inbound(
    session: Session, mark: RollupMark, closed: datetime, cutoff: datetime, zone: ZoneInfo, now: datetime
) -> int:
    old_covered, old_closed = mark.covered_id, mark.closed_before or EPOCH
    closed = max(closed, old_closed)
    top = session.scalar(
        select(func.max(InboundEvent.id)).where(InboundEvent.id >= mark.raw_from, InboundEvent.received_at <= cutoff)
    )
    covered = max(old_covered, top or 0)
    counts: Counter[tuple[str, date, str]] = Counter()
    follows: list[dict[str, object]] = []
    unfollows: list[tuple[int, str, datetime]] = []
    still_raw: int | None = None
    taken = 0
    start = mark.raw_from
    while start <= covered:
        rows = session.execute(
            select(
                InboundEvent.id, InboundEvent.openid, InboundEvent.msg_type, InboundEvent.event, InboundEvent.key,
                InboundEvent.received_at,
            )
            .where(InboundEvent.id >= start, InboundEvent.id <= covered)
            .order_by(InboundEvent.id)
            .limit(READ)
        ).all()  # fmt: skip
        if not rows:
            break
        for row_id, openid, msg_type, event, key, at in rows:
            if row_id <= old_covered and at < old_closed:
                continue  # summarised by an earlier run
            if at >= closed:
                still_raw = row_id if still_raw is None else min(still_raw, row_id)
                continue
            taken += 1
            day = at.astimezone(zone).date()
            if event == "subscribe":
                counts[("follow", day, scene_of_key(key))] += 1
                follows.append({"id": row_id, "openid": openid, "at": at})
            elif event == "unsubscribe":
                unfollows.append((row_id, openid, at))
            elif event in ("click", "view"):
                counts[("menu", day, key or "")] += 1
            elif event is None and msg_type == "text":
                counts[("text", day, key or "")] += 1
        start = rows[-1][0] + 1
    for chunk in range(0, len(follows), READ):
        session.execute(insert(FollowSeen), follows[chunk : chunk + READ])
    session.flush()
    _flip_quick(session, [(str(f["openid"]), f["at"]) for f in follows])  # type: ignore[misc]
    _add_unfollows(session, unfollows, zone)
    _gone_after_rolled(session, unfollows)
    add_counts(session, counts)
    mark.covered_id, mark.closed_before, mark.rolled_at = covered, closed, now
    mark.raw_from = still_raw if still_raw is not None else covered + 1
    session.flush()
    return taken


def scene_of_key(key: str | None) -> str:
    """The QR scene a follow event's key names (``qrscene_<scene>``), or "" (direct)."""
    return key[len(SCENE_PREFIX) :] if key and key.startswith(SCENE_PREFIX) else ""


def follow_times(session: Session, openids: Iterable[str], since: datetime) -> dict[str, list[datetime]]:
    """The summarised follows of these followers since ``since``."""
    found: dict[str, list[datetime]] = defaultdict(list)
    for chunk in chunks(sorted(set(openids))):
        for openid, at in session.execute(
            select(FollowSeen.openid, FollowSeen.at).where(FollowSeen.openid.in_(chunk), FollowSeen.at >= since)
        ):
            found[openid].append(at)
    return found


def is_quick(at: datetime, follows: Iterable[datetime]) -> bool:
    """An unfollow at ``at`` came within 7 days of the follower's latest follow before it."""
    return any(at - QUICK_UNFOLLOW <= t <= at for t in follows)


def flipped(session: Session, follows: Sequence[tuple[str, datetime]]) -> list[tuple[int, str, date]]:
    """Summarised unfollows not yet counted as within 7 days of a follow that one of these (later-logged) follows
    puts within 7 days: (id, openid, day) each."""
    times: dict[str, list[datetime]] = defaultdict(list)
    for openid, at in follows:
        times[openid].append(at)
    found = []
    for chunk in chunks(sorted(times)):
        rows = session.execute(
            select(UnfollowSeen.id, UnfollowSeen.openid, UnfollowSeen.at, UnfollowSeen.day).where(
                UnfollowSeen.openid.in_(chunk), UnfollowSeen.quick.is_(False)
            )
        )
        found.extend((i, openid, day) for i, openid, at, day in rows if is_quick(at, times[openid]))
    return found


def _flip_quick(session: Session, follows: Sequence[tuple[str, datetime]]) -> None:
    ids = [i for i, _, _ in flipped(session, follows)]
    for chunk in chunks(ids):
        session.execute(update(UnfollowSeen).where(UnfollowSeen.id.in_(chunk)).values(quick=True))


def _add_unfollows(session: Session, unfollows: Sequence[tuple[int, str, datetime]], zone: ZoneInfo) -> None:
    if not unfollows:
        return
    since = min(at for _, _, at in unfollows) - QUICK_UNFOLLOW
    times = follow_times(session, (openid for _, openid, _ in unfollows), since)
    rows = [
        {"id": i, "openid": openid, "at": at, "day": at.astimezone(zone).date(), "quick": is_quick(at, times[openid])}
        for i, openid, at in unfollows
    ]
    for chunk in range(0, len(rows), READ):
        session.execute(insert(UnfollowSeen), rows[chunk : chunk + READ])


def _gone_after_rolled(session: Session, unfollows: Sequence[tuple[int, str, datetime]]) -> None:
    """Unfollows summarised after the posts they came within 24 hours of (a late row): into those posts' lists."""
    times: dict[str, list[datetime]] = defaultdict(list)
    for _, openid, at in unfollows:
        times[openid].append(at)
    rolled = select(PushRolled.post_id)
    for chunk in chunks(sorted(times)):
        rows = session.execute(
            select(Delivery.post_id, Delivery.openid, Delivery.sent_at).where(
                Delivery.openid.in_(chunk), Delivery.state == "sent", Delivery.post_id.in_(rolled)
            )
        ).all()
        pairs = {(p, o) for p, o, sent in rows if sent and any(sent <= t <= sent + AFTER_PUSH for t in times[o])}
        if not pairs:
            continue
        known = set(
            session.execute(
                select(PushGone.post_id, PushGone.openid).where(
                    PushGone.post_id.in_({p for p, _ in pairs}), PushGone.openid.in_({o for _, o in pairs})
                )
            )
        )
        session.add_all(PushGone(post_id=p, openid=o) for p, o in sorted(pairs - known))
        session.flush()


def add_counts(session: Session, counts: Counter[tuple[str, date, str]]) -> None:
    """Add to the day figures (kind, day, item) → n, inserting the ones not there yet."""
    if not counts:
        return
    days = [day for _, day, _ in counts]
    known: dict[tuple[str, date, str], tuple[int, int]] = {}
    for kind in sorted({kind for kind, _, _ in counts}):
        rows = session.execute(
            select(DayCount.id, DayCount.day, DayCount.item, DayCount.count).where(
                DayCount.kind == kind, DayCount.day >= min(days), DayCount.day <= max(days)
            )
        )
        known.update({(kind, day, item): (row_id, n) for row_id, day, item, n in rows})
    new = [{"kind": k, "day": d, "item": i, "count": n} for (k, d, i), n in counts.items() if (k, d, i) not in known]
    changed = [{"id": known[key][0], "count": known[key][1] + n} for key, n in counts.items() if key in known]
    for chunk in range(0, len(new), READ):
        session.execute(insert(DayCount), new[chunk : chunk + READ])
    if changed:
        session.execute(update(DayCount), changed)


# --- page views -----------------------------------------------------------------------------------------------------


def _page_views(session: Session, mark: RollupMark, closed: date, cutoff: datetime, now: datetime) -> int:
    old_covered, old_closed = mark.covered_id, mark.closed_day or FIRST_DAY
    closed = max(closed, old_closed)
    top = session.scalar(select(func.max(PageView.id)).where(PageView.id > old_covered, PageView.counted_at <= cutoff))
    covered = max(old_covered, top or 0)
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    columns = select(PageView.day, PageView.path, PageView.views)
    for query in (
        columns.where(PageView.id > old_covered, PageView.id <= covered, PageView.day < closed),
        columns.where(PageView.day >= old_closed, PageView.day < closed, PageView.id <= old_covered),
    ):
        for day, path, views in session.execute(query):
            per_day[day][path] += views
    _add_page_days(session, per_day)
    mark.covered_id, mark.closed_day, mark.rolled_at, mark.raw_from = covered, closed, now, covered + 1
    session.flush()
    return sum(sum(paths.values()) for paths in per_day.values())


def _add_page_days(session: Session, per_day: dict[date, Counter[str]]) -> None:
    """A day's page views are one row (kind "pages"): its paths and views as a JSON object in ``item``, the day's
    total in ``count`` (a year is 365 rows to read, not one per path and day)."""
    if not per_day:
        return
    known = {
        day: (row_id, item)
        for row_id, day, item in session.execute(
            select(DayCount.id, DayCount.day, DayCount.item).where(
                DayCount.kind == "pages", DayCount.day.in_(sorted(per_day))
            )
        )
    }
    for day, paths in sorted(per_day.items()):
        if day in known:
            paths.update(json.loads(known[day][1]))
        item = json.dumps(dict(sorted(paths.items())), ensure_ascii=False, separators=(",", ":"))
        if day in known:
            session.execute(update(DayCount).where(DayCount.id == known[day][0]).values(item=item, count=paths.total()))
        else:
            session.add(DayCount(kind="pages", day=day, item=item, count=paths.total()))
    session.flush()


# --- pushes ---------------------------------------------------------------------------------------------------------


def _pushes(session: Session, closed: datetime, now: datetime) -> int:
    """Summarise each post finished ``PUSH_SETTLE`` before the closed days' end whose 24-hour windows after its
    deliveries lie in the closed days."""
    done = select(PushRolled.post_id)
    ids = session.scalars(
        select(Post.id).where(
            Post.status.in_(FINAL_POST_STATES),
            Post.finished_at.is_not(None),
            Post.finished_at < closed - PUSH_SETTLE,
            Post.id.not_in(done),
        )
    ).all()
    rolled = 0
    for post_id in ids:
        last = session.scalar(select(func.max(Delivery.sent_at)).where(Delivery.post_id == post_id))
        if last is not None and last + AFTER_PUSH >= closed:
            continue
        rows = session.execute(
            select(Delivery.channel, Delivery.state, func.count(), func.count(Delivery.confirmed_at))
            .where(Delivery.post_id == post_id)
            .group_by(Delivery.channel, Delivery.state)
        ).all()
        session.add(PushRolled(post_id=post_id, rolled_at=now))
        for channel, state, count, confirmed in rows:
            session.add(PushCount(post_id=post_id, channel=channel, state=state, count=count, confirmed=confirmed))
        sent = session.execute(
            select(Delivery.openid, Delivery.sent_at).where(
                Delivery.post_id == post_id, Delivery.state == "sent", Delivery.sent_at.is_not(None)
            )
        ).all()
        if sent:
            first = min(at for _, at in sent)
            gone: dict[str, list[datetime]] = defaultdict(list)
            for openid, at in session.execute(
                select(UnfollowSeen.openid, UnfollowSeen.at).where(
                    UnfollowSeen.at >= first, UnfollowSeen.at <= (last or first) + AFTER_PUSH
                )
            ):
                gone[openid].append(at)
            left = {openid for openid, at in sent if any(at <= t <= at + AFTER_PUSH for t in gone.get(openid, ()))}
            session.add_all(PushGone(post_id=post_id, openid=openid) for openid in sorted(left))
        rolled += 1
    session.flush()
    return rolled


def chunks(items: Sequence[object]) -> Iterable[list]:  # type: ignore[type-arg]
    for n in range(0, len(items), CHUNK):
        yield list(items[n : n + CHUNK])
