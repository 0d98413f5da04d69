"""`wxbot qr`: QR scenes (posts/content/scenes.yaml) and what they brought: follows, scans, current followers."""

from __future__ import annotations

import typer
from rich.table import Table

from wxbot.context import app_context, console

app = typer.Typer(help="QR code scenes and their statistics.", no_args_is_help=True)


@app.command()
def stats(ctx: typer.Context) -> None:
    """A table per scene: follows through it, scans by followers, and followers it brought who still follow."""
    from posts import db
    from posts.followers import SceneCounts, scene_counts
    from posts.loader import default_content_dir, load_catalog

    app_ctx = app_context(ctx)
    catalog, _ = load_catalog(default_content_dir(app_ctx.settings.content.path or None))
    with db.session_scope(app_ctx.database()) as session:
        counts = scene_counts(session)
    table = Table("scene", "subscribes to", "follows", "scans", "still following")
    for key in [*catalog.scenes, *sorted(set(counts) - set(catalog.scenes))]:
        scene = catalog.scenes.get(key)
        row = counts.get(key, SceneCounts())
        therapy = (scene.therapy or "-") if scene else "(not in scenes.yaml)"
        table.add_row(key, therapy, str(row.follows), str(row.scans), str(row.following))
    console.print(table)
