"""`wxbot scheduler`: run the scheduler on its own (one active process at a time) and show its state."""

from __future__ import annotations

import typer
from sqlalchemy import func, select

from posts.coordination import Lease
from posts.queue import Post
from scheduler.lease import leases_for
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
    """Who holds the lease now (a released or expired lease names nobody) and the number of posts in each state."""
    app_ctx = app_context(ctx)
    sessions = app_ctx.database()
    holder = leases_for(app_ctx.settings.redis.url, sessions, app_ctx.clock).holder(LEASE_NAME)
    with sessions() as session:
        lease = session.get(Lease, LEASE_NAME)
        counts = session.execute(select(Post.status, func.count()).group_by(Post.status)).all()
    if holder is not None:
        until = f" until {lease.expires_at.isoformat()}" if lease is not None and lease.holder == holder else ""
        console.print(f"lease: held by {holder}{until} (an expired lease is taken over)")
    elif lease is None:
        console.print("no scheduler has run yet")
    else:
        console.print(f"lease: free since {lease.expires_at.isoformat()} (released or expired): no scheduler is active")
    for state, count in sorted(counts):
        console.print(f"  {state}: {count}")
