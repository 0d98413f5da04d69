"""Parametric QR codes: `qrcode/create` and the token-less `showqrcode` image."""

from __future__ import annotations

import base64
import secrets
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..models import QrTicket
from ..qrimage import qr_png
from .base import RawResponse, Request, route

if TYPE_CHECKING:
    from ..platform import Platform

TEMPORARY = ("QR_SCENE", "QR_STR_SCENE")
PERMANENT = ("QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE")


def _scene(platform: Platform, action: str, info: Any) -> tuple[int | None, str | None]:
    scene = info.get("scene") if isinstance(info, dict) else None
    if not isinstance(scene, dict):
        raise ApiError(40053)
    if action.endswith("STR_SCENE"):
        value = scene.get("scene_str")
        if not isinstance(value, str) or not 1 <= len(value) <= platform.limits.qr_scene_str_max:
            raise ApiError(40053, "scene_str must be 1-64 chars")
        return None, value
    value = scene.get("scene_id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(40053, "scene_id must be an integer")
    if action == "QR_LIMIT_SCENE" and not 1 <= value <= platform.limits.qr_limit_scene_max:
        raise ApiError(40053, "scene_id must be 1-100000")
    if action == "QR_SCENE" and (value == 0 or not -(2**31) <= value < 2**31):
        raise ApiError(40053, "scene_id must be a non-zero 32-bit integer")
    return value, None


@route("/cgi-bin/qrcode/create")
def create(platform: Platform, req: Request) -> dict[str, Any]:
    """Issue a ticket; temporary codes expire (default 60 s, capped at 30 days), permanent ones count."""
    data = req.json()
    action = data.get("action_name")
    if action not in TEMPORARY + PERMANENT:
        raise ApiError(40052)
    scene_id, scene_str = _scene(platform, action, data.get("action_info"))
    now = platform.now()
    expire_at: float | None = None
    expire_seconds = 0
    if action in TEMPORARY:
        raw = data.get("expire_seconds", platform.limits.qr_expire_default)
        if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
            raise ApiError(47001, "expire_seconds must be a positive integer")
        expire_seconds = min(raw, platform.limits.qr_expire_max)
        expire_at = now + expire_seconds
    else:
        permanent = sum(1 for t in platform.tickets.values() if t.permanent)
        if permanent >= platform.limits.qr_permanent_quota:
            raise ApiError(45029)
    code = secrets.token_urlsafe(16)
    ticket = base64.b64encode(b"sbx:" + code.encode()).decode()
    url = f"{platform.config.public_base_url}/q/{code}"
    platform.tickets[ticket] = QrTicket(ticket, action, url, now, expire_at, scene_id, scene_str)
    out: dict[str, Any] = {"ticket": ticket, "url": url}
    if expire_at is not None:
        out["expire_seconds"] = expire_seconds
    return out


@route("/cgi-bin/showqrcode", "GET", auth=False)
def show(platform: Platform, req: Request) -> RawResponse | dict[str, Any]:
    """The QR image of a live ticket (PNG; WeChat serves JPEG); unknown/expired → 40053 JSON, HTTP 404."""
    ticket = platform.tickets.get(req.query.get("ticket", ""))
    if ticket is None or (ticket.expire_at is not None and platform.now() >= ticket.expire_at):
        raise ApiError(40053, "invalid or expired ticket", http_status="404 Not Found")
    return RawResponse(qr_png(ticket.url), "image/png")
