"""Published articles: operators queue a section or update, the scheduler publishes it, the bot links to it.

A row per (content, content version): ``wxbot publish section:<key>`` (or ``post add --publish``) queues one, the
scheduler renders, uploads and submits it (scheduler/publish.py), PUBLISHJOBFINISH (recorded by the bot as a
:class:`PublishResult`) or a ``freepublish/get`` poll finishes it, and :func:`published_url` gives the URL menu
replies link to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from posts.account_models import Article, PublishResult
from posts.catalog import Catalog
from posts.compose import ContentError, check_content
from posts.live import current_version

PUBLISHABLE = ("section", "update")
SUCCESS = 0
PUBLISHING = 1
STATUS_WORDS = {
    0: "published",
    1: "still publishing",
    2: "refused by the originality check",
    3: "failed",
    4: "rejected by the platform review",
    5: "deleted after success",
    6: "banned after success",
}


@dataclass(frozen=True)
class Requested:
    article: Article
    created: bool
    """False when this content version was already queued or published (nothing is published twice)."""


def check_publishable(ref: str, catalog: Catalog) -> str:
    """The normalised reference of a section or update, or ContentError."""
    found = check_content(ref, catalog)
    if found.partition(":")[0] not in PUBLISHABLE:
        raise ContentError(f"only a review section or a therapy update can be published, not {ref!r}")
    return found


def title_of(ref: str, catalog: Catalog) -> str:
    kind, _, value = ref.partition(":")
    if kind == "section":
        section = catalog.section(value)
        return section.title if section else value
    therapy, _, key = value.partition("/")
    update = catalog.update(therapy, key)
    return update.title if update else value


def request(session: Session, catalog: Catalog, ref: str, by: str, now: datetime) -> Requested:
    """Queue ``ref`` for publishing at the current content version (a failed attempt is queued again)."""
    ref = check_publishable(ref, catalog)
    version = current_version(session)
    found = session.scalars(select(Article).where(Article.content == ref, Article.content_version == version)).first()
    if found is not None:
        if found.state != "failed":
            return Requested(found, False)
        found.state, found.error, found.requested_by, found.requested_at = "queued", None, by, now
        found.publish_id = found.draft_media_id = None
        return Requested(found, True)
    row = Article(
        content=ref,
        content_version=version,
        title=title_of(ref, catalog),
        state="queued",
        requested_by=by,
        requested_at=now,
    )
    session.add(row)
    session.flush()
    return Requested(row, True)


def published_url(session: Session, ref: str) -> str | None:
    """The URL of the newest published article of ``ref``, if any: replies link to it."""
    return session.scalars(
        select(Article.url)
        .where(Article.content == ref, Article.state == "published", Article.url.is_not(None))
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(1)
    ).first()


def published_urls(session: Session) -> dict[str, str]:
    """Every published content reference and its newest URL."""
    rows = session.execute(
        select(Article.content, Article.url)
        .where(Article.state == "published", Article.url.is_not(None))
        .order_by(Article.published_at, Article.id)
    ).all()
    return {content: url for content, url in rows}


def listing(session: Session) -> Sequence[Article]:
    return session.scalars(select(Article).order_by(Article.id)).all()


def queued(session: Session) -> Sequence[Article]:
    return session.scalars(select(Article).where(Article.state == "queued").order_by(Article.id)).all()


def claim(session: Session, article_id: int, now: datetime) -> bool:
    """Take a queued article for publishing (queued → submitting); False when another process took it."""
    taken = session.execute(
        update(Article)
        .where(Article.id == article_id, Article.state == "queued")
        .values(state="submitting", checked_at=now)
    ).rowcount  # type: ignore[attr-defined]
    return bool(taken)


def give_up_interrupted(session: Session, claimed_before: datetime) -> int:
    """Articles left submitting by a process that stopped: failed with what to check (WeChat may have published
    them, so they are never submitted again without the operator)."""
    rows = session.scalars(
        select(Article).where(Article.state == "submitting", Article.checked_at < claimed_before)
    ).all()
    for row in rows:
        row.state = "failed"
        row.error = (
            "interrupted while publishing: check the MP console's 发表记录 (it may be published), then "
            "`wxbot publish` again"
        )
    return len(rows)


def publishing(session: Session) -> Sequence[Article]:
    return session.scalars(select(Article).where(Article.state == "publishing").order_by(Article.id)).all()


def record_result(
    session: Session,
    publish_id: str,
    status: int,
    article_id: str | None,
    article_url: str | None,
    fail_idx: Iterable[Any],
    now: datetime,
) -> Article | None:
    """WeChat's word on a publish job (PUBLISHJOBFINISH or freepublish/get): kept, and applied to its article.

    A repeat changes nothing; the article may not know its publish_id yet (the event can come before the submit's
    answer is stored), then :func:`apply_known_result` applies it when the scheduler stores the publish_id.
    """
    found = session.scalars(select(PublishResult).where(PublishResult.publish_id == publish_id)).first()
    if found is None:
        found = PublishResult(publish_id=publish_id, status=status, received_at=now)
        session.add(found)
    found.status = status
    found.article_id = article_id or found.article_id
    found.article_url = article_url or found.article_url
    found.fail_idx = list(fail_idx)
    session.flush()
    article = session.scalars(select(Article).where(Article.publish_id == publish_id)).first()
    if article is not None:
        _apply(article, found, now)
    return article


def apply_known_result(session: Session, article: Article, now: datetime) -> bool:
    """Finish ``article`` from a result that arrived before its publish_id was stored; True when one did."""
    if article.publish_id is None:
        return False
    found = session.scalars(select(PublishResult).where(PublishResult.publish_id == article.publish_id)).first()
    if found is None:
        return False
    _apply(article, found, now)
    return article.state != "publishing"


def _apply(article: Article, result: PublishResult, now: datetime) -> None:
    if article.state == "published":
        return
    if result.status == SUCCESS and result.article_url:
        article.state, article.article_id, article.url = "published", result.article_id, result.article_url
        article.published_at, article.error = now, None
    elif result.status != PUBLISHING:
        article.state = "failed"
        words = STATUS_WORDS.get(result.status, "failed")
        article.error = f"publish_status {result.status}: {words}" + (
            f" (articles {result.fail_idx})" if result.fail_idx else ""
        )
