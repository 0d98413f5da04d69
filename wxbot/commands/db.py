"""`wxbot db`: schema migrations."""

from __future__ import annotations

import typer

from posts import db
from wxbot.context import app_context, console

app = typer.Typer(help="Database schema: upgrade to the latest migration, show the current one.", no_args_is_help=True)


@app.command()
def upgrade(ctx: typer.Context, revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply the migrations up to REVISION (default: the latest)."""
    app_ctx = app_context(ctx)
    db.upgrade(app_ctx.engine, revision)
    console.print(f"database at revision {db.current_revision(app_ctx.engine)} ({app_ctx.engine.url!r})")


@app.command()
def current(ctx: typer.Context) -> None:
    """Print the schema revision the database is at."""
    console.print(db.current_revision(app_context(ctx).engine) or "empty (no migration applied)")
