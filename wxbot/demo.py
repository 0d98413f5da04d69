"""The whole product on one machine: the WeChat stand-in, the bot and the scheduler, wired together.

Used by `wxbot demo`, `wxbot chat` (against a running demo) and the end-to-end and browser tests.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.credentials import DEMO
from posts import accounts
from posts.clock import Clock, system_clock
from posts.settings import NoticeSettings, Settings, replace, setting_keys
from sandbox import Limits, Platform, PlatformConfig, SandboxServer
from scheduler.runner import Handle, start_embedded
from wxbot import provision, runtime
from wxbot.localserver import LocalServer

log = logging.getLogger("wxbot.demo")

DEMO_APP_SECRET = "sandbox-secret-0000000000000001"
DEMO_NOTICE_ID = "sbxNotice_therapy_update_0000000000000001"
"""The subscribe-notice template the demo's stand-in account picked: "a therapy you follow has an update"."""
DEMO_NOTICES = NoticeSettings(
    purposes={
        "therapy_update": {"template_id": DEMO_NOTICE_ID, "serves": "update", "thing1": "therapy", "time2": "time"}
    }
)

DEMO_STAFF = (
    ("editor", "editor", "编辑小李"),
    ("reviewer", "reviewer", "审核人王医生"),
    ("sender", "sender", "发送人小张"),
    ("admin", "admin", "管理员"),
)
"""(user name, role, display name) of the demo's console accounts; their passwords are made afresh each run."""


def write_config(settings: Settings, path: Path) -> Path:
    """Write ``settings`` as a TOML file (the demo's only secrets are the stand-in's fixed ones)."""
    lines = ["# Written by `wxbot demo` for this run: point operator commands at it with --config."]
    for table, keys in setting_keys().items():
        values = getattr(settings, table)
        lines.append(f"\n[{table}]")
        nested = []
        for key in keys:
            value = getattr(values, key)
            if isinstance(value, NoticeSettings):
                nested.append((key, {"long_term": value.long_term, **value.purposes}))
            elif isinstance(value, dict):
                nested.append((key, value))
            else:
                lines.append(f"{key} = {_toml(value)}")
        for key, value in nested:
            lines.extend(_tables(f"{table}.{key}", value))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _tables(name: str, value: dict[str, Any]) -> list[str]:
    """``[name]`` with its plain keys, then one ``[name.sub]`` per table inside it."""
    lines = [f"[{name}]"]
    lines.extend(f"{k} = {_toml(v)}" for k, v in value.items() if not isinstance(v, dict))
    for sub, inner in value.items():
        if isinstance(inner, dict):
            lines.extend(_tables(f"{name}.{sub}", inner))
    return lines


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
    verified: bool = True
    """The stand-in plays a verified account; False: an unverified one (try `wxbot account check`)."""
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
    console: bool = False
    """Also run the operator console (`wxbot console`, its own process) with one demo account per role."""
    console_port: int = 8090
    """Its port; 0 picks a free one."""
    staff: dict[str, str] = field(default_factory=dict, init=False)
    """The demo accounts' passwords by user name (printed by `wxbot demo`, demo only)."""
    console_process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    console_url: str = field(default="", init=False)

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
                verified=self.verified,
                message_mode=self.mode,  # type: ignore[arg-type]
                limits=self.limits or Limits(),
            )
        )
        notices = self.settings.wechat.notices if self.settings.wechat.notices.configured else DEMO_NOTICES
        for spec in notices.purposes.values():
            self.platform.add_notice_template(spec["template_id"])
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
                "notices": dataclasses.replace(notices, simulate=True),
            },
        )
        self.config_file = write_config(settings, db_file.with_suffix(".toml"))
        self.runtime = runtime.start(settings, base_url=self.bot.url, clock=self.clock)
        rt = self.runtime
        self.app = runtime.bot_app(settings, rt.sessions, rt.catalog, rt.renderer, clock=self.clock).watch_content()
        self.content = self.app.content
        self.platform.config.callback_url = self.bot.url + "/wechat"
        if self.verified:
            provision.provision(settings, rt.sessions, rt.catalog, base_url=self.bot.url, clock=self.clock)
        else:
            provision.unverified(settings, rt.sessions, self.platform, base_url=self.bot.url, clock=self.clock)
        if self.scheduler:
            self.handle = start_embedded(settings, rt.sessions, rt.catalog, rt.renderer, clock=self.clock)
        if self.console:
            self._start_console(settings)
        log.info("demo ready in %.1f s", time.monotonic() - started)
        return self

    def _start_console(self, settings: Settings) -> None:
        """`wxbot console` on this run's settings (its own process), demo accounts with fresh passwords while it
        starts, then wait until it answers."""
        assert self.runtime is not None and self.config_file is not None
        port = self.console_port or _free_port(self.host)
        self.console_url = f"http://{self.host}:{port}"
        command = [sys.executable, "-m", "wxbot", "--config", str(self.config_file), "console"]
        command += ["--host", self.host, "--port", str(port)]
        log_path = self.config_file.with_suffix(".console.log")
        with log_path.open("wb") as log_file:
            self.console_process = subprocess.Popen(
                command, stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )
        with self.runtime.sessions() as session:
            for username, role, name in DEMO_STAFF:
                password = secrets.token_urlsafe(9)
                accounts.add_user(session, username, role, password, by="demo", now=self.clock(), display_name=name)
                self.staff[username] = password
            session.commit()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.console_url + "/signin", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.console_process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the console did not start (see {log_path})")
            time.sleep(0.1)

    def _serve_bot(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"starting"]
        return self.app(environ, start_response)

    def stop(self) -> None:
        if self.console_process is not None:
            self.console_process.terminate()
            try:
                self.console_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.console_process.kill()
                self.console_process.wait()
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


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
