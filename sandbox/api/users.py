"""User endpoints: info, batchget, paged follower list, remark."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from .base import Request, need, ok, route

if TYPE_CHECKING:
    from ..platform import Platform


def page(openids: Sequence[str], next_openid: str, size: int) -> dict[str, Any]:
    """WeChat paging: start after `next_openid`; the last page still returns its last openid; past the
    end → count 0 and no `data`."""
    start = 0
    if next_openid:
        try:
            start = list(openids).index(next_openid) + 1
        except ValueError as exc:
            raise ApiError(40003, "invalid next_openid") from exc
    chunk = list(openids[start : start + size])
    out: dict[str, Any] = {"total": len(openids), "count": len(chunk)}
    if chunk:
        out["data"] = {"openid": chunk}
        out["next_openid"] = chunk[-1]
    else:
        out["next_openid"] = ""
    return out


@route("/cgi-bin/user/info", "GET")
def info(platform: Platform, req: Request) -> dict[str, Any]:
    """One user's info; unknown openid → 40003; unfollowed → only subscribe=0."""
    openid = req.query.get("openid", "")
    return platform.follower_record(openid).info()


@route("/cgi-bin/user/info/batchget")
def batchget(platform: Platform, req: Request) -> dict[str, Any]:
    """Up to 100 users at once."""
    users = need(req.json(), "user_list")
    if not isinstance(users, list) or not 1 <= len(users) <= platform.limits.user_batchget_max:
        raise ApiError(40032)
    infos = []
    for item in users:
        openid = item.get("openid", "") if isinstance(item, dict) else ""
        infos.append(platform.follower_record(openid).info())
    return {"user_info_list": infos}


@route("/cgi-bin/user/get", "GET")
def followers(platform: Platform, req: Request) -> dict[str, Any]:
    """Followers in follow order, `limits.user_page_size` (10,000) per page."""
    return page(platform.subscribed_openids(), req.query.get("next_openid", ""), platform.limits.user_page_size)


@route("/cgi-bin/user/info/updateremark")
def update_remark(platform: Platform, req: Request) -> dict[str, Any]:
    """Set a follower's remark (< 30 chars)."""
    data = req.json()
    follower = platform.follower_record(str(need(data, "openid")))
    remark = str(data.get("remark", ""))
    if len(remark) >= 30:
        raise ApiError(45002, "remark too long")
    follower.remark = remark
    return ok()
