"""What every subcommand shares: the settings (read once, on first use) and the database."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cached_property

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from posts import db
from posts.clock import Clock, system_clock
from posts.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one plain line on stderr and return the Exit to raise."""
    print(f"wxbot: {message}", file=sys.stderr, flush=True)
    return typer.Exit(code)


@dataclass
class AppContext:
    config_path: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    clock: Clock = system_clock
    """The one clock every command reads (tests give a fake one through ``CliRunner.invoke(obj=...)``)."""

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    @cached_property
    def engine(self) -> Engine:
        return db.make_engine(self.settings.database.url, self.settings.database.pool_size)

    def database(self, upgrade: bool = True) -> sessionmaker[Session]:
        """A session factory on an upgraded schema (start-up always upgrades)."""
        if upgrade:
            db.upgrade(self.engine)
        return db.session_factory(self.engine)


def app_context(ctx: typer.Context) -> AppContext:
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext()
    return root.obj
