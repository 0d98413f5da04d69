"""Every reply and push the shipped pack can produce closes with the disclaimer (full, or its one-line form).

The replies go through the real bot over HTTP (every keyword rule, every command, every menu key of
posts/addresses, every scene, the default reply, media); the pushes through posts.compose (what the scheduler
sends: section, update, digest, free text) and the customer-service message queued after a therapy scene's follow.
A news reply (one article) links to a page, which carries the disclaimer in its footer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posts.addresses import clicks, parse_page
from posts.catalog import Catalog
from posts.compose import compose
from posts.limits import utf8_len
from posts.loader import default_content_dir, load_catalog
from posts.models import Outbox
from posts.render import SHORT_BODY_MAX_BYTES, Renderer
from posts.script import converter
from posts.settings import Settings
from tests.bot.conftest import BASE_URL, LiveBot, serve_with
from tests.bot.wechat import Reply, event_push, media_push, text_push


@pytest.fixture(scope="module")
def pack() -> Catalog:
    catalog, problems = load_catalog(default_content_dir())
    assert problems == []
    return catalog


@pytest.fixture(scope="module")
def renderer(pack: Catalog) -> Renderer:
    return Renderer(pack, BASE_URL)


@pytest.fixture
def real(settings: Settings, sessions: sessionmaker[Session], pack: Catalog, renderer: Renderer) -> Iterator[LiveBot]:
    with serve_with(settings, sessions, pack, "safe", renderer=renderer) as bot:
        yield bot


def ends_with_disclaimer(text: str, renderer: Renderer) -> bool:
    """The text's last lines are the footer: the full disclaimer, or the one-line form for a short body (in
    Simplified, or in Traditional for a follower who reads it)."""
    text = text.rstrip()
    convert = converter(renderer.catalog.script).to_traditional
    for full, short in (
        (renderer.disclaimer_text.strip(), renderer.disclaimer_short),
        (convert(renderer.disclaimer_text.strip()), convert(renderer.disclaimer_short)),
    ):
        if text.endswith(full):
            return True
        body = text[: -len(short)].rstrip().removesuffix("——").rstrip()
        if text.endswith(short) and utf8_len(body) <= SHORT_BODY_MAX_BYTES:
            return True
    return False


def check(reply: Reply, what: str, renderer: Renderer, pack: Catalog) -> None:
    assert reply.msg_type in ("text", "news"), what
    if reply.msg_type == "text":
        assert ends_with_disclaimer(reply.content, renderer), f"{what}: {reply.content[-80:]!r}"
        return
    (article,) = reply.articles
    path, _, query = article["Url"].removeprefix(BASE_URL).partition("?")
    page = parse_page(path)
    assert page is not None, what
    html = {
        "index": lambda: renderer.index_page(),
        "section": lambda: renderer.section_page(*page.keys),
        "group": lambda: renderer.group_page(*page.keys),
        "therapy": lambda: renderer.therapy_page(*page.keys),
        "update": lambda: renderer.update_page(*page.keys),
    }[page.kind]()
    assert pack.disclaimer is not None
    snippet = pack.disclaimer.body.strip()[:30]
    if query == "script=t":  # a Traditional reader's link: the page they get is converted
        html, snippet = converter(pack.script).page(html), converter(pack.script).to_traditional(snippet)
    assert snippet in html, what


def typed_words(pack: Catalog) -> list[str]:
    """Something that reaches every rule of keywords.yaml, every command (with every therapy), and the default."""
    words: list[str] = []
    for rule in (*pack.commands, *pack.keywords):
        words += list(rule.patterns)
        words += [f"{p}这个问题" for p in rule.patterns if rule.match == "contains"]
    for therapy in pack.therapies.values():
        for name in (therapy.name, *therapy.aliases):
            words += [name, f"最新 {name}", f"{name}最新进展", f"时间线 {name}", f"订阅 {name}", f"退订 {name}"]
    words += [str(n) for n in range(0, len(pack.sections) + 2)]
    words += ["订阅", "退订", "订阅 不存在的疗法", "退订 不存在的疗法", "我的订阅", "随便说点什么"]
    return list(dict.fromkeys(words))


def test_every_typed_reply_ends_with_the_disclaimer(real: LiveBot, renderer: Renderer, pack: Catalog) -> None:
    words = typed_words(pack)
    assert len(words) > 80
    for word in words:
        check(real.wechat.push(text_push(word)), f"typed {word!r}", renderer, pack)
    check(real.wechat.push(text_push("订阅 NurOwn")), "subscribed", renderer, pack)
    check(real.wechat.push(text_push("我的订阅")), "my subscriptions", renderer, pack)


def test_every_reply_in_traditional_ends_with_the_disclaimer(real: LiveBot, renderer: Renderer, pack: Catalog) -> None:
    reader = "oHant0000000000000000000000"
    check(real.wechat.push(text_push("繁體", openid=reader)), "繁體", renderer, pack)
    back = {p for rule in pack.commands if rule.command == "simplified" for p in rule.patterns}
    convert = converter(pack.script).to_traditional
    for word in typed_words(pack):
        if word in back:
            continue
        reply = real.wechat.push(text_push(word, openid=reader))
        check(reply, f"typed {word!r} (Traditional)", renderer, pack)
        if reply.msg_type == "text":
            assert reply.content.rstrip().endswith(
                (convert(renderer.disclaimer_text.strip()), convert(renderer.disclaimer_short))
            ), word
    for key in clicks(pack):
        check(real.wechat.push(event_push("CLICK", key, openid=reader)), f"click {key} (Traditional)", renderer, pack)


def test_every_menu_key_scene_and_media_reply_ends_with_the_disclaimer(
    real: LiveBot, renderer: Renderer, pack: Catalog
) -> None:
    for key in clicks(pack):
        check(real.wechat.push(event_push("CLICK", key)), f"click {key}", renderer, pack)
    check(real.wechat.push(event_push("CLICK", "NO_SUCH_KEY")), "unknown click", renderer, pack)
    for kind in ("image", "voice", "video", "shortvideo", "location", "link"):
        check(real.wechat.push(media_push(kind)), f"media {kind}", renderer, pack)
    check(real.wechat.push(event_push("subscribe", openid="oPlain00000000000000000000000")), "follow", renderer, pack)
    for i, scene in enumerate(pack.scenes):
        openid = f"oScene{i:022d}"
        check(real.wechat.push(event_push("subscribe", f"qrscene_{scene}", openid=openid)), scene, renderer, pack)
        check(real.wechat.push(event_push("SCAN", scene, openid=openid)), f"scan {scene}", renderer, pack)
    with real.sessions() as session:  # the latest update queued after a therapy scene's follow
        queued = session.scalars(select(Outbox).where(Outbox.kind == "custom_message")).all()
    assert len(queued) == sum(1 for s in pack.scenes.values() if s.therapy)
    for row in queued:
        message = row.payload["message"]
        if message["msgtype"] == "text":
            assert ends_with_disclaimer(message["text"]["content"], renderer), row.payload["update"]


def test_every_push_rendering_ends_with_the_disclaimer(pack: Catalog, renderer: Renderer) -> None:
    refs = [f"section:{s.key}" for s in pack.sections]
    refs += [f"update:{t.key}/{u.key}" for t in pack.therapies.values() for u in t.updates]
    for ref in refs:
        message = compose(ref, pack, renderer)
        assert message is not None and ends_with_disclaimer(message.text, renderer), ref
    digest = compose("digest", pack, renderer, since=date(2024, 1, 1))
    assert digest is not None and ends_with_disclaimer(digest.text, renderer)
    notice = compose("text", pack, renderer, text="本周服务调整：周六暂停更新。", title="服务通知")
    assert notice is not None and ends_with_disclaimer(notice.text, renderer)
    assert notice.text.rstrip().endswith(renderer.disclaimer_short)  # short: the one-line form
