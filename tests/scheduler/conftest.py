"""Scheduler fixtures: the stand-in on an ephemeral port, settings pointing at it, a shared fake clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posts import db, followers, interactions
from posts.catalog import Catalog
from posts.loader import default_content_dir, load_catalog
from posts.models import Follower
from posts.render import Renderer
from posts.settings import Settings, replace
from sandbox import FakeClock, Platform, PlatformConfig, SandboxServer
from scheduler.runner import Engine
from scheduler.sender import Sender
from scheduler.wechat_api import WeChatApi, make_api

TEMPLATE_ID = "tmpl_post_update_0000000000000000000000001"
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, outside the quiet hours


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    found, _problems = load_catalog(default_content_dir())
    return found


@pytest.fixture(scope="session")
def renderer(catalog: Catalog) -> Renderer:
    return Renderer(catalog, "https://als.example.org")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START.timestamp())


@pytest.fixture
def now(clock: FakeClock) -> Callable[[], datetime]:
    return lambda: datetime.fromtimestamp(clock(), UTC)


@pytest.fixture
def platform(clock: FakeClock) -> Platform:
    found = Platform(PlatformConfig(clock=clock))
    found.add_template(TEMPLATE_ID, "进展提醒", "{{thing1.DATA}} {{time2.DATA}} {{thing3.DATA}}")
    return found


@pytest.fixture
def server(platform: Platform) -> Iterator[SandboxServer]:
    with SandboxServer(platform) as running:
        yield running


def point_at(settings: Settings, platform: Platform, url: str, **scheduler: object) -> Settings:
    cfg = platform.config
    return replace(
        settings,
        wechat={
            "app_id": cfg.app_id,
            "app_secret": cfg.app_secret,
            "token": cfg.token,
            "api_base_url": url,
            "account_type": cfg.account_type,
            "templates": {"notice": {"template_id": TEMPLATE_ID, "thing1": "title", "time2": "time", "thing3": "text"}},
        },
        scheduler={"quiet_hours_start": "22:00", "quiet_hours_end": "08:00", **scheduler},
    )


@pytest.fixture
def wx_settings(settings: Settings, platform: Platform, server: SandboxServer) -> Settings:
    return point_at(settings, platform, server.url)


@pytest.fixture
def api(wx_settings: Settings, sessions: sessionmaker[Session]) -> Iterator[WeChatApi]:
    client = make_api(wx_settings, sessions)
    yield client
    client.close()


@dataclass
class World:
    """Followers on both sides (stand-in and database) plus a sender, for one test."""

    platform: Platform
    sessions: sessionmaker[Session]
    settings: Settings
    api: WeChatApi
    catalog: Catalog
    renderer: Renderer
    now: Callable[[], datetime]

    def follow(self, count: int, *, interact: str | None = None, prefix: str = "oT") -> list[str]:
        openids = self.platform.add_followers(count, prefix=prefix)
        with self.sessions() as session:
            for openid in openids:
                follower = Follower(openid=openid, subscribed=True, first_followed_at=self.now(), created_at=self.now())
                if interact:
                    interaction = interactions.of_kind(interact)
                    followers.touch(follower, self.now(), interaction)
                    if interaction.opens != interactions.NONE:
                        self.platform.open_window(openid, interaction.opens)  # type: ignore[arg-type]
                session.add(follower)
            session.commit()
        return openids

    def sleep(self, seconds: float) -> None:
        """Waiting for a retry moves the shared fake clock (the stand-in's and the product's)."""
        self.platform.config.clock.advance(seconds)  # type: ignore[attr-defined]

    def sender(self, **options: object) -> Sender:
        options.setdefault("sleep", self.sleep)
        return Sender(self.settings, self.sessions, self.api, self.catalog, self.renderer, clock=self.now, **options)

    def engine(self, **options: object) -> Engine:
        options.setdefault("sleep", self.sleep)
        return Engine(
            self.settings, self.sessions, self.catalog, self.renderer, api=self.api, clock=self.now, **options
        )

    def received(self, openid: str) -> list[object]:
        return self.platform.inbox(openid)


@pytest.fixture
def world(
    platform: Platform,
    sessions: sessionmaker[Session],
    wx_settings: Settings,
    api: WeChatApi,
    catalog: Catalog,
    renderer: Renderer,
    now: Callable[[], datetime],
) -> World:
    return World(platform, sessions, wx_settings, api, catalog, renderer, now)


def fresh_sessions(url: str) -> sessionmaker[Session]:
    engine = db.make_engine(url)
    db.upgrade(engine)
    return db.session_factory(engine)


def sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'wxbot.db'}"
