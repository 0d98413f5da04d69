"""posts/analytics.py's figures equal the counts computed from the raw rows (a generated month, a fixed clock)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from posts import analytics
from posts.analytics import PageViews, RangeError, Span
from posts.loader import default_content_dir, load_catalog
from posts.models import PageView
from tests.analytics import world
from tests.analytics.world import NOW, TZ, World

FIRST, LAST = date(2026, 11, 3), date(2026, 11, 30)
SPAN = Span(FIRST, LAST, TZ)


@pytest.fixture
def month(sessions: sessionmaker[Session]) -> World:
    return world.build(sessions)


def test_follows_unfollows_and_quick_unfollows_per_day_and_scene(sessions: sessionmaker[Session], month: World) -> None:
    with sessions() as session:
        found = analytics.follows(session, SPAN)
        want = world.expected(session, FIRST, LAST)
    assert sum(want["follows"].values()) > 20 and sum(want["quick"].values()) > 3  # the month is not empty
    assert {(r.day, r.scene): r.follows for r in found.days if r.follows} == dict(want["follows"])
    assert {(r.day, r.scene): r.unfollows for r in found.days if r.unfollows} == dict(want["unfollows"])
    assert {(r.day, r.scene): r.quick_unfollows for r in found.days if r.quick_unfollows} == dict(want["quick"])
    per_scene = {s.scene: (s.follows, s.unfollows, s.quick_unfollows) for s in found.scenes}
    for scene in ("clinic-poster", "ward-leaflet", ""):
        assert per_scene[scene] == (
            sum(n for (_, s), n in want["follows"].items() if s == scene),
            sum(n for (_, s), n in want["unfollows"].items() if s == scene),
            sum(n for (_, s), n in want["quick"].items() if s == scene),
        )
    assert {s.scene: s.purpose for s in found.scenes}["ward-leaflet"] == "poster ward-leaflet"
    assert all(FIRST <= r.day <= LAST for r in found.days)


def test_menu_taps_and_keyword_hits_per_item(sessions: sessionmaker[Session], month: World) -> None:
    catalog, _ = load_catalog(default_content_dir())
    with sessions() as session:
        taps = analytics.menu_taps(session, SPAN, {"TOC": "目录"})
        hits = analytics.keyword_hits(session, SPAN, catalog)
        want = world.expected(session, FIRST, LAST)
    assert {r.item: r.count for r in taps} == dict(want["menu"])
    assert next(r for r in taps if r.item == "TOC").label == "目录"
    texts = want["texts"]
    by_item = {r.item: r.count for r in hits}
    assert by_item["帮助"] == texts["帮助"] + texts["help"]  # one rule, two patterns
    assert by_item["目录"] == texts["目录"]
    assert by_item["订阅"] == texts["订阅 NurOwn"]  # a prefix command
    assert sum(by_item.values()) < sum(texts.values())  # a question in one's own words hits no keyword


def test_page_views_per_path_and_day_are_what_the_counter_saw(sessions: sessionmaker[Session], month: World) -> None:
    with sessions() as session:
        found = analytics.page_views(session, SPAN)
        rows = session.scalar(select(func.count()).select_from(PageView))
    want = Counter({key: n for key, n in month.views.items() if FIRST <= key[0] <= LAST})
    assert {(day, r.path): n for r in found for day, n in r.per_day} == dict(want)
    assert {r.path: r.views for r in found} == {
        path: sum(n for (_, p), n in want.items() if p == path) for path in world.PAGES
    }
    assert rows is not None and rows < sum(month.views.values())  # batched: fewer rows than views


def test_deliveries_per_post_and_channel_with_confirmations_and_unfollows_after(
    sessions: sessionmaker[Session], month: World
) -> None:
    with sessions() as session:
        found = analytics.pushes(session, SPAN)
        want = world.expected(session, FIRST, LAST)["pushes"]
    assert [p.post_id for p in found] == sorted(want, reverse=True)  # newest first
    for push in found:
        channels, gone = want[push.post_id]
        assert push.unfollows_24h == gone
        assert {c.channel for c in push.channels} == set(channels)
        for c in push.channels:
            figures = channels[c.channel]
            assert (c.recipients, c.sent, c.failed, c.unknown, c.confirmed) == (
                figures["recipients"], figures["sent"], figures["failed"], figures["unknown"], figures["confirmed"]
            )  # fmt: skip
    assert any(p.unfollows_24h for p in found)
    assert next(p for p in found if p.post_id == month.post_ids[0]).mass_reported == 7


def test_a_span_is_local_days_and_bad_ranges_are_refused() -> None:
    default = Span.ending(date(2026, 12, 1), 30, TZ)
    assert (default.first, default.last) == (date(2026, 11, 2), date(2026, 12, 1))
    assert default.start.isoformat() == "2026-11-01T16:00:00+00:00"  # midnight in Shanghai
    assert Span.parse("", "", TZ, default) == default
    for first, last, code in (("2026-13-01", "", "bad_date"), ("2026-11-20", "2026-11-01", "backwards"),
                              ("2025-01-01", "2026-11-01", "too_long")):  # fmt: skip
        with pytest.raises(RangeError) as caught:
            Span.parse(first, last, TZ, default)
        assert str(caught.value) == code


def test_the_counter_keeps_views_it_could_not_write(sessions: sessionmaker[Session]) -> None:
    clock = world.Clock(NOW)
    counter = PageViews(sessions, TZ, clock, every=5, most=3)
    counter.count("/p/")
    assert not counter.due()
    clock.now += timedelta(seconds=6)
    assert counter.due()
    broken = PageViews(lambda: (_ for _ in ()).throw(RuntimeError("down")), TZ, clock)  # type: ignore[arg-type,return-value]
    broken.count("/p/")
    with pytest.raises(RuntimeError):
        broken.flush()
    assert broken.due() or broken._waiting == 1
    assert counter.flush() == 1
    with sessions() as session:
        assert analytics.page_views(session, Span(NOW.date(), NOW.date(), TZ))[0].views == 1
