"""`wxbot menu`: the custom menu from posts/content/menu.yaml, checked, as followers see it or as WeChat's JSON."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from wxbot.context import app_context, fail

if TYPE_CHECKING:
    from posts.catalog import Catalog
    from posts.menu import Button

app = typer.Typer(help="The custom menu (posts/content/menu.yaml).", no_args_is_help=True)

FIXED = {
    "toc": "replies the table of contents",
    "help": "replies the help text",
    "mine": "replies the follower's subscriptions",
    "subscribe_options": "replies the therapies one can subscribe to, and how",
}
"""What each fixed CLICK key's action (posts.addresses.STATIC_CLICKS) does, for `wxbot menu show`."""


@app.command()
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the exact body menu/create sends.")] = False,
) -> None:
    """Print the menu as a follower sees it (a tree with what each item does), or its JSON for WeChat."""
    from bot.routes import build_routes
    from posts.loader import default_content_dir, load_catalog
    from posts.menu import MenuError, load_menu, menu_body, menu_path, validate

    settings = app_context(ctx).settings
    content_dir = default_content_dir(settings.content.path or None)
    catalog, _ = load_catalog(content_dir)
    base_url = settings.server.base_url
    try:
        menu = load_menu(menu_path(content_dir))
    except MenuError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print(json.dumps(menu_body(menu, base_url), ensure_ascii=False, indent=2))
    else:
        for top in menu.buttons:
            subs = top.subs if top.kind == "parent" else (top,)
            print(top.name)
            for i, sub in enumerate(subs):
                branch = "└─" if i == len(subs) - 1 else "├─"
                print(f"  {branch} {sub.name}  → {describe(sub, catalog, base_url)}")
    problems = validate(menu, build_routes(catalog).click_keys, base_url)
    for problem in problems:
        print(f"wxbot: menu problem: {problem}", file=sys.stderr)
    if problems:
        raise typer.Exit(1)


def describe(button: Button, catalog: Catalog, base_url: str) -> str:
    """What a tap on ``button`` does, in words."""
    from posts.addresses import clicks
    from posts.menu import resolve_url

    if button.kind == "view":
        return f"opens {resolve_url(button.url, base_url)}"
    click = clicks(catalog).get(button.key)
    if click is None:
        return f"CLICK {button.key} (no route)"
    if click.kind == "static":
        return FIXED[click.action]
    if click.kind == "section":
        section = catalog.section(click.target)
        assert section is not None
        return f"replies section {section.order}: {section.title}"
    if click.kind == "group":
        group = catalog.group(click.target)
        return f"replies one article linking to a page of {len(group)} section(s): " + "、".join(s.title for s in group)
    name = catalog.therapies[click.target].name
    return {
        "latest": f"replies {name}'s latest update, with how to ask for its timeline and subscribe",
        "timeline": f"replies {name}'s timeline",
        "subscribe": f"subscribes the follower to {name}",
    }[click.action]
