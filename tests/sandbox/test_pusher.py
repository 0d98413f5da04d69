"""The WeChat side of the callback: modes, signatures, QR follows, replies, retries, invalid answers."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import replace

import pytest
import requests
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import ArticlesReply, ImageReply, TextReply

from sandbox import Limits, SandboxError
from sandbox.limits import SERVICE_UNAVAILABLE
from sandbox.wxcrypto import sign
from sandbox.xmlmsg import parse_xml

from .callback_bot import BotServer, CallbackBot, text_reply

# Official sample credentials (reference §1.7, V3/V4/V10).
OFFICIAL = {
    "token": "spamtest",
    "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "app_id": "wx2c2769f8efd9abc2",
    "original_id": "gh_10f6c3c3ac5a",
}
USER = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
Bots = Callable[..., tuple[CallbackBot, BotServer]]


def test_safe_mode_envelope_and_encrypted_reply(make_sandbox, make_bot: Bots) -> None:
    sbx = make_sandbox(message_mode="safe", **OFFICIAL)
    bot, _ = make_bot(sbx)
    result = sbx.pusher.send_text(sbx.platform.add_follower(USER), "ALS 干细胞 最新进展")
    assert result.ok and result.attempts == 1 and result.reply_kind == "message"
    assert result.reply is not None and result.reply.encrypted
    (got,) = bot.received
    assert set(got.params) == {"signature", "timestamp", "nonce", "openid", "encrypt_type", "msg_signature"}
    assert got.params["openid"] == USER and got.params["encrypt_type"] == "aes"
    envelope = parse_xml(got.body)
    assert set(envelope) == {"ToUserName", "Encrypt"} and envelope["ToUserName"] == "gh_10f6c3c3ac5a"
    assert got.params["msg_signature"] == sign(
        "spamtest", got.params["timestamp"], got.params["nonce"], envelope["Encrypt"]
    )
    assert got.fields["Content"] == "ALS 干细胞 最新进展" and got.fields["MsgId"] == result.msg_id
    assert got.fields["CreateTime"] == str(int(sbx.clock()))
    (record,) = sbx.platform.inbox(USER)
    assert (record.kind, record.msgtype, record.via) == ("reply", "text", "callback")
    assert record.payload == {"content": "echo: ALS 干细胞 最新进展"}


def test_compat_mode_body_and_plain_reply(make_sandbox, make_bot: Bots) -> None:
    sbx = make_sandbox(message_mode="compat", **OFFICIAL)
    bot, _ = make_bot(sbx)
    sbx.platform.add_follower(USER)
    result = sbx.pusher.send_text(USER, "abcdteT")
    got = bot.received[0]
    body = parse_xml(got.body)
    assert body["Content"] == "abcdteT" and body["FromUserName"] == USER and "Encrypt" in body
    crypto = WeChatCrypto("spamtest", OFFICIAL["encoding_aes_key"], OFFICIAL["app_id"])
    inner = crypto.decrypt_message(got.body, got.params["msg_signature"], got.params["timestamp"], got.params["nonce"])
    assert parse_xml(inner) == {k: v for k, v in body.items() if k != "Encrypt"}
    assert result.reply_kind == "message" and result.reply is not None and not result.reply.encrypted
    assert sbx.platform.inbox(USER)[0].payload["content"] == "echo: abcdteT"


def test_plain_mode_click_news_reply(make_sandbox, make_bot: Bots) -> None:
    sbx = make_sandbox(message_mode="plain")
    bot, _ = make_bot(sbx)
    sbx.api.post("menu/create", {"button": [{"type": "click", "name": "综述", "key": "REVIEW"}]})
    openid = sbx.platform.add_follower()
    result = sbx.pusher.click(openid, "REVIEW")
    got = bot.received[0]
    assert "encrypt_type" not in got.params and "msg_signature" not in got.params
    assert got.params["signature"] == sign(sbx.platform.config.token, got.params["timestamp"], got.params["nonce"])
    assert got.fields == parse_xml(got.body)
    assert got.fields["Event"] == "CLICK" and got.fields["EventKey"] == "REVIEW"
    assert result.reply is not None and result.reply.msgtype == "news"
    (record,) = sbx.platform.inbox(openid)
    assert record.payload["articles"] == [
        {"title": "about REVIEW", "description": "d", "picurl": "", "url": "https://e.x/1"}
    ]
    with pytest.raises(SandboxError):
        sbx.pusher.click(openid, "NO_SUCH_KEY")


def test_follow_by_qr_scene(make_sandbox, make_bot: Bots) -> None:
    sbx = make_sandbox(message_mode="safe")
    bot, _ = make_bot(sbx)
    created = sbx.api.post(
        "qrcode/create",
        {"action_name": "QR_STR_SCENE", "expire_seconds": 300, "action_info": {"scene": {"scene_str": "poster-2025"}}},
    )
    result = sbx.pusher.follow("oQrFollower0000000000000001", "poster-2025")
    fields = bot.received[0].fields
    assert fields["Event"] == "subscribe" and fields["EventKey"] == "qrscene_poster-2025"
    assert fields["Ticket"] == created["ticket"]
    assert sbx.platform.inbox(result.openid)[0].payload == {"content": "welcome poster-2025"}
    info = sbx.api.get("user/info", openid=result.openid)
    assert info["subscribe"] == 1 and info["qr_scene_str"] == "poster-2025"
    assert info["subscribe_scene"] == "ADD_SCENE_QR_CODE" and info["subscribe_time"] == int(sbx.clock())
    scan = sbx.pusher.scan(result.openid, "poster-2025")
    assert bot.received[1].fields["Event"] == "SCAN" and bot.received[1].fields["EventKey"] == "poster-2025"
    assert scan.ok
    sbx.clock.advance(300)
    with pytest.raises(SandboxError):
        sbx.pusher.follow("oLate00000000000000000000001", "poster-2025")
    unfollow = sbx.pusher.unfollow(result.openid)
    assert bot.received[-1].fields["Event"] == "unsubscribe" and unfollow.ok
    assert sbx.api.get("user/info", openid=result.openid) == {"subscribe": 0, "openid": result.openid}


def test_retry_after_slow_first_answer(make_sandbox, make_bot: Bots) -> None:
    sbx = make_sandbox(message_mode="safe", limits=replace(Limits(), callback_timeout=0.3))
    bot, _ = make_bot(sbx, delays=[0.8])
    openid = sbx.platform.add_follower()
    result = sbx.pusher.send_text(openid, "slow please")
    assert result.status == "delivered" and result.attempts == 2 and result.elapsed >= 0.3
    first, second = bot.received
    assert first.fields["MsgId"] == second.fields["MsgId"] == result.msg_id
    assert first.fields["CreateTime"] == second.fields["CreateTime"]
    assert [r.payload["content"] for r in sbx.platform.inbox(openid)] == ["echo: slow please"]


def test_three_timeouts_mean_service_unavailable(make_sandbox, make_bot: Bots) -> None:
    sbx = make_sandbox(message_mode="plain", limits=replace(Limits(), callback_timeout=0.2))
    bot, _ = make_bot(sbx, delays=[0.5, 0.5, 0.5, 0.5])
    openid = sbx.platform.add_follower()
    result = sbx.pusher.send_text(openid, "anyone?")
    assert result.status == "timeout" and result.attempts == 3 and not result.ok
    assert len({r.fields["MsgId"] for r in bot.received}) == 1 and len(bot.received) == 3
    (record,) = sbx.platform.inbox(openid)
    assert record.msgtype == "service_unavailable" and record.payload["content"] == SERVICE_UNAVAILABLE


def test_connection_refused_retries(make_sandbox) -> None:
    sbx = make_sandbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sbx.pusher.url = f"http://127.0.0.1:{port}/wechat"
    openid = sbx.platform.add_follower()
    result = sbx.pusher.send_text(openid, "x")
    assert result.status == "connection_error" and result.attempts == 3
    assert sbx.platform.inbox(openid)[0].msgtype == "service_unavailable"


@pytest.mark.parametrize(
    ("mode", "raw", "reason"),
    [
        ("plain", b'{"msg": "json is not xml"}', "malformed"),
        ("plain", b"<html><body>oops</body></html>", "root element"),
        ("safe", None, "encrypted reply"),  # plaintext reply in safe mode
        ("plain", b"<xml><ToUserName><![CDATA[someone-else]]></ToUserName></xml>", "ToUserName"),
    ],
)
def test_invalid_replies(make_sandbox, make_bot: Bots, mode: str, raw: bytes | None, reason: str) -> None:
    sbx = make_sandbox(message_mode=mode)
    openid = sbx.platform.add_follower()
    bot, _ = make_bot(sbx)
    if raw is None:  # a safe-mode bot that forgets to encrypt
        bot.mode = "plain"
    else:
        bot.raw_reply = raw
    result = sbx.pusher.send_text(openid, "hi")
    assert result.status == "delivered" and result.reply_kind == "invalid" and not result.ok
    assert reason in (result.error or "")
    (record,) = sbx.platform.inbox(openid)
    assert record.msgtype == "service_unavailable" and reason in record.payload["reason"]


def test_reply_rules(make_sandbox, make_bot: Bots) -> None:
    sbx = make_sandbox(message_mode="plain")
    openid = sbx.platform.add_follower()
    two = [{"title": "a", "description": "", "image": "", "url": "u"}] * 2
    bot, _ = make_bot(sbx, reply=lambda msg: ArticlesReply(message=msg, articles=two).render())
    assert sbx.pusher.send_text(openid, "x").reply_kind == "invalid"  # text trigger allows 1 article
    bot.reply = lambda msg: ImageReply(message=msg, media_id="never-uploaded").render()
    assert "media_id" in (sbx.pusher.send_text(openid, "x").error or "")
    for answer in ("", "success"):
        bot.reply = lambda msg, a=answer: a
        result = sbx.pusher.send_text(openid, "quiet")
        assert result.ok and result.reply_kind == ("empty" if answer == "" else "success")
    assert [r.msgtype for r in sbx.platform.inbox(openid)] == ["service_unavailable"] * 2
    bot.reply = lambda msg: TextReply(message=msg, content="late").render()
    sbx.api.post("menu/create", {"button": [{"type": "view", "name": "w", "url": "https://e.x/"}]})
    assert sbx.pusher.view(openid, "https://e.x/").ok
    assert len(sbx.platform.inbox(openid)) == 2  # VIEW replies are not shown


def test_click_news_reply_of_several_articles_shows_only_the_first(make_sandbox, make_bot: Bots) -> None:
    sbx = make_sandbox(message_mode="plain")
    openid = sbx.platform.add_follower()
    three = [{"title": t, "description": "", "image": "", "url": f"https://e.x/{t}"} for t in "abc"]
    make_bot(sbx, reply=lambda msg: ArticlesReply(message=msg, articles=three).render())
    sbx.api.post("menu/create", {"button": [{"type": "click", "name": "组", "key": "GROUP"}]})
    result = sbx.pusher.click(openid, "GROUP")
    assert result.ok and result.reply is not None
    assert result.reply.warning == "news reply of 3 articles: WeChat shows only 1"
    (record,) = sbx.platform.inbox(openid)
    assert [a["title"] for a in record.payload["articles"]] == ["a"]


def test_other_message_types_and_media(make_sandbox, make_bot: Bots) -> None:
    sbx = make_sandbox(message_mode="safe")
    bot, _ = make_bot(sbx, reply=text_reply("收到"))
    openid = sbx.platform.add_follower()
    sbx.pusher.send_image(openid)
    sbx.pusher.send_voice(openid, recognition="你好")
    sbx.pusher.send_location(openid, 23.1, 113.3, "广州")
    sbx.pusher.send_link(openid, "论文", "https://example.org/paper")
    kinds = [
        (r.fields["MsgType"], r.fields.get("Recognition") or r.fields.get("Label") or r.fields.get("Title"))
        for r in bot.received
    ]
    assert kinds == [("image", None), ("voice", "你好"), ("location", "广州"), ("link", "论文")]
    media_id = bot.received[0].fields["MediaId"]
    params = {"access_token": sbx.api.token, "media_id": media_id}
    image = requests.get(sbx.url + "/cgi-bin/media/get", params=params, timeout=5)
    assert image.headers["Content-Type"] == "image/png" and image.content[:4] == b"\x89PNG"
    assert [r.payload["content"] for r in sbx.platform.inbox(openid)] == ["收到"] * 4
    assert [w.trigger for w in sbx.platform.windows(openid)] == ["message"]


def test_verify_url(make_sandbox, make_bot: Bots) -> None:
    sbx = make_sandbox()
    bot, _ = make_bot(sbx)
    check = sbx.pusher.verify_url("4375120948345356249")
    assert check.ok and check.body == "4375120948345356249"
    bot.token = "another-token"
    failed = sbx.pusher.verify_url()
    assert not failed and failed.http_status == 403
