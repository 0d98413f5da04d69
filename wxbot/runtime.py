"""Start-up shared by serve, demo and the scheduler: upgrade the database, load and sync the content pack; the
bot's web app with the store the settings choose."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from posts import db, revisions
from posts.catalog import Catalog
from posts.clock import Clock, system_clock
from posts.content_sync import sync_catalog
from posts.live import catalog_from_db, current_version
from posts.loader import Problem, default_content_dir, load_catalog
from posts.render import Renderer
from posts.settings import Settings

if TYPE_CHECKING:  # the bot is imported only by the commands that serve it
    from bot.app import WebApp
    from bot.handlers import Renderer as BotRenderer
    from bot.store import Store

log = logging.getLogger("wxbot")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    catalog: Catalog
    renderer: Renderer
    problems: list[Problem]
    clock: Clock

    def close(self) -> None:
        self.engine.dispose()


def start(settings: Settings, base_url: str | None = None, clock: Clock = system_clock) -> Runtime:
    """Upgrade the schema, load the content pack (bad files are logged and left out) and sync it to the database.

    When operators wrote content in the console (posts/revisions.py), the processes serve the database's catalog,
    which has it, not the files alone: a restart loses nothing they wrote."""
    engine = db.make_engine(settings.database.url, settings.database.pool_size)
    db.upgrade(engine)
    sessions = db.session_factory(engine)
    catalog, problems = load_catalog(default_content_dir(settings.content.path))
    for problem in problems:
        log.warning("content: %s", problem)
    with db.session_scope(sessions) as session:
        sync_catalog(session, catalog, clock())
        if revisions.operator_keys(session):
            catalog = catalog_from_db(session)
    renderer = Renderer(catalog, base_url if base_url is not None else settings.server.base_url)
    return Runtime(settings, engine, sessions, catalog, renderer, problems, clock)


def attach(settings: Settings, clock: Clock = system_clock) -> Runtime:
    """Operator commands: the content every running process serves, as the database holds it (no file sync).

    A post is checked and previewed against this, so it can only name content the bot, the pages and the
    scheduler can render. A database no process ever synced gets the pack from the files, as start-up would.
    """
    engine = db.make_engine(settings.database.url, settings.database.pool_size)
    db.upgrade(engine)
    sessions = db.session_factory(engine)
    with sessions() as session:
        catalog = catalog_from_db(session) if current_version(session) else None
    if catalog is None:
        engine.dispose()
        return start(settings, clock=clock)
    return Runtime(settings, engine, sessions, catalog, Renderer(catalog, settings.server.base_url), [], clock)


def bot_store(settings: Settings, sessions: sessionmaker[Session]) -> Store:
    """The store the bot commits its pushes with (``server.store``; bot.store), on the database of ``sessions``.

    "auto": group commit on a SQLite file (one writer; the write lock shared by the worker processes), one
    transaction per push otherwise (PostgreSQL, where writers run side by side; an in-memory SQLite database).
    "group_commit" on PostgreSQL: ``server.writers`` writer threads per worker commit the pushes in flight together.
    """
    from bot.store.per_push import PerPushStore
    from bot.store.postgres import PgGroupCommit
    from bot.store.sqlite import SqliteGroupCommit
    from bot.store.writelock import FileWriteLock

    engine: Engine = sessions.kw["bind"]
    url = engine.url
    sqlite_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    choice = settings.server.store
    if choice == "auto":
        choice = "group_commit" if sqlite_file else "per_push"
    if sqlite_file:
        lock = FileWriteLock.beside(str(url.database))
        if choice == "group_commit":
            return SqliteGroupCommit(db.sqlite_writer_engine(url.render_as_string(hide_password=False)), lock)
        return PerPushStore(sessions, settings.server.threads, lock=lock)
    if choice == "group_commit":
        if url.get_backend_name() != "postgresql":  # posts.settings refuses it for the configured database
            raise ValueError(f"group commit needs a SQLite file or PostgreSQL, not {url.get_backend_name()}")
        return PgGroupCommit(engine, writers=settings.server.writers)
    return PerPushStore(sessions, settings.server.threads)


def bot_app(
    settings: Settings, sessions: sessionmaker[Session], catalog: Catalog, renderer: BotRenderer, **kwargs: Any
) -> WebApp:
    """The bot's web app (bot.app.create_app) with the store these settings choose (:func:`bot_store`)."""
    from bot.app import create_app

    return create_app(settings, sessions, catalog, renderer, store=bot_store(settings, sessions), **kwargs)
