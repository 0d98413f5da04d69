"""A content reload reaches the running demo: the new update's page, the bot's "latest" reply and a post of it."""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from posts.loader import default_content_dir
from posts.settings import Settings, replace
from tests.e2e.cli import wxbot
from wxbot.demo import Demo

NEW_KEY = "2025-11-30-live-reload"
NEW_TITLE = "NurOwn热加载测试更新"
NEW_UPDATE = f"""---
therapy: nurown
date: 2025-11-30
title: "{NEW_TITLE}"
source: "https://ir.brainstorm-cell.com/"
sources: [4]
reviewed_by: "本号编辑部"
reviewed_on: 2025-12-01
next_review: 2099-12-01
---
**发生了什么：** 这是一条在系统运行中新增的更新[4]。

**这意味着：** 运营人员重新加载内容后，无需重启即可推送。

**这不意味着：** NurOwn已被证明有效或已获批。
"""


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_for(check: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_reload_reaches_pages_replies_and_the_scheduler(settings: Settings, tmp_path: Path) -> None:
    pack = tmp_path / "content"
    shutil.copytree(default_content_dir(None), pack)
    live = replace(
        settings,
        content={"path": str(pack)},
        scheduler={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"},
    )
    demo = Demo(live, port=0, database=tmp_path / "demo.db").start()
    try:
        assert demo.sandbox is not None and demo.config_file is not None
        pusher, follower, reader = demo.sandbox.pusher, "oLiveReload00000000000000001", "oLiveReader00000000000000001"
        assert pusher.follow(follower).ok and pusher.follow(reader).ok
        page = f"{demo.bot_url}/p/t/nurown/{NEW_KEY}"
        assert status(page) == 404

        (pack / "updates" / "nurown" / f"{NEW_KEY}.md").write_text(NEW_UPDATE, encoding="utf-8")
        reloaded = wxbot(demo.config_file, "content", "reload")

        assert wait_for(lambda: status(page) == 200), "the new update's page still answers 404"
        latest = pusher.send_text(reader, "最新 NurOwn")
        assert latest.reply is not None and NEW_TITLE in str(latest.reply.payload)

        update = f"update:nurown/{NEW_KEY}"
        added = wxbot(
            demo.config_file, "post", "add", "--content", update, "--to", f"{follower},{reader}", "--now", "--yes"
        )
        assert "post 1 queued" in added
        assert "另有 1 位已经在欢迎语或回复里收到过" in wxbot(demo.config_file, "post", "preview", "1")  # the reader

        def delivered() -> bool:
            return any(NEW_TITLE in str(r.payload) for r in demo.sandbox.platform.inbox(follower))  # type: ignore[union-attr]

        assert wait_for(delivered, 30), wxbot(demo.config_file, "post", "show", "1")
        assert "sent" in wxbot(demo.config_file, "post", "show", "1").splitlines()[0]
        assert "no restart needed" in reloaded  # and the operator is told so
    finally:
        demo.stop()
