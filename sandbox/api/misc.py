"""Small endpoints: callback IPs, quota inspection and reset, customer-service typing indicator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from .base import Request, need, ok, route

if TYPE_CHECKING:
    from ..platform import Platform


@route("/cgi-bin/getcallbackip", "GET")
def callback_ips(platform: Platform, req: Request) -> dict[str, Any]:
    """Addresses pushes come from (the sandbox pushes from localhost)."""
    return {"ip_list": ["127.0.0.1"]}


@route("/cgi-bin/openapi/quota/get")
def quota_get(platform: Platform, req: Request) -> dict[str, Any]:
    """Daily limit / used / remaining for one cgi path."""
    path = str(need(req.json(), "cgi_path"))
    limit = platform.config.daily_quota(path)
    if limit is None:
        raise ApiError(47003, "cgi_path")
    used = platform.quotas.used(path)
    return ok(quota={"daily_limit": limit, "used": used, "remain": max(0, limit - used)})


@route("/cgi-bin/clear_quota")
def clear_quota(platform: Platform, req: Request) -> dict[str, Any]:
    """Reset every daily counter (the appid must match)."""
    if need(req.json(), "appid", 41002) != platform.config.app_id:
        raise ApiError(40013)
    platform.quotas.clear()
    return ok()


@route("/cgi-bin/message/custom/typing")
def typing(platform: Platform, req: Request) -> dict[str, Any]:
    """Typing indicator: needs an open window but uses none of its quota."""
    data = req.json()
    follower = platform.follower_record(str(need(data, "touser", 40003)))
    if data.get("command") not in ("Typing", "CancelTyping"):
        raise ApiError(47003, "command")
    now = platform.now()
    if not follower.subscribed or not any(now < w.expires_at for w in follower.windows):
        raise ApiError(45015)
    return ok()
