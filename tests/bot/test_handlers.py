"""Every handler, menu key and scene, driven through /wechat over real HTTP; replies decrypted and read."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.routes import build_routes
from posts import outbox, received
from posts.models import Follower, InboundEvent, Outbox, Subscription
from tests.bot.conftest import BASE_URL, LiveBot, small_catalog
from tests.bot.wechat import OPENID, event_push, media_push, text_push


@pytest.fixture
def plain(serve: Callable[..., LiveBot]) -> LiveBot:
    return serve("plain")


def _follower(bot: LiveBot, openid: str = OPENID) -> Follower:
    with bot.sessions() as s:
        row = s.scalars(select(Follower).where(Follower.openid == openid)).one()
        s.expunge(row)
        return row


def _subscriptions(bot: LiveBot) -> dict[str, bool]:
    with bot.sessions() as s:
        return {r.therapy_key: r.active for r in s.scalars(select(Subscription))}


def _outbox(bot: LiveBot) -> list[tuple[str, dict]]:
    with bot.sessions() as s:
        return [(r.kind, r.payload) for r in s.scalars(select(Outbox).order_by(Outbox.id))]


def _log(bot: LiveBot) -> list[InboundEvent]:
    with bot.sessions() as s:
        return list(s.scalars(select(InboundEvent).order_by(InboundEvent.id)))


# --- follow, scan, unfollow ----------------------------------------------------------------------------------


def test_plain_follow_records_and_welcomes(bot: LiveBot) -> None:
    reply = bot.wechat.push(event_push("subscribe", ""))
    assert reply.content == "WELCOME default"
    f = _follower(bot)
    assert f.subscribed and f.first_followed_at and f.scene_key is None
    assert f.last_interaction_kind == "follow"
    assert _log(bot)[0].reply_kind == "text"


def test_follow_by_therapy_scene_subscribes_and_queues_latest(plain: LiveBot) -> None:
    reply = plain.wechat.push(event_push("subscribe", "qrscene_nurown"))
    assert reply.content == "WELCOME nurown"
    assert _follower(plain).scene_key == "nurown"
    assert _subscriptions(plain) == {"nurown": True}
    rows = _outbox(plain)
    assert rows[0] == (outbox.TAG_ADD, {"therapy": "nurown"})
    kind, payload = rows[1]
    assert kind == outbox.CUSTOM_MESSAGE
    assert payload["message"] == {"msgtype": "text", "text": {"content": "UPDATE nurown/2025-04-10-ind"}}
    assert payload["update"] == "2025-04-10-ind"


def test_follow_by_plain_scene_welcomes_without_subscribing(plain: LiveBot) -> None:
    assert plain.wechat.push(event_push("subscribe", "qrscene_poster")).content == "WELCOME default"
    assert _subscriptions(plain) == {} and _outbox(plain) == []
    assert _follower(plain).scene_key == "poster"


def test_unknown_scene_gets_default_welcome_and_is_logged(plain: LiveBot, caplog: pytest.LogCaptureFixture) -> None:
    assert plain.wechat.push(event_push("subscribe", "qrscene_nowhere")).content == "WELCOME default"
    assert plain.wechat.push(event_push("SCAN", "nowhere")).content == "WELCOME default"
    assert "unknown QR scene 'nowhere'" in caplog.text


def test_scan_by_follower_gives_scene_content_and_subscribes(plain: LiveBot) -> None:
    plain.wechat.push(event_push("subscribe"))
    assert plain.wechat.push(event_push("SCAN", "nurown")).content == "WELCOME nurown"
    assert _subscriptions(plain) == {"nurown": True}
    assert _follower(plain).last_interaction_kind == "scan"
    assert plain.wechat.push(event_push("SCAN", "poster")).content == "WELCOME default"


def test_unfollow_keeps_history_and_return_restores_subscriptions(plain: LiveBot) -> None:
    plain.wechat.push(event_push("subscribe", "qrscene_nurown"))
    first = _follower(plain).first_followed_at
    assert plain.wechat.push(event_push("unsubscribe")).empty
    f = _follower(plain)
    assert not f.subscribed and f.last_unfollowed_at is not None
    assert _subscriptions(plain) == {"nurown": True}
    assert plain.wechat.push(event_push("subscribe")).content == "WELCOME default"
    f = _follower(plain)
    assert f.subscribed and f.first_followed_at == first and f.scene_key == "nurown"
    assert [k for k, _ in _outbox(plain)].count(outbox.TAG_ADD) == 2  # the tag mirrored again on return
    assert [e.msg_type + "/" + (e.event or "") for e in _log(plain)] == [
        "event/subscribe",
        "event/unsubscribe",
        "event/subscribe",
    ]


# --- menu ----------------------------------------------------------------------------------------------------

EXPECTED_CLICKS = {
    "TOC": "TOC",
    "HELP": "HELP",
    "SECTION_OPENING": "SECTION opening",
    "SECTION_RESEARCH_PROTECTION": "SECTION research-protection",
    "SECTION_CLINICAL_NUROWN": "SECTION clinical-nurown",
    "SECTION_OUTLOOK": "SECTION outlook",
    "GROUP_OPENING": "SECTION opening",
    "GROUP_CLINICAL": "SECTION clinical-nurown",
    "GROUP_OUTLOOK": "SECTION outlook",
    "THERAPY_NUROWN_CARD": "THERAPY nurown",
    "THERAPY_NEURONATA_R_CARD": "THERAPY neuronata-r",
    "THERAPY_NUROWN_LATEST": "UPDATE nurown/2025-04-10-ind",
    "THERAPY_NEURONATA_R_LATEST": "THERAPY neuronata-r",
    "THERAPY_NUROWN_TIMELINE": "TIMELINE nurown",
    "THERAPY_NEURONATA_R_TIMELINE": "TIMELINE neuronata-r",
    "THERAPY_NUROWN_SUBSCRIBE": "已订阅 NurOwn",
    "THERAPY_NEURONATA_R_SUBSCRIBE": "已订阅 Neuronata-R",
    "MY_SUBSCRIPTIONS": "SUBSCRIPTIONS none",
    "SUBSCRIBE": "可以订阅这几项疗法",
}


def test_every_routed_click_key_is_covered_here() -> None:
    news_keys = {"SECTION_RESEARCH_MODELS", "GROUP_RESEARCH"}
    assert build_routes(small_catalog()).click_keys == set(EXPECTED_CLICKS) | news_keys


@pytest.mark.parametrize("key", sorted(EXPECTED_CLICKS))
def test_click(plain: LiveBot, key: str) -> None:
    reply = plain.wechat.push(event_push("CLICK", key))
    assert reply.msg_type == "text"
    assert EXPECTED_CLICKS[key] in reply.content
    assert _follower(plain).last_interaction_kind == "click"
    if key.endswith(("_LATEST", "_CARD")):  # the card and the update each point to the timeline
        assert "“时间线" in reply.content
    if key == "THERAPY_NUROWN_LATEST":  # the update points back to the card
        assert "回复“NurOwn”看疗法卡片" in reply.content
    if key.endswith("_SUBSCRIBE"):
        assert [k for k, _ in _outbox(plain)] == [outbox.TAG_ADD]


def test_long_section_becomes_one_article_news(plain: LiveBot) -> None:
    reply = plain.wechat.push(event_push("CLICK", "SECTION_RESEARCH_MODELS"))
    assert reply.msg_type == "news" and len(reply.articles) == 1
    assert reply.articles[0]["Url"] == f"{BASE_URL}/p/s/research-models"
    assert reply.articles[0]["Title"] == "疾病模型"


def test_a_section_read_as_a_reply_is_noted_so_a_post_of_it_skips_the_follower(plain: LiveBot) -> None:
    plain.wechat.push(event_push("CLICK", "SECTION_RESEARCH_MODELS"))
    plain.wechat.push(text_push("1"))
    with plain.sessions() as s:
        assert received.already(s, received.section_ref("research-models"), [OPENID]) == {OPENID}
        first = small_catalog().section_by_number(1)
        assert first is not None and received.already(s, received.section_ref(first.key), [OPENID]) == {OPENID}
        assert received.already(s, received.section_ref("research-models"), ["oSomeoneElse"]) == set()


def test_group_click_is_one_article_linking_to_the_group_page(plain: LiveBot) -> None:
    reply = plain.wechat.push(event_push("CLICK", "GROUP_RESEARCH"))
    assert reply.msg_type == "news" and reply.fields["ArticleCount"] == "1"
    assert reply.articles == [
        {"Title": "GROUP research", "Description": "2 sections", "PicUrl": "", "Url": f"{BASE_URL}/p/g/research"}
    ]


def test_view_is_logged_with_empty_reply(plain: LiveBot) -> None:
    assert plain.wechat.push(event_push("VIEW", f"{BASE_URL}/p/")).empty
    assert _follower(plain).last_interaction_kind == "view"
    assert _log(plain)[-1].key == f"{BASE_URL}/p/"


def test_unknown_click_key_gets_the_default_text(plain: LiveBot) -> None:
    assert "目录" in plain.wechat.push(event_push("CLICK", "OLD_MENU_KEY")).content


# --- text ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("帮助", "HELP"),
        ("help", "HELP"),
        ("HELP", "HELP"),
        ("?", "HELP"),
        ("？", "HELP"),
        ("目录", "TOC"),
        ("1", "SECTION opening"),
        (" 4 ", "SECTION clinical-nurown"),
        ("99", "没有第 99 节"),
        ("你好", "你好！回复目录查看章节。"),
        ("干细胞有副作用吗", "SECTION research-protection"),
        ("nurown", "THERAPY nurown"),
        ("最新 NurOwn", "UPDATE nurown/2025-04-10-ind"),
        ("NurOwn最新进展", "UPDATE nurown/2025-04-10-ind"),
        ("最新 Neuronata-R", "THERAPY neuronata-r"),
        ("时间线 NurOwn", "TIMELINE nurown"),
        ("lenzumestrocel时间线", "TIMELINE neuronata-r"),
        ("订阅", "可以订阅这几项疗法"),
        ("订阅 不存在的疗法", "没有找到叫"),
        ("我的订阅", "SUBSCRIPTIONS none"),
        ("退订 NurOwn", "您没有订阅 NurOwn"),
        ("随便说点什么", "订阅 疗法名 / 退订 疗法名"),
    ],
)
def test_text(plain: LiveBot, typed: str, expected: str) -> None:
    reply = plain.wechat.push(text_push(typed))
    assert reply.msg_type == "text"
    assert expected in reply.content
    assert _follower(plain).last_interaction_kind == "message"
    assert _log(plain)[-1].key == typed[:64]


def test_subscribe_by_alias_any_case_then_list_then_unsubscribe(bot: LiveBot) -> None:
    assert "已订阅 Neuronata-R" in bot.wechat.push(text_push("订阅 NEURONATA R")).content
    assert "您已经订阅了 Neuronata-R" in bot.wechat.push(text_push("订阅 lenzumestrocel")).content
    mine = bot.wechat.push(text_push("我的订阅")).content
    assert mine.startswith("SUBSCRIPTIONS neuronata-r")
    assert "已退订 Neuronata-R" in bot.wechat.push(text_push("退订 neuronata-r")).content
    assert _subscriptions(bot) == {"neuronata-r": False}
    assert [k for k, _ in _outbox(bot)] == [outbox.TAG_ADD, outbox.TAG_REMOVE]


def test_cdata_terminator_in_content_does_not_break_the_reply(plain: LiveBot) -> None:
    reply = plain.wechat.push(text_push("试验]]>"))
    assert reply.content == "含有]]>的回复"
    assert b"]]]]><![CDATA[>" in reply.raw


def test_long_section_by_number_is_news_with_one_article(plain: LiveBot) -> None:
    reply = plain.wechat.push(text_push("3"))
    assert reply.msg_type == "news" and reply.fields["ArticleCount"] == "1"


# --- other pushes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["image", "voice", "video", "shortvideo", "location", "link"])
def test_media_get_a_short_helpful_answer(plain: LiveBot, kind: str) -> None:
    reply = plain.wechat.push(media_push(kind))
    assert reply.msg_type == "text" and "帮助" in reply.content
    assert _log(plain)[-1].msg_type == kind


@pytest.mark.parametrize(
    "event", ["TEMPLATESENDJOBFINISH", "PUBLISHJOBFINISH", "LOCATION", "subscribe_msg_popup_event"]
)
def test_unknown_events_are_logged_with_empty_reply(plain: LiveBot, event: str) -> None:
    assert plain.wechat.push(event_push(event)).empty
    assert _log(plain)[-1].event == event.lower() and _log(plain)[-1].reply_kind == "empty"
