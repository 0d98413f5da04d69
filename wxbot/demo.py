"""The whole product on one machine: the WeChat stand-in, the bot and the scheduler, wired together.

Used by `wxbot demo`, `wxbot chat` (against a running demo) and the end-to-end and browser tests.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.credentials import DEMO
from posts.clock import Clock, system_clock
from posts.settings import Settings, replace, setting_keys
from sandbox import Limits, Platform, PlatformConfig, SandboxServer
from scheduler.runner import Handle, start_embedded
from wxbot import provision, runtime
from wxbot.localserver import LocalServer

log = logging.getLogger("wxbot.demo")

DEMO_APP_SECRET = "sandbox-secret-0000000000000001"


def write_config(settings: Settings, path: Path) -> Path:
    """Write ``settings`` as a TOML file (the demo's only secrets are the stand-in's fixed ones)."""
    lines = ["# Written by `wxbot demo` for this run: point operator commands at it with --config."]
    for table, keys in setting_keys().items():
        values = getattr(settings, table)
        lines.append(f"\n[{table}]")
        nested = []
        for key in keys:
            value = getattr(values, key)
            if isinstance(value, dict):
                nested.append((key, value))
            else:
                lines.append(f"{key} = {_toml(value)}")
        for key, value in nested:
            lines.append(f"[{table}.{key}]")
            lines.extend(f"{k} = {_toml(v)}" for k, v in value.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


@dataclass
class Demo:
    """Start with :meth:`start`, stop with :meth:`stop`; ``phone_url`` is the page a person opens."""

    settings: Settings
    host: str = "127.0.0.1"
    port: int = 8000
    """Port of the phone page and the stand-in's API; the bot listens on an ephemeral port beside it."""
    mode: str = "safe"
    database: Path | None = None
    """SQLite file of this demo run (fresh each start); default var/demo.db."""
    scheduler: bool = True
    limits: Limits | None = None
    """The stand-in's limits (tests shorten the callback timeout)."""
    clock: Clock = system_clock
    """The product's clock (the stand-in keeps its own)."""
    platform: Platform | None = field(default=None, init=False)
    sandbox: SandboxServer | None = field(default=None, init=False)
    bot: LocalServer | None = field(default=None, init=False)
    runtime: runtime.Runtime | None = field(default=None, init=False)
    handle: Handle | None = field(default=None, init=False)
    app: Any = field(default=None, init=False)
    content: Any = field(default=None, init=False)
    """The bot's live content (it follows `wxbot content reload`); stopped with the demo."""
    config_file: Path | None = field(default=None, init=False)
    """Settings of this run, for operator commands: `wxbot --config var/demo.toml post add ...`."""

    @property
    def phone_url(self) -> str:
        assert self.sandbox is not None
        return self.sandbox.url + "/"

    @property
    def bot_url(self) -> str:
        assert self.bot is not None
        return self.bot.url

    def start(self) -> Demo:
        started = time.monotonic()
        db_file = self.database or Path("var/demo.db")
        db_file.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        self.platform = Platform(
            PlatformConfig(
                app_id=DEMO.app_id,
                app_secret=DEMO_APP_SECRET,
                token=DEMO.token,
                encoding_aes_key=DEMO.encoding_aes_key,
                original_id=DEMO.original_id,
                account_type=self.settings.wechat.account_type,
                message_mode=self.mode,  # type: ignore[arg-type]
                limits=self.limits or Limits(),
            )
        )
        self.sandbox = SandboxServer(self.platform, self.host, self.port).start()
        self.bot = LocalServer(self._serve_bot, self.host, 0).start()
        settings = replace(
            self.settings,
            database={"url": f"sqlite:///{db_file}"},
            server={"host": self.host, "port": int(self.bot.url.rsplit(":", 1)[1]), "public_base_url": self.bot.url},
            wechat={
                "app_id": DEMO.app_id,
                "app_secret": DEMO_APP_SECRET,
                "token": DEMO.token,
                "encoding_aes_key": DEMO.encoding_aes_key,
                "original_id": DEMO.original_id,
                "message_mode": self.mode,
                "api_base_url": self.sandbox.url,
            },
        )
        self.config_file = write_config(settings, db_file.with_suffix(".toml"))
        self.runtime = runtime.start(settings, base_url=self.bot.url, clock=self.clock)
        rt = self.runtime
        self.app = runtime.bot_app(settings, rt.sessions, rt.catalog, rt.renderer, clock=self.clock).watch_content()
        self.content = self.app.content
        self.platform.config.callback_url = self.bot.url + "/wechat"
        provision.provision(settings, rt.sessions, rt.catalog, base_url=self.bot.url, clock=self.clock)
        if self.scheduler:
            self.handle = start_embedded(settings, rt.sessions, rt.catalog, rt.renderer, clock=self.clock)
        log.info("demo ready in %.1f s", time.monotonic() - started)
        return self

    def _serve_bot(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"starting"]
        return self.app(environ, start_response)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
        if self.bot is not None:
            self.bot.stop()
        if self.content is not None:
            self.content.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.runtime is not None:
            self.runtime.close()

    def __enter__(self) -> Demo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
