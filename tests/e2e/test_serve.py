"""`wxbot serve` as a real process (supervisor, workers) answers WeChat in plain, compat and safe mode, with
its scheduler."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox import Platform, PlatformConfig, SandboxServer

WXBOT = str(Path(sys.executable).with_name("wxbot"))
CONFIG = PlatformConfig()  # the stand-in's default account; the config below uses the same credentials


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, mode: str, port: int, api: str, db: Path) -> Path:
    path.write_text(
        f"""
[database]
url = "sqlite:///{db}"
[server]
host = "127.0.0.1"
port = {port}
[wechat]
app_id = "{CONFIG.app_id}"
app_secret = "{CONFIG.app_secret}"
token = "{CONFIG.token}"
encoding_aes_key = "{CONFIG.encoding_aes_key}"
original_id = "{CONFIG.original_id}"
message_mode = "{mode}"
api_base_url = "{api}"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(params=["plain", "compat", "safe"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[SandboxServer, Path]]:
    mode, port = request.param, free_port()
    platform = Platform(PlatformConfig(message_mode=mode, callback_url=f"http://127.0.0.1:{port}/wechat"))
    with SandboxServer(platform) as sandbox:
        config = write_config(tmp_path / "config.toml", mode, port, sandbox.url, tmp_path / "wxbot.db")
        log = (tmp_path / "serve.log").open("wb")
        proc = subprocess.Popen(
            [WXBOT, "--config", str(config), "serve"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "wxbot serve did not come up in 30 s"
                time.sleep(0.2)
            pushed = subprocess.run(
                [WXBOT, "--config", str(config), "menu", "push"], capture_output=True, text=True, timeout=60
            )
            assert pushed.returncode == 0, pushed.stderr
            qr = subprocess.run(
                [WXBOT, "--config", str(config), "qr", "create", "therapy-str03"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert qr.returncode == 0, qr.stderr
            yield sandbox, tmp_path / "serve.log"
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
            log.close()


def test_serve_answers_text_scene_follow_and_click_in_every_mode(served: tuple[SandboxServer, Path]) -> None:
    sandbox, log = served
    pusher, openid = sandbox.pusher, "oServe000000000000000000001"
    follow = pusher.follow(openid, "therapy-str03")
    assert follow.ok and follow.reply is not None
    assert "STR03" in follow.reply.payload["content"]
    assert follow.reply.encrypted == (sandbox.platform.config.message_mode != "plain")
    text = pusher.send_text(openid, "我的订阅")
    assert text.ok and text.reply is not None and "STR03" in text.reply.payload["content"]
    click = pusher.click(openid, "THERAPY_NUROWN_CARD")
    assert click.ok and click.reply is not None
    assert "NurOwn" in str(click.reply.payload) and "最新 NurOwn" in str(click.reply.payload)
    # the scheduler runs beside the web workers: the scene's follow-up message arrives as a custom message
    deadline = time.monotonic() + 20
    while not any(r.kind == "custom" for r in sandbox.platform.inbox(openid)):
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.3)
    custom = [r for r in sandbox.platform.inbox(openid) if r.kind == "custom"]
    assert len(custom) == 1 and "STR03" in custom[0].payload["content"]
