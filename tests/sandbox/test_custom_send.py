"""Customer-service messages and the window rules (45015/45047), with delivery into the inbox."""

from __future__ import annotations

from .conftest import Sandbox

MENU = {
    "button": [
        {"type": "click", "name": "A", "key": "CLICK_A"},
        {"type": "view", "name": "B", "url": "https://example.org/b"},
        {"type": "pic_sysphoto", "name": "C", "key": "PHOTO"},
    ]
}


def text(sbx: Sandbox, openid: str, content: str) -> dict:
    return sbx.api.post("message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": content}})


def test_no_window_without_interaction(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    assert text(sbx, user, "hi")["errcode"] == 45015
    assert text(sbx, "oNobody", "hi")["errcode"] == 40003
    assert sbx.platform.inbox(user) == []


def test_follow_opens_three_messages_for_one_minute(sbx: Sandbox) -> None:
    result = sbx.pusher.follow("oFollower000000000000000001")
    assert result.status == "no_callback" and result.fields["Event"] == "subscribe"
    for i in range(3):
        assert text(sbx, result.openid, f"m{i}")["errcode"] == 0
    assert text(sbx, result.openid, "m3")["errcode"] == 45047
    inbox = sbx.platform.inbox(result.openid)
    assert [(r.kind, r.msgtype, r.payload["content"], r.via) for r in inbox] == [
        ("custom", "text", f"m{i}", "message/custom/send") for i in range(3)
    ]
    assert inbox[0].at == sbx.clock()
    sbx.clock.advance(60)
    assert text(sbx, result.openid, "late")["errcode"] == 45015


def test_user_message_opens_five_for_48_hours(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    sbx.pusher.send_text(user, "你好")
    sbx.clock.advance(47 * 3600)
    for i in range(5):
        assert text(sbx, user, f"r{i}")["errcode"] == 0
    assert text(sbx, user, "r5")["errcode"] == 45047
    sbx.pusher.send_text(user, "again")  # a new message renews the window
    assert text(sbx, user, "r6")["errcode"] == 0
    sbx.clock.advance(48 * 3600)
    assert text(sbx, user, "r7")["errcode"] == 45015


def test_menu_clicks_and_scans(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    assert sbx.api.post("menu/create", MENU)["errcode"] == 0
    sbx.pusher.view(user, "https://example.org/b")
    sbx.pusher.click(user, "PHOTO")
    assert text(sbx, user, "x")["errcode"] == 45015  # view and pic_* clicks do not open a window
    result = sbx.pusher.click(user, "CLICK_A")
    assert result.fields["Event"] == "CLICK" and result.fields["EventKey"] == "CLICK_A"
    assert [w.quota for w in sbx.platform.windows(user)] == [3]
    assert text(sbx, user, "x")["errcode"] == 0
    sbx.clock.advance(61)
    assert text(sbx, user, "x")["errcode"] == 45015
    ticket = sbx.api.post(
        "qrcode/create", {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 7}}}
    )["ticket"]
    scanned = sbx.pusher.scan(user, 7)
    assert scanned.fields["Event"] == "SCAN" and scanned.fields["EventKey"] == "7"
    assert scanned.fields["Ticket"] == ticket
    assert text(sbx, user, "after scan")["errcode"] == 0


def test_windows_combine_and_unfollow_closes(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    sbx.pusher.send_text(user, "q")
    sbx.platform.inject_fault("x", "busy")  # unrelated path: no effect
    for _ in range(5):
        assert text(sbx, user, "a")["errcode"] == 0
    sbx.api.post("menu/create", MENU)
    sbx.pusher.click(user, "CLICK_A")
    assert text(sbx, user, "b")["errcode"] == 0  # the event window still has quota
    sbx.pusher.unfollow(user)
    assert text(sbx, user, "c")["errcode"] == 45015


def test_payload_rules(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    sbx.pusher.send_text(user, "q")
    assert text(sbx, user, "字" * 683)["errcode"] == 45002  # 2049 bytes
    news = {"touser": user, "msgtype": "news", "news": {"articles": [{"title": "a"}, {"title": "b"}]}}
    assert sbx.api.post("message/custom/send", news)["errcode"] == 45008
    image = {"touser": user, "msgtype": "image", "image": {"media_id": "missing"}}
    assert sbx.api.post("message/custom/send", image)["errcode"] == 40007
    bogus = {"touser": user, "msgtype": "hologram", "hologram": {}}
    assert sbx.api.post("message/custom/send", bogus)["errcode"] == 40008
    one = {
        "touser": user,
        "msgtype": "news",
        "news": {"articles": [{"title": "ALS 干细胞", "url": "https://e/1"}]},
        "customservice": {"kf_account": "kf1@sandbox"},
    }
    assert sbx.api.post("message/custom/send", one)["errcode"] == 0
    (record,) = sbx.platform.inbox(user)  # failures consumed nothing and delivered nothing
    assert record.payload == {"articles": [{"title": "ALS 干细胞", "url": "https://e/1"}]}
    assert record.via == "kf:kf1@sandbox"
    assert sbx.platform.windows(user)[0].used == 1
