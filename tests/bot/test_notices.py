"""Subscribe-notice events: consents recorded from signed, encrypted pushes, once under WeChat's retries."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from threading import Barrier

import pytest
from sqlalchemy import select

from bot.message import Inbound
from bot.xmlin import items, parse_fields
from posts import notices
from posts.models import NoticeConsent
from posts.queue import Delivery, Post
from tests.bot.conftest import LiveBot
from tests.bot.wechat import GH, OPENID
from tests.bot.wechat import Reply as BotReply

T1 = "tmplNoticeUpdate000000000000000000000000001"
T2 = "tmplNoticeOther0000000000000000000000000002"
_times = itertools.count(1_810_000_000)


def notice_push(event: str, field: str, entries: list[dict[str, str | int]], openid: str = OPENID) -> str:
    """The XML WeChat pushes: one ``<List>`` per template inside the event's field."""
    lists = "".join(
        "<List>"
        + "".join(f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>" for k, v in e.items())
        + "</List>"
        for e in entries
    )
    return (
        f"<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{next(_times)}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><{field}>{lists}</{field}></xml>"
    )


def popup(*entries: tuple[str, str], scene: int = 1, openid: str = OPENID) -> str:
    rows: list[dict[str, str | int]] = [
        {"TemplateId": t, "SubscribeStatusString": s, "PopupScene": scene} for t, s in entries
    ]
    return notice_push("subscribe_msg_popup_event", "SubscribeMsgPopupEvent", rows, openid)


def consents(bot: LiveBot) -> list[tuple[str, str, str, int | None]]:
    with bot.sessions() as s:
        rows = s.execute(
            select(NoticeConsent.openid, NoticeConsent.template_id, NoticeConsent.state, NoticeConsent.scene).order_by(
                NoticeConsent.id
            )
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_the_list_items_survive_parsing_one_or_several() -> None:
    one = parse_fields(popup((T1, "accept")))
    message = Inbound.from_fields(one)
    assert message.notice_items == [{"TemplateId": T1, "SubscribeStatusString": "accept", "PopupScene": "1"}]
    two = Inbound.from_fields(parse_fields(popup((T1, "accept"), (T2, "reject"), scene=2)))
    assert [i["SubscribeStatusString"] for i in two.notice_items] == ["accept", "reject"]
    assert items("not json") == [] and items("") == []


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_popup_accept_and_reject_are_recorded_without_a_reply(serve: Callable[..., LiveBot], mode: str) -> None:
    bot = serve(mode)
    reply = bot.wechat.push(popup((T1, "accept"), (T2, "reject")))
    assert reply.empty  # WeChat shows nothing for these events
    assert consents(bot) == [(OPENID, T1, "accepted", 1), (OPENID, T2, "rejected", 1)]


def test_redeliveries_and_concurrent_copies_record_one_consent(serve: Callable[..., LiveBot]) -> None:
    bot = serve("safe")
    push = popup((T1, "accept"))
    bot.wechat.push(push)
    bot.wechat.push(push)  # WeChat's retry of the same push
    copies = 8
    barrier = Barrier(copies)
    other = popup((T1, "accept"))  # a second accept (a later popup): a second one-time consent

    def send(_: int) -> BotReply:
        barrier.wait()
        return bot.wechat.push(other)

    with ThreadPoolExecutor(copies) as pool:
        list(pool.map(send, range(copies)))
    assert [c[2] for c in consents(bot)] == ["accepted", "accepted"]


def test_two_decisions_in_one_second_are_two_pushes(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    a = popup((T1, "accept"))
    b = a.replace(f"<![CDATA[{T1}]]>", f"<![CDATA[{T2}]]>")  # same CreateTime, another template
    bot.wechat.push(a)
    bot.wechat.push(b)
    assert {c[1] for c in consents(bot)} == {T1, T2}


def test_turning_the_notice_off_withdraws_open_consents(serve: Callable[..., LiveBot]) -> None:
    bot = serve("safe")
    bot.wechat.push(popup((T1, "accept")))
    bot.wechat.push(popup((T1, "accept")))
    change = notice_push(
        "subscribe_msg_change_event", "SubscribeMsgChangeEvent", [{"TemplateId": T1, "SubscribeStatusString": "reject"}]
    )
    bot.wechat.push(change)
    bot.wechat.push(change)
    states = [c[2] for c in consents(bot)]
    assert states.count("accepted") == 0 and states.count("withdrawn") == 3  # two consents and the change itself


def _notice_delivery(bot: LiveBot, msg_id: str | None) -> int:
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with bot.sessions() as s:
        post = Post(content="update:nurown/2025-04-10-ind", audience="therapy:nurown", created_at=now, status="sending")
        s.add(post)
        s.flush()
        row = Delivery(
            post_id=post.id, openid=OPENID, channel="notice", state="sent", msg_id=msg_id, sent_at=now, attempts=1
        )
        s.add(row)
        s.flush()
        s.add(
            NoticeConsent(
                openid=OPENID,
                template_id=T1,
                state=notices.USED,
                delivery_id=row.id,
                granted_at=now,
                changed_at=now,
            )
        )
        s.commit()
        return row.id


def sent_push(msg_id: str, code: int, status: str) -> str:
    entry: dict[str, str | int] = {"TemplateId": T1, "MsgID": msg_id, "ErrorCode": code, "ErrorStatus": status}
    return notice_push("subscribe_msg_sent_event", "SubscribeMsgSentEvent", [entry])


def test_the_sent_event_confirms_the_notice(serve: Callable[..., LiveBot]) -> None:
    bot = serve("safe")
    row_id = _notice_delivery(bot, "1000777")
    assert bot.wechat.push(sent_push("1000777", 0, "success")).empty
    with bot.sessions() as s:
        row = s.get(Delivery, row_id)
        assert row is not None and row.state == "sent" and row.confirmed_at is not None


def test_a_failed_sent_event_fails_the_delivery_and_43101_marks_the_consent_gone(
    serve: Callable[..., LiveBot],
) -> None:
    bot = serve("plain")
    row_id = _notice_delivery(bot, None)  # no MsgID stored: matched as the follower's latest notice
    bot.wechat.push(sent_push("1000888", 43101, "failed:user refuse"))
    with bot.sessions() as s:
        row = s.get(Delivery, row_id)
        assert row is not None and row.state == "failed" and row.errcode == 43101
        assert "43101" in (row.reason or "")
        assert s.scalar(select(NoticeConsent.state)) == notices.GONE


def test_an_unknown_sent_event_changes_nothing(serve: Callable[..., LiveBot]) -> None:
    bot = serve("plain")
    assert bot.wechat.push(sent_push("999", 0, "success")).empty
    assert consents(bot) == []


def test_a_result_that_overtakes_the_send_is_reconciled_from_the_log(serve: Callable[..., LiveBot]) -> None:
    """The stand-in (like WeChat) may push the result before the sender has recorded the send."""
    bot = serve("safe")
    bot.wechat.push(sent_push("1000901", 0, "success"))
    bot.wechat.push(sent_push("1000902", 43101, "failed:user refuse"))
    ok_row = _notice_delivery(bot, "1000901")
    refused = _notice_delivery(bot, "1000902")
    since = datetime(2026, 11, 30, tzinfo=UTC)
    with bot.sessions() as s:
        assert notices.reconcile(s, since) == 2
        s.commit()
        assert notices.reconcile(s, since) == 0  # once
    with bot.sessions() as s:
        good, bad = s.get(Delivery, ok_row), s.get(Delivery, refused)
        assert good is not None and good.confirmed_at is not None and good.state == "sent"
        assert bad is not None and (bad.state, bad.errcode) == ("failed", 43101)
        gone = s.scalar(select(NoticeConsent.state).where(NoticeConsent.delivery_id == refused))
        assert gone == notices.GONE
