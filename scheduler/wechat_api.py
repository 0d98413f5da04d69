"""The WeChat API client: every call (the token fetch included) goes to settings.wechat.api_base_url."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy.orm import Session, sessionmaker
from urllib3.exceptions import ConnectTimeoutError

from posts.clock import Clock, system_clock
from posts.settings import Settings
from scheduler.errors import TransportError, WeChatError
from scheduler.lease import leases_for, redis_client
from scheduler.token_broker import DbTokenStore, FallbackTokenStore, RedisTokenStore, TokenBroker

REAL_BASE_URL = "https://api.weixin.qq.com"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})


class WeChatApi:
    """Plain ``requests`` calls with the shared token and a bounded "refresh once, retry once" on 40001/42001.

    wechatpy 1.8.18 is not used here: its auto-retry recurses without bound on a persistent 40001, its token
    fetch ignores API_BASE_URL, and it lacks stable_token, template client_msg_id and mass-send tag_id.
    """

    def __init__(self, base_url: str, app_id: str, app_secret: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.timeout = timeout
        self.http = requests.Session()
        self.http.mount(self.base_url, HTTPAdapter(pool_connections=4, pool_maxsize=16))
        self.broker: TokenBroker | None = None
        self.usage: Counter[str] = Counter()
        self._usage_lock = threading.Lock()

    # -- transport -------------------------------------------------------------------------------
    def _request(self, method: str, path: str, params: dict[str, Any], body: dict[str, Any] | None) -> dict[str, Any]:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
        try:
            response = self.http.request(
                method, self.base_url + path, params=params, data=data, headers=headers, timeout=self.timeout
            )
            response.raise_for_status()
            result = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", sent=not _before_sending(exc)) from None
        with self._usage_lock:
            self.usage[path] += 1
        if not isinstance(result, dict):
            raise TransportError("answer is not a JSON object", sent=True)
        code = result.get("errcode", 0)
        if code:
            raise WeChatError(int(code), str(result.get("errmsg", "")), result)
        return result

    def fetch_stable_token(self, force_refresh: bool = False) -> tuple[str, int]:
        """POST /cgi-bin/stable_token (normal mode unless forced): the broker's only way to get a token."""
        body = {
            "grant_type": "client_credential",
            "appid": self.app_id,
            "secret": self.app_secret,
            "force_refresh": force_refresh,
        }
        data = self._request("POST", "/cgi-bin/stable_token", {}, body)
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    # -- API -------------------------------------------------------------------------------------
    def call(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        method: str = "POST",
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One API call with the token; a refused token is refreshed once and the call retried once."""
        if self.broker is None:
            raise RuntimeError("WeChatApi has no token broker; build it with make_api()")
        token = self.broker.token()
        try:
            return self._request(method, path, {**(params or {}), "access_token": token}, body)
        except WeChatError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
        token = self.broker.refused(token)
        return self._request(method, path, {**(params or {}), "access_token": token}, body)

    def take_usage(self) -> Counter[str]:
        """Calls made since the last take, per path (the tick adds them to the api_usage table)."""
        with self._usage_lock:
            taken, self.usage = self.usage, Counter()
        return taken

    def close(self) -> None:
        self.http.close()


def _before_sending(exc: Exception) -> bool:
    """True only when the request surely never left: no connection was made (refused, DNS, connect timeout).

    Everything else (read timeout, connection reset or closed while waiting, an HTTP error, a malformed
    answer) may have reached WeChat, so its outcome is unknown.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else None
        return isinstance(reason, ConnectTimeoutError)  # NewConnectionError and NameResolutionError included
    return False


def make_api(settings: Settings, sessions: sessionmaker[Session], clock: Clock = system_clock) -> WeChatApi:
    """The client for these settings: the configured base URL (the stand-in's, in the demo) and token store."""
    wx = settings.wechat
    base = wx.api_base_url or (REAL_BASE_URL if wx.configured else "")
    if not base:
        raise RuntimeError("no WeChat credentials and no wechat.api_base_url: nothing to send to")
    api = WeChatApi(base, wx.app_id, wx.app_secret, timeout=wx.api_timeout)
    leases = leases_for(settings.redis.url, sessions, clock)
    if settings.redis.url:
        redis_store = RedisTokenStore(redis_client(settings.redis.url), clock=clock)
        store: DbTokenStore | FallbackTokenStore = FallbackTokenStore(redis_store, DbTokenStore(sessions, clock))
    else:
        store = DbTokenStore(sessions, clock)
    api.broker = TokenBroker(wx.app_id, api.fetch_stable_token, store, leases, clock=clock)
    return api
