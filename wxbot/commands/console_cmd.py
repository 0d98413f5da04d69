"""`wxbot console`: the operator console on its own address (default 127.0.0.1:8090), served by granian (ASGI)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from wxbot.context import app_context, console


def serve_console(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default: console.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", help="Port (default: console.port).")] = None,
) -> None:
    """Serve the operator console until Ctrl-C (staff sign in; `wxbot users add` creates accounts)."""
    from granian.constants import Interfaces, Loops
    from granian.server import Server

    from posts import db
    from posts.settings import replace
    from wxbot import consoleapp, runtime

    app_ctx = app_context(ctx)
    settings = app_ctx.settings
    settings = replace(settings, console={"host": host or settings.console.host, "port": port or settings.console.port})
    attached = runtime.attach(settings, clock=app_ctx.clock)  # upgrades the schema; the content processes serve
    catalog = attached.catalog
    attached.close()
    console.print(f"operator console on {settings.console.url}/ ; Ctrl-C stops")

    def load_app() -> Any:
        engine = db.make_engine(settings.database.url, settings.database.pool_size)
        return consoleapp.build(settings, db.session_factory(engine), catalog, app_ctx.clock).app

    granian = Server(
        "wxbot.console",
        address=settings.console.host,
        port=settings.console.port,
        interface=Interfaces.ASGINL,  # no lifespan: the app opens its database on load
        workers=1,
        loop=Loops.uvloop if sys.platform != "win32" else Loops.asyncio,
        websockets=False,
        log_access=False,
    )
    granian.serve(target_loader=load_app, wrap_loader=False)
