"""`wxbot serve`: upgrade the database, load and sync the content pack, serve the bot (wxbot.workers, bot.http1)."""

from __future__ import annotations

import functools
import gc
import logging
import os
import subprocess
import sys
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
    from bot.app import WebApp
    from posts import db
    from posts.render import Renderer
    from posts.settings import replace
    from wxbot import runtime, workers

    app_ctx = app_context(ctx)
    settings = app_ctx.settings
    server = settings.server
    settings = replace(settings, server={"host": host or server.host, "port": port or server.port})
    try:
        workers.check_address(settings.server.host, settings.server.port)
    except workers.PortUnavailable as exc:
        console.print(f"error: {exc}")
        raise typer.Exit(1) from None
    started = runtime.start(settings, clock=app_ctx.clock)  # upgrades the schema, loads and syncs the content pack
    catalog, base_url = started.catalog, settings.server.base_url
    started.close()  # every worker process opens its own connections
    if not settings.wechat.token:
        console.print("no WeChat credentials configured: using the demo credentials of the built-in stand-in")
    console.print(f"serving {base_url}/wechat and {base_url}/p/ ({settings.server.workers} worker(s)); Ctrl-C stops")

    def load_app() -> WebApp:
        engine = db.make_engine(settings.database.url, settings.database.pool_size)
        renderer = Renderer(catalog, base_url)
        app = runtime.bot_app(settings, db.session_factory(engine), catalog, renderer, clock=app_ctx.clock)
        # What was loaded (the content pack, templates, the routes) lives as long as the worker: frozen, the
        # cyclic collector never walks it again. Without this a full collection of it stalled every push in
        # flight for tens of milliseconds (the p99 at c=64).
        gc.collect()
        gc.freeze()
        return app.watch_content()  # each worker follows `wxbot content reload`

    def worker() -> None:
        workers.run_worker(load_app, settings.server.host, settings.server.port)

    scheduler = _start_scheduler(app_ctx.config_path, settings)
    try:
        code = workers.supervise(settings.server.workers, worker)
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.wait(timeout=30)
    if code:
        raise typer.Exit(code)


def _start_scheduler(config_path: str | None, settings: Any) -> subprocess.Popen[bytes] | None:
    """With `scheduler.embedded`, run `wxbot scheduler run` beside the web workers (its own process, so the
    workers never fork a running scheduler; the lease keeps it single across machines). Like a worker, it
    gets SIGTERM when this process dies, even by SIGKILL."""
    from wxbot.workers import exit_with_parent

    if not settings.scheduler.embedded:
        return None
    if not (settings.wechat.configured or settings.wechat.api_base_url):
        console.print("scheduler not started: no WeChat credentials and no wechat.api_base_url to send to")
        return None
    command = [sys.executable, "-m", "wxbot", *(["--config", config_path] if config_path else []), "scheduler", "run"]
    env = {**os.environ, "WXBOT_SERVER_HOST": settings.server.host, "WXBOT_SERVER_PORT": str(settings.server.port)}
    console.print("scheduler started beside the web workers (scheduler.embedded = true)")
    return subprocess.Popen(command, env=env, preexec_fn=functools.partial(exit_with_parent, os.getpid()))
