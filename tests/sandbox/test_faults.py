"""Fault injection (Python API and /sandbox/faults): -1 busy, forced errcodes, slow answers, dropped sockets."""

from __future__ import annotations

import time

import pytest
import requests

from .conftest import Sandbox


def test_busy_for_next_n_calls(sbx: Sandbox) -> None:
    token = sbx.api.token
    sbx.platform.inject_fault("tags/get", "busy", 2)
    first = sbx.api.get("tags/get", access_token=token)
    assert first["errcode"] == -1 and first["errmsg"].startswith("system error")
    assert sbx.api.get("tags/get", access_token=token)["errcode"] == -1
    assert "tags" in sbx.api.get("tags/get", access_token=token)
    assert sbx.platform.faults.active() == []


def test_busy_on_one_call_in_five(sbx: Sandbox) -> None:
    token = sbx.api.token
    sbx.platform.inject_fault("tags/get", "busy", None, every=5)
    codes = [sbx.api.get("tags/get", access_token=token).get("errcode", 0) for _ in range(15)]
    assert codes == [0, 0, 0, 0, -1] * 3
    with pytest.raises(ValueError, match="every"):
        sbx.platform.inject_fault("tags/get", "busy", every=0)


def test_forced_errcode_until_cleared(sbx: Sandbox) -> None:
    token = sbx.api.token
    sbx.platform.inject_fault("/cgi-bin/menu/get", "error", None, errcode=40001)
    assert [sbx.api.get("menu/get", access_token=token)["errcode"] for _ in range(5)] == [40001] * 5
    sbx.platform.clear_faults("menu/get")
    assert sbx.api.get("menu/get", access_token=token)["errcode"] == 46003


def test_slow_answer(sbx: Sandbox) -> None:
    token = sbx.api.token
    sbx.platform.inject_fault("tags/get", "slow", 2, delay=0.3)
    started = time.monotonic()
    assert "tags" in sbx.api.get("tags/get", access_token=token)
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.Timeout):
        requests.get(sbx.url + "/cgi-bin/tags/get", params={"access_token": token}, timeout=0.1)


def test_dropped_connection(sbx: Sandbox) -> None:
    token = sbx.api.token
    sbx.platform.inject_fault("*", "drop", 1)
    with pytest.raises(requests.ConnectionError):
        requests.get(sbx.url + "/cgi-bin/tags/get", params={"access_token": token}, timeout=2)
    assert "tags" in sbx.api.get("tags/get", access_token=token)


def send_text(sbx: Sandbox, openid: str, timeout: float) -> requests.Response:
    body = {"touser": openid, "msgtype": "text", "text": {"content": "hello"}}
    url = sbx.url + "/cgi-bin/message/custom/send"
    return requests.post(url, params={"access_token": sbx.api.token}, json=body, timeout=timeout)


def test_dropped_answer_after_delivering(sbx: Sandbox) -> None:
    """The message is delivered, then the connection closes without an answer (a lost answer)."""
    openid = sbx.pusher.follow("oFollower000000000000000001").openid
    sbx.platform.inject_fault("message/custom/send", "drop_answer", 1)
    with pytest.raises(requests.ConnectionError):
        send_text(sbx, openid, 2)
    assert [r.payload["content"] for r in sbx.platform.inbox(openid)] == ["hello"]
    assert send_text(sbx, openid, 2).json()["errcode"] == 0


def test_late_answer_after_delivering(sbx: Sandbox) -> None:
    """The message is delivered at once; the answer comes after `delay`, past the client's timeout."""
    openid = sbx.pusher.follow("oFollower000000000000000001").openid
    sbx.platform.inject_fault("message/custom/send", "late", 1, delay=0.5)
    with pytest.raises(requests.ReadTimeout):
        send_text(sbx, openid, 0.2)
    assert [r.payload["content"] for r in sbx.platform.inbox(openid)] == ["hello"]
    with pytest.raises(ValueError, match="late fault needs delay"):
        sbx.platform.inject_fault("message/custom/send", "late", 1)


def test_fault_on_token_endpoint(sbx: Sandbox) -> None:
    sbx.platform.inject_fault("token", "busy")
    assert sbx.api.fetch_token()["errcode"] == -1
    assert "access_token" in sbx.api.fetch_token()


def test_faults_over_http(sbx: Sandbox) -> None:
    admin = sbx.url + "/sandbox/faults"
    armed = requests.post(admin, json={"path": "menu/get", "kind": "busy", "count": 3}, timeout=5).json()
    assert armed["fault"] == {
        "path": "/cgi-bin/menu/get",
        "kind": "busy",
        "remaining": 3,
        "delay": 0.0,
        "errcode": -1,
        "every": 1,
        "seen": 0,
    }
    assert sbx.api.get("menu/get")["errcode"] == -1
    listed = requests.get(admin, timeout=5).json()["faults"]
    assert listed[0]["remaining"] == 2
    bad = requests.post(admin, json={"path": "x", "kind": "explode"}, timeout=5)
    assert bad.status_code == 400 and "kind" in bad.json()["error"]
    assert requests.delete(admin, timeout=5).json() == {"faults": []}
    assert sbx.api.get("menu/get")["errcode"] == 46003
