"""The console's pages through Starlette's TestClient: compose, the approval buttons, preview, report, dashboard,
calendar; all in plain Chinese, times in the account's timezone."""

from __future__ import annotations

import re
from datetime import timedelta

from starlette.testclient import TestClient

from posts import followers
from posts.interactions import classify
from posts.queue import Delivery, Post
from posts.settings import replace
from tests.console.conftest import PASSWORD, START, Site, csrf_of
from wxbot import consoleapp

UPDATE = "update:nurown/2025-04-10-ind-amendment"


def compose(client: TestClient, **fields: str):  # type: ignore[no-untyped-def]
    form = {
        "csrf": csrf_of(client.get("/compose").text),
        "content": UPDATE,
        "audience": "therapy:nurown",
        "send_at": "2026-12-01T11:00",
        "channel": "auto",
        "then": "submit",
        **fields,
    }
    return client.post("/compose", data=form)


def act(client: TestClient, post_id: int, action: str, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(f"/posts/{post_id}").text)
    return client.post(f"/posts/{post_id}/{action}", data={"csrf": token, **fields})


def subscriber(site: Site, openid: str, therapy: str = "nurown", wrote: bool = True) -> None:
    with site.sessions() as session:
        follower, _ = followers.record_follow(session, openid, site.clock() - timedelta(days=2))
        followers.subscribe(session, follower, therapy, site.clock() - timedelta(days=2))
        if wrote:
            followers.touch(follower, site.clock() - timedelta(hours=1), classify("text"))
        session.commit()


def test_compose_lists_content_by_title_and_shows_errors_next_to_the_field(site: Site) -> None:
    client = site.signed_in("editor1")
    page = client.get("/compose").text
    assert "NurOwn · 2025-04-10" in page and UPDATE in page  # the key is the option's value, the title its label
    response = compose(client, content="", audience="therapy:nosuch", send_at="2026-11-30T09:00")
    assert response.status_code == 400
    for name in ("content", "audience", "send_at"):
        assert f'id="{name}-error"' in response.text, name
    assert 'aria-describedby="content-error"' in response.text
    assert "这个时间已经过了" in response.text and "请选择要发送的内容" in response.text
    response = compose(client, send_at="明天")
    assert "看不懂这个时间" in response.text
    response = compose(client, channel="template_only")
    assert "模板消息只用于服务通知" in response.text


def test_the_live_count_of_an_audience(site: Site) -> None:
    subscriber(site, "oCount1")
    subscriber(site, "oCount2", therapy="xs228")
    client = site.signed_in("editor1")
    assert "现在能找到 1 位关注者" in client.get("/audience-count?audience=therapy:nurown").text
    assert "现在能找到 2 位关注者" in client.get("/audience-count?audience=all").text
    assert "现在没有人" in client.get("/audience-count?audience=therapy:str03").text
    assert "现在能找到 1 位" in client.get("/audience-count?audience=test&audience_value=oCount1,oNobody").text
    assert "全部关注者（2 人）" in client.get("/compose").text


def test_an_editor_drafts_a_reviewer_approves_a_sender_queues(site: Site) -> None:
    editor, reviewer, sender = (site.signed_in(n) for n in ("editor1", "reviewer1", "sender1"))
    response = compose(editor)
    assert response.status_code == 303 and response.headers["location"] == "/posts/1?done=submitted"
    page = editor.get(response.headers["location"])
    assert "已提交审核" in page.text and "待审核" in page.text
    assert "/posts/1/queue" not in page.text and "/posts/1/approve" not in page.text
    assert act(editor, 1, "queue").status_code == 403  # an editor cannot send
    assert act(editor, 1, "approve").status_code == 403
    assert "/posts/1/approve" in reviewer.get("/posts/1").text
    assert act(reviewer, 1, "approve", comment="来源已核对").status_code == 303
    assert act(reviewer, 1, "queue").status_code == 403
    page = sender.get("/posts/1")
    assert "/posts/1/queue" in page.text and "来源已核对" in page.text
    assert act(sender, 1, "queue").status_code == 303
    with site.sessions() as session:
        post = session.get(Post, 1)
        assert post is not None and post.status == "queued" and post.created_by == "editor1"
    trail = sender.get("/posts/1").text
    for words in ("写了草稿", "提交审核", "批准", "排进队列", "reviewer1", "sender1", "2026-12-01 10:00"):
        assert words in trail, words


def test_a_reviewer_cannot_approve_their_own_post_in_the_page(site: Site) -> None:
    admin = site.signed_in("admin1")
    compose(admin, audience="all")
    page = admin.get("/posts/1").text
    assert "/posts/1/approve" not in page and "管理员也不能自己批准" in page
    response = act(admin, 1, "approve")
    assert response.status_code == 403 and "必须由另一位审核人批准" in response.text


def test_editing_an_approved_post_in_the_page_returns_it_to_review(site: Site) -> None:
    editor, reviewer = site.signed_in("editor1"), site.signed_in("reviewer1")
    compose(editor)
    act(reviewer, 1, "approve")
    page = editor.get("/posts/1/edit")
    assert page.status_code == 200 and "需要审核人重新批准" in page.text
    form = {"csrf": csrf_of(page.text), "content": "section:opening", "audience": "therapy:nurown",
            "send_at": "2026-12-01T12:00", "channel": "auto"}  # fmt: skip
    response = editor.post("/posts/1/edit", data=form)
    assert response.headers["location"] == "/posts/1?done=edited_review"
    assert "待审核" in editor.get("/posts/1").text


def test_the_preview_shows_the_text_the_split_the_unreachable_and_the_disclaimer(site: Site) -> None:
    subscriber(site, "oPreviewWrote")
    subscriber(site, "oPreviewSilent", wrote=False)
    editor = site.signed_in("editor1")
    compose(editor)
    page = editor.get("/posts/1/preview").text
    assert "提交3b期" in page  # the update's words, as followers get them
    assert "消息末尾带有免责声明" in page and 'id="disclaimer-check" class="ok"' in page
    assert re.search(r"<td>客服消息</td><td>1</td>", page)
    assert "一共 2 位关注者" in page
    assert "/cgi-bin" not in page and "45015" not in page
    assert "按名单群发至少要两人" in page or "48 小时" in page


def test_the_report_counts_states_and_says_why_in_plain_words(site: Site) -> None:
    editor = site.signed_in("editor1")
    compose(editor)
    with site.sessions() as session:
        post = session.get(Post, 1)
        assert post is not None
        post.status = "partly_sent"
        session.add_all(
            [
                Delivery(post_id=1, openid="oA", channel="custom", state="sent", sent_at=START),
                Delivery(post_id=1, openid="oB", channel="custom", state="sent", sent_at=START + timedelta(minutes=1)),
                Delivery(
                    post_id=1,
                    openid="oC",
                    channel="none",
                    state="undeliverable",
                    reason="窗口已关闭 (45015): follower has not interacted in 48 hours; reachable later",
                ),
                Delivery(
                    post_id=1,
                    openid="oD",
                    channel="custom",
                    state="failed",
                    errcode=-1,
                    reason="系统繁忙 (-1): WeChat was busy; retried with backoff",
                ),
            ]
        )
        session.commit()
    page = editor.get("/posts/1/report").text
    assert "<td>客服消息</td><td>已送达</td><td>2</td>" in page
    assert "1 人：窗口已关闭" in page and "（代码 45015）" in page
    assert "follower has not interacted" not in page
    assert "chart-4.6.1.umd.min.js" in page and '"labels": ["12-01 10:00", "12-01 10:01"]' in page
    assert "/posts/1/retry" not in page  # an editor does not retry
    sender = site.signed_in("sender1")
    page = sender.get("/posts/1/report").text
    assert "重发失败的 1 人" in page
    response = sender.post("/posts/1/retry", data={"csrf": csrf_of(page)})
    assert response.headers["location"].startswith("/posts/1?done=retry&count=1")


def test_the_dashboard_tells_the_author_their_post_expired(site: Site) -> None:
    editor = site.signed_in("editor1")
    compose(editor, send_at="2026-12-01T10:20")
    site.clock.advance(minutes=21)
    page = editor.get("/").text
    assert "已经过期" in page and "#1" in page
    assert "本月还能群发给多少人" in page and "NurOwn" in page
    assert "等待审核（0）" in page
    editor.post("/notices/read", data={"csrf": csrf_of(page)})
    assert "已经过期" not in editor.get("/").text
    assert "已过期" in editor.get("/posts?status=expired").text


def test_the_calendar_shades_the_quiet_hours_and_shows_the_week_and_month(site: Site) -> None:
    editor = site.signed_in("editor1")
    compose(editor, send_at="2026-12-03T09:15")
    sender, reviewer = site.signed_in("sender1"), site.signed_in("reviewer1")
    act(reviewer, 1, "approve")
    act(sender, 1, "queue")
    week = editor.get("/calendar").text
    assert week.count('class="week-row quiet"') == 10  # 22:00-08:00
    assert "周二 12-01" in week and "周四 12-03" in week
    assert "09:15" in week and "排队中" in week
    month = editor.get("/calendar?view=month&start=2026-12-01").text
    assert "2026 年 12 月" in month and "09:15" in month
    assert "上个月" in month


def test_a_preview_that_cannot_be_made_says_why_in_plain_words(site: Site) -> None:
    editor = site.signed_in("editor1")
    assert compose(editor, audience="tag", audience_value="999").status_code == 303
    page = editor.get("/posts/1/preview").text
    assert "成员只有微信知道" in page and "mirrors no therapy" not in page


def test_the_month_budget_counts_subscribers_who_still_have_a_mass_send(site: Site) -> None:
    subscriber(site, "oBudgetFull")
    subscriber(site, "oBudgetFree")
    with site.sessions() as session:
        post = Post(content=UPDATE, audience="therapy:nurown", status="sent", created_at=START, data={})
        session.add(post)
        session.flush()
        for n in range(4):
            extra = Post(content=f"section:s{n}", audience="all", status="sent", created_at=START, data={})
            session.add(extra)
            session.flush()
            session.add(Delivery(post_id=extra.id, openid="oBudgetFull", channel="mass", state="sent", sent_at=START))
        session.commit()
    page = site.signed_in("sender1").get("/").text
    row = re.search(r"<tr><td>NurOwn</td><td>(\d+)</td><td>(\d+)", page)
    assert row is not None and row.groups() == ("2", "1")
    assert "2027-01-01 恢复" in page


def test_a_service_notice_by_template_names_its_purpose_and_previews_its_fields(site: Site) -> None:
    templates = {"event_notice": {"template_id": "T1", "thing1": "title", "time2": "time"}}
    settings = replace(site.settings, wechat={"templates": templates})
    console = consoleapp.build(settings, site.sessions, site.console.catalog, site.clock)
    client = TestClient(console.app, base_url="http://console.test", follow_redirects=False)
    token = csrf_of(client.get("/signin").text)
    client.post("/signin", data={"csrf": token, "username": "editor1", "password": PASSWORD})
    notice = {"content": "text", "title": "直播预告", "text": "周六 20:00 专家答疑", "channel": "template_only"}
    response = compose(client, **notice)
    assert response.status_code == 400 and 'id="purpose-error"' in response.text
    assert "event_notice" in response.text
    response = compose(client, **notice, purpose="event_notice")
    assert response.status_code == 303
    with site.sessions() as session:
        post = session.get(Post, 1)
        assert post is not None and post.data["purpose"] == "event_notice" and post.channel == "template_only"
    subscriber(site, "oNotice1")
    page = client.get("/posts/1/preview").text
    assert "服务通知（模板消息）" in page and "thing1" in page and "直播预告" in page
