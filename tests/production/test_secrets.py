"""Secrets given through the environment never reach a log, even with --verbose (DEBUG)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.production import procs
from tests.production.db import scalar

SECRET = {
    "WXBOT_WECHAT_APP_SECRET": "AppSecretNeverLogged0000000000x1",
    "WXBOT_WECHAT_TOKEN": "TokenNeverLogged77",
    "WXBOT_WECHAT_ENCODING_AES_KEY": "AesKeyNeverLogged0123456789abcdefghijklmnop",
}


@pytest.mark.time_limit(90)
def test_serve_and_scheduler_never_log_secrets(tmp_path: Path, pg_url: str, services: None) -> None:
    port = procs.free_port()
    extra = ("--app-secret", SECRET["WXBOT_WECHAT_APP_SECRET"], "--token", SECRET["WXBOT_WECHAT_TOKEN"])
    extra += ("--aes-key", SECRET["WXBOT_WECHAT_ENCODING_AES_KEY"])
    sandbox = procs.start_sandbox(tmp_path, f"http://127.0.0.1:{port}/wechat", extra=extra)
    env = {**procs.production_env(pg_url, port=port, api_url=sandbox.info["url"]), **SECRET}
    started: list[procs.Proc] = [sandbox]
    try:
        procs.wxbot(env, "--verbose", "db", "upgrade")
        web = procs.spawn("serve", [procs.WXBOT, "--verbose", "--config", str(procs.CONFIG), "serve"], tmp_path, env)
        started.append(web)
        procs.wait_for(lambda: procs.http_ok(f"http://127.0.0.1:{port}/healthz"), 60, "serve", web)
        scheduler = procs.spawn(
            "scheduler", [procs.WXBOT, "--verbose", "--config", str(procs.CONFIG), "scheduler", "run"], tmp_path, env
        )
        started.append(scheduler)
        import requests

        def simulate(**body: str) -> dict:
            return requests.post(sandbox.info["url"] + "/sandbox/simulate", json=body, timeout=30).json()

        assert simulate(action="follow", openid="oSecret0001")["reply_kind"] == "message"
        assert simulate(action="send_text", openid="oSecret0001", text="帮助")["reply_kind"] == "message"
        requests.post(f"http://127.0.0.1:{port}/wechat?signature=bad&timestamp=1&nonce=2", data=b"<xml/>", timeout=5)
        out = procs.wxbot(
            env, "--verbose", "post", "add", "--content", "section:opening", "--to", "oSecret0001", "--now", "--yes"
        )
        post_id = int(out.split()[1])
        status = "SELECT status FROM post WHERE id = %s"
        procs.wait_for(lambda: scalar(pg_url, status, post_id) == "sent", 45, "the post", scheduler)
        token = scalar(pg_url, "SELECT token FROM access_token")
        assert token
    finally:
        for proc in reversed(started):
            proc.stop()
    logs = web.output() + scheduler.output() + out
    assert "DEBUG" in logs  # verbose logging was on
    for name, value in {**SECRET, "access_token": token}.items():
        assert value not in logs, f"{name} appears in the logs"
    assert sys.executable  # the sandbox's own output may show its credentials: it is the stand-in, not us
