"""The approval of a post composed in the console: draft → in_review → approved → queued, then the scheduler's
sending → sent | partly_sent | failed | missed; cancelled by a sender; expired when not approved by its time.

Pure functions over rows with the time given (``now``). Every change writes the post's own audit trail
(posts.ledger.record) and an audit-log line with the values before and after. Queuing an approved post makes it
exactly what `wxbot post add` makes (a queued row with its due time past the quiet hours), so the scheduler sends
it unchanged. Rules:

- roles: an editor composes and edits, a reviewer approves or returns, a sender queues, cancels and retries; an
  admin may do all of it;
- nobody approves a post they wrote, except an admin their own post to fewer than everyone: a push to everyone
  always needs someone else's approval;
- editing a post under review or approved sends it back to review;
- a post not approved (or not queued) by its send time expires, and its author gets a notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posts import posting
from posts.accounts import audit
from posts.ledger import record
from posts.operators import OperatorNotice, OperatorUser
from posts.queue import Post
from posts.settings import SchedulerSettings
from posts.timing import hold_for_quiet_hours, minute_start

ACTIONS: dict[str, frozenset[str]] = {
    "compose": frozenset({"editor", "admin"}),
    "review": frozenset({"reviewer", "admin"}),
    "queue": frozenset({"sender", "admin"}),
    "cancel": frozenset({"sender", "admin"}),
    "retry": frozenset({"sender", "admin"}),
    "users": frozenset({"admin"}),
}
"""Which roles may do what."""
EDITABLE = frozenset({"draft", "in_review", "approved"})
WAITING = ("draft", "in_review", "approved")
"""States in which a post waits for people, not for the scheduler: they expire at their send time."""


class ApprovalError(ValueError):
    """A refused step; ``code`` names it for the console's words, the message is one English line."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def can(role: str, action: str) -> bool:
    return role in ACTIONS.get(action, frozenset())


def _require(user: OperatorUser, action: str) -> None:
    if not can(user.role, action):
        raise ApprovalError("forbidden", f"a {user.role} may not {action}")


def _state(post: Post) -> dict[str, Any]:
    return {
        "status": post.status,
        "content": post.content,
        "audience": post.audience,
        "channel": post.channel,
        "send_at": post.send_at.isoformat() if post.send_at else None,
        "text": post.text,
    }


def _step(session: Session, post: Post, user: OperatorUser, action: str, before: dict[str, Any], now: datetime,
          detail: str = "") -> None:  # fmt: skip
    record(session, post, user.username, action, detail, at=now)
    audit(session, user.username, action, f"post:{post.id}", at=now, before=before, after=_state(post))


def _expect(post: Post, *states: str) -> None:
    if post.status not in states:
        raise ApprovalError("wrong_state", f"post {post.id} is {post.status}, not {' or '.join(states)}")


def needs_review(post: Post) -> bool:
    """Whether the post came through the console's approval (a CLI post is queued by whoever runs the CLI)."""
    return bool((post.data or {}).get("review"))


def compose(
    session: Session,
    user: OperatorUser,
    *,
    content: str,
    audience: str,
    channel: str,
    send_at: datetime,
    now: datetime,
    scheduling: SchedulerSettings,
    text: str = "",
    title: str = "",
    purpose: str = "",
) -> Post:
    """A new draft (validated content and audience are the caller's job)."""
    _require(user, "compose")
    post = posting.add_post(
        session,
        content=content,
        audience=audience,
        channel=channel,
        by=user.username,
        now=now,
        scheduling=scheduling,
        send_at=send_at,
        text=text,
        title=title,
        draft=True,
        purpose=purpose,
    )
    post.data = {**(post.data or {}), "review": True}
    audit(session, user.username, "draft", f"post:{post.id}", at=now, after=_state(post))
    return post


def edit(
    session: Session,
    post: Post,
    user: OperatorUser,
    *,
    now: datetime,
    scheduling: SchedulerSettings,
    content: str,
    audience: str,
    channel: str,
    send_at: datetime,
    text: str = "",
    title: str = "",
    purpose: str = "",
) -> Post:
    """Change a waiting post; one under review or approved goes back to review (its approval no longer holds)."""
    _require(user, "compose")
    _expect(post, *EDITABLE)
    if send_at < minute_start(now):
        raise ApprovalError("past", "the send time is in the past")
    before = _state(post)
    post.content, post.audience, post.channel, post.text = content, audience, channel, text
    post.send_at = send_at
    post.due_at = hold_for_quiet_hours(max(send_at, now), scheduling)
    data = {k: v for k, v in (post.data or {}).items() if k not in ("approved_by", "title", "purpose")}
    post.data = {**data, **{k: v for k, v in (("title", title), ("purpose", purpose)) if v}}
    if post.status in ("in_review", "approved"):
        post.status = "in_review"
    _step(session, post, user, "edited", before, now, "back to review" if post.status == "in_review" else "")
    return post


def submit(session: Session, post: Post, user: OperatorUser, now: datetime) -> Post:
    """Ask for a review."""
    _require(user, "compose")
    _expect(post, "draft")
    before = _state(post)
    post.status = "in_review"
    _step(session, post, user, "submitted", before, now)
    return post


def may_approve(post: Post, user: OperatorUser) -> bool:
    if not can(user.role, "review"):
        return False
    if post.created_by != user.username:
        return True
    return user.role == "admin" and post.audience != "all"


def approve(session: Session, post: Post, user: OperatorUser, now: datetime, comment: str = "") -> Post:
    _require(user, "review")
    _expect(post, "in_review")
    if not may_approve(post, user):
        if post.audience == "all" and user.role == "admin":
            raise ApprovalError("own_post_all", "a push to everyone needs someone else's approval, even an admin's")
        raise ApprovalError("own_post", "nobody approves their own post")
    before = _state(post)
    post.status = "approved"
    post.data = {**(post.data or {}), "approved_by": user.username}
    _step(session, post, user, "approved", before, now, comment)
    notify(session, post.created_by, post, "approved", comment, now)
    return post


def send_back(session: Session, post: Post, user: OperatorUser, now: datetime, comment: str) -> Post:
    """Return a post under review to its author, with the reviewer's comment."""
    _require(user, "review")
    _expect(post, "in_review")
    if not comment.strip():
        raise ApprovalError("comment_needed", "say why the post goes back")
    before = _state(post)
    post.status = "draft"
    _step(session, post, user, "returned", before, now, comment)
    notify(session, post.created_by, post, "returned", comment, now)
    return post


def queue(session: Session, post: Post, user: OperatorUser, now: datetime, scheduling: SchedulerSettings) -> Post:
    """Hand an approved post to the scheduler: the same queued row `wxbot post add` makes."""
    _require(user, "queue")
    _expect(post, "approved")
    if post.send_at is not None and post.send_at < minute_start(now):
        raise ApprovalError("past", "its send time has passed: change the time (it then needs a new review)")
    before = _state(post)
    post.status = "queued"
    post.due_at = hold_for_quiet_hours(max(post.send_at or now, now), scheduling)
    _step(session, post, user, "queued", before, now)
    return post


def cancel(session: Session, post: Post, user: OperatorUser, now: datetime) -> Post:
    """A sender cancels a post not yet sent; an editor may withdraw their own waiting post."""
    own_waiting = post.created_by == user.username and post.status in WAITING
    if not (can(user.role, "cancel") or own_waiting):
        raise ApprovalError("forbidden", f"a {user.role} may not cancel")
    before = _state(post)
    try:
        posting.cancel(session, post.id, user.username, now)
    except posting.PostError as exc:
        raise ApprovalError("wrong_state", str(exc)) from None
    audit(session, user.username, "cancelled", f"post:{post.id}", at=now, before=before, after=_state(post))
    return post


def retry(session: Session, post: Post, user: OperatorUser, now: datetime) -> int:
    """Requeue the failed deliveries of a post (never the unknown ones: they may have arrived)."""
    _require(user, "retry")
    before = _state(post)
    try:
        count = posting.retry(session, post.id, user.username, now)
    except posting.PostError as exc:
        raise ApprovalError("wrong_state", str(exc)) from None
    audit(
        session,
        user.username,
        "retry",
        f"post:{post.id}",
        at=now,
        before=before,
        after={**_state(post), "requeued": count},
    )
    return count


def notify(session: Session, username: str, post: Post | None, kind: str, detail: str, now: datetime) -> None:
    session.add(
        OperatorNotice(username=username, post_id=post.id if post else None, kind=kind, detail=detail, created_at=now)
    )


def expire_overdue(session: Session, now: datetime) -> list[Post]:
    """Posts still waiting for people at their send time become expired; each author gets a notice."""
    due = session.scalars(
        select(Post).where(Post.status.in_(WAITING), Post.send_at < minute_start(now)).order_by(Post.id)
    )
    expired = []
    for post in due:
        if not needs_review(post):
            continue  # a CLI draft waits for `wxbot post send-now`
        before = _state(post)
        post.status = "expired"
        post.finished_at = now
        record(
            session, post, "console", "expired", f"not approved and queued by its time (was {before['status']})", at=now
        )
        audit(session, "console", "expired", f"post:{post.id}", at=now, before=before, after=_state(post))
        notify(session, post.created_by, post, "expired", before["status"], now)
        expired.append(post)
    return expired


def notices(session: Session, username: str, limit: int = 20) -> list[OperatorNotice]:
    query = (
        select(OperatorNotice)
        .where(OperatorNotice.username == username, OperatorNotice.read_at.is_(None))
        .order_by(OperatorNotice.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class Moves:
    """What a user may do with a post now (the console shows only these buttons)."""

    edit: bool
    submit: bool
    approve: bool
    send_back: bool
    queue: bool
    cancel: bool
    retry: bool


def moves(post: Post, user: OperatorUser) -> Moves:
    waiting_own = post.created_by == user.username and post.status in WAITING
    return Moves(
        edit=can(user.role, "compose") and post.status in EDITABLE and needs_review(post),
        submit=can(user.role, "compose") and post.status == "draft" and needs_review(post),
        approve=post.status == "in_review" and may_approve(post, user),
        send_back=post.status == "in_review" and can(user.role, "review"),
        queue=post.status == "approved" and can(user.role, "queue"),
        cancel=post.status in (*WAITING, "queued", "sending") and (can(user.role, "cancel") or waiting_own),
        retry=post.status in ("sent", "partly_sent", "failed", "missed") and can(user.role, "retry"),
    )
