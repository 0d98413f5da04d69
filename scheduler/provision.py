"""WeChat-side set-up: push the custom menu and create a permanent QR code per scene."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from posts.catalog import Scene
from posts.models import QrScene
from scheduler.wechat_api import WeChatApi

log = logging.getLogger(__name__)


def push_menu(api: WeChatApi, body: dict[str, Any]) -> None:
    """POST the exact menu body (posts.menu) to menu/create; WeChat replaces the current menu."""
    api.create_menu(body)


def create_scene_qr(
    session: Session, api: WeChatApi, scene: Scene, now: datetime, expire_seconds: int | None = None
) -> QrScene:
    """Create the scene's QR ticket (permanent unless ``expire_seconds``) and store ticket and URL on its row."""
    ticket, url = api.create_qrcode(scene.key, expire_seconds)
    row = session.get(QrScene, scene.key) or QrScene(key=scene.key, created_at=now)
    row.purpose, row.welcome_key, row.therapy_key = scene.purpose, scene.welcome, scene.therapy
    row.ticket, row.url = ticket, url
    row.permanent = expire_seconds is None
    session.add(row)
    log.info("QR code for scene %s: ticket %s", scene.key, row.ticket)
    return row
