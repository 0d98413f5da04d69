"""Analytics: pure queries over the rows the product already writes, plus the server-side page-view count.

Figures, for a range of local days in the account's timezone (``scheduler.timezone``):

- follows and unfollows per day and per QR scene (the inbound log's subscribe / unsubscribe events; a follow's scene
  is its ``qrscene_`` key, an unfollow's the scene that first brought that follower, ``follower.scene_key``), and
  the unfollows within 7 days of that follower's latest follow;
- menu taps per item (click and view events) and keyword hits per item (texts matched by the keyword rules);
- page views per page path and day (:class:`PageViews`, counted by the bot's page server: no tracker, no cookie);
- deliveries per post and channel with their confirmations (the job-finish events, posts.ledger), and the
  unfollows within 24 hours of each push (recipients who unfollowed within a day of their delivery).

Closed local days are read from their summaries (posts/rollup.py fills them, hourly and on demand), the rest
from the raw rows no summary covers (the rows after the summaries' mark, read by id): a figure is always the raw
rows' count, whether or not the rollup has run. Raw rows are bucketed into days here, not in SQL, so every backend
counts alike. The console pages, their CSV exports and ``wxbot stats`` all call these functions.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from posts.analytics_models import DayCount, PushCount, PushGone, PushRolled, RollupMark, UnfollowSeen
from posts.catalog import Catalog, normalize
from posts.menu import Menu
from posts.models import Follower, InboundEvent, PageView, QrScene
from posts.queue import Delivery, MassBatch, Post
from posts.rollup import (
    AFTER_PUSH,
    EPOCH,
    FIRST_DAY,
    QUICK_UNFOLLOW,
    SCENE_PREFIX,
    flipped,
    follow_times,
    is_quick,
    scene_of_key,
)

__all__ = ["AFTER_PUSH", "QUICK_UNFOLLOW", "SCENE_PREFIX", "scene_of_key"]
DIRECT = ""
"""The scene of a follow that came from no QR code (a search, a shared card)."""
MAX_DAYS = 400
"""The longest range a page or ``wxbot stats`` asks for (a year and a bit)."""
_CHUNK = 500


# --- the range ---------------------------------------------------------------------------------------------------


class RangeError(ValueError):
    """A date range that cannot be shown (its words are for the operator)."""


@dataclass(frozen=True)
class Span:
    """Local days ``first``..``last`` (both included) in ``tz``."""

    first: date
    last: date
    tz: str

    @classmethod
    def ending(cls, today: date, days: int, tz: str) -> Span:
        return cls(today - timedelta(days=days - 1), today, tz)

    @classmethod
    def parse(cls, first: str, last: str, tz: str, default: Span) -> Span:
        """From two ISO dates (either blank: the default's); :class:`RangeError` when malformed or backwards."""
        try:
            start = date.fromisoformat(first) if first.strip() else default.first
            end = date.fromisoformat(last) if last.strip() else default.last
        except ValueError:
            raise RangeError("bad_date") from None
        if end < start:
            raise RangeError("backwards")
        if (end - start).days + 1 > MAX_DAYS:
            raise RangeError("too_long")
        return cls(start, end, tz)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the range (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone).astimezone(UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def day_of(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()


# --- follows -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowDay:
    day: date
    scene: str
    follows: int = 0
    unfollows: int = 0
    quick_unfollows: int = 0
    """Unfollows within 7 days of that follower's latest follow."""


@dataclass(frozen=True)
class SceneTotal:
    scene: str
    purpose: str
    follows: int
    unfollows: int
    quick_unfollows: int


@dataclass
class Follows:
    """Follows and unfollows in a span, per day and scene."""

    days: list[FollowDay]
    scenes: list[SceneTotal]

    def per_day(self) -> list[tuple[date, int, int, int]]:
        """(day, follows, unfollows, quick unfollows) for every day of the span, all scenes together."""
        total: dict[date, list[int]] = {}
        for row in self.days:
            figures = total.setdefault(row.day, [0, 0, 0])
            figures[0] += row.follows
            figures[1] += row.unfollows
            figures[2] += row.quick_unfollows
        return [(day, *total[day]) for day in sorted(total)]


@dataclass(frozen=True)
class Cover:
    """What the summaries cover of one source (posts/rollup.py): rows with ``id <= covered_id`` and a time before
    ``closed_before`` (page views: a day before ``closed_day``); every other row is read raw (from ``raw_from``)."""

    covered_id: int = 0
    raw_from: int = 0
    closed_before: datetime = EPOCH
    closed_day: date = FIRST_DAY
    on: bool = False
    """The summaries are in the span's timezone (else none is read until the next rollup rebuilds them)."""

    def summarised(self, row_id: int, at: datetime) -> bool:
        return row_id <= self.covered_id and at < self.closed_before


def cover(session: Session, name: str, tz: str) -> Cover:
    """The mark of ``inbound`` or ``page_view``; nothing covered when its summaries are in another timezone."""
    mark = session.get(RollupMark, name)
    if mark is None or mark.tz != tz:
        return Cover()
    return Cover(mark.covered_id, mark.raw_from, mark.closed_before or EPOCH, mark.closed_day or FIRST_DAY, True)


RawEvent = tuple[int, str, str | None, datetime]
"""(id, openid, key, received_at) of an inbound row no summary covers."""


def raw_events(session: Session, span: Span, events: Sequence[str] = ()) -> dict[str, list[RawEvent]]:
    """The inbound rows of these events (none given: the texts, under "") that no summary covers, whatever their
    time: read by id from the mark on (the rows since the last rollup: the open days and any late row)."""
    mark = cover(session, "inbound", span.tz)
    which = (
        InboundEvent.event.in_(events) if events else InboundEvent.event.is_(None) & (InboundEvent.msg_type == "text")
    )
    found: dict[str, list[RawEvent]] = {event: [] for event in events or ("",)}
    rows = session.execute(
        select(
            InboundEvent.id, InboundEvent.openid, InboundEvent.key, InboundEvent.received_at, InboundEvent.event
        ).where(InboundEvent.id >= mark.raw_from, which)
    )
    for i, openid, key, at, event in rows:
        if not mark.summarised(i, at):
            found[event or ""].append((i, openid, key, at))
    return found


def _day_counts(session: Session, span: Span, kind: str) -> list[tuple[date, str, int]]:
    """The summarised figures of ``kind`` for the span's days (none when the summaries are in another timezone)."""
    if not cover(session, "inbound" if kind != "pages" else "page_view", span.tz).on:
        return []
    rows = session.connection().execute(  # Core: a year of page paths is a hundred thousand rows
        select(DayCount.day, DayCount.item, DayCount.count).where(
            DayCount.kind == kind, DayCount.day >= span.first, DayCount.day <= span.last
        )
    )
    return rows.all()  # type: ignore[return-value]


def follows(session: Session, span: Span) -> Follows:
    """Per local day and QR scene: follows, unfollows, and unfollows within 7 days of following.

    Closed days come from their summaries (the unfollows with the follower's scene as it is now), the rest from the
    raw rows no summary covers; a follow logged late puts a summarised unfollow within 7 days of it."""
    start, end, first, last = span.start, span.end, span.first, span.last
    counts: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, scene, n in _day_counts(session, span, "follow"):
        counts[(day, scene)][0] += n
    summaries = cover(session, "inbound", span.tz).on
    if summaries:
        for day, scene, n, quick in session.execute(
            select(UnfollowSeen.day, Follower.scene_key, func.count(), func.sum(case((UnfollowSeen.quick, 1), else_=0)))
            .outerjoin(Follower, Follower.openid == UnfollowSeen.openid)
            .where(UnfollowSeen.day >= first, UnfollowSeen.day <= last)
            .group_by(UnfollowSeen.day, Follower.scene_key)
        ):
            figures = counts[(day, scene or DIRECT)]
            figures[1] += n
            figures[2] += int(quick or 0)
    raw = raw_events(session, span, ("subscribe", "unsubscribe"))
    subscribes, unsubscribes = raw["subscribe"], raw["unsubscribe"]
    for _, _, key, at in subscribes:
        if start <= at < end:
            counts[(span.day_of(at), scene_of_key(key))][0] += 1
    inside = [(openid, at) for _, openid, _, at in unsubscribes if start <= at < end]
    late = [(openid, at) for _, openid, _, at in subscribes]
    turned = [(openid, day) for _, openid, day in flipped(session, late) if first <= day <= last] if summaries else []
    first_scene = _first_scenes(session, {openid for openid, _ in inside} | {openid for openid, _ in turned})
    if inside:
        since = min(at for _, at in inside) - QUICK_UNFOLLOW
        times = follow_times(session, (openid for openid, _ in inside), since) if summaries else defaultdict(list)
        for openid, at in late:
            times[openid].append(at)
        for openid, at in inside:
            figures = counts[(span.day_of(at), first_scene.get(openid, DIRECT))]
            figures[1] += 1
            if is_quick(at, times.get(openid, ())):
                figures[2] += 1
    for openid, day in turned:
        counts[(day, first_scene.get(openid, DIRECT))][2] += 1
    days = [FollowDay(day, scene, *figures) for (day, scene), figures in sorted(counts.items())]
    return Follows(days, _scene_totals(session, days))


def _first_scenes(session: Session, openids: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(openids)):
        rows = session.execute(select(Follower.openid, Follower.scene_key).where(Follower.openid.in_(chunk)))
        found.update({openid: scene or DIRECT for openid, scene in rows})
    return found


def _scene_totals(session: Session, days: Iterable[FollowDay]) -> list[SceneTotal]:
    total: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in days:
        figures = total[row.scene]
        figures[0] += row.follows
        figures[1] += row.unfollows
        figures[2] += row.quick_unfollows
    purposes = dict(session.execute(select(QrScene.key, QrScene.purpose)).all())
    return [
        SceneTotal(scene, purposes.get(scene, "") or "", *figures)
        for scene, figures in sorted(total.items(), key=lambda item: (-item[1][0], item[0]))
    ]


# --- menu taps and keywords -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemCount:
    item: str
    """The menu key (or link), or the keyword rule's first pattern."""
    label: str
    """What operators call it: the menu button's name, the content the keyword points at."""
    count: int


def menu_labels(menu: Menu | None) -> dict[str, str]:
    """Each menu leaf's key (a click) or link (a view) → the button's name."""
    if menu is None:
        return {}
    return {(button.key or button.url): button.name for button in menu.leaves()}


def menu_taps(session: Session, span: Span, labels: dict[str, str] | None = None) -> list[ItemCount]:
    """Taps per menu item (click and view events) in the span, most tapped first."""
    labels = labels or {}
    taps: Counter[str] = Counter()
    for _, item, n in _day_counts(session, span, "menu"):
        taps[item] += n
    for rows in raw_events(session, span, ("click", "view")).values():
        taps.update(key or "" for _, _, key, at in rows if span.start <= at < span.end)
    found = [ItemCount(key, labels.get(key, key), count) for key, count in taps.items()]
    return sorted(found, key=lambda row: (-row.count, row.item))


def keyword_hits(session: Session, span: Span, catalog: Catalog) -> list[ItemCount]:
    """Texts in the span per keyword rule they matched (command rules first, as the bot tries them), most first.

    The inbound log keeps a text's first 64 characters: texts are counted per distinct logged text (the summaries
    keep them so), then each distinct text is matched once: a keyword added later counts the texts before it too.
    """
    texts: Counter[str] = Counter()
    for _, item, n in _day_counts(session, span, "text"):
        texts[item] += n
    texts.update(key or "" for _, _, key, at in raw_events(session, span)[""] if span.start <= at < span.end)
    hits: Counter[str] = Counter()
    labels: dict[str, str] = {}
    for text, count in texts.items():
        rule = _rule_for(catalog, text or "")
        if rule is None:
            continue
        item = rule.patterns[0] if rule.patterns else (rule.command or rule.match)
        hits[item] += count
        labels[item] = _rule_label(catalog, rule)
    return [ItemCount(item, labels[item], count) for item, count in sorted(hits.items(), key=lambda i: (-i[1], i[0]))]


def _rule_for(catalog: Catalog, text: str):  # type: ignore[no-untyped-def]
    folded = normalize(text)
    if not folded:
        return None
    for rule in catalog.commands:
        if rule.patterns and rule.match == "exact" and rule.matches(text):
            return rule
        if rule.patterns and rule.match == "prefix" and any(folded.startswith(normalize(p)) for p in rule.patterns):
            return rule
    return catalog.match_keyword(text)


def _rule_label(catalog: Catalog, rule) -> str:  # type: ignore[no-untyped-def]
    kind, _, key = (rule.ref or "").partition(":")
    if kind == "section" and (section := catalog.section(key)):
        return section.title
    if kind == "therapy" and (therapy := catalog.therapy(key)):
        return therapy.name
    return " / ".join(rule.patterns[:3]) or rule.command or ""


# --- page views -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathViews:
    path: str
    views: int
    per_day: tuple[tuple[date, int], ...] = ()


def page_views(session: Session, span: Span) -> list[PathViews]:
    """Views per page path (most viewed first), with the per-day figures, for the span's local days: the closed
    days' summaries, and the count's rows no summary covers (the open days', and any written since the rollup)."""
    mark = cover(session, "page_view", span.tz)
    per_path: dict[str, dict[date, int]] = defaultdict(dict)
    for day, paths, _ in _day_counts(session, span, "pages"):
        for path, views in json.loads(paths).items():
            per_path[path][day] = views
    in_span = (PageView.day >= span.first) & (PageView.day <= span.last)
    raw = select(PageView.path, PageView.day, func.sum(PageView.views)).group_by(PageView.path, PageView.day)
    for query in (
        raw.where(in_span, PageView.id > mark.covered_id),
        raw.where(in_span, PageView.id <= mark.covered_id, PageView.day >= mark.closed_day),
    ):
        for path, day, views in session.execute(query):
            days = per_path[path]
            days[day] = days.get(day, 0) + int(views)
    found = [PathViews(path, sum(days.values()), tuple(sorted(days.items()))) for path, days in per_path.items()]
    return sorted(found, key=lambda row: (-row.views, row.path))


def views_per_day(rows: Sequence[PathViews]) -> dict[date, int]:
    total: Counter[date] = Counter()
    for row in rows:
        for day, views in row.per_day:
            total[day] += views
    return dict(total)


class PageViews:
    """The bot's page server's counter: ``count`` a request (memory only, no I/O); ``flush`` writes what was
    counted since the last flush as one INSERT (one row per path and day). ``due`` says a flush is worth doing
    (``every`` seconds passed, or ``most`` views waiting); the server flushes off its event loop and on close."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        tz: str,
        clock: Callable[[], datetime],
        every: float = 5.0,
        most: int = 500,
    ) -> None:
        self.sessions = sessions
        self.zone = ZoneInfo(tz)
        self.clock = clock
        self.every = timedelta(seconds=every)
        self.most = most
        self._counts: Counter[tuple[date, str]] = Counter()
        self._waiting = 0
        self._lock = threading.Lock()
        self._flushed_at = clock()

    def count(self, path: str) -> None:
        day = self.clock().astimezone(self.zone).date()
        with self._lock:
            self._counts[(day, path[:255])] += 1
            self._waiting += 1

    def due(self) -> bool:
        return self._waiting > 0 and (self._waiting >= self.most or self.clock() - self._flushed_at >= self.every)

    def flush(self) -> int:
        """Write the counted views; returns how many. A failed write keeps them for the next flush."""
        with self._lock:
            counts, self._counts, self._waiting = self._counts, Counter(), 0
            self._flushed_at = now = self.clock()
        if not counts:
            return 0
        rows = [{"day": day, "path": path, "views": n, "counted_at": now} for (day, path), n in counts.items()]
        try:
            with self.sessions() as session:
                session.execute(insert(PageView), rows)
                session.commit()
        except Exception:
            with self._lock:
                self._counts.update(counts)
                self._waiting += sum(counts.values())
            raise
        return sum(counts.values())


# --- pushes ---------------------------------------------------------------------------------------------------------


@dataclass
class PushChannel:
    """One post's deliveries on one channel."""

    channel: str
    recipients: int = 0
    sent: int = 0
    confirmed: int = 0
    """Sent and confirmed by TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH."""
    failed: int = 0
    unknown: int = 0
    waiting: int = 0
    """planned or sending."""
    undeliverable: int = 0


@dataclass
class PushFigures:
    post_id: int
    content: str
    audience: str
    status: str
    started_at: datetime | None
    data: dict[str, object] = field(default_factory=dict)
    """The post's resolved details (a free text's title)."""
    channels: list[PushChannel] = field(default_factory=list)
    mass_reported: int = 0
    """The SentCount WeChat reported for the post's mass batches (MASSSENDJOBFINISH)."""
    unfollows_24h: int = 0
    """Recipients who unfollowed within 24 hours of their delivery."""

    @property
    def sent(self) -> int:
        return sum(c.sent for c in self.channels)

    @property
    def confirmed(self) -> int:
        return sum(c.confirmed for c in self.channels)


_STATE_COLUMN = {
    "sent": "sent",
    "failed": "failed",
    "unknown": "unknown",
    "undeliverable": "undeliverable",
    "planned": "waiting",
    "sending": "waiting",
}


def pushes(session: Session, span: Span) -> list[PushFigures]:
    """Every post that started sending in the span (newest first): deliveries per channel and state, how many of
    them the job-finish events confirmed, and the unfollows within 24 hours of a delivery."""
    posts = session.execute(
        select(Post.id, Post.content, Post.audience, Post.status, Post.started_at, Post.data)
        .where(Post.started_at >= span.start, Post.started_at < span.end)
        .order_by(Post.started_at.desc(), Post.id.desc())
    ).all()
    found = {
        row.id: PushFigures(row.id, row.content, row.audience, row.status, row.started_at, row.data or {})
        for row in posts
    }
    if not found:
        return []
    ids = list(found)
    rolled: set[int] = set()
    for chunk in _chunks(ids) if cover(session, "inbound", span.tz).on else ():
        rolled.update(session.scalars(select(PushRolled.post_id).where(PushRolled.post_id.in_(chunk))))
    live = [i for i in ids if i not in rolled]
    channels: dict[tuple[int, str], PushChannel] = {}

    def add(post_id: int, channel: str, state: str, count: int, confirmed: int) -> None:
        figures = channels.get((post_id, channel))
        if figures is None:
            figures = channels[(post_id, channel)] = PushChannel(channel)
            found[post_id].channels.append(figures)
        figures.recipients += count
        column = _STATE_COLUMN.get(state, "waiting")
        setattr(figures, column, getattr(figures, column) + count)
        if state == "sent":
            figures.confirmed += int(confirmed or 0)

    for chunk in _chunks(sorted(rolled)):
        for row in session.execute(
            select(PushCount.post_id, PushCount.channel, PushCount.state, PushCount.count, PushCount.confirmed)
            .where(PushCount.post_id.in_(chunk))
            .order_by(PushCount.post_id, PushCount.channel, PushCount.state)
        ):
            add(*row)
    for chunk in _chunks(live):
        for row in session.execute(
            select(Delivery.post_id, Delivery.channel, Delivery.state, func.count(), func.count(Delivery.confirmed_at))
            .where(Delivery.post_id.in_(chunk))
            .group_by(Delivery.post_id, Delivery.channel, Delivery.state)
        ):
            add(*row)
    for chunk in _chunks(ids):
        for post_id, result in session.execute(
            select(MassBatch.post_id, MassBatch.result).where(
                MassBatch.post_id.in_(chunk), MassBatch.confirmed_at.is_not(None)
            )
        ):
            found[post_id].mass_reported += int((result or {}).get("SentCount", 0) or 0)
    for figures in found.values():
        figures.channels.sort(key=lambda c: c.channel)
    for post_id, count in _unfollows_after(session, span, ids, rolled).items():
        found[post_id].unfollows_24h = count
    return list(found.values())


def _unfollows_after(session: Session, span: Span, ids: list[int], rolled: set[int]) -> Counter[int]:
    """Per post: recipients whose unfollow came within 24 hours after their delivery was sent (each recipient once
    per post). A summarised post keeps its recipients who left; to them come the unfollows no summary covers (a
    late one), and a post not summarised yet counts from the summarised unfollows since it started as well.
    Starts from the unfollows (few) and looks their deliveries up by openid (an index)."""
    counted: set[tuple[int, str]] = set()
    for chunk in _chunks(sorted(rolled)):
        counted.update(session.execute(select(PushGone.post_id, PushGone.openid).where(PushGone.post_id.in_(chunk))))
    raw = raw_events(session, span, ("unsubscribe",))["unsubscribe"]
    _match_unfollows(session, [(openid, at) for _, openid, _, at in raw], set(ids), counted)
    live = [i for i in ids if i not in rolled]
    if live:
        since = session.scalar(select(func.min(Post.started_at)).where(Post.id.in_(live)))
        if since is not None and cover(session, "inbound", span.tz).on:
            seen = session.execute(select(UnfollowSeen.openid, UnfollowSeen.at).where(UnfollowSeen.at >= since)).all()
            _match_unfollows(session, [(openid, at) for openid, at in seen], set(live), counted)
    return Counter(post_id for post_id, _ in counted)


def _match_unfollows(
    session: Session, gone: Sequence[tuple[str, datetime]], post_ids: set[int], counted: set[tuple[int, str]]
) -> None:
    times: dict[str, list[datetime]] = defaultdict(list)
    for openid, at in gone:
        times[openid].append(at)
    for chunk in _chunks(sorted(times)):
        rows = session.execute(
            select(Delivery.post_id, Delivery.openid, Delivery.sent_at).where(
                Delivery.openid.in_(chunk), Delivery.state == "sent", Delivery.sent_at.is_not(None)
            )
        )
        for post_id, openid, sent_at in rows:
            if post_id in post_ids and any(sent_at <= at <= sent_at + AFTER_PUSH for at in times[openid]):
                counted.add((post_id, openid))


def _chunks(items: Sequence[object]) -> Iterable[list]:  # type: ignore[type-arg]
    for n in range(0, len(items), _CHUNK):
        yield list(items[n : n + _CHUNK])


# --- everything a page shows ----------------------------------------------------------------------------------------


@dataclass
class Report:
    """The analytics page's figures (and ``wxbot stats``'s) for one span."""

    span: Span
    follows: Follows
    menu: list[ItemCount]
    keywords: list[ItemCount]
    pages: list[PathViews]
    pushes: list[PushFigures]


def report(session: Session, span: Span, catalog: Catalog, menu: Menu | None = None) -> Report:
    return Report(
        span,
        follows(session, span),
        menu_taps(session, span, menu_labels(menu)),
        keyword_hits(session, span, catalog),
        page_views(session, span),
        pushes(session, span),
    )


TABLES = ("follows", "scenes", "menu", "keywords", "pages", "pushes")
"""The tables a page shows and a CSV exports (one endpoint each)."""


def table_rows(
    name: str, session: Session, span: Span, catalog: Catalog, menu: Menu | None = None
) -> list[list[object]]:
    """One table as rows of plain values (the CSV export and ``wxbot stats``), its header first."""
    if name == "follows":
        return [["day", "scene", "follows", "unfollows", "unfollows_within_7_days"]] + [
            [r.day.isoformat(), r.scene, r.follows, r.unfollows, r.quick_unfollows] for r in follows(session, span).days
        ]
    if name == "scenes":
        return [["scene", "purpose", "follows", "unfollows", "unfollows_within_7_days"]] + [
            [r.scene, r.purpose, r.follows, r.unfollows, r.quick_unfollows] for r in follows(session, span).scenes
        ]
    if name == "menu":
        return [["item", "label", "taps"]] + [
            [r.item, r.label, r.count] for r in menu_taps(session, span, menu_labels(menu))
        ]
    if name == "keywords":
        return [["keyword", "label", "hits"]] + [
            [r.item, r.label, r.count] for r in keyword_hits(session, span, catalog)
        ]
    if name == "pages":
        iso = {day: day.isoformat() for day in span.days()}
        return [["day", "path", "views"]] + [
            [iso[day], r.path, views] for r in page_views(session, span) for day, views in r.per_day
        ]
    if name == "pushes":
        return [
            [
                "post",
                "content",
                "started_at",
                "channel",
                "recipients",
                "sent",
                "confirmed",
                "failed",
                "unknown",
                "waiting",
                "undeliverable",
                "mass_reported_sent",
                "unfollows_within_24h",
            ]
        ] + [
            [
                p.post_id,
                p.content,
                p.started_at.astimezone(span.zone).isoformat(timespec="minutes") if p.started_at else "",
                c.channel,
                c.recipients,
                c.sent,
                c.confirmed,
                c.failed,
                c.unknown,
                c.waiting,
                c.undeliverable,
                p.mass_reported,
                p.unfollows_24h,
            ]
            for p in pushes(session, span)
            for c in (p.channels or [PushChannel("none")])
        ]
    raise KeyError(name)
