"""Admin endpoints (/sandbox/...) used by browsers and other processes, and the standalone entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from .conftest import Sandbox

ROOT = Path(__file__).resolve().parents[2]


def test_followers_inbox_state(sbx: Sandbox) -> None:
    openid = requests.post(sbx.url + "/sandbox/followers", json={}, timeout=5).json()["openid"]
    assert len(openid) == 28
    followers = requests.get(sbx.url + "/sandbox/followers", timeout=5).json()["followers"]
    assert [f["openid"] for f in followers] == [openid]
    tid = requests.post(sbx.url + "/sandbox/templates", json={"template_id": "T1"}, timeout=5).json()
    assert tid == {"template_id": "T1"}
    sbx.api.post(
        "message/template/send", {"touser": openid, "template_id": "T1", "data": {"thing1": {"value": "更新"}}}
    )
    inbox = requests.get(f"{sbx.url}/sandbox/inbox/{openid}", timeout=5).json()
    assert inbox["openid"] == openid
    assert inbox["inbox"][0]["kind"] == "template"
    assert inbox["inbox"][0]["payload"]["data"] == {"thing1": {"value": "更新"}}
    state = requests.get(sbx.url + "/sandbox/state", timeout=5).json()
    assert state["account"]["account_type"] == "service" and state["templates"] == ["T1"]
    assert requests.get(sbx.url + "/sandbox/nothing", timeout=5).status_code == 404


def test_simulate_over_http(make_sandbox, make_bot) -> None:
    sbx = make_sandbox(message_mode="safe")
    bot, _ = make_bot(sbx)
    sim = sbx.url + "/sandbox/simulate"
    followed = requests.post(sim, json={"action": "follow", "openid": "oHttpUser00000000000000000001"}, timeout=5)
    assert followed.json()["status"] == "delivered" and followed.json()["reply"]["payload"] == {"content": "welcome"}
    said = requests.post(
        sim, json={"action": "send_text", "openid": "oHttpUser00000000000000000001", "text": "你好"}, timeout=5
    ).json()
    assert said["reply"] == {"msgtype": "text", "payload": {"content": "echo: 你好"}}
    assert bot.received[-1].fields["Content"] == "你好"
    bad = requests.post(sim, json={"action": "click", "openid": "oHttpUser00000000000000000001", "key": "K"}, timeout=5)
    assert bad.status_code == 400 and "no button" in bad.json()["error"]


def test_standalone_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--followers", "3", "--template", "TPL"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        params = {"grant_type": "client_credential", "appid": info["app_id"], "secret": info["app_secret"]}
        token = requests.get(info["url"] + "/cgi-bin/token", params=params, timeout=5).json()["access_token"]
        page = requests.get(info["url"] + "/cgi-bin/user/get", params={"access_token": token}, timeout=5).json()
        assert page["total"] == 3 and page["count"] == 3
    finally:
        proc.terminate()
        proc.wait(timeout=5)
