"""Mass send: quotas per account type, 4/month filtering, clientmsgid dedup, rate limit, job event."""

from __future__ import annotations

from .conftest import Sandbox


def to_all(content: str, **extra: object) -> dict:
    return {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": content}, **extra}


def test_subscription_one_per_day(make_sandbox) -> None:
    sbx = make_sandbox(account_type="subscription")
    users = sbx.platform.add_followers(3)
    first = sbx.api.post("message/mass/sendall", to_all("周报 1"))
    assert first["errcode"] == 0 and first["errmsg"] == "send job submission success" and first["msg_id"]
    assert sbx.api.post("message/mass/sendall", to_all("周报 2"))["errcode"] == 45028
    assert (
        sbx.api.post("message/mass/send", {"touser": users[:2], "msgtype": "text", "text": {"content": "x"}})["errcode"]
        == 48001
    )
    sbx.clock.advance(86_400)
    assert sbx.api.post("message/mass/sendall", to_all("周报 2"))["errcode"] == 0
    for user in users:
        assert [r.payload["content"] for r in sbx.platform.inbox(user)] == ["周报 1", "周报 2"]
        assert {r.kind for r in sbx.platform.inbox(user)} == {"mass"}


def test_service_four_per_month_then_filtered(make_sandbox, make_bot) -> None:
    sbx = make_sandbox(message_mode="plain")
    bot, _ = make_bot(sbx)
    old, new = sbx.platform.add_followers(2)
    sbx.platform.unsubscribe(new)
    for i in range(4):
        assert sbx.api.post("message/mass/sendall", to_all(f"n{i}"))["errcode"] == 0
    sbx.pusher.follow(new)  # refollow: new receives from now on
    answer = sbx.api.post("message/mass/sendall", to_all("n4"))
    assert answer["errcode"] == 0
    assert [r.payload["content"] for r in sbx.platform.inbox(old) if r.kind == "mass"] == [f"n{i}" for i in range(4)]
    assert [r.payload["content"] for r in sbx.platform.inbox(new) if r.kind == "mass"] == ["n4"]
    assert sbx.pusher.wait_idle()
    finished = sbx.pusher.events("MASSSENDJOBFINISH")
    assert len(finished) == 5
    last = bot.received[-1].fields
    assert last["Event"] == "MASSSENDJOBFINISH" and last["MsgID"] == str(answer["msg_id"])
    assert (last["TotalCount"], last["FilterCount"], last["SentCount"], last["ErrorCount"]) == ("2", "1", "1", "0")
    job = sbx.platform.mass_jobs[answer["msg_id"]]
    assert job.recipients == [new]


def test_send_by_openid_list_and_tag(sbx: Sandbox) -> None:
    users = sbx.platform.add_followers(3)
    body = {"touser": users[:1], "msgtype": "text", "text": {"content": "x"}}
    assert sbx.api.post("message/mass/send", body)["errcode"] == 40130
    body["touser"] = users[:2]
    assert sbx.api.post("message/mass/send", body)["errcode"] == 0
    assert [len(sbx.platform.inbox(u)) for u in users] == [1, 1, 0]
    tag = sbx.api.post("tags/create", {"tag": {"name": "vip"}})["tag"]["id"]
    sbx.api.post("tags/members/batchtagging", {"openid_list": [users[2]], "tagid": tag})
    by_tag = {"filter": {"is_to_all": False, "tag_id": tag}, "msgtype": "text", "text": {"content": "tagged"}}
    assert sbx.api.post("message/mass/sendall", by_tag)["errcode"] == 0
    assert [r.payload["content"] for r in sbx.platform.inbox(users[2])] == ["tagged"]
    by_tag["filter"]["tag_id"] = 4242
    assert sbx.api.post("message/mass/sendall", by_tag)["errcode"] == 45159


def test_clientmsgid_dedup_45065(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    first = sbx.api.post("message/mass/sendall", to_all("a", clientmsgid="weekly-2025-01"))
    dup = sbx.api.post("message/mass/sendall", to_all("different text", clientmsgid="weekly-2025-01"))
    assert dup["errcode"] == 45065 and dup["msg_id"] == first["msg_id"]
    assert len(sbx.platform.inbox(user)) == 1
    # without clientmsgid the same content to the same scope counts as the same id
    assert sbx.api.post("message/mass/sendall", to_all("b"))["errcode"] == 0
    assert sbx.api.post("message/mass/sendall", to_all("b"))["errcode"] == 45065
    assert sbx.api.post("message/mass/sendall", to_all("c", clientmsgid="x" * 65))["errcode"] == 45067
    sbx.clock.advance(86_400)
    assert sbx.api.post("message/mass/sendall", to_all("a", clientmsgid="weekly-2025-01"))["errcode"] == 0


def test_rate_limit_60_per_minute(sbx: Sandbox) -> None:
    sbx.platform.add_followers(1)
    codes = [sbx.api.post("message/mass/sendall", to_all(f"m{i}"))["errcode"] for i in range(61)]
    assert codes[:60] == [0] * 60 and codes[60] == 45011
    sbx.clock.advance(60)
    assert sbx.api.post("message/mass/sendall", to_all("next minute"))["errcode"] == 0


def test_preview_get_delete(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    preview = {"touser": user, "msgtype": "text", "text": {"content": "预览"}}
    assert sbx.api.post("message/mass/preview", preview)["errmsg"] == "preview success"
    (record,) = sbx.platform.inbox(user)
    assert record.via == "message/mass/preview" and record.payload["content"] == "预览"
    msg_id = sbx.api.post("message/mass/sendall", to_all("x"))["msg_id"]
    assert sbx.api.post("message/mass/get", {"msg_id": msg_id})["msg_status"] == "SEND_SUCCESS"
    assert sbx.api.post("message/mass/delete", {"msg_id": msg_id})["errcode"] == 0
    assert sbx.api.post("message/mass/get", {"msg_id": msg_id})["msg_status"] == "DELETE"
    assert sbx.api.post("message/mass/get", {"msg_id": 1})["errcode"] == 47003
