"""The bot on the real content pack and renderer: every scene, every menu key, the menu file, scene stats."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.routes import build_routes
from posts import db
from posts.catalog import Catalog
from posts.followers import scene_counts
from posts.limits import utf8_len
from posts.loader import default_content_dir, load_catalog
from posts.menu import load_menu, menu_body, menu_path, validate
from posts.render import Renderer
from posts.settings import Settings
from tests.bot.conftest import BASE_URL, LiveBot, serve_with
from tests.bot.wechat import event_push, text_push


@pytest.fixture(scope="module")
def pack() -> Catalog:
    catalog, _problems = load_catalog(default_content_dir())
    return catalog


@pytest.fixture
def real(settings: Settings, sessions: sessionmaker[Session], pack: Catalog) -> Iterator[LiveBot]:
    with serve_with(settings, sessions, pack, "safe", renderer=Renderer(pack, BASE_URL)) as bot:
        yield bot


def test_menu_file_is_valid_and_every_click_is_routed(pack: Catalog) -> None:
    menu = load_menu(menu_path(default_content_dir()))
    assert validate(menu, build_routes(pack).click_keys, BASE_URL) == []
    body = menu_body(menu, BASE_URL)
    assert len(body["button"]) == 3
    assert body["button"][2]["sub_button"][3] == {"type": "view", "name": "网页版目录", "url": f"{BASE_URL}/p/"}


def test_menu_validation_catches_wechat_rule_breaks(pack: Catalog) -> None:
    menu = load_menu(menu_path(default_content_dir()))
    problems = validate(menu, {"TOC"}, "")
    assert any("has no route" in p for p in problems)
    assert any("not absolute" in p for p in problems)


def test_every_menu_key_answers_on_the_real_pack(real: LiveBot) -> None:
    menu = load_menu(menu_path(default_content_dir()))
    for leaf in menu.leaves():
        if leaf.kind != "click":
            continue
        reply = real.wechat.push(event_push("CLICK", leaf.key))
        assert reply.msg_type in ("text", "news"), leaf.key
        if reply.msg_type == "text":
            assert utf8_len(reply.content) <= 2048
        else:
            assert all(a["Url"].startswith(BASE_URL + "/p/") for a in reply.articles)


def test_every_routed_click_key_answers(real: LiveBot, pack: Catalog) -> None:
    for key in sorted(build_routes(pack).click_keys):
        assert not real.wechat.push(event_push("CLICK", key)).empty, key


def test_every_scene_welcomes_and_counts(real: LiveBot, pack: Catalog, engine: object) -> None:
    for i, scene in enumerate(pack.scenes.values()):
        openid = f"oScene{i:022d}"
        reply = real.wechat.push(event_push("subscribe", f"qrscene_{scene.key}", openid=openid))
        assert reply.msg_type in ("text", "news") and reply.fields["ToUserName"] == openid
        real.wechat.push(event_push("SCAN", scene.key, openid=openid))
    real.wechat.push(event_push("unsubscribe", openid="oScene0000000000000000000000"))
    with db.session_scope(real.sessions) as session:
        counts = scene_counts(session)
    first = next(iter(pack.scenes))
    assert (counts[first].follows, counts[first].scans, counts[first].following) == (1, 1, 0)
    for key in list(pack.scenes)[1:]:
        assert (counts[key].follows, counts[key].scans, counts[key].following) == (1, 1, 1)


@pytest.mark.parametrize(
    "typed", ["目录", "帮助", "1", "13", "订阅", "订阅 XS228", "我的订阅", "NurOwn", "你好", "治愈"]
)
def test_typed_text_on_the_real_pack(real: LiveBot, typed: str) -> None:
    reply = real.wechat.push(text_push(typed))
    assert reply.msg_type in ("text", "news")
