"""What the bot records of each interaction: the last of any kind, and the last of each window class.

Run on every store: SQLite group commit (raw SQL), and PostgreSQL with one transaction per push or group commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posts import db
from posts.catalog import Catalog
from posts.models import Follower
from posts.settings import Settings, replace
from tests.bot.conftest import LiveBot, serve_with
from tests.bot.wechat import OPENID, event_push, text_push

Serve = Callable[[], AbstractContextManager[LiveBot]]


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("postgresql-group_commit", marks=pytest.mark.postgres),
    ]
)
def serve_on(
    request: pytest.FixtureRequest, settings: Settings, sessions: sessionmaker[Session], catalog: Catalog
) -> Iterator[Serve]:
    if request.param == "sqlite":
        yield lambda: serve_with(settings, sessions, catalog)
        return
    url = request.getfixturevalue("pg_url")
    engine = db.make_engine(url)
    db.upgrade(engine)
    try:
        store = request.param.partition("-")[2] or "per_push"
        configured = replace(settings, database={"url": url}, server={"store": store})
        yield lambda: serve_with(configured, db.session_factory(engine), catalog)
    finally:
        engine.dispose()


def _follower(bot: LiveBot) -> Follower:
    with bot.sessions() as s:
        row = s.scalars(select(Follower).where(Follower.openid == OPENID)).one()
        s.expunge(row)
        return row


def test_a_view_tap_or_an_unknown_event_keeps_the_message_time(serve_on: Serve) -> None:
    with serve_on() as bot:
        bot.wechat.push(text_push("帮助"))
        talked = _follower(bot)
        assert talked.last_message_at is not None and talked.last_message_at == talked.last_interaction_at
        assert talked.last_event_at is None
        bot.wechat.push(event_push("VIEW", "https://als.example.org/p/"))
        assert (_follower(bot).last_interaction_kind, _follower(bot).last_message_at) == (
            "view",
            talked.last_message_at,
        )
        bot.wechat.push(event_push("LOCATION"))
        after = _follower(bot)
        assert (after.last_interaction_kind, after.last_message_at, after.last_event_at) == (
            "other",
            talked.last_message_at,
            None,
        )


@pytest.mark.parametrize("event", ["scancode_push", "scancode_waitmsg"])
def test_scancode_taps_are_recorded_as_window_opening_events(serve_on: Serve, event: str) -> None:
    with serve_on() as bot:
        bot.wechat.push(text_push("帮助"))
        bot.wechat.push(event_push(event, "SCAN_KEY"))
        f = _follower(bot)
        assert f.last_interaction_kind == event
        assert f.last_event_at is not None and f.last_event_at == f.last_interaction_at
        assert f.last_message_at is not None and f.last_message_at < f.last_event_at


def test_an_unfollow_closes_both_windows_and_a_follow_opens_the_minute(serve_on: Serve) -> None:
    with serve_on() as bot:
        bot.wechat.push(event_push("subscribe", ""))
        bot.wechat.push(text_push("帮助"))
        assert _follower(bot).last_message_at is not None and _follower(bot).last_event_at is not None
        bot.wechat.push(event_push("unsubscribe", ""))
        gone = _follower(bot)
        assert (gone.subscribed, gone.last_message_at, gone.last_event_at) == (False, None, None)
        bot.wechat.push(event_push("subscribe", ""))
        back = _follower(bot)
        assert back.last_interaction_kind == "follow" and back.last_message_at is None
        assert back.last_event_at == back.last_interaction_at
