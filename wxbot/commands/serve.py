"""`wxbot serve`: upgrade the database, load and sync the content pack, serve the bot with granian (WSGI)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

from wxbot.context import app_context, console

log = logging.getLogger("wxbot.serve")


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", help="Port (default: server.port).")] = None,
) -> None:
    """Answer WeChat's pushes on /wechat and serve the content pages /p/, until Ctrl-C."""
    from granian.constants import Interfaces
    from granian.server import Server

    from bot.app import create_app
    from posts import db
    from posts.content_sync import sync_catalog
    from posts.loader import default_content_dir, load_catalog
    from posts.render import Renderer
    from posts.settings import replace

    app_ctx = app_context(ctx)
    settings = app_ctx.settings
    server = settings.server
    settings = replace(settings, server={"host": host or server.host, "port": port or server.port})
    sessions = app_ctx.database()  # upgrades the schema
    catalog, problems = load_catalog(default_content_dir(settings.content.path or None))
    for problem in problems:
        log.warning("content problem: %s", problem)
    with db.session_scope(sessions) as session:
        sync_catalog(session, catalog)
    base_url = settings.server.base_url
    if not settings.wechat.token:
        console.print("no WeChat credentials configured: using the demo credentials of the built-in stand-in")
    console.print(f"serving {base_url}/wechat and {base_url}/p/ ({settings.server.workers} worker(s)); Ctrl-C stops")
    app_ctx.engine.dispose()  # every worker process opens its own connections

    def load_app() -> Any:
        engine = db.make_engine(settings.database.url, settings.database.pool_size)
        return create_app(settings, db.session_factory(engine), catalog, Renderer(catalog, base_url))

    granian = Server(
        "wxbot",
        address=settings.server.host,
        port=settings.server.port,
        interface=Interfaces.WSGI,
        workers=settings.server.workers,
        blocking_threads=settings.server.threads,
        log_access=False,
        respawn_failed_workers=True,  # a crashed or killed worker is replaced; the others keep serving
    )
    granian.serve(target_loader=load_app, wrap_loader=False)
