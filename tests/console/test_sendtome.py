"""The console's "send to me": the bind page asks for a one-time QR code, shows it once the scheduler made it and
"已绑定" once the bot bound a scan; the preview page's "发送给我" queues one test send (audited) and shows its
result in plain words; unbound operators are told to bind first; unbinding forgets the account."""

from __future__ import annotations

from sqlalchemy import select

from posts import accounts, sendtome
from posts.operators import OperatorUser
from posts.queue import Post
from posts.sendtome_models import BindCode, OperatorTestSend
from tests.console.conftest import Site, csrf_of

OPENID = "oOperator00000000000000abc123"


def _post(site: Site) -> int:
    with site.sessions() as session:
        post = Post(content="update:nurown/2025-04-10-ind-amendment", audience="therapy:nurown", channel="auto",
                    status="draft", created_by="editor1", created_at=site.clock())  # fmt: skip
        session.add(post)
        session.commit()
        return post.id


def test_binding_from_the_page_to_bound(site: Site) -> None:
    client = site.signed_in("editor1")
    page = client.get("/me/wechat")
    assert page.status_code == 200 and "还没有绑定" in page.text and "生成绑定二维码" in page.text
    made = client.post("/me/wechat/code", data={"csrf": csrf_of(page.text)})
    assert made.status_code == 303 and made.headers["location"] == "/me/wechat?done=wechat_code"
    waiting = client.get("/me/wechat/status")
    assert "正在生成二维码" in waiting.text and 'hx-trigger="every 2s"' in waiting.text  # htmx asks again
    with site.sessions() as session:  # the scheduler's part: the QR code made
        code = session.scalars(select(BindCode)).one()
        sendtome.qr_made(code, "ticket", "http://weixin.qq.com/q/abc")
        session.commit()
        text = code.code
    shown = client.get("/me/wechat")
    assert 'src="data:image/png;base64,' in shown.text and "只能用一次" in shown.text
    with site.sessions() as session:  # the bot's part: the operator's phone scanned it
        assert sendtome.bind(session, text, OPENID, site.clock()).outcome == "bound"
        session.commit()
    bound = client.get("/me/wechat/status")
    assert "已绑定" in bound.text and sendtome.tail(OPENID) in bound.text and OPENID not in bound.text
    assert "hx-trigger" not in bound.text  # nothing more to wait for
    gone = client.post("/me/wechat/unbind", data={"csrf": csrf_of(client.get("/me/wechat").text)})
    assert gone.status_code == 303 and "还没有绑定" in client.get("/me/wechat").text
    with site.sessions() as session:
        actions = [e.action for e in accounts.audit_log(session, "user:editor1")]
        assert actions[:3] == ["wechat-unbind", "wechat-bind", "wechat-bind-code"]


def test_send_to_me_from_the_preview_queues_one_and_shows_the_result(site: Site) -> None:
    post_id = _post(site)
    client = site.signed_in("reviewer1")
    page = client.get(f"/posts/{post_id}/preview")
    assert "发送给我" in page.text and "去绑定" in page.text  # not bound yet: a link, no button
    refused = client.post(f"/posts/{post_id}/send-to-me", data={"csrf": csrf_of(page.text), "send_key": "x1"})
    assert refused.status_code == 409 and "请先在“我的微信”页扫码绑定" in refused.text
    with site.sessions() as session:
        user = session.scalars(select(OperatorUser).where(OperatorUser.username == "reviewer1")).one()
        code = sendtome.request_code(session, user, site.clock())
        sendtome.qr_made(code, "t", "u")
        sendtome.bind(session, code.code, OPENID, site.clock())
        session.commit()
    page = client.get(f"/posts/{post_id}/preview")
    assert 'id="send-to-me-button"' in page.text and sendtome.tail(OPENID) in page.text
    form = {"csrf": csrf_of(page.text), "send_key": "k-1"}
    queued = client.post(f"/posts/{post_id}/send-to-me", data=form)
    assert queued.status_code == 303 and "done=test_send_queued" in queued.headers["location"]
    client.post(f"/posts/{post_id}/send-to-me", data=form)  # pressed twice: still one
    part = client.get(f"/posts/{post_id}/send-to-me")
    assert "排队中" in part.text and 'hx-trigger="every 2s"' in part.text
    with site.sessions() as session:
        (row,) = session.scalars(select(OperatorTestSend)).all()
        assert row.openid == OPENID and row.post_id == post_id
        sendtome.record(session, row, "failed", site.clock(), channel="preview", problem="preview_quota")
        session.commit()
        assert accounts.audit_log(session, f"post:{post_id}")[1].action == "test-send"
    shown = client.get(f"/posts/{post_id}/preview").text
    assert "发送失败（群发预览）：今天的群发预览次数已用完" in shown
    assert "/cgi-bin" not in shown and "preview_quota" not in shown
    assert client.get(f"/posts/{post_id}").status_code == 200  # the post itself is untouched
    with site.sessions() as session:
        assert session.get(Post, post_id).status == "draft"  # type: ignore[union-attr]


def test_a_failed_qr_code_says_why(site: Site) -> None:
    client = site.signed_in("sender1")
    client.post("/me/wechat/code", data={"csrf": csrf_of(client.get("/me/wechat").text)})
    with site.sessions() as session:
        sendtome.qr_failed(session.scalars(select(BindCode)).one(), "no_qr")
        session.commit()
    page = client.get("/me/wechat").text
    assert "没能生成二维码：这个公众号不能生成带参数的二维码" in page and "生成绑定二维码" in page
