"""`wxbot chat` against a running demo: scan a scene, tap a menu item by number, type text, quit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wxbot.demo import Demo

WXBOT = str(Path(sys.executable).with_name("wxbot"))


def test_terminal_follower_scans_taps_and_types(demo: Demo) -> None:
    script = "/scenes\n/scan clinic-poster\n1\n订阅 NurOwn\n/quit\n"
    proc = subprocess.run(
        [WXBOT, "chat", "--url", demo.phone_url.rstrip("/"), "--openid", "oChatTest00000000000000000001"],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert "了解进展" in out and " 1. 目录" in out  # the menu, numbered
    assert "scenes: clinic-poster" in out
    assert "候诊" in out  # the clinic-poster welcome
    assert "1. 2025年干细胞与渐冻症" in out or "目录" in out.split("候诊", 1)[1]  # item 1 = the table of contents
    assert "已订阅 NurOwn" in out
    assert "Traceback" not in out + proc.stderr


def test_chat_without_a_demo_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [WXBOT, "chat", "--url", "http://127.0.0.1:9"], input="", capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("wxbot: cannot reach the demo at http://127.0.0.1:9")
    assert "Traceback" not in proc.stderr
