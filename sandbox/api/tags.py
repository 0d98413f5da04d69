"""Tag endpoints: create/get/update/delete, batch (un)tagging, members, a user's tag ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..models import Tag
from ..platform import SYSTEM_TAGS
from .base import Request, need, ok, route
from .users import page

if TYPE_CHECKING:
    from ..platform import Platform

RESERVED = {0, 1, 2}


def _tag_body(req: Request) -> dict[str, Any]:
    tag = need(req.json(), "tag")
    if not isinstance(tag, dict):
        raise ApiError(47001)
    return tag


def _valid_name(platform: Platform, name: Any, skip_id: int | None = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ApiError(45157)
    if len(name) > platform.limits.tag_name_max:
        raise ApiError(45158)
    if any(t.name == name and t.id != skip_id for t in platform.tag_table().values()):
        raise ApiError(45157, "tag name exists")
    return name


def _tag_id(platform: Platform, raw: Any) -> int:
    try:
        tag_id = int(raw)
    except (TypeError, ValueError) as exc:
        raise ApiError(45159) from exc
    if tag_id not in platform.tag_table():
        raise ApiError(45159)
    return tag_id


@route("/cgi-bin/tags/create")
def create(platform: Platform, req: Request) -> dict[str, Any]:
    """New tag (≤30 chars, unique, ≤100 per account)."""
    name = _valid_name(platform, _tag_body(req).get("name"))
    user_tags = [t for t in platform.tag_table() if t not in SYSTEM_TAGS]
    if len(user_tags) >= platform.limits.tags_per_account:
        raise ApiError(45056)
    tag = Tag(platform.new_tag_id(), name)
    platform.tag_table()[tag.id] = tag
    return {"tag": {"id": tag.id, "name": tag.name}}


@route("/cgi-bin/tags/get", "GET")
def get(platform: Platform, req: Request) -> dict[str, Any]:
    """All tags with follower counts."""
    followers = platform.followers(subscribed_only=True)
    tags = []
    for tag in platform.tag_table().values():
        count = sum(1 for f in followers if tag.id in f["tagid_list"])
        tags.append({"id": tag.id, "name": tag.name, "count": count})
    return {"tags": tags}


@route("/cgi-bin/tags/update")
def update(platform: Platform, req: Request) -> dict[str, Any]:
    """Rename a tag (not 0/1/2)."""
    body = _tag_body(req)
    if body.get("id") in RESERVED:
        raise ApiError(45058)
    tag_id = _tag_id(platform, body.get("id"))
    platform.tag_table()[tag_id].name = _valid_name(platform, body.get("name"), skip_id=tag_id)
    return ok()


@route("/cgi-bin/tags/delete")
def delete(platform: Platform, req: Request) -> dict[str, Any]:
    """Delete a tag and remove it from every user."""
    body = _tag_body(req)
    if body.get("id") in RESERVED:
        raise ApiError(45058)
    tag_id = _tag_id(platform, body.get("id"))
    del platform.tag_table()[tag_id]
    for info in platform.followers():
        follower = platform.follower_record(info["openid"])
        if tag_id in follower.tags:
            follower.tags.remove(tag_id)
    return ok()


def _batch(platform: Platform, req: Request) -> tuple[int, list[str]]:
    data = req.json()
    openids = data.get("openid_list")
    if not isinstance(openids, list) or not 1 <= len(openids) <= platform.limits.tag_batch_max:
        raise ApiError(40032)
    tag_id = _tag_id(platform, data.get("tagid"))
    for openid in openids:
        platform.follower_record(str(openid))
    return tag_id, [str(o) for o in openids]


@route("/cgi-bin/tags/members/batchtagging")
def batch_tagging(platform: Platform, req: Request) -> dict[str, Any]:
    """Tag ≤50 users; a user may carry at most 20 tags (45059, nothing applied)."""
    tag_id, openids = _batch(platform, req)
    records = [platform.follower_record(o) for o in openids]
    for follower in records:
        if tag_id not in follower.tags and len(follower.tags) >= platform.limits.tags_per_user:
            raise ApiError(45059)
    for follower in records:
        if tag_id not in follower.tags:
            follower.tags.append(tag_id)
    return ok()


@route("/cgi-bin/tags/members/batchuntagging")
def batch_untagging(platform: Platform, req: Request) -> dict[str, Any]:
    """Untag ≤50 users."""
    tag_id, openids = _batch(platform, req)
    for openid in openids:
        follower = platform.follower_record(openid)
        if tag_id in follower.tags:
            follower.tags.remove(tag_id)
    return ok()


@route("/cgi-bin/user/tag/get")
def tag_members(platform: Platform, req: Request) -> dict[str, Any]:
    """Followers carrying a tag, paged like user/get."""
    data = req.json()
    tag_id = _tag_id(platform, data.get("tagid"))
    members = [f["openid"] for f in platform.followers(subscribed_only=True) if tag_id in f["tagid_list"]]
    out = page(members, str(data.get("next_openid") or ""), platform.limits.user_page_size)
    out.pop("total")
    return out


@route("/cgi-bin/tags/getidlist")
def user_tags(platform: Platform, req: Request) -> dict[str, Any]:
    """A user's tag ids."""
    follower = platform.follower_record(str(need(req.json(), "openid", 40003)))
    return {"tagid_list": list(follower.tags)}
