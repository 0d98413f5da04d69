"""The README's operator walk-through on a running demo: queue a NurOwn update, preview, delivery, report."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from posts.settings import Settings, replace
from tests.e2e.cli import wxbot
from wxbot.demo import Demo

UPDATE = "update:nurown/2025-04-10-ind-amendment"


def test_queue_preview_deliver_report(settings: Settings, tmp_path: Path) -> None:
    awake = replace(settings, scheduler={"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"})
    demo = Demo(awake, port=0, database=tmp_path / "demo.db").start()
    try:
        assert demo.sandbox is not None and demo.config_file is not None
        pusher = demo.sandbox.pusher
        subscriber, other = "oOperFlowNurOwn0000000000001", "oOperFlowOther00000000000001"
        scanned = "oOperFlowScanned000000000001"
        assert pusher.follow(subscriber).ok and pusher.send_text(subscriber, "订阅 NurOwn").ok
        assert pusher.follow(other, "clinic-poster").ok
        assert pusher.follow(scanned, "therapy-nurown").ok  # welcomed, then sent NurOwn's latest update

        def got_update(openid: str) -> int:
            return sum("提交3b期" in str(r.payload) for r in demo.sandbox.platform.inbox(openid))  # type: ignore[union-attr]

        deadline = time.monotonic() + 30
        while not got_update(scanned):
            assert time.monotonic() < deadline, "the scene's follow-up message never went out"
            time.sleep(0.5)
        local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(minutes=1)
        added = wxbot(
            demo.config_file, "post", "add", "--content", UPDATE, "--audience", "therapy:nurown",
            "--at", local.strftime("%Y-%m-%d %H:%M"), "--by", "王医生",
        )  # fmt: skip
        assert "post 1 queued" in added
        preview = wxbot(demo.config_file, "post", "preview", "1")
        assert "NurOwn" in preview and "这只是预览，没有发出任何消息" in preview
        assert "另有 1 位已经在欢迎语或回复里收到过这条内容" in preview
        assert "不构成诊断或治疗建议" in preview

        deadline = time.monotonic() + 90  # the minute comes, the scheduler's tick sends it
        while "sent" not in wxbot(demo.config_file, "post", "show", "1").splitlines()[0]:
            assert time.monotonic() < deadline, wxbot(demo.config_file, "post", "show", "1")
            time.sleep(1)
        report = wxbot(demo.config_file, "post", "show", "1")
        assert "王医生" in report and "custom" in report

        assert got_update(subscriber) == 1  # the queued post
        assert got_update(scanned) == 1  # the scene's follow-up at follow time, not the post again
        assert got_update(other) == 0
    finally:
        demo.stop()
