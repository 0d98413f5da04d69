"""Fixtures: a running sandbox with a fake clock, an API helper, and a callback bot."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from sandbox import FakeClock, Platform, PlatformConfig, Pusher, SandboxServer

from .callback_bot import BotServer, CallbackBot

START = 1_700_000_000.0


class Api:
    """Calls the sandbox like wechatpy does (raw UTF-8 JSON body, no Content-Type, access_token query)."""

    def __init__(self, base: str, config: PlatformConfig) -> None:
        self.base = base
        self.config = config
        self._token: str | None = None

    def fetch_token(self) -> dict[str, Any]:
        params = {"grant_type": "client_credential", "appid": self.config.app_id, "secret": self.config.app_secret}
        return requests.get(self.base + "/cgi-bin/token", params=params, timeout=5).json()

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.fetch_token()["access_token"]
        return self._token

    def call(self, method: str, path: str, params: dict[str, Any], data: bytes | None = None) -> dict[str, Any]:
        """One call; with the cached token, refresh once on 40001/42001 (like a careful client)."""
        explicit = "access_token" in params
        for _ in range(2):
            if not explicit:
                params["access_token"] = self.token
            url = self.base + "/cgi-bin/" + path
            answer = requests.request(method, url, params=params, data=data, timeout=5).json()
            if explicit or answer.get("errcode") not in (40001, 42001):
                return answer
            self._token = None
        return answer

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.call("GET", path, params)

    def post(self, path: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        return self.call("POST", path, params, json.dumps(body, ensure_ascii=False).encode("utf-8"))


@dataclass
class Sandbox:
    """A started sandbox and its helpers."""

    platform: Platform
    server: SandboxServer
    clock: FakeClock
    api: Api

    @property
    def pusher(self) -> Pusher:
        return self.server.pusher

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Factory: `make_sandbox(account_type=..., limits=replace(Limits(), ...), callback_url=...)`."""
    started: list[SandboxServer] = []

    def factory(**overrides: Any) -> Sandbox:
        clock = FakeClock(START)
        config = PlatformConfig(clock=clock, **overrides)
        platform = Platform(config)
        server = SandboxServer(platform).start()
        started.append(server)
        return Sandbox(platform, server, clock, Api(server.url, config))

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def sbx(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """A default (service account, safe mode) sandbox without callback."""
    return make_sandbox()


@pytest.fixture
def make_bot() -> Iterator[Callable[..., tuple[CallbackBot, BotServer]]]:
    """Factory for a callback bot bound to a sandbox's credentials."""
    servers: list[BotServer] = []

    def factory(sandbox: Sandbox, **kwargs: Any) -> tuple[CallbackBot, BotServer]:
        cfg = sandbox.platform.config
        bot = CallbackBot(cfg.token, cfg.encoding_aes_key, cfg.app_id, mode=cfg.message_mode, **kwargs)
        server = BotServer(bot)
        servers.append(server)
        sandbox.pusher.url = server.url
        return bot, server

    yield factory
    for server in servers:
        server.stop()
