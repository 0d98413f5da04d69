"""The inbox pages through Starlette's TestClient: the list (urgent first), a conversation with the window left,
canned answers, the reply that becomes an outbox row with the disclaimer (refused once the window is closed or
used), roles, flagging, closing, the audit line and the grouped unanswered questions."""

from __future__ import annotations

import re
from datetime import timedelta

from posts import followers, inbox
from posts.inbox_models import InboxItem
from posts.interactions import classify
from posts.models import InboundEvent, Outbox
from posts.operators import AuditEntry
from tests.console.conftest import Site, csrf_of


def follower(site: Site, openid: str, wrote_hours_ago: float | None = 1.0) -> None:
    with site.sessions() as session:
        row, _ = followers.record_follow(session, openid, site.clock() - timedelta(days=3))
        if wrote_hours_ago is not None:
            followers.touch(row, site.clock() - timedelta(hours=wrote_hours_ago), classify("text"))
        session.commit()


def item(site: Site, openid: str, text: str, minutes_ago: int = 5, **kwargs: object) -> int:
    with site.sessions() as session:
        reason = str(kwargs.pop("reason", inbox.DEFAULT))
        row = inbox.record(session, openid, text, site.clock() - timedelta(minutes=minutes_ago), reason, **kwargs)  # type: ignore[arg-type]
        assert row is not None
        session.commit()
        return row.id


def reply(client, item_id: int, text: str, key: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get(f"/inbox/{item_id}").text
    found = re.search(r'name="reply_key" value="([^"]+)"', page)
    fields = {"csrf": csrf_of(page), "reply": text, "reply_key": key or (found.group(1) if found else "k")}
    return client.post(f"/inbox/{item_id}/answer", data=fields)


def test_the_list_puts_urgent_first_then_the_newest(site: Site) -> None:
    follower(site, "oA")
    older = item(site, "oA", "干细胞治疗在哪里能做", minutes_ago=30)
    newer = item(site, "oA", "我爸爸晚上睡不好怎么办", minutes_ago=2)
    urgent = item(site, "oA", "我不想活了", minutes_ago=60, reason="urgent:crisis", urgent=True)
    page = site.signed_in("reviewer1").get("/inbox").text
    order = [int(x) for x in re.findall(r'data-item="(\d+)"', page)]
    assert order == [urgent, newer, older]
    assert "紧急：提到轻生" in page and 'id="urgent-count">1<' in page and 'id="open-count">3<' in page


def test_a_sender_answers_within_the_window_and_it_becomes_a_closed_outbox_row(site: Site) -> None:
    follower(site, "oB")
    with site.sessions() as session:
        followers.subscribe(session, followers.ensure(session, "oB", site.clock()), "nurown", site.clock())
        session.add(InboundEvent(openid="oB", msg_type="text", key="我爸爸晚上睡不好怎么办", received_at=site.clock(),
                                 reply_kind="text", dedup_key="msg:1"))  # fmt: skip
        session.commit()
    item_id = item(site, "oB", "我爸爸晚上睡不好怎么办", dedup_key="msg:1")
    client = site.signed_in("sender1")
    page = client.get(f"/inbox/{item_id}").text
    assert "现在还能给对方发 <strong>5</strong> 条客服消息" in page
    assert "NurOwn" in page and "我爸爸晚上睡不好怎么办" in page and "已在待回复里" in page
    canned = client.get(f"/inbox/{item_id}?canned=keyword:1").text
    assert re.search(r'<textarea id="reply"[^>]*>\S', canned)  # a keyword reply from the pack fills the box
    response = reply(client, item_id, "您好，睡眠问题请先和神经科医生谈谈。")
    assert response.status_code == 303 and "done=inbox_answered" in response.headers["location"]
    with site.sessions() as session:
        rows = list(session.query(Outbox).filter_by(openid="oB"))
        assert len(rows) == 1 and rows[0].kind == "custom_message" and rows[0].status == "pending"
        content = rows[0].payload["message"]["text"]["content"]
        assert content.startswith("您好，睡眠问题") and "不构成诊断或治疗建议" in content.splitlines()[-1]
        assert session.get(InboxItem, item_id).state == "answered"  # type: ignore[union-attr]
        audit = session.query(AuditEntry).filter_by(action="inbox-answer").one()
        assert audit.actor == "sender1" and audit.target == f"inbox:{item_id}" and audit.before == {"state": "open"}
    page = client.get(f"/inbox/{item_id}").text
    assert "现在还能给对方发 <strong>4</strong> 条" in page and "排队中" in page


def test_the_same_form_sent_twice_queues_one_message(site: Site) -> None:
    follower(site, "oC")
    item_id = item(site, "oC", "请问有没有人工客服")
    client = site.signed_in("admin1")
    assert reply(client, item_id, "有的，我们在这里。", key="same").status_code == 303
    assert reply(client, item_id, "有的，我们在这里。", key="same").status_code == 303
    with site.sessions() as session:
        assert session.query(Outbox).filter_by(openid="oC").count() == 1


def test_a_reply_that_can_no_longer_be_sent_is_refused_in_plain_words(site: Site) -> None:
    follower(site, "oOld", wrote_hours_ago=49)
    old = item(site, "oOld", "你们还在吗")
    client = site.signed_in("sender1")
    page = client.get(f"/inbox/{old}").text
    assert "最近 48 小时没有给公众号发消息" in page and f'action="/inbox/{old}/answer"' not in page
    response = reply(client, old, "在的")
    assert response.status_code == 409 and "最近 48 小时没有给公众号发消息" in response.text
    follower(site, "oUsed")
    used = item(site, "oUsed", "有问题想问")
    for n in range(5):
        assert reply(client, used, f"第 {n} 条", key=f"k{n}").status_code == 303
    response = reply(client, used, "第六条", key="k6")
    assert response.status_code == 409 and "5 条客服消息已经用完" in response.text
    with site.sessions() as session:
        assert session.query(Outbox).filter_by(openid="oUsed").count() == 5
        assert session.query(Outbox).filter_by(openid="oOld").count() == 0


def test_editors_and_reviewers_read_but_do_not_answer(site: Site) -> None:
    follower(site, "oD")
    item_id = item(site, "oD", "请问怎么报名临床试验")
    for name in ("editor1", "reviewer1"):
        client = site.signed_in(name)
        page = client.get(f"/inbox/{item_id}").text
        assert "请问怎么报名临床试验" in page and "回复由发送人或管理员来做" in page
        response = client.post(f"/inbox/{item_id}/answer", data={"csrf": csrf_of(page), "reply": "x", "reply_key": "a"})
        assert response.status_code == 403
        assert client.post(f"/inbox/{item_id}/close", data={"csrf": csrf_of(page)}).status_code == 403
    with site.sessions() as session:
        assert session.query(Outbox).count() == 0


def test_a_sender_flags_a_message_the_bot_answered_and_closes_one(site: Site) -> None:
    follower(site, "oE")
    with site.sessions() as session:
        event = InboundEvent(openid="oE", msg_type="text", key="目录", received_at=site.clock(), reply_kind="text",
                             dedup_key="msg:99")  # fmt: skip
        session.add(event)
        session.commit()
        event_id = event.id
    client = site.signed_in("sender1")
    page = client.get("/inbox/recent").text
    assert "目录" in page and "加入待回复" in page
    response = client.post("/inbox/flag", data={"csrf": csrf_of(page), "event": str(event_id)})
    assert response.status_code == 303
    item_id = int(re.search(r"/inbox/(\d+)", response.headers["location"]).group(1))  # type: ignore[union-attr]
    assert "运营人员加入" in client.get(f"/inbox/{item_id}").text
    again = client.post("/inbox/flag", data={"csrf": csrf_of(page), "event": str(event_id)})
    assert again.headers["location"] == response.headers["location"]  # flagged once
    page = client.get(f"/inbox/{item_id}").text
    assert client.post(f"/inbox/{item_id}/close", data={"csrf": csrf_of(page)}).status_code == 303
    assert f'data-item="{item_id}"' not in client.get("/inbox").text
    assert f'data-item="{item_id}"' in client.get("/inbox?state=closed").text


def test_unanswered_questions_are_grouped_by_similarity(site: Site) -> None:
    asked = ["干细胞治疗多少钱", "干细胞治疗要多少钱啊", "幹細胞治療多少錢", "我想去北京看病", "北京看病挂哪个科"]
    for n, text in enumerate(asked):
        item(site, f"o{n}", text, minutes_ago=n)
    item(site, "oX", "我不想活了", reason="urgent:crisis", urgent=True)
    page = site.signed_in("editor1").get("/inbox/groups").text
    counts = [int(x) for x in re.findall(r'<td class="count">(\d+)</td>', page)]
    assert counts[0] == 3 and sum(counts) == 5  # urgent messages are not "missing content"
    assert "不想活" not in page


def test_the_inbox_pages_need_a_session(site: Site) -> None:
    client = site.client()
    for path in ("/inbox", "/inbox/recent", "/inbox/groups", "/inbox/1"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/signin"), path


def test_typing_is_queued_only_while_the_window_is_open(site: Site) -> None:
    follower(site, "oTyping")
    follower(site, "oLate", wrote_hours_ago=50)
    open_id, late_id = item(site, "oTyping", "在吗"), item(site, "oLate", "在吗")
    client = site.signed_in("sender1")
    page = client.get(f"/inbox/{open_id}").text
    assert client.post(f"/inbox/{open_id}/typing", data={"csrf": csrf_of(page)}).status_code == 303
    assert client.post(f"/inbox/{open_id}/typing", data={"csrf": csrf_of(page)}).status_code == 303  # same minute
    assert f'action="/inbox/{late_id}/typing"' not in client.get(f"/inbox/{late_id}").text
    assert client.post(f"/inbox/{late_id}/typing", data={"csrf": csrf_of(page)}).status_code == 409
    with site.sessions() as session:
        rows = list(session.query(Outbox))
        assert [(r.kind, r.openid) for r in rows] == [("typing", "oTyping")]
    assert "现在还能给对方发 <strong>5</strong> 条" in client.get(f"/inbox/{open_id}").text  # uses no message


def test_every_page_shows_the_open_urgent_messages_on_the_nav_link(site: Site) -> None:
    client = site.signed_in("editor1")
    assert 'id="nav-urgent"' not in client.get("/").text
    follower(site, "oNav")
    item(site, "oNav", "喘不上气了", reason="urgent:emergency", urgent=True)
    for path in ("/", "/posts", "/inbox"):
        assert re.search(r'id="nav-urgent">紧急 1<', client.get(path).text), path
