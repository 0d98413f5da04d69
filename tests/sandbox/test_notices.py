"""Subscribe notices: consents learnt from simulated popups, bizsend's rules (43101, 47003, 48001), the sent event."""

from __future__ import annotations

import requests

from sandbox.xmlmsg import parse_xml

from .conftest import Sandbox

NOTICE = "tmplNoticeSandbox000000000000000000000000001"
DATA = {"thing1": {"value": "NurOwn"}, "time2": {"value": "2026年12月7日 09:00"}}


def bizsend(sbx: Sandbox, openid: str, data: dict | None = None, **extra: object) -> dict:
    body = {"touser": openid, "template_id": NOTICE, "data": DATA if data is None else data, **extra}
    return sbx.api.post("message/subscribe/bizsend", body)


def test_one_consent_allows_one_notice_then_43101(make_sandbox, make_bot) -> None:
    sbx = make_sandbox(message_mode="safe")
    bot, _ = make_bot(sbx)
    (user,) = sbx.platform.add_followers(1)
    sbx.platform.add_notice_template(NOTICE, "疗法进展通知")
    assert bizsend(sbx, user)["errcode"] == 43101  # no consent yet
    popup = sbx.pusher.notice_popup(user, NOTICE, scene=1)
    assert popup.ok
    pushed = parse_xml(bot.received[-1].plaintext)
    assert pushed["Event"] == "subscribe_msg_popup_event"
    assert pushed["SubscribeMsgPopupEvent"]["List"] == {
        "TemplateId": NOTICE,
        "SubscribeStatusString": "accept",
        "PopupScene": "1",
    }
    answer = bizsend(sbx, user, page="https://als.example.org/p/t/nurown")
    assert answer["errcode"] == 0 and answer["msgid"] > 0
    (record,) = sbx.platform.inbox(user)
    assert (record.kind, record.msgtype, record.via) == ("notice", "subscribe", "message/subscribe/bizsend")
    assert record.payload["data"] == DATA and record.payload["page"] == "https://als.example.org/p/t/nurown"
    assert bizsend(sbx, user)["errcode"] == 43101  # the one-time consent is used
    assert len(sbx.platform.inbox(user)) == 1
    assert sbx.pusher.wait_idle()
    (sent,) = sbx.pusher.events("subscribe_msg_sent_event")
    event = parse_xml(sent.xml)["SubscribeMsgSentEvent"]["List"]
    assert event == {"TemplateId": NOTICE, "MsgID": str(answer["msgid"]), "ErrorCode": "0", "ErrorStatus": "success"}


def test_each_accept_adds_one_and_a_reject_or_a_change_adds_none(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    sbx.platform.add_notice_template(NOTICE)
    other = sbx.platform.add_notice_template("tmplOther")
    sbx.pusher.notice_popup(user, [NOTICE, other], accept=[True, False])
    sbx.pusher.notice_popup(user, NOTICE)
    assert sbx.platform.notice_consents == {(user, NOTICE): 2}
    assert bizsend(sbx, user)["errcode"] == 0
    sbx.pusher.notice_change(user, NOTICE)  # turned off in WeChat's settings
    assert bizsend(sbx, user)["errcode"] == 43101


def test_long_term_notices_keep_the_consent(make_sandbox) -> None:
    sbx = make_sandbox(notice_long_term=True)
    (user,) = sbx.platform.add_followers(1)
    sbx.platform.add_notice_template(NOTICE)
    sbx.pusher.notice_popup(user, NOTICE)
    assert [bizsend(sbx, user)["errcode"] for _ in range(3)] == [0, 0, 0]


def test_field_rules_answer_47003_and_use_no_consent(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    sbx.platform.add_notice_template(NOTICE)
    sbx.pusher.notice_popup(user, NOTICE)
    bad = [
        {"thing1": {"value": "一二三四五六七八九十一二三四五六七八九十一"}},  # 21 characters: not cut, refused
        {"thing1": {"value": "第一行\n第二行"}},
        {"phrase3": {"value": "六个字的短语"}},
        {"time2": {"value": "明天上午"}},
        {"thing1": "NurOwn"},
        {"keyword1": {"value": "x"}},
    ]
    for data in bad:
        answer = bizsend(sbx, user, data)
        assert answer["errcode"] == 47003, data
    assert bizsend(sbx, user, page="wxbot://not-a-page")["errcode"] == 47003
    assert bizsend(sbx, user, {"thing1": {"value": "一二三四五六七八九十一二三四五六七八九十"}})["errcode"] == 0
    assert bizsend(sbx, user)["errcode"] == 43101  # the refused sends used nothing; the good one used the consent


def test_unknown_template_and_openid(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    assert bizsend(sbx, user)["errcode"] == 40037
    sbx.platform.add_notice_template(NOTICE)
    assert bizsend(sbx, "oNobody000000000000000000000")["errcode"] == 40003


def test_an_account_without_notices_answers_48001(make_sandbox) -> None:
    sbx = make_sandbox(notices_enabled=False)
    (user,) = sbx.platform.add_followers(1)
    sbx.platform.add_notice_template(NOTICE)
    sbx.platform.grant_notice(user, NOTICE)
    assert bizsend(sbx, user)["errcode"] == 48001
    assert sbx.platform.notice_consents[(user, NOTICE)] == 1


def test_the_page_link_and_admin_calls_simulate_the_popup(make_sandbox, make_bot) -> None:
    sbx = make_sandbox(message_mode="plain")
    bot, _ = make_bot(sbx)
    (user,) = sbx.platform.add_followers(1)
    created = requests.post(sbx.url + "/sandbox/notice_templates", json={"template_id": NOTICE}, timeout=5).json()
    assert created == {"template_id": NOTICE}
    link = f"{sbx.url}/sandbox/notice_popup?template_id={NOTICE}&scene=1&openid={user}"
    answer = requests.get(link, timeout=5).json()
    assert answer["trigger"] == "subscribe_msg_popup_event" and answer["status"] == "delivered"
    assert "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>" in bot.received[-1].plaintext
    missing = requests.get(f"{sbx.url}/sandbox/notice_popup?template_id={NOTICE}", timeout=5)
    assert missing.status_code == 400 and "openid" in missing.json()["error"]
    body = {"action": "notice_change", "openid": user, "template_id": NOTICE}
    assert requests.post(sbx.url + "/sandbox/simulate", json=body, timeout=5).status_code == 200
    state = requests.get(sbx.url + "/sandbox/state", timeout=5).json()["notices"]
    assert state == {"enabled": True, "long_term": False, "templates": [NOTICE], "consents": []}
    assert sbx.platform.inbox(user) == []  # the popup and its events show nothing in the chat
