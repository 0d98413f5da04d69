"""Quota inspection/reset, callback IPs, typing indicator, unknown paths."""

from __future__ import annotations

import requests

from .conftest import Sandbox


def test_quota_get_and_clear(make_sandbox) -> None:
    sbx = make_sandbox(daily_quotas={"/cgi-bin/menu/get": 2})
    assert sbx.api.get("menu/get")["errcode"] == 46003
    assert sbx.api.get("menu/get")["errcode"] == 46003
    assert sbx.api.get("menu/get")["errcode"] == 45009
    quota = sbx.api.post("openapi/quota/get", {"cgi_path": "/cgi-bin/menu/get"})["quota"]
    assert quota == {"daily_limit": 2, "used": 2, "remain": 0}
    assert sbx.api.post("clear_quota", {"appid": "wrong"})["errcode"] == 40013
    assert sbx.api.post("clear_quota", {"appid": sbx.platform.config.app_id})["errcode"] == 0
    assert sbx.api.get("menu/get")["errcode"] == 46003
    assert sbx.platform.api_calls("/cgi-bin/menu/get") == 1


def test_typing_needs_a_window(sbx: Sandbox) -> None:
    (user,) = sbx.platform.add_followers(1)
    body = {"touser": user, "command": "Typing"}
    assert sbx.api.post("message/custom/typing", body)["errcode"] == 45015
    sbx.pusher.send_text(user, "hi")
    assert sbx.api.post("message/custom/typing", body)["errcode"] == 0
    assert sbx.platform.windows(user)[0].used == 0


def test_misc_paths(sbx: Sandbox) -> None:
    assert sbx.api.get("getcallbackip")["ip_list"] == ["127.0.0.1"]
    unknown = requests.get(sbx.url + "/cgi-bin/not/modelled", params={"access_token": sbx.api.token}, timeout=5)
    assert unknown.status_code == 404 and unknown.json()["errcode"] == 48001
    assert "not/modelled" in unknown.json()["errmsg"]
    raw = requests.post(
        sbx.url + "/cgi-bin/tags/create", params={"access_token": sbx.api.token}, data=b"not json", timeout=5
    ).json()
    assert raw["errcode"] == 47001
    empty = requests.post(sbx.url + "/cgi-bin/tags/create", params={"access_token": sbx.api.token}, timeout=5)
    assert empty.json()["errcode"] == 44002
