"""`/cgi-bin/token` and `/cgi-bin/stable_token`: credential checks and token issuance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from .base import Request, route

if TYPE_CHECKING:
    from ..platform import Platform


def _check_credentials(platform: Platform, grant_type: Any, appid: Any, secret: Any) -> None:
    if grant_type != "client_credential":
        raise ApiError(40002)
    if not appid:
        raise ApiError(41002)
    if not secret:
        raise ApiError(41004)
    if appid != platform.config.app_id:
        raise ApiError(40013)
    if secret != platform.config.app_secret:
        raise ApiError(40125)


@route("/cgi-bin/token", "GET", auth=False)
def token(platform: Platform, req: Request) -> dict[str, Any]:
    """Classic token: every call issues a new one (previous valid 5 more minutes)."""
    q = req.query
    _check_credentials(platform, q.get("grant_type"), q.get("appid"), q.get("secret"))
    platform.quotas.count(req.path)
    record = platform.tokens.issue_classic()
    return {"access_token": record.token, "expires_in": int(record.expires_at - record.issued_at)}


@route("/cgi-bin/stable_token", "POST", auth=False)
def stable_token(platform: Platform, req: Request) -> dict[str, Any]:
    """Stable token: same value while valid unless force_refresh (≤20/day, ≥30 s apart)."""
    data = req.json()
    _check_credentials(platform, data.get("grant_type"), data.get("appid"), data.get("secret"))
    platform.quotas.count(req.path)
    record = platform.tokens.stable(bool(data.get("force_refresh", False)))
    return {"access_token": record.token, "expires_in": int(record.expires_at - platform.now())}
