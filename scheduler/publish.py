"""Publishing articles: render → upload images and cover → draft/add → freepublish/submit → reconcile.

The operator queues an article row (posts/articles.py); each tick publishes the queued rows and finishes the
submitted ones from PUBLISHJOBFINISH (the bot's publish_result row) or, when that does not come, a
``freepublish/get`` poll. An account without the publish capability (posts/capabilities.py) gets the plain
explanation on the row instead of a call.
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from posts import articles, capabilities, limits
from posts.account_models import Article
from posts.clock import Clock, system_clock
from posts.render import ArticleBody
from scheduler.errors import TransportError, WeChatError, plain
from scheduler.wechat_api import WeChatApi
from scheduler.wechat_upload import add_image_material, upload_image

log = logging.getLogger(__name__)

POLL_AFTER = timedelta(seconds=30)
MAX_ATTEMPTS = 5
INTERRUPTED_AFTER = timedelta(minutes=10)
"""A row claimed this long ago and still submitting was interrupted (a crash): failed, never resubmitted blindly."""
RETRIED = frozenset({-1, 45009, 45011})
WECHAT_IMAGES = ("http://mmbiz.qpic.cn/", "https://mmbiz.qpic.cn/")
_IMG = re.compile(r'<img\b[^>]*?\ssrc="([^"]*)"[^>]*>', re.IGNORECASE)
NO_PUBLISH = (
    "无发表权限 (48001): this account may not publish (unverified accounts lost the freepublish APIs in July "
    "2025); menu replies keep linking to the H5 pages"
)


class Renderer(Protocol):
    def article(self, ref: str) -> ArticleBody: ...


ImageReader = Callable[[str], bytes | None]


def content_images(root: Path) -> ImageReader:
    """Read an image an article names by a path inside the content pack (nothing outside it, nothing remote)."""
    base = root.resolve()

    def read(src: str) -> bytes | None:
        if "://" in src or src.startswith("//"):
            return None
        found = (base / src.lstrip("/")).resolve()
        if not found.is_relative_to(base) or not found.is_file():
            return None
        data = found.read_bytes()
        return data if len(data) < limits.ARTICLE_IMAGE_MAX_BYTES else None

    return read


def upload_images(api: WeChatApi, html: str, read: ImageReader) -> tuple[str, int]:
    """Every <img> of ``html`` pointed at WeChat's image host (media/uploadimg); an image that cannot be read is
    left out (WeChat filters external images anyway). Returns the HTML and how many images were uploaded."""
    uploaded: dict[str, str] = {}

    def swap(match: re.Match[str]) -> str:
        src = match.group(1)
        if src.startswith(WECHAT_IMAGES):
            return match.group(0)
        if src not in uploaded:
            data = read(src)
            if data is None:
                log.warning("article image %r cannot be read: left out", src)
                return ""
            kind = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
            uploaded[src] = upload_image(api, Path(src).name or "image", data, kind)
        return match.group(0).replace(f'src="{src}"', f'src="{uploaded[src]}"')

    return _IMG.sub(swap, html), len(uploaded)


@cache
def cover_png(width: int = 900, height: int = 383, rgb: tuple[int, int, int] = (47, 111, 79)) -> bytes:
    """A plain cover image (the article's thumb): one colour, the account's green."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height, 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def check_article(body: ArticleBody) -> str | None:
    """Why WeChat would refuse this article (45003 title too long), else None."""
    if len(body.title) > limits.DRAFT_TITLE_MAX_CHARS:
        return (
            f"title is {len(body.title)} characters; a WeChat article title has at most {limits.DRAFT_TITLE_MAX_CHARS}"
        )
    return None


def add_draft(api: WeChatApi, body: ArticleBody, read_image: ImageReader, cover: str | None = None) -> tuple[str, str]:
    """Upload the article's images (and the cover, unless ``cover`` is its media_id), add it to the draft box;
    returns (the draft's media_id, the cover's)."""
    html, images = upload_images(api, body.html, read_image)
    if cover is None:
        cover = add_image_material(api, "cover.png", cover_png())
    entry: dict[str, Any] = {
        "article_type": "news",
        "title": body.title,
        "digest": body.digest[: limits.DRAFT_DIGEST_MAX_CHARS],
        "content": html,
        "content_source_url": body.source_url,
        "thumb_media_id": cover,
        "need_open_comment": 0,
        "only_fans_can_comment": 0,
    }
    media_id = api.add_draft([entry])
    log.info("draft %s added (%d images uploaded)", media_id, images)
    return media_id, cover


class Publisher:
    """Publishes queued articles and finishes submitted ones; one call of :meth:`run` per scheduler tick."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        api: WeChatApi,
        renderer: Renderer,
        *,
        clock: Clock = system_clock,
        read_image: ImageReader | None = None,
        poll_after: timedelta = POLL_AFTER,
    ) -> None:
        self.sessions = sessions
        self.api = api
        self.renderer = renderer
        self.clock = clock
        self.read_image = read_image or (lambda _src: None)
        self.poll_after = poll_after
        self._cover: str | None = None

    def run(self) -> int:
        """Publish what is queued, finish what was submitted; how many rows changed state."""
        changed = 0
        with self.sessions() as session:
            changed += articles.give_up_interrupted(session, self.clock() - INTERRUPTED_AFTER)
            session.commit()
            queued = [a.id for a in articles.queued(session)]
            waiting = [a.id for a in articles.publishing(session)]
        for article_id in queued:
            changed += self.publish(article_id)
        for article_id in waiting:
            changed += self.reconcile(article_id)
        return changed

    # -- one article ---------------------------------------------------------------------------------
    def publish(self, article_id: int) -> bool:
        """Render, upload, add the draft and submit it; the row records each step (a crash resumes after it)."""
        with self.sessions() as session:
            if not articles.claim(session, article_id, self.clock()):
                return False  # another process has it, or it is no longer queued
            session.commit()
            article = session.get(Article, article_id)
            assert article is not None
            profile = capabilities.current(session)
            if not (profile.has(capabilities.PUBLISH) and profile.has(capabilities.DRAFT)):
                return self._fail(session, article, NO_PUBLISH)
            try:
                body = self.renderer.article(article.content)
            except (KeyError, ValueError) as exc:
                return self._fail(session, article, f"content cannot be rendered: {exc}")
            problem = check_article(body)
            if problem:
                return self._fail(session, article, problem)
            article.attempts += 1
            try:
                if article.draft_media_id is None:
                    article.draft_media_id = self._draft(body)
                    session.commit()
                publish_id = self.api.submit_publish(article.draft_media_id)
            except WeChatError as exc:
                return self._failed_call(session, article, exc)
            now = self.clock()
            article.publish_id = publish_id
            article.state, article.submitted_at, article.error = "publishing", now, None
            session.commit()
            articles.apply_known_result(session, article, now)  # PUBLISHJOBFINISH may already be in
            session.commit()
            log.info("article %s (%s) submitted: publish_id %s", article.id, article.content, article.publish_id)
            return True

    def _draft(self, body: ArticleBody) -> str:
        media_id, self._cover = add_draft(self.api, body, self.read_image, self._cover)
        return media_id

    def reconcile(self, article_id: int) -> bool:
        """Finish a submitted article from PUBLISHJOBFINISH, else (after ``poll_after``) from freepublish/get."""
        now = self.clock()
        with self.sessions() as session:
            article = session.get(Article, article_id)
            if article is None or article.state != "publishing" or article.publish_id is None:
                return False
            if articles.apply_known_result(session, article, now):
                session.commit()
                return True
            last = article.checked_at or article.submitted_at or now
            if now - last < self.poll_after:
                return False
            article.checked_at = now
            try:
                found = self.api.publish_status(article.publish_id)
            except WeChatError as exc:
                article.error = plain(exc.errcode, exc.errmsg)
                session.commit()
                return False
            items = (found.get("article_detail") or {}).get("item") or []
            url = items[0].get("article_url") if items else None
            articles.record_result(
                session,
                article.publish_id,
                int(found.get("publish_status", 1)),
                found.get("article_id"),
                url,
                found.get("fail_idx") or [],
                now,
            )
            session.commit()
            return article.state != "publishing"

    # -- outcomes ------------------------------------------------------------------------------------
    def _fail(self, session: Session, article: Article, why: str) -> bool:
        article.state, article.error = "failed", why
        session.commit()
        log.warning("article %s (%s) not published: %s", article.id, article.content, why)
        return True

    def _failed_call(self, session: Session, article: Article, exc: WeChatError) -> bool:
        if exc.errcode == 48001:
            return self._fail(session, article, NO_PUBLISH)
        lost = isinstance(exc, TransportError) and exc.sent
        if lost and article.draft_media_id is not None:
            return self._fail(
                session,
                article,
                f"WeChat's answer to the submit was lost ({exc.errmsg}): it may be published; check the MP "
                "console's 发表记录 before `wxbot publish` again",
            )
        if (exc.errcode in RETRIED or isinstance(exc, TransportError)) and article.attempts < MAX_ATTEMPTS:
            article.state = "queued"
            article.error = plain(exc.errcode, exc.errmsg) + f" (attempt {article.attempts} of {MAX_ATTEMPTS})"
            session.commit()
            return False
        return self._fail(session, article, plain(exc.errcode, exc.errmsg))


def mpnews(api: WeChatApi, renderer: Renderer, ref: str, read_image: ImageReader | None = None) -> dict[str, Any]:
    """A mass send of ``ref`` as an article: a new draft (images and cover uploaded), as the mpnews payload."""
    body = renderer.article(ref)
    problem = check_article(body)
    if problem:
        raise WeChatError(45003, problem)
    media_id, _cover = add_draft(api, body, read_image or (lambda _src: None))
    return {"msgtype": "mpnews", "mpnews": {"media_id": media_id}}
