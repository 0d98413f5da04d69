"""What the console's pages show, read from posts/: the dashboard, the calendar, a post's report, the choices of
the compose form. Reads only; every time is given (``now``) and shown in the account's timezone."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.words import say
from posts import ledger, mass_budget
from posts.audience import AudienceError, parse_audience, recipients
from posts.catalog import Catalog
from posts.models import Follower, Subscription
from posts.queue import Delivery, Post
from posts.settings import SchedulerSettings
from posts.timing import in_quiet_hours

SHOWN_ON_CALENDAR = ("queued", "sending", "sent", "partly_sent", "failed", "missed", "approved", "in_review")


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    group: str = ""


def content_options(catalog: Catalog) -> list[Option]:
    """Everything that can be sent, by title: sections, therapy updates (newest first), the digest, free text."""
    out = [Option(f"section:{s.key}", s.title, say("content_kinds", "section")) for s in catalog.sections]
    for therapy in catalog.therapies.values():
        for update in sorted(therapy.updates, key=lambda u: u.date, reverse=True):
            label = f"{therapy.name} · {update.date:%Y-%m-%d} · {update.title}"
            out.append(Option(f"update:{therapy.key}/{update.key}", label, say("content_kinds", "update")))
    out.append(Option("digest", say("content_kinds", "digest"), say("content_kinds", "digest")))
    out.append(Option("text", say("content_kinds", "text"), say("content_kinds", "text")))
    return out


def content_title(catalog: Catalog, ref: str, post: Post | None = None) -> str:
    kind, _, value = ref.partition(":")
    if kind == "section" and (found := catalog.section(value)):
        return found.title
    if kind == "update":
        therapy, _, key = value.partition("/")
        if (update := catalog.update(therapy, key)) and (t := catalog.therapy(therapy)):
            return update.title if t.name in update.title else f"{t.name}：{update.title}"
    if kind == "text" and post is not None and (post.data or {}).get("title"):
        return str(post.data["title"])
    return say("content_kinds", kind or ref)


def audience_words(catalog: Catalog, audience: str) -> str:
    kind, _, value = audience.partition(":")
    if kind == "therapy" and (t := catalog.therapy(value)):
        return say("audiences", "therapy", name=t.name)
    if kind == "scene":
        scene = catalog.scenes.get(value)
        return say("audiences", "scene", name=scene.purpose if scene else value)
    if kind == "test":
        return say("audiences", "test", name=f"{len([o for o in value.split(',') if o.strip()])} 人")
    return say("audiences", kind, name=value)


def audience_count(session: Session, catalog: Catalog, audience: str) -> int | None:
    """How many followers the audience reaches now; None when only WeChat knows (a tag of no therapy)."""
    try:
        parsed = parse_audience(audience, catalog.therapies, catalog.scenes)
        return sum(1 for r in recipients(session, parsed) if r.subscribed)
    except AudienceError:
        return None


def local(value: datetime | None, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(ZoneInfo(tz)).strftime(fmt) if value else "—"


def _day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(), zone)
    return start, start + timedelta(days=1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def when(post: Post) -> datetime | None:
    return post.due_at or post.send_at


def posts_between(session: Session, start: datetime, end: datetime, states: tuple[str, ...]) -> list[Post]:
    query = (
        select(Post)
        .where(Post.status.in_(states), func.coalesce(Post.due_at, Post.send_at) >= start)
        .where(func.coalesce(Post.due_at, Post.send_at) < end)
        .order_by(func.coalesce(Post.due_at, Post.send_at), Post.id)
    )
    return list(session.scalars(query))


@dataclass
class Budget:
    therapy: str
    name: str
    subscribers: int
    with_sends_left: int
    renews: str


@dataclass
class Dashboard:
    today: list[Post]
    week: list[Post]
    awaiting: list[Post]
    budget: list[Budget]
    new_follows: int
    overdue_content: list[tuple[str, str]]
    """(title, next review date) of content past its review date."""
    failed: list[tuple[Post, int]]
    """Posts with deliveries that failed or whose outcome is unknown, and how many."""


def dashboard(session: Session, catalog: Catalog, now: datetime, tz: str) -> Dashboard:
    today = now.astimezone(ZoneInfo(tz)).date()
    day_start, day_end = _day_bounds(today, tz)
    monday = week_start(today)
    week_begin, _ = _day_bounds(monday, tz)
    week_end = week_begin + timedelta(days=7)
    active = ("approved", "queued", "sending", "sent", "partly_sent", "failed", "missed")
    awaiting = list(session.scalars(select(Post).where(Post.status == "in_review").order_by(Post.send_at)))
    follows = session.scalar(
        select(func.count()).where(Follower.first_followed_at >= week_begin, Follower.first_followed_at < week_end)
    )
    return Dashboard(
        today=posts_between(session, day_start, day_end, active),
        week=posts_between(session, week_begin, week_end, active),
        awaiting=awaiting,
        budget=budgets(session, catalog, now, tz),
        new_follows=follows or 0,
        overdue_content=overdue_content(catalog, today),
        failed=needs_decision(session),
    )


def budgets(session: Session, catalog: Catalog, now: datetime, tz: str) -> list[Budget]:
    """Per therapy: subscribers, and how many of them can still receive a mass send this month."""
    out = []
    for therapy in catalog.therapies.values():
        openids = list(
            session.scalars(
                select(Follower.openid)
                .join(Subscription, Subscription.follower_id == Follower.id)
                .where(
                    Subscription.therapy_key == therapy.key,
                    Subscription.active.is_(True),
                    Follower.subscribed.is_(True),
                )
            )
        )
        found = mass_budget.budgets(session, openids, now)
        renews = next(iter(found.values())).renews_at if found else None
        out.append(
            Budget(
                therapy.key,
                therapy.name,
                len(openids),
                sum(1 for b in found.values() if b.left > 0),
                local(renews, tz, "%Y-%m-%d") if renews else "",
            )
        )
    return out


def overdue_content(catalog: Catalog, today: date) -> list[tuple[str, str]]:
    items: list[tuple[str, Any]] = [(s.title, s.review) for s in catalog.sections]
    for therapy in catalog.therapies.values():
        items.append((therapy.name, therapy.review))
        items.extend((f"{therapy.name}：{u.title}", u.review) for u in therapy.updates)
    return [
        (title, f"{review.next_review:%Y-%m-%d}") for title, review in items if review and review.next_review < today
    ]


def needs_decision(session: Session, limit: int = 20) -> list[tuple[Post, int]]:
    rows = session.execute(
        select(Delivery.post_id, func.count())
        .where(Delivery.state.in_(("failed", "unknown")))
        .group_by(Delivery.post_id)
        .order_by(Delivery.post_id.desc())
        .limit(limit)
    ).all()
    return [(post, count) for post_id, count in rows if (post := session.get(Post, post_id)) is not None]


@dataclass
class Day:
    day: date
    posts: list[Post] = field(default_factory=list)
    in_month: bool = True
    today: bool = False


@dataclass
class Calendar:
    view: str
    start: date
    days: list[Day]
    hours: list[tuple[int, bool]]
    """Week view: each hour of the day and whether it is within the quiet hours."""
    previous: date
    following: date


def calendar(session: Session, view: str, anchor: date, now: datetime, scheduling: SchedulerSettings) -> Calendar:
    tz = scheduling.timezone
    today = now.astimezone(ZoneInfo(tz)).date()
    if view == "month":
        first = anchor.replace(day=1)
        start = week_start(first)
        next_month = (first + timedelta(days=32)).replace(day=1)
        end = week_start(next_month - timedelta(days=1)) + timedelta(days=7)
        previous, following = (first - timedelta(days=1)).replace(day=1), next_month
    else:
        start = week_start(anchor)
        end = start + timedelta(days=7)
        first, next_month = start, end
        previous, following = start - timedelta(days=7), end
    days = [Day(start + timedelta(days=n)) for n in range((end - start).days)]
    for d in days:
        d.in_month = view != "month" or first <= d.day < next_month
        d.today = d.day == today
    begin, _ = _day_bounds(start, tz)
    stop, _ = _day_bounds(end, tz)
    by_day: dict[date, list[Post]] = defaultdict(list)
    for post in posts_between(session, begin, stop, SHOWN_ON_CALENDAR):
        moment = when(post)
        if moment is not None:
            by_day[moment.astimezone(ZoneInfo(tz)).date()].append(post)
    for d in days:
        d.posts = by_day.get(d.day, [])
    zone = ZoneInfo(tz)
    hours = [(h, in_quiet_hours(datetime.combine(today, time(h, 30), zone), scheduling)) for h in range(24)]
    return Calendar(view, first if view == "month" else start, days, hours, previous, following)


@dataclass
class Report:
    total: int
    states: dict[str, int]
    channels: list[tuple[str, str, int]]
    reasons: list[tuple[str, str, int]]
    """(plain words, code in small print, count)."""
    timeline: dict[str, Any]
    """The chart's data: minutes (labels) and cumulative deliveries per channel."""
    unknown: int
    failed: int


def plain_reason(reason: str) -> tuple[str, str]:
    """A stored reason ("窗口已关闭 (45015): follower has not ...") as plain words and its code for small print."""
    head, _, _rest = reason.partition(":")
    words, _, code = head.partition(" (")
    code = code.rstrip(")")
    if reason.startswith(("已取消", "MASSSENDJOBFINISH", "TEMPLATESENDJOBFINISH")):
        return (say("reasons", "cancelled") if reason.startswith("已取消") else head), ""
    return words.strip() or say("reasons", "other"), code


def report(session: Session, post_id: int, tz: str) -> Report:
    rep = ledger.report(session, post_id)
    reasons: Counter[tuple[str, str]] = Counter()
    for reason, count in rep.reasons.items():
        reasons[plain_reason(reason)] += count
    rows = session.execute(
        select(Delivery.channel, Delivery.sent_at).where(
            Delivery.post_id == post_id, Delivery.state == "sent", Delivery.sent_at.is_not(None)
        )
    ).all()
    per_minute: dict[str, Counter[str]] = defaultdict(Counter)
    for channel, sent_at in rows:
        per_minute[channel][local(sent_at, tz, "%m-%d %H:%M")] += 1
    labels = sorted({m for counts in per_minute.values() for m in counts})
    series = {}
    for channel, counts in per_minute.items():
        running, points = 0, []
        for label in labels:
            running += counts.get(label, 0)
            points.append(running)
        series[say("delivery_channels", channel)] = points
    return Report(
        total=rep.total,
        states=dict(rep.states),
        channels=[(ch, st, n) for (ch, st), n in sorted(rep.channels.items())],
        reasons=[(words, code, n) for (words, code), n in reasons.most_common()],
        timeline={"labels": labels, "series": series},
        unknown=rep.states.get("unknown", 0),
        failed=rep.states.get("failed", 0),
    )
