"""The custom menu: read from posts/content/menu.yaml, checked against WeChat's rules, as menu/create's body."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from posts.limits import (
    MENU_KEY_MAX_BYTES,
    MENU_MAX_SUB_BUTTONS,
    MENU_MAX_TOP_BUTTONS,
    MENU_SUB_NAME_MAX_BYTES,
    MENU_TOP_NAME_MAX_BYTES,
    MENU_URL_MAX_BYTES,
    utf8_len,
)
from posts.settings import Settings

MENU_FILE = "menu.yaml"


class MenuError(ValueError):
    """The menu file cannot be read as a menu (one line naming the file and the place)."""


@dataclass(frozen=True)
class Button:
    name: str
    kind: str
    """"click", "view", or "parent" (a top button holding sub-buttons)."""
    key: str = ""
    url: str = ""
    subs: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Menu:
    buttons: tuple[Button, ...]

    def leaves(self) -> Iterable[Button]:
        for top in self.buttons:
            yield from top.subs if top.kind == "parent" else (top,)


def menu_path(content_dir: Path) -> Path:
    return Path(content_dir) / MENU_FILE


def load_menu(source: Path | Settings) -> Menu:
    """The menu in ``source`` (a menu.yaml path), or in the content pack the settings point at."""
    if isinstance(source, Settings):
        from posts.loader import default_content_dir

        source = menu_path(default_content_dir(source.content.path or None))
    path = Path(source)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MenuError(f"{path}: cannot read the menu ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("buttons"), list):
        raise MenuError(f"{path}: needs a 'buttons' list")
    return Menu(tuple(_button(item, f"{path}: buttons[{i}]", top=True) for i, item in enumerate(data["buttons"])))


def _button(item: Any, where: str, top: bool) -> Button:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise MenuError(f"{where}: needs a 'name'")
    unknown = set(item) - {"name", "sub", "click", "view"}
    if unknown:
        raise MenuError(f"{where}: unknown field(s) {sorted(unknown)}")
    actions = [k for k in ("sub", "click", "view") if k in item]
    if len(actions) != 1 or (actions[0] == "sub" and not top):
        allowed = "one of sub, click or view" if top else "one of click or view"
        raise MenuError(f"{where} ({item['name']}): needs exactly {allowed}")
    if actions[0] == "sub":
        if not isinstance(item["sub"], list):
            raise MenuError(f"{where}: 'sub' must be a list")
        subs = tuple(_button(s, f"{where}.sub[{i}]", top=False) for i, s in enumerate(item["sub"]))
        return Button(item["name"], "parent", subs=subs)
    value = item[actions[0]]
    if not isinstance(value, str):
        raise MenuError(f"{where}: '{actions[0]}' must be a string")
    return (
        Button(item["name"], "click", key=value) if actions[0] == "click" else Button(item["name"], "view", url=value)
    )


def resolve_url(url: str, base_url: str) -> str:
    return url.replace("{base_url}", base_url.rstrip("/"))


def validate(menu: Menu, routed_keys: Iterable[str], base_url: str) -> list[str]:
    """Every rule WeChat enforces on menu/create, plus: every CLICK key is routed, every VIEW URL is absolute."""
    routed = set(routed_keys)
    problems: list[str] = []
    if not 1 <= len(menu.buttons) <= MENU_MAX_TOP_BUTTONS:
        problems.append(f"{len(menu.buttons)} top buttons (1 to {MENU_MAX_TOP_BUTTONS} allowed)")
    for top in menu.buttons:
        if utf8_len(top.name) > MENU_TOP_NAME_MAX_BYTES:
            problems.append(f"top button {top.name!r}: {utf8_len(top.name)} bytes (at most {MENU_TOP_NAME_MAX_BYTES})")
        if top.kind == "parent" and not 1 <= len(top.subs) <= MENU_MAX_SUB_BUTTONS:
            problems.append(f"{top.name!r}: {len(top.subs)} sub-buttons (1 to {MENU_MAX_SUB_BUTTONS} allowed)")
        for sub in top.subs:
            if utf8_len(sub.name) > MENU_SUB_NAME_MAX_BYTES:
                problems.append(f"{sub.name!r}: {utf8_len(sub.name)} bytes (at most {MENU_SUB_NAME_MAX_BYTES})")
    for leaf in menu.leaves():
        if not leaf.name.strip():
            problems.append("a button has an empty name")
        if leaf.kind == "click":
            if not leaf.key or utf8_len(leaf.key) > MENU_KEY_MAX_BYTES:
                problems.append(f"{leaf.name!r}: key must be 1 to {MENU_KEY_MAX_BYTES} bytes")
            if leaf.key not in routed:
                problems.append(f"{leaf.name!r}: CLICK key {leaf.key!r} has no route")
        else:
            url = resolve_url(leaf.url, base_url)
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems.append(f"{leaf.name!r}: VIEW URL {url!r} is not absolute http(s)")
            if utf8_len(url) > MENU_URL_MAX_BYTES:
                problems.append(f"{leaf.name!r}: URL longer than {MENU_URL_MAX_BYTES} bytes")
    return problems


def menu_body(menu: Menu, base_url: str) -> dict[str, Any]:
    """The JSON body of POST /cgi-bin/menu/create (serialise with ensure_ascii=False)."""

    def one(button: Button) -> dict[str, Any]:
        if button.kind == "parent":
            return {"name": button.name, "sub_button": [one(s) for s in button.subs]}
        if button.kind == "click":
            return {"type": "click", "name": button.name, "key": button.key}
        return {"type": "view", "name": button.name, "url": resolve_url(button.url, base_url)}

    return {"button": [one(b) for b in menu.buttons]}
