"""Menu endpoints: create, get, delete, get_current_selfmenu_info."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..menu import to_selfmenu_info, validate_menu
from .base import Request, ok, route

if TYPE_CHECKING:
    from ..platform import Platform


@route("/cgi-bin/menu/create")
def create(platform: Platform, req: Request) -> dict[str, Any]:
    """Validate and store the default menu (overwrites the previous one)."""
    buttons = validate_menu(req.json(), platform.limits)
    platform.set_menu(buttons)
    return ok()


@route("/cgi-bin/menu/get", "GET")
def get(platform: Platform, req: Request) -> dict[str, Any]:
    """`{"menu": {"button": [...], "menuid": N}}`; 46003 without a menu."""
    buttons = platform.menu()
    if buttons is None:
        raise ApiError(46003)
    return {"menu": {"button": buttons, "menuid": platform.menu_id()}}


@route("/cgi-bin/menu/delete", "GET")
def delete(platform: Platform, req: Request) -> dict[str, Any]:
    """Delete the default menu."""
    platform.set_menu(None)
    return ok()


@route("/cgi-bin/get_current_selfmenu_info", "GET")
def selfmenu_info(platform: Platform, req: Request) -> dict[str, Any]:
    """The differently-shaped "current menu" view."""
    buttons = platform.menu()
    if buttons is None:
        return {"is_menu_open": 0, "selfmenu_info": {"button": []}}
    return {"is_menu_open": 1, "selfmenu_info": {"button": to_selfmenu_info(buttons)}}
