"""`wxbot publish REF`: queue a review section or therapy update to be published as a WeChat article."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from posts import articles, capabilities
from posts.compose import ContentError
from scheduler.errors import WeChatError
from scheduler.publish import Publisher, content_images
from scheduler.wechat_api import make_api
from wxbot import runtime
from wxbot.context import app_context, console, fail


def publish(
    ctx: typer.Context,
    ref: Annotated[
        str | None, typer.Argument(help="section:<key> or update:<therapy>/<key>; none: list the articles.")
    ] = None,
    by: Annotated[str, typer.Option(help="Who asks (kept on the article row).")] = "operator",
    now: Annotated[
        bool, typer.Option("--now", help="Publish at once from this command instead of the scheduler's next tick.")
    ] = False,
) -> None:
    """Publish a section or update as an article (draft + freepublish); menu replies then link to it.

    Publishing does not notify followers: it gives the content a WeChat article URL the menu and replies use.
    """
    app_ctx = app_context(ctx)
    rt = runtime.attach(app_ctx.settings, clock=app_ctx.clock)
    try:
        if ref is None:
            _list(rt)
            return
        with rt.sessions() as session:
            profile = capabilities.current(session)
            if not profile.has(capabilities.PUBLISH):
                raise fail(
                    f"this account cannot publish ({profile.missing()[capabilities.PUBLISH]}): "
                    f"{capabilities.DEGRADED[capabilities.PUBLISH]}"
                )
            try:
                asked = articles.request(session, rt.catalog, ref, by, rt.clock())
            except ContentError as exc:
                raise fail(str(exc)) from None
            session.commit()
            row_id, state, created = asked.article.id, asked.article.state, asked.created
        if not created:
            console.print(f"article {row_id} ({ref}) is already {state}: nothing is published twice", soft_wrap=True)
        else:
            console.print(f"article {row_id} queued: {ref} (the scheduler publishes it at its next tick)")
        if now and created:
            _publish_now(rt, row_id)
    finally:
        rt.close()


def _publish_now(rt: runtime.Runtime, row_id: int) -> None:
    api = make_api(rt.settings, rt.sessions, rt.clock)
    try:
        root = runtime.default_content_dir(rt.settings.content.path)
        publisher = Publisher(
            rt.sessions, api, rt.renderer, clock=rt.clock, read_image=content_images(root), poll_after=timedelta(0)
        )
        publisher.publish(row_id)
        publisher.reconcile(row_id)
    except WeChatError as exc:
        raise fail(f"publish failed: {exc}") from None
    finally:
        api.close()
    with rt.sessions() as session:
        row = session.get(articles.Article, row_id)
        assert row is not None
        console.print(f"article {row.id}: {row.state}" + (f" — {row.url}" if row.url else ""), soft_wrap=True)
        if row.error:
            console.print(f"  {row.error}", soft_wrap=True, markup=False)


def _list(rt: runtime.Runtime) -> None:
    with rt.sessions() as session:
        rows = articles.listing(session)
        table = Table("id", "content", "version", "state", "url or error", title="articles")
        for row in rows:
            table.add_row(str(row.id), row.content, str(row.content_version), row.state, row.url or row.error or "")
    console.print(table)
