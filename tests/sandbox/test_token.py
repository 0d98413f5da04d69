"""access_token lifecycle: classic overlap and expiry, stable_token, credential errors, daily quota."""

from __future__ import annotations

import json

import requests

from .conftest import Sandbox


def stable(sbx: Sandbox, force: bool = False, secret: str | None = None) -> dict:
    cfg = sbx.platform.config
    body = {
        "grant_type": "client_credential",
        "appid": cfg.app_id,
        "secret": secret or cfg.app_secret,
        "force_refresh": force,
    }
    return requests.post(sbx.url + "/cgi-bin/stable_token", data=json.dumps(body), timeout=5).json()


def test_classic_token_overlap_then_40001(sbx: Sandbox) -> None:
    first = sbx.api.fetch_token()
    assert first["expires_in"] == 7200 and len(first["access_token"]) > 100
    sbx.clock.advance(100)
    second = sbx.api.fetch_token()
    assert second["access_token"] != first["access_token"]
    # the previous token works for 5 minutes after the second fetch
    assert sbx.api.get("tags/get", access_token=first["access_token"])["tags"]
    sbx.clock.advance(299)
    assert "tags" in sbx.api.get("tags/get", access_token=first["access_token"])
    sbx.clock.advance(1)
    old = sbx.api.get("tags/get", access_token=first["access_token"])
    assert old["errcode"] == 40001 and " rid: " in old["errmsg"]
    assert "tags" in sbx.api.get("tags/get", access_token=second["access_token"])


def test_token_expiry_missing_and_unknown(sbx: Sandbox) -> None:
    token = sbx.api.fetch_token()["access_token"]
    sbx.clock.advance(7199)
    assert "tags" in sbx.api.get("tags/get", access_token=token)
    sbx.clock.advance(1)
    assert sbx.api.get("tags/get", access_token=token)["errcode"] == 42001
    missing = requests.get(sbx.url + "/cgi-bin/tags/get", timeout=5).json()
    assert missing["errcode"] == 41001
    assert sbx.api.get("tags/get", access_token="nonsense")["errcode"] == 40001


def test_credential_errors(sbx: Sandbox) -> None:
    base = sbx.url + "/cgi-bin/token"
    cfg = sbx.platform.config

    def call(**params: str) -> int:
        return requests.get(base, params=params, timeout=5).json()["errcode"]

    assert call(grant_type="client_credential", appid="wrong", secret=cfg.app_secret) == 40013
    assert call(grant_type="client_credential", appid=cfg.app_id, secret="wrong") == 40125
    assert call(grant_type="password", appid=cfg.app_id, secret=cfg.app_secret) == 40002
    assert call(grant_type="client_credential", secret=cfg.app_secret) == 41002
    assert call(grant_type="client_credential", appid=cfg.app_id) == 41004
    assert stable(sbx, secret="wrong")["errcode"] == 40125


def test_token_daily_quota_45009(make_sandbox) -> None:
    sbx = make_sandbox(daily_quotas={"/cgi-bin/token": 3})
    for _ in range(3):
        assert "access_token" in sbx.api.fetch_token()
    assert sbx.api.fetch_token()["errcode"] == 45009
    sbx.clock.advance(86_400)
    assert "access_token" in sbx.api.fetch_token()


def test_stable_token_same_value_and_isolated(sbx: Sandbox) -> None:
    first = stable(sbx)
    sbx.clock.advance(1000)
    again = stable(sbx)
    assert again["access_token"] == first["access_token"]
    assert again["expires_in"] == 7200 - 1000
    # fetching classic tokens does not invalidate the stable one
    sbx.api.fetch_token()
    sbx.api.fetch_token()
    sbx.clock.advance(400)
    assert "tags" in sbx.api.get("tags/get", access_token=first["access_token"])
    # renewed 5 minutes before expiry; the old value stays valid until it expires
    sbx.clock.set(sbx.clock() + (7200 - 1400) - 299)
    renewed = stable(sbx)
    assert renewed["access_token"] != first["access_token"] and renewed["expires_in"] == 7200
    assert "tags" in sbx.api.get("tags/get", access_token=first["access_token"])
    sbx.clock.advance(300)
    assert sbx.api.get("tags/get", access_token=first["access_token"])["errcode"] == 42001


def test_stable_force_refresh_limits(sbx: Sandbox) -> None:
    first = stable(sbx)
    forced = stable(sbx, force=True)
    assert forced["access_token"] != first["access_token"]
    assert sbx.api.get("tags/get", access_token=first["access_token"])["errcode"] == 40001
    assert stable(sbx, force=True)["errcode"] == 45011  # < 30 s apart
    for _ in range(19):
        sbx.clock.advance(31)
        assert "access_token" in stable(sbx, force=True)
    sbx.clock.advance(31)
    assert stable(sbx, force=True)["errcode"] == 45009  # 20 per day
    assert "access_token" in stable(sbx)  # normal mode still fine
