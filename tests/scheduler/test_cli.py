"""`wxbot post ...` against the stand-in: one-line errors (exit 2), dry-run preview, send-now, the report."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from posts.models import Follower
from posts.queue import ApiUsage
from posts.settings import Settings
from posts.timing import beijing_day
from tests.scheduler.conftest import TEMPLATE_ID, World
from wxbot.cli import app

UPDATE = "update:xs228/2025-09-15-first-dosing"


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
[wechat.template_ids]
post = "{TEMPLATE_ID}"
[scheduler]
quiet_hours_start = "00:00"
quiet_hours_end = "00:00"
""",
        encoding="utf-8",
    )
    return path


def wxbot(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--config", str(config), *args])
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
    code, output = wxbot(config, "post", "add", *args)
    assert code == 2
    assert message in output
    assert "Traceback" not in output


def test_add_refuses_a_post_over_the_daily_quota(world: World, config: Path) -> None:
    world.follow(2)
    from posts.models import utcnow

    with world.sessions() as session:
        session.add(ApiUsage(day=beijing_day(utcnow()), path="/cgi-bin/message/template/send", count=100_000))
        session.commit()
    code, output = wxbot(config, "post", "add", "--content", UPDATE, "--channel", "template_only")
    assert code == 2 and "over quota: 2 of 2 recipients" in output


def test_preview_sends_nothing_then_send_now_sends_and_show_reports(world: World, config: Path) -> None:
    talked = world.follow(1, interact="message", prefix="oTalk")
    silent = world.follow(2, prefix="oQuiet")
    with world.sessions() as session:
        session.add(Follower(openid="oGoneAway0000000000000000000", subscribed=True))
        session.commit()
    code, output = wxbot(config, "post", "add", "--content", UPDATE, "--by", "alice", "--at", "2099-01-01 09:00")
    assert code == 0, output
    post_id = output.split()[1]
    code, output = wxbot(config, "post", "preview", post_id)
    assert code == 0, output
    assert "XS228" in output and "nothing was sent" in output
    assert "custom" in output and "template" in output and "quota: 3 calls of /cgi-bin/message/template/send" in output
    assert not any(world.received(o) for o in talked + silent)
    code, output = wxbot(config, "post", "send-now", post_id, "--by", "bob")
    assert code == 0, output
    assert "partly_sent" in output
    assert [len(world.received(o)) for o in talked + silent] == [1, 1, 1]
    code, output = wxbot(config, "post", "show", post_id)
    assert code == 0, output
    assert "alice" in output and "bob" in output and "send-now" in output
    assert "无效 openid (40003)" in output
    code, output = wxbot(config, "post", "list")
    assert code == 0 and "partly" in output


def test_show_explains_a_closed_window_in_plain_words(world: World, config: Path) -> None:
    world.follow(1)
    code, output = wxbot(config, "post", "add", "--content", UPDATE, "--channel", "custom_only")
    assert code == 0, output
    post_id = output.split()[1]
    assert wxbot(config, "post", "send-now", post_id)[0] == 0
    code, output = wxbot(config, "post", "show", post_id)
    assert "窗口已关闭 (45015): follower has not interacted in 48 hours" in output


def test_cancel_and_retry(world: World, config: Path) -> None:
    world.follow(1)
    code, output = wxbot(config, "post", "add", "--content", UPDATE, "--at", "2099-01-01 09:00")
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
