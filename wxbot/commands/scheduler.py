"""`wxbot scheduler`: run the scheduler on its own (one active process at a time) and show its state."""

from __future__ import annotations

import typer
from sqlalchemy import func, select

from posts.coordination import Lease
from posts.queue import Post
from scheduler.runner import LEASE_NAME, run_forever
from wxbot import runtime
from wxbot.context import app_context, console

app = typer.Typer(help="The scheduler: run it, or see who runs it and what is queued.", no_args_is_help=True)


@app.command()
def run(ctx: typer.Context) -> None:
    """Run the scheduler until Ctrl-C / SIGTERM (a second one stands by until the first stops)."""
    app_ctx = app_context(ctx)
    rt = runtime.start(app_ctx.settings, clock=app_ctx.clock)
    try:
        run_forever(rt.settings, rt.sessions, rt.catalog, rt.renderer, rt.clock)
    finally:
        rt.close()


@app.command()
def status(ctx: typer.Context) -> None:
    """The lease holder and the number of posts in each state."""
    sessions = app_context(ctx).database()
    with sessions() as session:
        lease = session.get(Lease, LEASE_NAME)
        counts = session.execute(select(Post.status, func.count()).group_by(Post.status)).all()
    if lease is None:
        console.print("no scheduler has run yet")
    else:
        console.print(f"lease: {lease.holder} until {lease.expires_at.isoformat()} (expired leases are taken over)")
    for state, count in sorted(counts):
        console.print(f"  {state}: {count}")
