"""`wxbot post ...` against the stand-in: one-line errors (exit 2), dry-run preview, send-now, the report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from posts.coordination import ApiUsage
from posts.models import Follower
from posts.queue import Delivery, Post
from posts.settings import Settings
from posts.timing import beijing_day
from tests.scheduler.conftest import TEMPLATE_ID, World
from wxbot.cli import app
from wxbot.context import AppContext

UPDATE = "update:xs228/2025-09-15-first-dosing"
NOTICE = ("--content", "text", "--title", "直播预告", "--text", "周六 20:00 专家答疑", "--channel", "template_only")
NOTICE = (*NOTICE, "--purpose", "notice", "--yes")
CLOCKS: dict[Path, Callable[[], datetime]] = {}
"""Each test's config file → the clock its commands run on."""


@pytest.fixture
def config(world: World, tmp_path: Path) -> Path:
    s: Settings = world.settings
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[database]
url = "{s.database.url}"
[wechat]
app_id = "{s.wechat.app_id}"
app_secret = "{s.wechat.app_secret}"
token = "{s.wechat.token}"
api_base_url = "{s.wechat.api_base_url}"
[wechat.templates.notice]
template_id = "{TEMPLATE_ID}"
thing1 = "title"
time2 = "time"
thing3 = "text"
[scheduler]
quiet_hours_start = "00:00"
quiet_hours_end = "00:00"
""",
        encoding="utf-8",
    )
    CLOCKS[path] = world.now
    return path


def wxbot(config: Path, *args: str) -> tuple[int, str]:
    """The command on the world's clock (the stand-in's and the test's), whatever the wall clock says."""
    result = CliRunner().invoke(app, ["--config", str(config), *args], obj=AppContext(clock=CLOCKS[config]))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--content", "update:xs228/nope"], "unknown update 'nope' of therapy 'xs228'"),
        (["--content", UPDATE, "--audience", "therapy:cure-all"], "unknown therapy 'cure-all'"),
        (["--content", UPDATE, "--at", "2020-01-01 09:00"], "is in the past"),
        (["--content", UPDATE, "--audience", "scene:article-link"], "is empty"),
        (["--content", UPDATE, "--cron", "every monday"], "cannot read the cron schedule"),
    ],
)
def test_add_refuses_with_one_line_and_exit_2(world: World, config: Path, args: list[str], message: str) -> None:
    world.follow(1)
    when = [] if "--at" in args or "--cron" in args else ["--now"]
    code, output = wxbot(config, "post", "add", *args, *when, "--yes")
    assert code == 2
    assert message in output
    assert "Traceback" not in output


def test_add_refuses_a_post_over_the_daily_quota(world: World, config: Path) -> None:
    world.follow(2)
    with world.sessions() as session:
        session.add(ApiUsage(day=beijing_day(world.now()), path="/cgi-bin/message/template/send", count=100_000))
        session.commit()
    code, output = wxbot(config, "post", "add", *NOTICE, "--now")
    assert code == 2 and "over quota: 2 of 2 recipients" in output


def test_preview_sends_nothing_then_send_now_sends_and_show_reports(world: World, config: Path) -> None:
    talked = world.follow(1, interact="message", prefix="oTalk")
    silent = world.follow(2, prefix="oQuiet")
    code, output = wxbot(
        config, "post", "add", "--content", UPDATE, "--by", "alice", "--at", "2099-01-01 09:00", "--yes"
    )
    assert code == 0, output
    post_id = output.split()[1]
    code, output = wxbot(config, "post", "preview", post_id)
    assert code == 0, output
    assert "XS228" in output and "这只是预览，没有发出任何消息" in output
    assert "客服消息：1 人" in output and "群发：2 人" in output and "按名单群发：1 次（今天还剩 100 次）" in output
    assert "模板消息" not in output and "/cgi-bin" not in output and "✓ 消息末尾带有免责声明" in output
    assert not any(world.received(o) for o in talked + silent)
    code, output = wxbot(config, "post", "send-now", post_id, "--by", "bob")
    assert code == 0, output
    assert "sent" in output
    assert [[r.kind for r in world.received(o)] for o in talked + silent] == [["custom"], ["mass"], ["mass"]]
    code, output = wxbot(config, "post", "show", post_id)
    assert code == 0, output
    assert "alice" in output and "bob" in output and "send-now" in output
    assert "mass batch list:1: sent" in output
    code, output = wxbot(config, "post", "list")
    assert code == 0 and "3/3" in output


def test_show_explains_a_closed_window_in_plain_words(world: World, config: Path) -> None:
    world.follow(1)
    code, output = wxbot(config, "post", "add", "--content", UPDATE, "--channel", "custom_only", "--now", "--yes")
    assert code == 0, output
    post_id = output.split()[1]
    assert wxbot(config, "post", "send-now", post_id)[0] == 0
    code, output = wxbot(config, "post", "show", post_id)
    assert "窗口已关闭 (45015): follower has not interacted in 48 hours" in output


def test_cancel_and_retry(world: World, config: Path) -> None:
    world.follow(1)
    code, output = wxbot(config, "post", "add", "--content", UPDATE, "--at", "2099-01-01 09:00", "--yes")
    post_id = output.split()[1]
    assert wxbot(config, "post", "cancel", post_id)[0] == 0
    code, output = wxbot(config, "post", "cancel", post_id)
    assert code == 2 and "already cancelled" in output
    code, output = wxbot(config, "post", "retry", post_id)
    assert code == 2 and "nothing to retry" in output


def test_wechat_menu_push_qr_create_and_reconcile_tags(world: World, config: Path) -> None:
    code, output = wxbot(config, "menu", "push")
    assert code == 0, output
    assert world.platform.menu()
    code, output = wxbot(config, "qr", "create", "clinic-poster")
    assert code == 0, output
    from posts.models import QrScene

    with world.sessions() as session:
        row = session.get(QrScene, "clinic-poster")
        assert row is not None and row.ticket and row.ticket in world.platform.tickets
    code, output = wxbot(config, "qr", "create", "nowhere")
    assert code == 2 and "unknown scene 'nowhere'" in output
    code, output = wxbot(config, "tags", "reconcile", "--dry-run")
    assert code == 0 and "nurown" in output


def test_show_reports_an_unknown_delivery_and_retry_leaves_it_for_the_operator(world: World, config: Path) -> None:
    (openid,) = world.follow(1, interact="message")
    code, output = wxbot(config, "post", "add", "--content", UPDATE, "--channel", "custom_only", "--now", "--yes")
    post_id = output.split()[1]
    world.platform.inject_fault("message/custom/send", "drop_answer", 1)
    assert wxbot(config, "post", "send-now", post_id)[0] == 0
    assert len(world.received(openid)) == 1
    output = " ".join(wxbot(config, "post", "show", post_id)[1].split())
    assert "custom │ unknown │ 1" in output and "1 × 结果未知: the request may have reached WeChat" in output
    assert (
        "1 deliveries have an unknown outcome (WeChat may have delivered them) and were not resent; "
        f"`wxbot post retry {post_id} --resend-unknown`"
    ) in output
    code, output = wxbot(config, "post", "retry", post_id)
    output = " ".join(output.split())
    assert code == 0 and "0 deliveries requeued" in output and "were not resent" in output
    code, output = wxbot(config, "post", "retry", post_id, "--resend-unknown")
    assert code == 0 and "1 deliveries requeued" in output and "unknown outcome" not in output


@pytest.mark.parametrize(
    ("at", "accepted"),
    [("2027-01-31 23:59", True), ("2027-02-01 00:00", True), ("2027-01-31 23:58", False)],
)
def test_add_accepts_a_time_in_the_current_minute(world: World, config: Path, at: str, accepted: bool) -> None:
    """An operator who typed "the next minute" a few seconds ago is not refused: the current minute is now."""
    world.follow(1)
    late_in_the_minute = datetime(2027, 1, 31, 15, 59, 59, 900_000, tzinfo=UTC)  # 23:59:59.9 in Shanghai
    result = CliRunner().invoke(
        app,
        ["--config", str(config), "post", "add", "--content", UPDATE, "--at", at, "--yes"],
        obj=AppContext(clock=lambda: late_in_the_minute),
    )
    if accepted:
        assert result.exit_code == 0, result.output
        assert "post 1 queued" in result.output
        with world.sessions() as session:
            post = session.get(Post, 1)
            assert post is not None and post.due_at == max(post.send_at, late_in_the_minute)  # type: ignore[type-var]
            assert post.created_at == late_in_the_minute and post.events[0].at == late_in_the_minute
    else:
        assert result.exit_code == 2 and "is in the past" in result.output


def test_templates_are_refused_for_news_and_for_a_purpose_not_configured(world: World, config: Path) -> None:
    world.follow(2)
    code, output = wxbot(
        config,
        "post",
        "add",
        "--content",
        UPDATE,
        "--channel",
        "template_only",
        "--purpose",
        "notice",
        "--now",
        "--yes",
    )
    assert code == 2 and "template messages are for service notices, not news" in output
    code, output = wxbot(config, "post", "add", *NOTICE[:-2], "other", "--now", "--yes")
    assert code == 2 and "no template for purpose 'other'" in output and "Traceback" not in output
    code, output = wxbot(config, "post", "add", *NOTICE[:-3], "--now", "--yes")
    assert code == 2 and "no template for purpose ''" in output
    long_title = ("--title", "周六专家答疑直播预告本周请准时观看欢迎转发")
    code, output = wxbot(config, "post", "add", *NOTICE[:2], *long_title, *NOTICE[4:], "--now")
    assert code == 2 and "template field thing1" in output and "cannot be cut at a word boundary" in output


def test_preview_shows_exactly_the_template_fields_that_are_sent(world: World, config: Path) -> None:
    (openid,) = world.follow(1)
    code, output = wxbot(config, "post", "add", *NOTICE, "--at", "2026-12-01 10:00")  # the world's current minute
    assert code == 0, output
    post_id = output.split()[1]
    code, output = wxbot(config, "post", "preview", post_id)
    assert code == 0, output
    assert "服务通知（模板消息，用途 notice" in output and "✓ 消息末尾带有免责声明" in output
    assert "thing1='直播预告'\n  time2='2026年12月1日 10:00'\n  thing3='周六 20:00 专家答疑'" in output
    world.sender().run(int(post_id))
    (record,) = world.received(openid)
    assert {k: v["value"] for k, v in record.payload["data"].items()} == {
        "thing1": "直播预告",
        "time2": "2026年12月1日 10:00",
        "thing3": "周六 20:00 专家答疑",
    }


def test_preview_says_who_is_not_reachable_this_month_and_when_they_are(world: World, config: Path) -> None:
    world.follow(1, interact="message", prefix="oTalk")
    world.follow(2, prefix="oQuiet")
    code, output = wxbot(config, "post", "add", "--content", UPDATE, "--at", "2099-01-01 09:00", "--yes")
    post_id = output.split()[1]
    with world.sessions() as session:  # four mass sends already received by one of them this month
        quiet = session.scalars(select(Follower.openid).where(Follower.openid.like("oQuiet%"))).first()
        for _ in range(4):
            post = Post(content=UPDATE, audience="all", channel="mass", status="sent", created_at=world.now())
            session.add(post)
            session.flush()
            session.add(
                Delivery(post_id=post.id, openid=quiet, channel="mass", state="sent", sent_at=world.now(), attempts=1)
            )
        session.commit()
    code, output = wxbot(config, "post", "preview", post_id)
    assert code == 0, output
    assert "无法送达：2 人" in output and "收不到的人和原因" in output
    assert "1 人：对方本月已收到 4 次群发，下月 1 日恢复" in output
    assert "1 人：只剩一个人需要群发，按名单群发至少要两人" in output
    assert "40130" not in output and "模板消息" not in output and "/cgi-bin" not in output


def test_scheduler_status_names_the_holder_only_while_the_lease_is_held(world: World, config: Path) -> None:
    engine = world.engine(holder="scheduler@host:1:held")
    assert engine.renew()
    code, output = wxbot(config, "scheduler", "status")
    assert code == 0 and "held by scheduler@host:1:held" in output
    engine.release()
    code, output = wxbot(config, "scheduler", "status")
    assert code == 0 and "scheduler@host:1:held" not in output
    assert "released or expired)" in output and "lease: free since" in output
