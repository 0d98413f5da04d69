"""What operators write in the console is what the running bot answers: a keyword reply approved in the console is
the reply to its keyword (closed by the disclaimer), and an edited welcome is what a scan of its QR scene gets, both
at once, on the real pack and renderer, through signed and encrypted pushes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posts import revisions
from posts.catalog import Catalog
from posts.content_kinds import KeywordDraft
from posts.content_sync import sync_catalog
from posts.db import session_scope
from posts.live import catalog_from_db
from posts.loader import default_content_dir, load_catalog
from posts.render import Renderer
from posts.settings import Settings
from tests.bot.conftest import BASE_URL, LiveBot, serve_with
from tests.bot.wechat import event_push, text_push
from wxbot.consoleapp import router

REAL = default_content_dir()
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
REPLY = "睡不好很常见。可以把入睡时间、夜里醒来的次数记下来，复诊时告诉神经科医生，由医生判断原因。"


@pytest.fixture
def pack(sessions: sessionmaker[Session]) -> Catalog:
    catalog, problems = load_catalog(REAL)
    assert problems == []
    with session_scope(sessions) as session:
        sync_catalog(session, catalog, NOW)
    return catalog


@pytest.fixture
def bot(settings: Settings, sessions: sessionmaker[Session], pack: Catalog) -> Iterator[LiveBot]:
    with serve_with(settings, sessions, pack, "safe", renderer=Renderer(pack, BASE_URL)) as live:
        yield live


def go_live(sessions: sessionmaker[Session], draft: Any) -> Catalog:
    """Draft by an editor, checked as the console checks it, approved by a reviewer; the catalog now live."""
    with sessions() as session:
        catalog = catalog_from_db(session)
    with session_scope(sessions) as session:
        rev = revisions.save_draft(session, draft, "editor1", NOW)
        checked = revisions.check(revisions.draft_from(rev), catalog, TODAY, REAL, router)
        assert checked.errors == []
        revisions.submit(session, rev, "editor1", checked, NOW)
        revisions.approve(session, rev, "reviewer1", checked, NOW)
    with sessions() as session:
        return catalog_from_db(session)


def test_a_keyword_reply_written_in_the_console_is_what_the_bot_replies(bot: LiveBot) -> None:
    before = bot.wechat.push(text_push("睡不着", openid="oKeyword00000000000000000001"))
    assert REPLY not in before.content  # nothing answers it yet: the default reply
    live = go_live(bot.sessions, KeywordDraft(match="exact", patterns="睡不着\n失眠", reply=REPLY))
    assert bot.app.content is not None and bot.app.content.refresh()  # the bot's watcher does this within a second
    for word in ("睡不着", "失眠", "失 眠"):
        reply = bot.wechat.push(text_push(word, openid="oKeyword00000000000000000001"))
        assert reply.msg_type == "text"
        assert reply.content == Renderer(live, BASE_URL).close(REPLY).strip()
        assert reply.content.startswith(REPLY) and "不构成诊断或治疗建议" in reply.content


def test_a_changed_pack_keyword_reply_replaces_the_packs(bot: LiveBot, pack: Catalog) -> None:
    draft = revisions.kind_of("keyword").of(pack, "exact:你好")
    assert draft is not None
    draft.reply = "您好，我在。回复“目录”看年度回顾的章节。"
    go_live(bot.sessions, draft)
    assert bot.app.content is not None and bot.app.content.refresh()
    assert bot.wechat.push(text_push("在吗")).content.startswith("您好，我在。回复“目录”看年度回顾的章节。")
    with session_scope(bot.sessions) as session:
        sync_catalog(session, pack, NOW)  # a restart, or `wxbot content reload`, of the shipped pack
    with bot.sessions() as session:
        rules = [r for r in catalog_from_db(session).keywords if "你好" in r.patterns]
    assert [r.reply for r in rules] == ["您好，我在。回复“目录”看年度回顾的章节。"]  # kept, and not twice


def test_an_edited_welcome_is_what_a_scan_of_its_scene_gets(bot: LiveBot, pack: Catalog) -> None:
    draft = revisions.kind_of("welcome").of(pack, "clinic-poster")
    assert draft is not None
    draft.title = "欢迎您，候诊的朋友"
    draft.body = "您好，感谢您扫码关注。候诊时可以回复“目录”，看看我们整理的年度回顾。"
    go_live(bot.sessions, draft)
    assert bot.app.content is not None and bot.app.content.refresh()
    reply = bot.wechat.push(event_push("subscribe", "qrscene_clinic-poster", openid="oWelcome00000000000000000001"))
    assert "候诊时可以回复“目录”" in reply.content and "不构成诊断或治疗建议" in reply.content
    other = bot.wechat.push(event_push("subscribe", "qrscene_article-link", openid="oWelcome00000000000000000002"))
    assert "候诊时可以回复“目录”" not in other.content  # another scene keeps its own welcome
