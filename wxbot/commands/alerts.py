"""`wxbot alerts list`: what the product asks the operator to act on (posts.alerts), newest first."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from posts import alerts, db
from wxbot.context import app_context, console, fail

app = typer.Typer(help="Operator alerts raised by the scheduler (content past its review date).", no_args_is_help=True)


@app.command(name="list")
def list_(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help=f"Only this kind: {', '.join(alerts.KINDS)}.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 30,
) -> None:
    """One row per alert (day, kind, message) and, under it, what it is about (e.g. each overdue file)."""
    if kind is not None and kind not in alerts.KINDS:
        raise fail(f"unknown alert kind {kind!r} (known: {', '.join(alerts.KINDS)})")
    with db.session_scope(app_context(ctx).database()) as session:
        found = alerts.recent(session, limit, kind)
        if not found:
            console.print("no operator alerts")
            return
        table = Table("day", "kind", "raised at (UTC)", "alert")
        for alert in found:
            lines = [alert.message]
            lines += [
                f"  {d.get('path', '')}: next_review {d.get('next_review', '')} "
                f"(reviewed {d.get('reviewed_on', '')} by {d.get('reviewed_by', '')})"
                for d in alert.details
            ]
            table.add_row(
                alert.day.isoformat() if alert.day else "",
                alert.kind,
                f"{alert.raised_at:%Y-%m-%d %H:%M}",
                "\n".join(lines),
            )
        console.print(table)
