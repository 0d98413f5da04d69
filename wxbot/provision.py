"""Set the account up on WeChat (or the stand-in): the menu and one QR code per scene."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from posts import db
from posts.catalog import Catalog
from posts.clock import Clock
from posts.settings import Settings
from scheduler import account_check
from scheduler.provision import create_scene_qr, push_menu
from scheduler.wechat_api import make_api


def provision(
    settings: Settings, sessions: sessionmaker[Session], catalog: Catalog, base_url: str, clock: Clock
) -> None:
    from posts.menu import load_menu, menu_body  # written with the bot; imported late to keep start-up light

    api = make_api(settings, sessions, clock)
    try:
        push_menu(api, menu_body(load_menu(settings), base_url))
        with db.session_scope(sessions) as session:
            for scene in catalog.scenes.values():
                create_scene_qr(session, api, scene, clock())
    finally:
        api.close()


def unverified(settings: Settings, sessions: sessionmaker[Session], platform: Any, base_url: str, clock: Clock) -> None:
    """The demo of an unverified account: the menu set by hand (as in the MP console; no menu API), no QR codes,
    and the account check stored, so the product degrades from the first follow."""
    from posts.menu import load_menu, menu_body

    platform.set_menu(menu_body(load_menu(settings), base_url)["button"])
    api = make_api(settings, sessions, clock)
    try:
        found = account_check.check(api, settings.wechat.account_type)
        with db.session_scope(sessions) as session:
            account_check.store(session, found, clock)
    finally:
        api.close()
