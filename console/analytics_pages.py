"""The console's analytics page (数据) and its CSV exports, one endpoint per table.

Every figure comes from posts/analytics.py, the functions ``wxbot stats`` prints too; the range is local days
in the account's timezone (by default the last 30). The charts are drawn by the vendored Chart.js from a JSON
block of the page (console/static/analytics.js): no inline script, nothing sent elsewhere.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from console import data
from console.words import say
from posts import analytics
from posts.analytics import RangeError, Span
from posts.menu import Menu, MenuError, load_menu

if TYPE_CHECKING:
    from console.app import Console, Ctx

DEFAULT_DAYS = 30


def _menu(console: Console) -> Menu | None:
    if not hasattr(console, "_analytics_menu"):
        try:
            found: Menu | None = load_menu(console.settings)
        except (MenuError, OSError, ValueError):
            found = None
        console._analytics_menu = found  # type: ignore[attr-defined]
    return console._analytics_menu  # type: ignore[attr-defined,no-any-return]


def _span(console: Console, ctx: Ctx) -> Span:
    today = data.local(ctx.now, console.tz, "%Y-%m-%d")
    default = Span.ending(date.fromisoformat(today), DEFAULT_DAYS, console.tz)
    query = ctx.request.query_params
    return Span.parse(query.get("from", ""), query.get("to", ""), console.tz, default)


def page(console: Console, ctx: Ctx) -> Response:
    """数据: follows per day and QR scene, menu taps, keyword hits, page views, pushes, for a range of days."""
    error = ""
    try:
        span = _span(console, ctx)
    except RangeError as exc:
        error = say("analytics", str(exc))
        today = date.fromisoformat(data.local(ctx.now, console.tz, "%Y-%m-%d"))
        span = Span.ending(today, DEFAULT_DAYS, console.tz)
    rep = analytics.report(ctx.db, span, console.catalog, _menu(console))
    per_day = {day: (f, u, q) for day, f, u, q in rep.follows.per_day()}
    views = analytics.views_per_day(rep.pages)
    days = span.days()
    chart = {
        "days": [d.isoformat() for d in days],
        "follows": [per_day.get(d, (0, 0, 0))[0] for d in days],
        "unfollows": [per_day.get(d, (0, 0, 0))[1] for d in days],
        "quick": [per_day.get(d, (0, 0, 0))[2] for d in days],
        "views": [views.get(d, 0) for d in days],
        "scenes": [scene_name(s.scene) for s in rep.follows.scenes],
        "scene_follows": [s.follows for s in rep.follows.scenes],
        "pushes": [f"#{p.post_id}" for p in reversed(rep.pushes)],
        "push_sent": [p.sent for p in reversed(rep.pushes)],
        "push_confirmed": [p.confirmed for p in reversed(rep.pushes)],
    }
    query = f"from={span.first.isoformat()}&to={span.last.isoformat()}"
    return console.render(
        "analytics",
        ctx.request,
        status=400 if error else 200,
        ctx=ctx,
        rep=rep,
        span=span,
        error=error,
        query=query,
        scene_name=scene_name,
        chart=json.dumps(chart, ensure_ascii=False),
        tables=analytics.TABLES,
    )


def scene_name(scene: str) -> str:
    return scene or say("analytics", "direct")


def export(console: Console, ctx: Ctx) -> Response:
    """One table as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese right)."""
    name = ctx.request.path_params["table"]
    if name not in analytics.TABLES:
        return console.refuse(ctx, "no_page", 404)
    try:
        span = _span(console, ctx)
    except RangeError as exc:
        return Response(say("analytics", str(exc)), status_code=400, media_type="text/plain; charset=utf-8")
    rows = analytics.table_rows(name, ctx.db, span, console.catalog, _menu(console))
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    filename = f"{name}-{span.first.isoformat()}-{span.last.isoformat()}.csv"
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/analytics", page),
    ("GET", "/analytics/{table:str}.csv", export),
]
"""The analytics routes behind the sign-in (console/app.py adds them to its guarded routes)."""
