"""Media, permanent material, draft box and free publish endpoints."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..models import Draft, Media, Publish
from .base import RawResponse, Request, need, ok, route

if TYPE_CHECKING:
    from ..platform import Platform

MEDIA_TYPES = ("image", "voice", "video", "thumb")


def _upload(platform: Platform, req: Request, permanent: bool, media_type: str) -> Media:
    if media_type not in MEDIA_TYPES:
        raise ApiError(40004)
    part = req.form().get("media")
    if part is None or not part.data:
        raise ApiError(41005)
    if len(part.data) > platform.limits.media_max_bytes[media_type]:
        raise ApiError(40006)
    media_id = ("SBXM_" if permanent else "SBXT_") + secrets.token_urlsafe(36)
    media = Media(media_id, media_type, part.data, part.filename, part.content_type, platform.now(), permanent)
    if media_type == "image" and permanent:
        media.url = f"http://mmbiz.qpic.cn/sandbox/{media_id}/0"
    platform.media[media_id] = media
    return media


@route("/cgi-bin/media/upload")
def upload(platform: Platform, req: Request) -> dict[str, Any]:
    """Temporary media (3 days), multipart field `media`."""
    media = _upload(platform, req, False, req.query.get("type", ""))
    out: dict[str, Any] = {"type": media.type, "media_id": media.media_id, "created_at": int(media.created_at)}
    if media.type == "thumb":
        out["thumb_media_id"] = media.media_id
    return out


@route("/cgi-bin/media/get", "GET")
def download(platform: Platform, req: Request) -> RawResponse:
    """The bytes of a temporary media (40007 after 3 days)."""
    media = platform.live_media(req.query.get("media_id", ""))
    return RawResponse(media.data, media.content_type or "application/octet-stream")


@route("/cgi-bin/media/uploadimg")
def upload_img(platform: Platform, req: Request) -> dict[str, Any]:
    """An image for article HTML; only a URL is returned."""
    media = _upload(platform, req, True, "image")
    return {"url": media.url}


@route("/cgi-bin/material/add_material")
def add_material(platform: Platform, req: Request) -> dict[str, Any]:
    """Permanent material (video takes a `description` JSON form field)."""
    media = _upload(platform, req, True, req.query.get("type", ""))
    description = req.form().get("description")
    if description is not None:
        try:
            media.description = json.loads(description.data.decode("utf-8"))
        except ValueError as exc:
            raise ApiError(47001, "description") from exc
    out: dict[str, Any] = {"media_id": media.media_id}
    if media.url:
        out["url"] = media.url
    return out


@route("/cgi-bin/material/get_materialcount", "GET")
def material_count(platform: Platform, req: Request) -> dict[str, Any]:
    """Counts of permanent material per type."""
    counts = {f"{t}_count": 0 for t in ("voice", "video", "image", "news")}
    for media in platform.media.values():
        if media.permanent and f"{media.type}_count" in counts:
            counts[f"{media.type}_count"] += 1
    return counts


@route("/cgi-bin/material/del_material")
def del_material(platform: Platform, req: Request) -> dict[str, Any]:
    """Delete permanent material."""
    media_id = str(need(req.json(), "media_id", 40007))
    media = platform.media.get(media_id)
    if media is None or not media.permanent:
        raise ApiError(40007)
    del platform.media[media_id]
    return ok()


def _articles(platform: Platform, articles: Any) -> list[dict[str, Any]]:
    if not isinstance(articles, list) or not articles:
        raise ApiError(47001, "articles")
    lim = platform.limits
    for article in articles:
        if not isinstance(article, dict):
            raise ApiError(47001, "articles")
        title = article.get("title")
        if not isinstance(title, str) or not title or len(title) > lim.draft_title_max:
            raise ApiError(45003)
        if len(str(article.get("author", ""))) > lim.draft_author_max:
            raise ApiError(45002, "author")
        if len(str(article.get("digest", ""))) > lim.draft_digest_max:
            raise ApiError(45002, "digest")
        if not article.get("content"):
            raise ApiError(47001, "content")
        if article.get("article_type", "news") == "news":
            thumb = platform.media.get(str(article.get("thumb_media_id", "")))
            if thumb is None or not thumb.permanent:
                raise ApiError(40007, "thumb_media_id")
    return [dict(a) for a in articles]


def _draft(platform: Platform, req: Request) -> Draft:
    draft = platform.drafts.get(str(req.json().get("media_id", "")))
    if draft is None:
        raise ApiError(40007)
    return draft


@route("/cgi-bin/draft/add")
def draft_add(platform: Platform, req: Request) -> dict[str, Any]:
    """Add a draft (thumb_media_id must be permanent material)."""
    articles = _articles(platform, req.json().get("articles"))
    media_id = "SBXD_" + secrets.token_urlsafe(36)
    platform.drafts[media_id] = Draft(media_id, articles, int(platform.now()))
    return {"media_id": media_id}


@route("/cgi-bin/draft/get")
def draft_get(platform: Platform, req: Request) -> dict[str, Any]:
    """A draft's articles."""
    return {"news_item": _draft(platform, req).articles}


@route("/cgi-bin/draft/delete")
def draft_delete(platform: Platform, req: Request) -> dict[str, Any]:
    """Remove a draft."""
    del platform.drafts[_draft(platform, req).media_id]
    return ok()


@route("/cgi-bin/draft/count", "GET")
def draft_count(platform: Platform, req: Request) -> dict[str, Any]:
    """Number of drafts."""
    return {"total_count": len(platform.drafts)}


@route("/cgi-bin/draft/batchget")
def draft_batchget(platform: Platform, req: Request) -> dict[str, Any]:
    """Page through drafts (count 1–20)."""
    data = req.json()
    offset, count = int(data.get("offset", 0)), int(data.get("count", 20))
    if not 1 <= count <= 20:
        raise ApiError(47003, "count")
    drafts = list(platform.drafts.values())[offset : offset + count]
    items = [
        {"media_id": d.media_id, "content": {"news_item": d.articles}, "update_time": d.update_time} for d in drafts
    ]
    return {"total_count": len(platform.drafts), "item_count": len(items), "item": items}


@route("/cgi-bin/freepublish/submit")
def publish_submit(platform: Platform, req: Request) -> dict[str, Any]:
    """Publish a draft (it leaves the draft box); completion pushes PUBLISHJOBFINISH."""
    draft = _draft(platform, req)
    publish_id = str(platform.next_id())
    job = Publish(publish_id, draft.media_id, draft.articles, platform.next_id())
    platform.publishes[publish_id] = job
    del platform.drafts[draft.media_id]
    if platform.config.auto_complete_publish:
        platform.complete_publish(publish_id, 0)
    return ok(publish_id=publish_id, msg_data_id=job.msg_data_id)


def _publish(platform: Platform, publish_id: Any) -> Publish:
    job = platform.publishes.get(str(publish_id))
    if job is None:
        raise ApiError(47003, "publish_id")
    return job


@route("/cgi-bin/freepublish/get")
def publish_get(platform: Platform, req: Request) -> dict[str, Any]:
    """Status of a publish job."""
    job = _publish(platform, req.json().get("publish_id"))
    out: dict[str, Any] = {"publish_id": job.publish_id, "publish_status": job.status}
    if job.status == 0:
        items = [
            {"idx": i + 1, "article_url": platform.article_url(job.article_id, i + 1)} for i in range(len(job.articles))
        ]
        out["article_id"] = job.article_id
        out["article_detail"] = {"count": len(items), "item": items}
    out["fail_idx"] = job.fail_idx
    return out


@route("/cgi-bin/freepublish/getarticle")
def publish_article(platform: Platform, req: Request) -> dict[str, Any]:
    """Articles of a published article_id."""
    article_id = req.json().get("article_id")
    for job in platform.publishes.values():
        if job.article_id and job.article_id == article_id and job.status == 0:
            items = [{**a, "url": platform.article_url(job.article_id, i + 1)} for i, a in enumerate(job.articles)]
            return {"news_item": items}
    raise ApiError(53600)


@route("/cgi-bin/freepublish/batchget")
def publish_batchget(platform: Platform, req: Request) -> dict[str, Any]:
    """Page through published articles (count 1-20)."""
    data = req.json()
    offset, count = int(data.get("offset", 0)), int(data.get("count", 20))
    if not 1 <= count <= 20:
        raise ApiError(47003, "count")
    done = [job for job in platform.publishes.values() if job.status == 0 and job.article_id]
    items = [
        {"article_id": job.article_id, "content": {"news_item": [] if data.get("no_content") else job.articles}}
        for job in done[offset : offset + count]
    ]
    return {"total_count": len(done), "item_count": len(items), "item": items}
