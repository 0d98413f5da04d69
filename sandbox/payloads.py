"""Validation of outgoing message payloads (customer-service and mass-send msgtypes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ApiError

if TYPE_CHECKING:
    from .platform import Platform

CUSTOM_TYPES = frozenset(
    {
        "text",
        "image",
        "voice",
        "video",
        "music",
        "news",
        "mpnews",
        "mpnewsarticle",
        "msgmenu",
        "wxcard",
        "miniprogrampage",
        "link",
    }
)
MASS_TYPES = frozenset({"text", "image", "images", "voice", "mpvideo", "mpnews", "wxcard"})


def _media_exists(platform: Platform, media_id: Any, drafts_ok: bool = False) -> None:
    if not isinstance(media_id, str) or not media_id:
        raise ApiError(40007)
    if drafts_ok and media_id in platform.drafts:
        return
    platform.live_media(media_id)


def message_payload(platform: Platform, data: dict[str, Any], allowed: frozenset[str]) -> tuple[str, dict]:
    """Return (msgtype, payload) after WeChat's checks: 40008 type, 45002 length, 45008 articles, 40007."""
    msgtype = data.get("msgtype")
    if not isinstance(msgtype, str) or msgtype not in allowed:
        raise ApiError(40008)
    payload = data.get(msgtype)
    if not isinstance(payload, dict):
        raise ApiError(47001, f"missing {msgtype}")
    limits = platform.limits
    if msgtype == "text":
        content = payload.get("content")
        if not isinstance(content, str) or not content:
            raise ApiError(47001, "missing text.content")
        if len(content.encode("utf-8")) > limits.cs_text_max_bytes:
            raise ApiError(45002)
    elif msgtype == "news":
        articles = payload.get("articles")
        if not isinstance(articles, list) or not articles:
            raise ApiError(47001, "missing news.articles")
        if len(articles) > limits.cs_news_max:
            raise ApiError(45008)
    elif msgtype in ("image", "voice", "mpvideo"):
        _media_exists(platform, payload.get("media_id"))
    elif msgtype == "images":
        ids = payload.get("media_ids")
        if not isinstance(ids, list) or not ids:
            raise ApiError(40007)
        for media_id in ids:
            _media_exists(platform, media_id)
    elif msgtype == "video":
        _media_exists(platform, payload.get("media_id"))
    elif msgtype == "music":
        _media_exists(platform, payload.get("thumb_media_id"))
    elif msgtype == "mpnews":
        _media_exists(platform, payload.get("media_id"), drafts_ok=True)
    elif msgtype == "mpnewsarticle" and not any(
        p.article_id == payload.get("article_id") for p in platform.publishes.values()
    ):
        raise ApiError(53600)
    return msgtype, payload
