"""`wxbot stats`: the console's analytics in the terminal (rich tables), from the same functions (posts/analytics)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from posts import analytics, rollup
from posts.analytics import RangeError, Span
from posts.menu import MenuError, load_menu
from wxbot import runtime
from wxbot.context import app_context, console, fail

RANGE_ERRORS = {
    "bad_date": "a date is not YYYY-MM-DD",
    "backwards": "--to is before --from",
    "too_long": f"at most {analytics.MAX_DAYS} days at a time",
}
TITLES = {
    "scenes": "Follows per QR scene",
    "follows": "Follows per day and QR scene",
    "menu": "Menu taps per item",
    "keywords": "Keyword hits per item",
    "pages": "Page views per day and path",
    "pushes": "Deliveries per post and channel",
}


def stats(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(min=1, max=analytics.MAX_DAYS, help="The last N local days (with today).")] = 30,
    first: Annotated[str, typer.Option("--from", help="First local day, YYYY-MM-DD (instead of --days).")] = "",
    last: Annotated[str, typer.Option("--to", help="Last local day, YYYY-MM-DD (default: today).")] = "",
    table: Annotated[
        list[str] | None, typer.Option("--table", "-t", help=f"Only these tables: {', '.join(analytics.TABLES)}.")
    ] = None,
    roll: Annotated[
        bool, typer.Option("--rollup", help="First summarise the closed days (the scheduler does it every hour).")
    ] = False,
) -> None:
    """Follows and unfollows per day and QR scene, menu taps, keyword hits, page views and deliveries per push."""
    app_ctx = app_context(ctx)
    settings = app_ctx.settings
    wanted = table or list(analytics.TABLES)
    unknown = [name for name in wanted if name not in analytics.TABLES]
    if unknown:
        raise fail(f"unknown table {unknown[0]!r}: use {', '.join(analytics.TABLES)}")
    tz = settings.scheduler.timezone
    rt = runtime.attach(settings, clock=app_ctx.clock)
    try:
        today = rt.clock().astimezone(ZoneInfo(tz)).date()
        try:
            span = Span.parse(first, last, tz, Span.ending(today, days, tz))
        except RangeError as exc:
            raise fail(RANGE_ERRORS.get(str(exc), str(exc))) from None
        try:
            menu = load_menu(settings)
        except (MenuError, OSError, ValueError):
            menu = None
        if roll:
            done = rollup.run(rt.sessions, rt.clock(), tz)
            console.print(f"summarised: {done.inbound} log rows, {done.page_views} page views, {done.posts} posts")
        console.print(f"{span.first.isoformat()} – {span.last.isoformat()} (local days, {tz})")
        with rt.sessions() as session:
            for name in wanted:
                rows = analytics.table_rows(name, session, span, rt.catalog, menu)
                shown = Table(title=TITLES[name], title_justify="left")
                for column in rows[0]:
                    shown.add_column(str(column), justify="left" if column in _TEXT else "right")
                for row in rows[1:]:
                    shown.add_row(*(str(value) for value in row))
                if len(rows) == 1:
                    shown.add_row(*(["—"] + [""] * (len(rows[0]) - 1)))
                console.print(shown)
    finally:
        rt.close()


_TEXT = {"day", "scene", "purpose", "item", "label", "keyword", "path", "content", "started_at", "channel"}
