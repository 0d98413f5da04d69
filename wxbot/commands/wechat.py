"""WeChat-side state through the API client: `wxbot menu push`, `wxbot qr create`, `wxbot tags reconcile`."""

from __future__ import annotations

from typing import Annotated

import typer

from posts import capabilities
from scheduler import tags
from scheduler.errors import WeChatError
from scheduler.provision import create_scene_qr, push_menu
from scheduler.wechat_api import make_api
from wxbot import runtime
from wxbot.context import app_context, console, fail

tags_app = typer.Typer(help="Therapy subscriptions mirrored to WeChat user tags.", no_args_is_help=True)


def menu_push(ctx: typer.Context) -> None:
    """Replace the account's menu with the one in the content pack."""
    from posts.menu import load_menu, menu_body  # written with the bot

    rt = runtime.start(app_context(ctx).settings, clock=app_context(ctx).clock)
    _refuse_without(rt, capabilities.MENU, "push the menu")
    api = make_api(rt.settings, rt.sessions, rt.clock)
    try:
        body = menu_body(load_menu(rt.settings), rt.settings.server.base_url)
        push_menu(api, body)
        console.print(f"menu pushed: {len(body['button'])} top-level buttons")
    except WeChatError as exc:
        raise fail(f"menu push failed: {exc}") from None
    finally:
        api.close()
        rt.close()


def qr_create(
    ctx: typer.Context,
    scene: Annotated[str, typer.Argument(help="A scene key from the content pack.")],
    expire_seconds: Annotated[int | None, typer.Option(help="Temporary code (≤30 days); default permanent.")] = None,
) -> None:
    """Create a QR ticket for SCENE and store its ticket and URL."""
    rt = runtime.start(app_context(ctx).settings, clock=app_context(ctx).clock)
    _refuse_without(rt, capabilities.QR, "create QR codes")
    api = make_api(rt.settings, rt.sessions, rt.clock)
    try:
        found = rt.catalog.scenes.get(scene)
        if found is None:
            raise fail(f"unknown scene {scene!r} (known: {', '.join(sorted(rt.catalog.scenes))})")
        with rt.sessions() as session:
            row = create_scene_qr(session, api, found, rt.clock(), expire_seconds)
            session.commit()
            console.print(f"scene {scene}: ticket {row.ticket}\n  url {row.url}")
    except WeChatError as exc:
        raise fail(f"QR creation failed: {exc}") from None
    finally:
        api.close()
        rt.close()


@tags_app.command("reconcile")
def reconcile_tags(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show the drift.")] = False,
) -> None:
    """Make each therapy's WeChat tag hold exactly its subscribers (batches of ≤50)."""
    rt = runtime.start(app_context(ctx).settings, clock=app_context(ctx).clock)
    api = make_api(rt.settings, rt.sessions, rt.clock)
    try:
        with rt.sessions() as session:
            names = {key: therapy.name for key, therapy in rt.catalog.therapies.items()}
            drifts = tags.reconcile(session, api, names, rt.clock(), apply=not dry_run)
            session.commit()
        for drift in drifts:
            verb = "would add" if dry_run else "added"
            console.print(
                f"{drift.therapy} (tag {drift.tag_id}): {verb} {len(drift.added)}, "
                f"{'would remove' if dry_run else 'removed'} {len(drift.removed)}"
            )
    except WeChatError as exc:
        raise fail(f"tag reconciliation failed: {exc}") from None
    finally:
        api.close()
        rt.close()


def _refuse_without(rt: runtime.Runtime, capability: str, what: str) -> None:
    """One line and exit 2 when the last `wxbot account check` found the account may not do this."""
    with rt.sessions() as session:
        profile = capabilities.current(session)
    if not profile.has(capability):
        rt.close()
        raise fail(f"this account cannot {what} ({profile.missing()[capability]}): {capabilities.DEGRADED[capability]}")
