"""`wxbot menu`: the custom menu from posts/content/menu.yaml, checked, as followers see it or as WeChat's JSON."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from wxbot.context import app_context, fail

if TYPE_CHECKING:
    from posts.catalog import Catalog
    from posts.menu import Button

app = typer.Typer(help="The custom menu (posts/content/menu.yaml).", no_args_is_help=True)

FIXED = {
    "TOC": "replies the table of contents",
    "HELP": "replies the help text",
    "MY_SUBSCRIPTIONS": "replies the follower's subscriptions",
    "SUBSCRIBE": "replies the therapies one can subscribe to, and how",
}


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
    from bot.routes import key_part, section_group
    from posts.menu import resolve_url

    if button.kind == "view":
        return f"opens {resolve_url(button.url, base_url)}"
    key = button.key
    if key in FIXED:
        return FIXED[key]
    sections = {f"SECTION_{key_part(s.key)}": s for s in catalog.sections}
    if key in sections:
        return f"replies section {sections[key].order}: {sections[key].title}"
    group = [s for s in catalog.sections if f"GROUP_{key_part(section_group(s.key))}" == key]
    if group:
        return f"replies one article linking to a page of {len(group)} section(s): " + "、".join(s.title for s in group)
    therapies = {key_part(k): t for k, t in catalog.therapies.items()}
    match = re.fullmatch(r"THERAPY_(.+)_(LATEST|TIMELINE|SUBSCRIBE)", key)
    if match and match.group(1) in therapies:
        name = therapies[match.group(1)].name
        return {
            "LATEST": f"replies {name}'s latest update, with how to ask for its timeline and subscribe",
            "TIMELINE": f"replies {name}'s timeline",
            "SUBSCRIBE": f"subscribes the follower to {name}",
        }[match.group(2)]
    return f"CLICK {key} (no route)"
