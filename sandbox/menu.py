"""Validation of `menu/create` bodies with WeChat's byte limits and error codes (40016–40027)."""

from __future__ import annotations

from typing import Any

from .errors import ApiError
from .limits import KEY_BUTTON_TYPES, MENU_BUTTON_TYPES, Limits

# (count, type, name, key, url) error codes for top-level and sub buttons.
TOP_CODES = (40016, 40017, 40018, 40019, 40020)
SUB_CODES = (40023, 40024, 40025, 40026, 40027)


def _nbytes(value: Any) -> int:
    return len(str(value).encode("utf-8"))


def _check_leaf(button: dict[str, Any], codes: tuple[int, ...], limits: Limits) -> None:
    _, type_code, _, key_code, url_code = codes
    kind = button.get("type")
    if kind not in MENU_BUTTON_TYPES:
        raise ApiError(type_code)
    if kind in KEY_BUTTON_TYPES:
        key = button.get("key")
        if not key or _nbytes(key) > limits.menu_key_bytes:
            raise ApiError(key_code)
    if kind in ("view", "miniprogram"):
        url = button.get("url")
        if not url or _nbytes(url) > limits.menu_url_bytes:
            raise ApiError(url_code)
    if kind == "miniprogram" and not (button.get("appid") and button.get("pagepath")):
        raise ApiError(47001, "miniprogram button needs appid and pagepath")
    if kind in ("media_id", "view_limited") and not button.get("media_id"):
        raise ApiError(40007)
    if kind in ("article_id", "article_view_limited") and not button.get("article_id"):
        raise ApiError(53600)


def _check_name(button: dict[str, Any], code: int, name_max: int) -> None:
    name = button.get("name")
    if not isinstance(name, str) or not name or _nbytes(name) > name_max:
        raise ApiError(code)


def validate_menu(body: dict[str, Any], limits: Limits) -> list[dict[str, Any]]:
    """Return the normalised button list (every top button gets `sub_button`) or raise ApiError."""
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= limits.menu_top_max:
        raise ApiError(40016)
    result: list[dict[str, Any]] = []
    for top in buttons:
        if not isinstance(top, dict):
            raise ApiError(40016)
        _check_name(top, TOP_CODES[2], limits.menu_top_name_bytes)
        subs = top.get("sub_button") or []
        if not isinstance(subs, list):
            raise ApiError(40023)
        if subs:
            if len(subs) > limits.menu_sub_max:
                raise ApiError(40023)
            for sub in subs:
                if not isinstance(sub, dict):
                    raise ApiError(40023)
                _check_name(sub, SUB_CODES[2], limits.menu_sub_name_bytes)
                _check_leaf(sub, SUB_CODES, limits)
            result.append({"name": top["name"], "sub_button": [{**s, "sub_button": []} for s in subs]})
        else:
            _check_leaf(top, TOP_CODES, limits)
            result.append({**top, "sub_button": []})
    return result


def to_selfmenu_info(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `get_current_selfmenu_info` shape: sub menus become {"list": [...]}."""
    out: list[dict[str, Any]] = []
    for top in buttons:
        subs = top.get("sub_button") or []
        if subs:
            items = [{k: v for k, v in s.items() if k != "sub_button"} for s in subs]
            out.append({"name": top["name"], "sub_button": {"list": items}})
        else:
            out.append({k: v for k, v in top.items() if k != "sub_button"})
    return out
