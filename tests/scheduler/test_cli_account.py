"""`wxbot account check|show`, `wxbot publish`, `wxbot followers sync` against the stand-in."""

from __future__ import annotations

from pathlib import Path

from posts import capabilities
from posts.settings import Settings, replace
from tests.scheduler.conftest import World
from tests.scheduler.test_cli import config, wxbot

__all__ = ["config"]


def test_account_check_on_an_unverified_subscription_account_and_the_degraded_product(
    world: World, config: Path
) -> None:
    world.platform.config.account_type = "subscription"
    world.platform.config.verified = False
    code, out = wxbot(config, "account", "check")
    assert code == 0, out
    assert "access token: ok" in out
    assert "unavailable (48001)" in out and "publishing articles" in out
    assert "how the product degrades:" in out
    assert "no publishing (unverified accounts lost it in July 2025)" in out
    assert "no QR codes: every follower gets the keyword welcome" in out
    code, out = wxbot(config, "publish", "section:opening")
    assert code == 2 and "this account cannot publish (48001 api unauthorized)" in out
    assert "Traceback" not in out
    code, out = wxbot(config, "followers", "sync")
    assert code == 2 and "cannot list its followers" in out
    code, out = wxbot(config, "account", "show")
    assert code == 0 and "no subscribe notices: none are offered" in out


def test_publish_now_and_the_list(world: World, config: Path) -> None:
    code, out = wxbot(config, "publish", "section:opening", "--now", "--by", "王医生")
    assert code == 0, out
    assert "article 1 queued: section:opening" in out and "article 1: published" in out
    assert "https://mp.weixin.qq.com/s/" in out
    code, out = wxbot(config, "publish", "section:opening")
    assert code == 0 and "already published: nothing is published twice" in out
    code, out = wxbot(config, "publish")
    assert code == 0 and "section:opening" in out and "published" in out
    code, out = wxbot(config, "publish", "digest")
    assert code == 2 and "only a review section or a therapy update can be published" in out
    code, out = wxbot(config, "publish", "section:nope")
    assert code == 2 and "unknown section 'nope'" in out


def test_followers_sync_with_a_progress_bar(world: World, config: Path) -> None:
    world.platform.add_followers(30, prefix="oOld")
    code, out = wxbot(config, "followers", "sync")
    assert code == 0, out
    assert "done: 30 of 30 followers seen, 30 new to the database" in out
    code, out = wxbot(config, "followers", "sync")
    assert code == 0 and "30 of 30 followers seen, 0 new to the database" in out


def test_an_address_off_the_whitelist_is_one_line_with_the_egress_address(world: World, config: Path) -> None:
    world.platform.config.ip_whitelist = ("203.0.113.7",)
    code, out = wxbot(config, "account", "check")
    assert code == 2
    assert "WeChat saw this server as 127.0.0.1" in out and "Do not whitelist 0.0.0.0/0" in out
    assert "the access token was refused (40164" in out and "Traceback" not in out


def test_menu_push_and_qr_create_explain_what_the_account_cannot_do(world: World, config: Path) -> None:
    world.platform.config.account_type = "subscription"
    world.platform.config.verified = False
    assert wxbot(config, "account", "check")[0] == 0
    code, out = wxbot(config, "menu", "push")
    assert code == 2 and "this account cannot push the menu (48001 api unauthorized)" in out and "MP console" in out
    code, out = wxbot(config, "qr", "create", "therapy-xs228")
    assert code == 2 and "cannot create QR codes" in out and "keyword welcome" in out
    assert world.platform.api_calls("/cgi-bin/menu/create") == 0


def test_the_demo_can_play_an_unverified_account(settings: Settings, tmp_path: Path) -> None:
    from wxbot.demo import Demo

    unverified = replace(settings, wechat={"account_type": "subscription"})
    demo = Demo(unverified, port=0, database=tmp_path / "demo.db", scheduler=False, verified=False).start()
    try:
        assert demo.platform is not None and demo.platform.menu()  # set as by hand: no menu API
        assert not demo.platform.tickets  # no QR codes
        assert demo.runtime is not None
        with demo.runtime.sessions() as session:
            profile = capabilities.current(session)
        assert profile.checked_at is not None and not profile.has("publish") and not profile.has("qr")
    finally:
        demo.stop()


def test_post_add_refuses_what_the_account_cannot_send(world: World, config: Path) -> None:
    world.follow(2)
    world.platform.config.account_type = "subscription"
    world.platform.config.verified = False
    assert wxbot(config, "account", "check")[0] == 0
    code, out = wxbot(config, "post", "add", "--content", "update:xs228/2025-09-15-first-dosing", "--now", "--yes")
    assert code == 2 and "this account cannot send it to any of the 2 recipients: 无群发权限 (48001)" in out
    assert "wxbot publish" in out
