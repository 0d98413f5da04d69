"""Template messages: service-only, 40037, 43004, client_msg_id dedup, TEMPLATESENDJOBFINISH push."""

from __future__ import annotations

from .conftest import Sandbox


def send(sbx: Sandbox, openid: str, template_id: str, **extra: object) -> dict:
    body = {
        "touser": openid,
        "template_id": template_id,
        "url": "https://example.org/p/1",
        "data": {"first": {"value": "dropped"}, "thing1": {"value": "新综述发布"}},
        **extra,
    }
    return sbx.api.post("message/template/send", body)


def test_template_delivery_and_errors(sbx: Sandbox) -> None:
    a, b = sbx.platform.add_followers(2)
    tid = sbx.platform.add_template("TPL_REVIEW")
    assert send(sbx, a, "TPL_UNKNOWN")["errcode"] == 40037
    assert send(sbx, "oNobody", tid)["errcode"] == 40003
    sbx.platform.unsubscribe(b)
    assert send(sbx, b, tid)["errcode"] == 43004
    answer = send(sbx, a, tid)
    assert answer["errcode"] == 0 and answer["msgid"] > 0
    (record,) = sbx.platform.inbox(a)
    assert (record.kind, record.msgtype, record.via) == ("template", "template", "message/template/send")
    assert record.payload["data"] == {"thing1": {"value": "新综述发布"}}  # first/remark are not shown
    assert record.payload["url"] == "https://example.org/p/1"
    bad = sbx.api.post("message/template/send", {"touser": a, "template_id": tid, "data": {"x": "y"}})
    assert bad["errcode"] == 47003 and "data.x.value" in bad["errmsg"]


def test_client_msg_id_dedup(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    tid = sbx.platform.add_template()
    first = send(sbx, user, tid, client_msg_id="job-1")
    again = send(sbx, user, tid, client_msg_id="job-1")
    assert again == first
    assert len(sbx.platform.inbox(user)) == 1
    other = send(sbx, user, tid, client_msg_id="job-2")
    assert other["msgid"] != first["msgid"]
    sbx.clock.advance(600)
    later = send(sbx, user, tid, client_msg_id="job-1")
    assert later["msgid"] != first["msgid"]
    assert len(sbx.platform.inbox(user)) == 3


def test_subscription_accounts_have_no_templates(make_sandbox) -> None:
    sbx = make_sandbox(account_type="subscription")
    (user,) = sbx.platform.add_followers(1)
    assert send(sbx, user, sbx.platform.add_template())["errcode"] == 48001


def test_job_finished_event_pushed(make_sandbox, make_bot) -> None:
    sbx = make_sandbox(message_mode="plain")
    bot, _ = make_bot(sbx)
    (user,) = sbx.platform.add_followers(1)
    msgid = send(sbx, user, sbx.platform.add_template())["msgid"]
    assert sbx.pusher.wait_idle()
    (pushed,) = sbx.pusher.events("TEMPLATESENDJOBFINISH")
    assert pushed.ok and pushed.reply_kind == "success"
    fields = bot.received[-1].fields
    assert fields["Event"] == "TEMPLATESENDJOBFINISH" and fields["MsgID"] == str(msgid)
    assert fields["Status"] == "success" and fields["FromUserName"] == user
    assert len(sbx.platform.inbox(user)) == 1  # the event itself is not shown to the user


def test_a_blocked_template_answers_40249(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    tid = sbx.platform.add_template()
    sbx.platform.block_template(tid)
    assert send(sbx, user, tid)["errcode"] == 40249
    assert sbx.platform.inbox(user) == []


def test_time_fields_must_be_time_values_and_things_are_cut_to_20(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    tid = sbx.platform.add_template()
    for bad in ("—", "", "明天"):
        answer = sbx.api.post(
            "message/template/send", {"touser": user, "template_id": tid, "data": {"time2": {"value": bad}}}
        )
        assert answer["errcode"] == 47003 and "data.time2.value" in answer["errmsg"]
    long = "一二三四五六七八九十\n一二三四五六七八九十一二"
    data = {"time2": {"value": "2026年12月7日 09:00"}, "thing1": {"value": long}}
    assert sbx.api.post("message/template/send", {"touser": user, "template_id": tid, "data": data})["errcode"] == 0
    (record,) = sbx.platform.inbox(user)
    assert record.payload["data"]["thing1"]["value"] == "一二三四五六七八九十一二三四五六七八九十"
    assert record.payload["data"]["time2"]["value"] == "2026年12月7日 09:00"
