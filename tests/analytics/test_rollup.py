"""The summaries (posts/rollup.py) change no figure: after each rollup, late rows and the day boundary, every table
equals the one counted from the raw rows alone, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from posts import analytics, db, rollup
from posts.analytics import Span
from posts.analytics_models import DayCount, PushRolled, RollupMark, UnfollowSeen
from posts.loader import default_content_dir, load_catalog
from posts.models import Follower, InboundEvent, PageView
from posts.queue import Delivery
from tests.analytics import world
from tests.analytics.world import NOW, TZ, ZONE

CATALOG, _ = load_catalog(default_content_dir())
SPANS = (Span(date(2026, 10, 20), date(2026, 12, 1), TZ), Span(date(2026, 11, 10), date(2026, 11, 30), TZ))
MIDNIGHT = datetime.combine(date(2026, 12, 1), time(), ZONE).astimezone(UTC)  # the last closed day ends here


@pytest.fixture(params=["sqlite", "postgresql"])
def db_sessions(request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    url = request.getfixturevalue("settings").database.url if request.param == "sqlite" else None
    url = url or request.getfixturevalue("pg_url")
    engine: Engine = db.make_engine(url)
    db.upgrade(engine)
    yield db.session_factory(engine)
    engine.dispose()


def tables(session: Session, span: Span) -> dict[str, list[list[object]]]:
    return {name: analytics.table_rows(name, session, span, CATALOG) for name in analytics.TABLES}


def raw_truth(session: Session, span: Span) -> dict[str, list[list[object]]]:
    """The same tables with every summary ignored (as if the rollup never ran): counted from raw rows only."""
    session.execute(update(RollupMark).values(tz=""))
    try:
        return tables(session, span)
    finally:
        session.rollback()


def assert_same(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        for span in SPANS:
            assert tables(session, span) == raw_truth(session, span)


def test_every_rollup_leaves_every_figure_as_the_raw_rows_count_it(db_sessions: sessionmaker[Session]) -> None:
    built = world.build(db_sessions)
    assert_same(db_sessions)
    for now in (datetime(2026, 11, 12, 3, tzinfo=ZONE), datetime(2026, 11, 22, 23, 55, tzinfo=ZONE), NOW, NOW):
        rollup.run(db_sessions, now.astimezone(UTC), TZ)
        assert_same(db_sessions)
    with db_sessions() as session:
        summarised = session.scalar(select(func.count()).select_from(UnfollowSeen))
        days = session.scalar(select(func.count()).select_from(DayCount))
        posts = set(session.scalars(select(PushRolled.post_id)))
        whole = tables(session, SPANS[0])
        want = world.expected(session, SPANS[0].first, SPANS[0].last)
    assert summarised and days and posts == set(built.post_ids)  # the figures really come from the summaries
    assert sum(int(r[2]) for r in whole["follows"][1:]) == sum(want["follows"].values())  # type: ignore[attr-defined]
    assert sum(int(r[4]) for r in whole["follows"][1:]) == sum(want["quick"].values())  # type: ignore[attr-defined]
    assert rollup.run(db_sessions, NOW, TZ).inbound == 0  # idempotent: nothing is summarised twice


def test_late_rows_and_the_day_boundary(db_sessions: sessionmaker[Session]) -> None:
    world.build(db_sessions)
    rollup.run(db_sessions, NOW, TZ)
    with db_sessions() as session:
        mark = session.get(RollupMark, "inbound")
        assert mark is not None and mark.closed_before == MIDNIGHT
        slow = session.execute(
            select(UnfollowSeen.openid, UnfollowSeen.at).where(UnfollowSeen.quick.is_(False)).limit(1)
        ).one()
        pushed = session.execute(
            select(Delivery.openid, Delivery.sent_at).where(Delivery.state == "sent").order_by(Delivery.id).limit(1)
        ).one()
        edge = {"openid": "oEdge", "msg_type": "event", "event": "click", "key": "EDGE"}
        session.add_all(
            [
                # the last instant of the closed day (summarised by the next run) and the first of the open one (raw)
                InboundEvent(**edge, received_at=MIDNIGHT - timedelta(microseconds=1)),
                InboundEvent(**edge, received_at=MIDNIGHT),
                # logged late: a follow that puts a summarised unfollow within 7 days, a text, an unfollow after a push
                InboundEvent(openid=slow.openid, msg_type="event", event="subscribe", key="qrscene_ward-leaflet",
                             received_at=slow.at - timedelta(days=2)),
                InboundEvent(openid="o0001", msg_type="text", event=None, key="目录",
                             received_at=datetime(2026, 11, 15, 4, tzinfo=UTC)),
                InboundEvent(openid=pushed.openid, msg_type="event", event="unsubscribe", key=None,
                             received_at=pushed.sent_at + timedelta(hours=3)),
                PageView(day=date(2026, 11, 30), path="/p/late", views=4, counted_at=NOW),
            ]
        )  # fmt: skip
        session.execute(update(Follower).where(Follower.openid == slow.openid).values(scene_key=None))
        session.commit()
        before = {s.first: tables(session, s) for s in SPANS}
    assert_same(db_sessions)  # late rows count at once, read raw
    with db_sessions() as session:
        taps = analytics.menu_taps(session, Span(date(2026, 11, 30), date(2026, 11, 30), TZ))
        assert {r.item: r.count for r in taps}["EDGE"] == 1
        taps = analytics.menu_taps(session, Span(date(2026, 12, 1), date(2026, 12, 1), TZ))
        assert {r.item: r.count for r in taps}["EDGE"] == 1
    rollup.run(db_sessions, NOW + timedelta(hours=1), TZ)  # folds the late rows in
    rollup.run(db_sessions, NOW + timedelta(days=1), TZ)  # closes 1 December too
    assert_same(db_sessions)
    with db_sessions() as session:
        assert {s.first: tables(session, s) for s in SPANS} == before
        mark = session.get(RollupMark, "inbound")
        assert mark is not None and mark.closed_before == MIDNIGHT + timedelta(days=1)
        edges = session.execute(select(DayCount.day, DayCount.count).where(DayCount.item == "EDGE")).all()
        assert sorted(edges) == [(date(2026, 11, 30), 1), (date(2026, 12, 1), 1)]  # both summarised, each its day


def test_another_timezone_rebuilds_the_summaries(db_sessions: sessionmaker[Session]) -> None:
    world.build(db_sessions)
    rollup.run(db_sessions, NOW, TZ)
    span = Span(date(2026, 11, 1), date(2026, 11, 30), "UTC")
    with db_sessions() as session:
        raw = tables(session, span)  # summaries in Shanghai's days are not read for UTC days
    rollup.run(db_sessions, NOW, "UTC")
    with db_sessions() as session:
        assert session.get(RollupMark, "inbound").tz == "UTC"  # type: ignore[union-attr]
        assert tables(session, span) == raw
