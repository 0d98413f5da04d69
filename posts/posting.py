"""Operator actions on the queue (add, cancel, retry) with their audit trail; no WeChat call happens here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from posts.ledger import record
from posts.queue import CHANNEL_POLICIES, FINAL_POST_STATES, Delivery, Post
from posts.settings import SchedulerSettings
from posts.timing import hold_for_quiet_hours, minute_start


class PostError(ValueError):
    """An operator request the queue refuses, phrased as one line."""


def add_post(
    session: Session,
    *,
    content: str,
    audience: str,
    channel: str,
    by: str,
    now: datetime,
    scheduling: SchedulerSettings,
    send_at: datetime | None = None,
    cron: str | None = None,
    next_run_at: datetime | None = None,
    text: str = "",
    title: str = "",
    draft: bool = False,
    purpose: str = "",
    as_article: bool = False,
) -> Post:
    """Queue a post (validated content and audience are the caller's job): at ``send_at`` or on ``cron``.

    ``send_at`` may be anywhere in ``now``'s minute (it is then due at once); earlier is refused as past.
    """
    if channel not in CHANNEL_POLICIES:
        raise PostError(f"unknown channel {channel!r}: use {', '.join(CHANNEL_POLICIES)}")
    if purpose and channel != "template_only":
        raise PostError("--purpose is for template messages: use it with --channel template_only")
    if channel == "template_only" and not content.startswith("text"):
        raise PostError(f"template messages are for service notices, not news: {content} goes by auto or mass")
    if cron and send_at:
        raise PostError("give either a send time or a cron schedule, not both")
    if as_article and (channel not in ("auto", "mass") or content.partition(":")[0] not in ("section", "update")):
        raise PostError(
            "--as-article mass-sends a section or update as an article (mpnews): use --channel mass or auto"
        )
    if send_at is not None and send_at < minute_start(now):
        raise PostError(f"the send time {send_at.isoformat()} is in the past")
    post = Post(
        content=content,
        audience=audience,
        channel=channel,
        text=text,
        cron=cron,
        next_run_at=next_run_at,
        created_by=by,
        status="draft" if draft else "queued",
        data={k: v for k, v in (("title", title), ("purpose", purpose), ("mass_as", as_article and "article")) if v},
        created_at=now,
    )
    if not cron:
        post.send_at = send_at or now
        post.due_at = hold_for_quiet_hours(max(post.send_at, now), scheduling)
    session.add(post)
    session.flush()
    when = f"cron {cron!r}" if cron else f"due {post.due_at.isoformat() if post.due_at else '?'}"
    held = " (held past the quiet hours)" if post.due_at and post.send_at and post.due_at != post.send_at else ""
    record(
        session, post, by, "draft" if draft else "queued", f"{content} → {audience} via {channel}, {when}{held}", at=now
    )
    return post


def get_post(session: Session, post_id: int) -> Post:
    post = session.get(Post, post_id)
    if post is None:
        raise PostError(f"no post {post_id}")
    return post


def cancel(session: Session, post_id: int, by: str, now: datetime) -> Post:
    """Cancel a draft, queued or recurring post (a send already under way keeps what was sent)."""
    post = get_post(session, post_id)
    if post.status in FINAL_POST_STATES:
        raise PostError(f"post {post_id} is already {post.status}")
    session.execute(
        update(Delivery)
        .where(Delivery.post_id == post_id, Delivery.state == "planned")
        .values(state="undeliverable", reason=f"已取消: cancelled by {by}")
        .execution_options(synchronize_session=False)
    )
    post.status = "cancelled"
    record(session, post, by, "cancelled", at=now)
    return post


def unknown_count(session: Session, post_id: int) -> int:
    """Deliveries whose outcome is unknown (WeChat may have delivered them): left for the operator to decide."""
    query = select(func.count()).where(Delivery.post_id == post_id, Delivery.state == "unknown")
    return session.scalar(query) or 0


def retry(session: Session, post_id: int, by: str, now: datetime, *, resend_unknown: bool = False) -> int:
    """Put failed rows back to planned; unknown rows too only with ``resend_unknown`` (they may then reach
    someone twice: WeChat does not deduplicate custom messages)."""
    post = get_post(session, post_id)
    if post.status in ("draft", "in_review", "approved", "queued", "cancelled", "expired"):
        raise PostError(f"post {post_id} is {post.status}: nothing to retry")
    states = ("failed", "unknown") if resend_unknown else ("failed",)
    count = session.execute(
        update(Delivery)
        .where(Delivery.post_id == post_id, Delivery.state.in_(states))
        .values(state="planned", not_before=None, errcode=None, reason=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if post.status == "missed":
        post.due_at = now
        post.status = "queued"
    elif count:
        post.status = "sending"
        post.finished_at = None
    detail = f"{count} deliveries requeued" + (" (unknown ones included)" if resend_unknown else "")
    record(session, post, by, "retry", detail, at=now)
    return count


def send_now(session: Session, post_id: int, by: str, now: datetime) -> Post:
    """Make a queued (or draft) post due immediately, ignoring the quiet hours: the operator decided.

    A post composed in the console goes only once approved (posts/approval.py): never a draft or one in review.
    """
    post = get_post(session, post_id)
    if (post.data or {}).get("review") and post.status in ("draft", "in_review"):
        raise PostError(f"post {post_id} is {post.status}: it waits for a reviewer's approval in the console")
    if post.status not in ("draft", "approved", "queued"):
        raise PostError(f"post {post_id} is {post.status}")
    if post.cron:
        raise PostError(f"post {post_id} is recurring; cancel it or wait for its next occurrence")
    post.status, post.due_at = "queued", now
    record(session, post, by, "send-now", at=now)
    return post


def list_posts(session: Session, limit: int = 50, status: str | None = None) -> list[Post]:
    query = select(Post).order_by(Post.id.desc()).limit(limit)
    if status:
        query = query.where(Post.status == status)
    return list(session.scalars(query))
