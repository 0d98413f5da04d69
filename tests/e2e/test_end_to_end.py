"""End to end over HTTP: the stand-in posts signed (and encrypted) XML to the bot exactly as WeChat does."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from posts.models import Follower, InboundEvent, SeenMessage, Subscription
from posts.script import converter
from posts.settings import Settings
from sandbox import Limits
from wxbot.demo import Demo


def reply_text(result: Any) -> str:
    assert result.ok, result.error
    assert result.reply is not None and result.reply.msgtype is not None, result.reply_kind
    assert result.reply.warning is None, result.reply.warning  # WeChat shows the reply as written
    payload = result.reply.payload
    if result.reply.msgtype == "news":
        return " ".join(a["title"] + " " + a["description"] + " " + a["url"] for a in payload["articles"])
    return payload["content"]


def menu_keys(demo: Demo) -> list[str]:
    assert demo.platform is not None
    keys = []
    for top in demo.platform.menu() or []:
        for button in top.get("sub_button") or [top]:
            if button.get("type") == "click":
                keys.append(button["key"])
    return keys


@pytest.fixture(params=["plain", "compat", "safe"])
def any_mode_demo(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[Demo]:
    running = Demo(settings, port=0, mode=request.param, database=tmp_path / "demo.db", scheduler=False).start()
    try:
        yield running
    finally:
        running.stop()


def test_every_mode_answers_text_follow_and_click(any_mode_demo: Demo) -> None:
    demo = any_mode_demo
    assert demo.sandbox is not None
    pusher = demo.sandbox.pusher
    follow = pusher.follow("oE2E0000000000000000000mode1", "therapy-nurown")
    assert "NurOwn" in reply_text(follow)
    assert follow.reply is not None and follow.reply.encrypted == (demo.mode != "plain")
    assert "不构成诊断或治疗建议" in reply_text(pusher.send_text("oE2E0000000000000000000mode1", "帮助"))
    key = menu_keys(demo)[0]
    assert reply_text(pusher.click("oE2E0000000000000000000mode1", key)).strip()


def test_follow_flow_for_every_scene(demo: Demo) -> None:
    assert demo.sandbox is not None and demo.runtime is not None
    catalog = demo.runtime.catalog
    assert catalog.scenes, "the content pack defines QR scenes"
    for number, scene in enumerate(catalog.scenes.values()):
        openid = f"oE2EScene{number:019d}"
        text = reply_text(demo.sandbox.pusher.follow(openid, scene.key))
        welcome = catalog.welcomes[scene.welcome]
        first_line = converter(catalog.script).in_script(welcome.body.strip().splitlines()[0], scene.script or "s")
        assert first_line[:10] in text, scene.key  # in the script the scene presets
        with demo.runtime.sessions() as session:
            follower = session.scalars(select(Follower).where(Follower.openid == openid)).one()
            assert follower.scene_key == scene.key
            subs = session.scalars(
                select(Subscription.therapy_key).where(Subscription.follower_id == follower.id, Subscription.active)
            ).all()
        assert subs == ([scene.therapy] if scene.therapy else []), scene.key


def test_every_menu_key_gets_content(demo: Demo) -> None:
    assert demo.sandbox is not None
    openid = "oE2EMenu00000000000000000001"
    demo.sandbox.pusher.follow(openid)
    keys = menu_keys(demo)
    assert keys
    for key in keys:
        text = reply_text(demo.sandbox.pusher.click(openid, key))
        assert len(text) > 10, key


@pytest.mark.parametrize("group", ["research", "clinical"])
def test_group_click_is_one_article_linking_to_a_page_listing_its_sections(demo: Demo, group: str) -> None:
    assert demo.sandbox is not None and demo.runtime is not None and demo.bot is not None
    openid = "oE2EGroup0000000000000000001"
    demo.sandbox.pusher.follow(openid)
    result = demo.sandbox.pusher.click(openid, f"GROUP_{group.upper()}")
    reply_text(result)
    assert result.reply is not None and result.reply.msgtype == "news"
    (article,) = result.reply.payload["articles"]
    assert article["url"] == f"{demo.bot.url}/p/g/{group}"
    page = requests.get(article["url"], timeout=5)
    assert page.status_code == 200
    sections = demo.runtime.catalog.group(group)
    assert len(sections) > 1
    for section in sections:
        assert f'href="/p/s/{section.key}"' in page.text and section.summary in page.text, section.key


def test_asking_for_the_disclaimer_shows_the_disclaimer(demo: Demo) -> None:
    """The menu has no disclaimer button (every reply closes with it); typing 免责声明 answers with its section."""
    assert demo.sandbox is not None and demo.runtime is not None
    disclaimer = demo.runtime.catalog.disclaimer
    assert disclaimer is not None
    openid = "oE2EDisclaimer00000000000001"
    demo.sandbox.pusher.follow(openid)
    text = reply_text(demo.sandbox.pusher.send_text(openid, "免责声明"))
    title, _, body = text.partition("\n\n")
    assert title == "13. 免责声明"
    assert body.strip() == disclaimer.body.strip()


def test_keyword_subscriptions_round_trip(demo: Demo) -> None:
    assert demo.sandbox is not None
    pusher, openid = demo.sandbox.pusher, "oE2EKeyword00000000000000001"
    pusher.follow(openid)
    assert "XS228" in reply_text(pusher.send_text(openid, "订阅 xs-228"))
    assert "XS228" in reply_text(pusher.send_text(openid, "我的订阅"))
    assert "XS228" in reply_text(pusher.send_text(openid, "退订 XS228"))
    assert "XS228" not in reply_text(pusher.send_text(openid, "我的订阅")).split("可订阅")[0]


class SlowFirst:
    """Wraps the bot so that its first answer to /wechat POSTs comes after WeChat has given up."""

    def __init__(self, app: Any, delay: float) -> None:
        self.app, self.delay, self.calls = app, delay, 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/wechat" and environ.get("REQUEST_METHOD") == "POST":
            with self.lock:
                self.calls += 1
                first = self.calls == 1
            if first:
                answer = self.app(environ, start_response)
                time.sleep(self.delay)
                return answer
        return self.app(environ, start_response)


def test_retry_after_slow_answer_has_one_side_effect(settings: Settings, tmp_path: Path) -> None:
    limits = dataclasses.replace(Limits(), callback_timeout=0.5)
    demo = Demo(settings, port=0, database=tmp_path / "d.db", scheduler=False, limits=limits).start()
    try:
        assert demo.sandbox is not None and demo.runtime is not None
        openid = "oE2ERetry000000000000000001"
        demo.sandbox.pusher.follow(openid)
        slow = SlowFirst(demo.app, delay=1.0)
        demo.app = slow
        result = demo.sandbox.pusher.send_text(openid, "订阅 STR03")
        assert result.attempts >= 2, "the first delivery timed out and WeChat retried"
        assert slow.calls == result.attempts
        time.sleep(1.2)  # let the slow first delivery finish
        with demo.runtime.sessions() as session:
            subs = session.scalar(select(func.count()).select_from(Subscription))
            seen = session.scalar(
                select(func.count()).select_from(SeenMessage).where(SeenMessage.dedup_key.contains(result.msg_id))
            )
            logged = session.scalar(
                select(func.count()).select_from(InboundEvent).where(InboundEvent.msg_type == "text")
            )
        assert subs == 1
        assert seen == 1
        assert logged == 1
    finally:
        demo.stop()


def test_demo_writes_a_config_for_operator_commands(demo: Demo) -> None:
    from posts.settings import load_settings

    assert demo.config_file is not None and demo.runtime is not None
    written = load_settings(demo.config_file, env={})
    assert written.database.url == demo.runtime.settings.database.url
    assert written.wechat.api_base_url == demo.sandbox.url if demo.sandbox else False
    assert written.wechat.app_id == demo.runtime.settings.wechat.app_id
