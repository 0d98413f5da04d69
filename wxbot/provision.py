"""Set the account up on WeChat (or the stand-in): the menu and one QR code per scene."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from posts import db
from posts.catalog import Catalog
from posts.clock import Clock
from posts.settings import Settings
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
