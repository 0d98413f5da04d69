"""A follower in Traditional: typed Traditional matches the same rules; 繁體 / 简体 switch the replies; a QR scene
presets it; pages follow ?script=t. Real pack, real bot over HTTP."""

from __future__ import annotations

import dataclasses
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posts.catalog import Catalog, Scene
from posts.loader import default_content_dir, load_catalog
from posts.models import Follower, Outbox
from posts.render import Renderer
from posts.script import converter
from posts.settings import Settings
from tests.bot.conftest import BASE_URL, LiveBot, serve_with
from tests.bot.wechat import event_push, text_push

READER = "oReader000000000000000000000"


@pytest.fixture(scope="module")
def pack() -> Catalog:
    catalog, problems = load_catalog(default_content_dir())
    assert problems == []
    scene = Scene("poster-hant", "繁体海报", "nurown", therapy="nurown", script="t")
    return dataclasses.replace(catalog, scenes={**catalog.scenes, scene.key: scene})


@pytest.fixture
def real(settings: Settings, sessions: sessionmaker[Session], pack: Catalog) -> Iterator[LiveBot]:
    with serve_with(settings, sessions, pack, "safe", renderer=Renderer(pack, BASE_URL)) as bot:
        yield bot


def script_of(bot: LiveBot, openid: str) -> str | None:
    with bot.sessions() as session:
        return session.scalar(select(Follower.script).where(Follower.openid == openid))


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("目錄", "目录"),
        ("幫助", "帮助"),
        ("治癒", "治愈"),
        ("時間線 NurOwn", "时间线 NurOwn"),
        ("最新 XS228", "最新 XS228"),
    ],
)
def test_traditional_input_gets_the_same_answer(real: LiveBot, traditional: str, simplified: str) -> None:
    assert real.wechat.push(text_push(traditional)).content == real.wechat.push(text_push(simplified)).content


def test_subscribe_typed_in_traditional(real: LiveBot) -> None:
    reply = real.wechat.push(text_push("訂閱 NurOwn", openid=READER))
    assert "已订阅 NurOwn" in reply.content  # the follower has not chosen Traditional: the answer is Simplified


def test_choosing_traditional_and_back(real: LiveBot, pack: Catalog) -> None:
    convert = converter(pack.script).to_traditional
    simplified_toc = real.wechat.push(text_push("目录", openid=READER)).content
    chosen = real.wechat.push(text_push("繁體", openid=READER))
    assert "繁體字" in chosen.content and "简" not in chosen.content
    assert script_of(real, READER) == "t"
    toc = real.wechat.push(text_push("目录", openid=READER)).content
    assert toc == convert(simplified_toc) and "目錄" in toc
    card = real.wechat.push(text_push("XS228", openid=READER)).content
    assert "幹細胞" in card and card.rstrip().endswith(convert(Renderer(pack).disclaimer_text.strip()))
    news = real.wechat.push(event_push("CLICK", "GROUP_CLINICAL", openid=READER))
    assert news.msg_type == "news" and news.articles[0]["Url"].endswith("/p/g/clinical?script=t")
    back = real.wechat.push(text_push("簡體", openid=READER))
    assert "简体字" in back.content and script_of(real, READER) == "s"
    assert real.wechat.push(text_push("目录", openid=READER)).content == simplified_toc


def test_a_scene_presets_traditional(real: LiveBot, pack: Catalog) -> None:
    openid = "oHant0000000000000000000000"
    welcome = real.wechat.push(event_push("subscribe", "qrscene_poster-hant", openid=openid))
    assert script_of(real, openid) == "t"
    convert = converter(pack.script).to_traditional
    assert welcome.content.strip() == convert(Renderer(pack, BASE_URL).welcome("nurown").text).strip()
    with real.sessions() as session:  # the latest update queued after the welcome is in Traditional too
        (row,) = session.scalars(select(Outbox).where(Outbox.kind == "custom_message", Outbox.openid == openid))
    content = row.payload["message"]["text"]["content"]
    assert content == convert(Renderer(pack, BASE_URL).update("nurown", pack.therapies["nurown"].latest.key).text)
    plain = "oPlainScene000000000000000000"
    real.wechat.push(event_push("subscribe", "qrscene_clinic-poster", openid=plain))
    assert script_of(real, plain) == "s"


def test_pages_in_traditional(real: LiveBot) -> None:
    with urllib.request.urlopen(f"{real.url}/p/t/nurown?script=t") as resp:
        html = resp.read().decode("utf-8")
    assert '<html lang="zh-Hant">' in html and "間充質幹細胞" in html and 'href="/p/?script=t"' in html
    with urllib.request.urlopen(f"{real.url}/p/t/nurown") as resp:
        assert "间充质干细胞" in resp.read().decode("utf-8")
