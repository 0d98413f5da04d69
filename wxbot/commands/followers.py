"""`wxbot followers budget`: how many mass sends each follower has left this natural month, per audience."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from posts import capabilities, limits, mass_budget
from posts.audience import AudienceError, parse_audience, recipients
from posts.timing import BEIJING, beijing_month_start
from scheduler import followers_sync
from scheduler.errors import WeChatError
from scheduler.wechat_api import make_api
from wxbot import runtime
from wxbot.context import app_context, console, fail

app = typer.Typer(
    help="Followers: what WeChat still lets us send them; import the ones the bot never saw.", no_args_is_help=True
)

LIST_UP_TO = 50
"""An audience this small is also listed follower by follower."""


@app.command()
def budget(
    ctx: typer.Context,
    audience: Annotated[
        str | None,
        typer.Option(help="all, therapy:<key>, scene:<key> or test:<openid,...>; default: all and each therapy."),
    ] = None,
) -> None:
    """Mass sends left this month per follower (4 a natural month, Asia/Shanghai) and when they renew."""
    app_ctx = app_context(ctx)
    settings = app_ctx.settings
    rt = runtime.attach(settings, clock=app_ctx.clock)
    try:
        if settings.wechat.account_type != "service":
            console.print("subscription account: one mass send a day to everyone or a tag, no per-follower month limit")
            return
        now = rt.clock()
        names = [audience] if audience else ["all", *(f"therapy:{key}" for key in sorted(rt.catalog.therapies))]
        with rt.sessions() as session:
            outside = len(mass_budget.outside_sends(session, beijing_month_start(now)))
            first = True
            for name in names:
                try:
                    target = parse_audience(name, rt.catalog.therapies, rt.catalog.scenes)
                    people = [r for r in recipients(session, target) if r.subscribed]
                except AudienceError as exc:
                    raise fail(str(exc)) from None
                found = mass_budget.budgets(session, (r.openid for r in people), now)
                if first:
                    renew = next(iter(found.values())).renews_at if found else None
                    _header(renew, outside)
                    first = False
                _audience_table(str(target), found)
    finally:
        rt.close()


def _header(renew: datetime | None, outside: int) -> None:
    per_month = limits.MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE
    if renew is not None:
        console.print(
            f"each follower receives at most {per_month} mass sends a natural month; they renew on "
            f"{renew.astimezone(BEIJING):%Y-%m-%d} (Asia/Shanghai)",
            soft_wrap=True,
        )
    if outside:
        console.print(
            f"{outside} mass sends made outside wxbot this month (WeChat's job-finished events) count for every "
            "follower who followed before them",
            soft_wrap=True,
        )


def _audience_table(name: str, found: dict[str, mass_budget.Budget]) -> None:
    left = Counter(b.left for b in found.values())
    table = Table("mass sends left", "followers", title=f"{name}: {len(found)} followers")
    for n in range(limits.MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE, -1, -1):
        table.add_row(str(n), str(left.get(n, 0)))
    console.print(table)
    if 0 < len(found) <= LIST_UP_TO:
        for openid, b in found.items():
            console.print(
                f"  {openid}: received {b.received}, {b.left} left", markup=False, highlight=False, soft_wrap=True
            )


@app.command()
def sync(
    ctx: typer.Context,
    restart: Annotated[bool, typer.Option("--restart", help="Begin again from the first page.")] = False,
    max_pages: Annotated[int | None, typer.Option(help="Stop after this many user/get pages (resume later).")] = None,
) -> None:
    """Import the account's followers the bot never saw follow (user/get, user/info/batchget, therapy tags).

    Resumable: a stopped run goes on from the last page it stored; running it again imports nothing twice.
    """
    app_ctx = app_context(ctx)
    rt = runtime.attach(app_ctx.settings, clock=app_ctx.clock)
    try:
        with rt.sessions() as session:
            profile = capabilities.current(session)
        if not profile.has(capabilities.USERS):
            raise fail(
                f"this account cannot list its followers ({profile.missing()[capabilities.USERS]}): "
                f"{capabilities.DEGRADED[capabilities.USERS]}"
            )
        api = make_api(rt.settings, rt.sessions, rt.clock)
        try:
            columns = (TextColumn("followers"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=console, transient=False) as bar:
                task = bar.add_task("sync", total=None)

                def moved(seen: int, total: int) -> None:
                    bar.update(task, completed=seen, total=total)

                result = followers_sync.sync(
                    rt.sessions, api, rt.clock, progress=moved, restart=restart, max_pages=max_pages
                )
        except WeChatError as exc:
            raise fail(f"follower sync stopped: {exc} (run it again to resume)") from None
        finally:
            api.close()
        state = "resumed, " if result.resumed else ""
        done = "done" if result.seen >= result.total else f"stopped after {result.pages} pages (run again to resume)"
        console.print(
            f"{state}{done}: {result.seen} of {result.total} followers seen, {result.imported} new to the database, "
            f"{result.subscriptions} therapy subscriptions from their tags",
            soft_wrap=True,
        )
    finally:
        rt.close()
