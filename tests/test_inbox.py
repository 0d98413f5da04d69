"""posts/inbox.py: recording once, the window left, the answer's text, the similarity groups; urgent.yaml's checks."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from posts import followers, inbox, outbox
from posts.content_sync import sync_catalog
from posts.inbox import InboxError
from posts.interactions import classify
from posts.live import catalog_from_db
from posts.loader import default_content_dir, load_catalog
from posts.models import Outbox
from posts.render import Renderer
from posts.script import TRADITIONAL

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_a_push_is_recorded_once_and_empty_text_never(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        first = inbox.record(session, "oA", "  请问  ", NOW, inbox.DEFAULT, dedup_key="msg:1")
        session.flush()
        assert inbox.record(session, "oA", "请问", NOW, inbox.DEFAULT, dedup_key="msg:1") is first
        assert inbox.record(session, "oA", "   ", NOW, inbox.DEFAULT) is None
        assert first is not None and first.text == "请问" and first.state == "open"
        assert inbox.counts(session) == (1, 0)


def test_the_window_left(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        assert inbox.allowance(session, "oNobody", NOW).reason == "unknown"
        wrote, _ = followers.record_follow(session, "oWrote", NOW - timedelta(days=1))
        followers.touch(wrote, NOW - timedelta(hours=47), classify("text"))
        clicked, _ = followers.record_follow(session, "oClicked", NOW - timedelta(days=1))
        followers.touch(clicked, NOW - timedelta(seconds=20), classify("event", "CLICK"))
        followers.record_follow(session, "oGone", NOW - timedelta(days=1))
        followers.record_unfollow(session, "oGone", NOW - timedelta(hours=1))
        session.flush()
        left = inbox.allowance(session, "oWrote", NOW)
        assert (left.is_open, left.left, left.quota) == (True, 5, 5)
        assert left.closes_at == NOW + timedelta(hours=1)
        assert inbox.allowance(session, "oWrote", NOW + timedelta(hours=2)).reason == "window_closed"
        assert inbox.allowance(session, "oClicked", NOW).left == 3  # a menu tap: 1 minute, 3 messages
        assert inbox.allowance(session, "oGone", NOW).reason == "unfollowed"
        outbox.enqueue(session, outbox.CUSTOM_MESSAGE, "oWrote", {"message": {}}, NOW)  # queued: counts already
        sent = outbox.enqueue(session, outbox.CUSTOM_MESSAGE, "oWrote", {"message": {}}, NOW)
        sent.status, sent.sent_at = "sent", NOW
        outbox.enqueue(session, outbox.TAG_ADD, "oWrote", {"therapy": "nurown"}, NOW)  # a tag change does not
        session.flush()
        assert inbox.allowance(session, "oWrote", NOW).left == 3


def test_an_answer_is_closed_by_the_disclaimer_in_the_followers_script(sessions: sessionmaker[Session]) -> None:
    catalog, _ = load_catalog(default_content_dir())
    renderer = Renderer(catalog, "http://bot.test")
    with sessions() as session:
        row, _ = followers.record_follow(session, "oT", NOW - timedelta(days=1))
        followers.touch(row, NOW - timedelta(minutes=5), classify("text"))
        followers.choose_script(session, "oT", TRADITIONAL, NOW)
        item = inbox.record(session, "oT", "請問費用", NOW, inbox.DEFAULT)
        assert item is not None
        session.flush()
        with pytest.raises(InboxError) as refused:
            inbox.answer(session, item, "x", by="r", role="reviewer", renderer=renderer, now=NOW, reply_key="a")
        assert refused.value.code == "forbidden"
        with pytest.raises(InboxError) as refused:
            inbox.answer(session, item, "长" * 700, by="s", role="sender", renderer=renderer, now=NOW, reply_key="a")
        assert refused.value.code == "reply_too_long"
        queued = inbox.answer(session, item, "费用请直接问医院", by="s", role="sender", renderer=renderer, now=NOW,
                              reply_key="a")  # fmt: skip
        content = queued.payload["message"]["text"]["content"]
        assert content.startswith("費用請直接問醫院") and "不構成診斷或治療建議" in content
        assert item.state == "answered" and item.answered_by == "s"
        assert session.query(Outbox).count() == 1


def test_similar_questions_group_together() -> None:
    from posts.inbox_models import InboxItem

    texts = ["NurOwn多少钱", "nurown 要多少钱？", "NurOwn 多少錢", "怎么报名临床试验", "临床试验怎么报名", "谢谢"]
    items = [InboxItem(id=i, openid="o", text=t, received_at=NOW + timedelta(minutes=i), reason="default")
             for i, t in enumerate(texts)]  # fmt: skip
    groups = inbox.similar_groups(items)
    assert [sorted(i.text for i in g.items) for g in groups] == [
        sorted(texts[:3]),
        sorted(texts[3:5]),
        ["谢谢"],
    ]
    assert groups[0].sample.text == "NurOwn 多少錢"  # the newest of the group
    assert inbox.jaccard(inbox.bigrams("多少钱"), inbox.bigrams("多少錢")) == 1.0


def test_the_urgent_rules_travel_through_the_database(sessions: sessionmaker[Session]) -> None:
    catalog, _ = load_catalog(default_content_dir())
    with sessions() as session:
        sync_catalog(session, catalog, NOW)
        session.commit()
        again = catalog_from_db(session)
    assert again.urgent == catalog.urgent and again.urgent is not None
    assert again.urgent.match("他快窒息了") is not None and again.urgent.match("渐冻症是什么") is None
    assert {s.number for s in again.urgent.sources} == {"120", "12356"}


def test_an_urgent_reply_may_give_only_the_listed_numbers(tmp_path: Path) -> None:
    pack = tmp_path / "content"
    shutil.copytree(default_content_dir(), pack)
    path = pack / "urgent.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("请马上拨打 120 急救电话", "请拨 95120"), "utf-8")
    catalog, problems = load_catalog(pack)
    assert catalog.urgent is None
    assert [p.message for p in problems] == ["reply gives 95120, not one of 'numbers'"]


def test_the_content_check_names_a_keyword_the_urgent_words_take_first() -> None:
    from dataclasses import replace

    from posts.catalog import KeywordRule
    from posts.menu import load_menu, menu_path
    from wxbot.replycheck import reply_problems

    catalog, _ = load_catalog(default_content_dir())
    menu = load_menu(menu_path(default_content_dir()))
    renderer = Renderer(catalog, "http://bot.test")
    assert reply_problems(catalog, menu, renderer, NOW) == []
    shadowed = replace(catalog, keywords=(*catalog.keywords, KeywordRule("contains", ("急救电话",), reply="…")))
    assert reply_problems(shadowed, menu, renderer, NOW) == [
        "keyword '急救电话' is answered first by urgent.yaml (urgent:emergency): change the pattern or the urgent words"
    ]
