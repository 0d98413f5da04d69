"""Urgent words on the real pack, over signed, AES-encrypted pushes (safe mode) under `wxbot serve`'s server and the
WSGI server: the fixed safety reply before any other rule, closed by the disclaimer, the message at the top of the
inbox once (a redelivery changes nothing); the default and the "did you mean" replies put the question in the inbox
too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posts import inbox
from posts.catalog import Catalog
from posts.loader import default_content_dir, load_catalog
from posts.render import Renderer
from posts.settings import Settings
from tests.bot.conftest import BASE_URL, LiveBot, serve_with
from tests.bot.wechat import OPENID, text_push


@pytest.fixture(scope="module")
def pack() -> Catalog:
    catalog, problems = load_catalog(default_content_dir())
    assert problems == []
    return catalog


@pytest.fixture(params=["http1", "wsgi"])
def real(
    request: pytest.FixtureRequest, settings: Settings, sessions: sessionmaker[Session], pack: Catalog
) -> Iterator[LiveBot]:
    with serve_with(settings, sessions, pack, "safe", renderer=Renderer(pack, BASE_URL), server=request.param) as bot:
        yield bot


def rows(bot: LiveBot) -> list[tuple[str, str, bool]]:
    with bot.sessions() as session:
        return [(i.text, i.reason, i.urgent) for i in inbox.listing(session)]


def test_a_suicide_mention_gets_both_numbers_at_once_and_tops_the_inbox(real: LiveBot, pack: Catalog) -> None:
    question = real.wechat.push(text_push("NurOwn 多少钱，在哪里能打"))  # a keyword/intent answer: not in the inbox
    assert "12356" not in question.content
    unknown = real.wechat.push(text_push("我爸爸晚上老是睡不着觉"))
    assert unknown.content.startswith("没有找到")
    push = text_push("我真的不想活了，干细胞治疗多少钱")  # a cost question too: the urgent rule comes first
    reply = real.wechat.push(push)
    assert reply.msg_type == "text"
    assert "120" in reply.content and "12356" in reply.content
    disclaimer = Renderer(pack).disclaimer_text
    assert (
        reply.content.rstrip().endswith(disclaimer.strip()) or "不构成诊断或治疗建议" in reply.content.splitlines()[-1]
    )
    assert rows(real)[0] == ("我真的不想活了，干细胞治疗多少钱", "urgent:crisis", True)
    assert rows(real)[1] == ("我爸爸晚上老是睡不着觉", "default", False)
    again = real.wechat.push(push)  # WeChat's redelivery of the same MsgId
    assert again.content == reply.content and len(rows(real)) == 2


def test_breathing_words_in_traditional_get_the_120_reply_and_no_hotline(real: LiveBot) -> None:
    reply = real.wechat.push(text_push("我媽媽喘不上氣，呼吸困難"))
    assert "120" in reply.content and "12356" not in reply.content and "急救" in reply.content
    assert rows(real) == [("我媽媽喘不上氣，呼吸困難", "urgent:emergency", True)]


def test_the_did_you_mean_reply_also_lands_in_the_inbox(real: LiveBot) -> None:
    reply = real.wechat.push(text_push("干细胞"))
    assert reply.content.startswith("您是想问")
    assert rows(real) == [("干细胞", "suggest", False)]
    with real.sessions() as session:
        assert inbox.listing(session)[0].openid == OPENID
