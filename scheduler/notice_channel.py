"""The subscribe-notice channel (订阅通知, ``cgi-bin/message/subscribe/bizsend``): one consent, one notice.

Planning: the post's notice (``[wechat.notices.<purpose>]`` whose ``serves`` lists the post's kind, or its
purpose) with its fields filled and checked, and which followers hold a consent for it (posts/notices.py); the
planner sends it to those outside the customer-service window. Delivery: for each planned row, the consent is taken
in the same transaction that claims the row (a one-time consent is used by exactly one send), then bizsend is
called. 43101 (refused, or no consent left) marks the consent gone and the row undeliverable, never retried; an
answer saying WeChat delivered nothing (busy, a field rule) gives the consent back; a lost answer keeps it used (the
notice may have arrived, and bizsend is not deduplicated, so it is not resent).

The sender calls three hooks: :func:`for_post` and :func:`consented` when planning, :func:`deliver` in its loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from posts import ledger, limits, notice_fields, notices
from posts.catalog import Catalog
from posts.compose import Message
from posts.queue import Post
from posts.settings import Settings
from scheduler import errors, planner
from scheduler.errors import Action, WeChatError

if TYPE_CHECKING:
    from scheduler.sender import Sender

log = logging.getLogger(__name__)
PATH = planner.NOTICE
DATA_KEY = "notice"
"""Where a prepared post keeps its notice (post.data), so every delivery sends the same fields."""


@dataclass(frozen=True)
class Notice:
    purpose: str
    template_id: str
    page: str
    fields: dict[str, str]

    def body(self, openid: str) -> dict[str, Any]:
        """bizsend's body for one follower."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": self.template_id,
            "data": {name: {"value": value} for name, value in self.fields.items()},
        }
        if self.page:
            body["page"] = self.page
        return body


def for_post(settings: Settings, catalog: Catalog, post: Post, message: Message, now: datetime) -> Notice | None:
    """The notice announcing ``post``, its fields filled; None when none is configured for it.

    NoticeFieldError when its fields cannot be filled within WeChat's rules (the caller leaves notices out)."""
    found = settings.wechat.notices.for_post(post.content, (post.data or {}).get("purpose"))
    if found is None:
        return None
    purpose, spec = found
    title, therapy = message.title, ""
    kind, _, value = post.content.partition(":")
    if kind == "update":
        key, _, update_key = value.partition("/")
        therapy_found = catalog.therapies.get(key)
        update = catalog.update(key, update_key)
        therapy = therapy_found.name if therapy_found is not None else ""
        title = update.title if update is not None else title
    fields = notice_fields.fill(
        spec,
        title=title,
        summary=message.summary,
        text=post.text or message.text,
        therapy=therapy,
        due=post.due_at or now,
        tz=settings.scheduler.timezone,
    )
    page = spec.get(notice_fields.PAGE, "") or message.url
    return Notice(purpose, spec[notice_fields.TEMPLATE_ID], page, fields)


def consented(session: Any, notice: Notice | None, openids: Iterable[str]) -> set[str]:
    """Followers among ``openids`` who hold an open consent for the notice."""
    return set() if notice is None else notices.consented(session, notice.template_id, openids)


def stored(post: Post) -> Notice | None:
    data = (post.data or {}).get(DATA_KEY)
    return Notice(**data) if isinstance(data, dict) else None


def store(post: Post, notice: Notice | None) -> None:
    if notice is not None:
        post.data = {**(post.data or {}), DATA_KEY: asdict(notice)}


def deliver(sender: Sender, post_id: int, advance: Callable[[int], None]) -> int:
    """Send the post's planned notices; returns the rows handled."""
    with sender.sessions() as session:
        post = session.get(Post, post_id)
        notice = stored(post) if post is not None else None
        ids = ledger.ready(session, post_id, "notice", sender.clock(), 200)
    if not ids:
        return 0
    long_term = sender.settings.wechat.notices.long_term
    moved = 0
    for row_id in ids:
        sender._warm()
        with sender.sessions() as session:
            now = sender.clock()
            rows = ledger.claim(session, [row_id], now)
            if not rows:
                session.commit()
                continue
            row = rows[0]
            consent = None
            if notice is not None:
                consent = notices.consume(session, row.openid, notice.template_id, row.id, now, long_term=long_term)
            if consent is None:
                row.state = "undeliverable"
                row.reason = notices.NO_CONSENT_REASON if notice is not None else "no notice stored for this post"
                session.commit()
                moved += 1
                advance(1)
                continue
            session.commit()  # the consent is taken before WeChat is called: a crash cannot use it twice
            assert notice is not None
            try:
                answer = sender._call(PATH, notice.body(row.openid))
                sender._sent(row, answer.get("msgid"))
            except WeChatError as exc:
                _failed(sender, session, row, notice, exc)
            session.commit()
        moved += 1
        advance(0 if row.state == "planned" else 1)
        if not sender._alive():
            break
    return moved


def _failed(sender: Sender, session: Any, row: Any, notice: Notice, exc: WeChatError) -> None:
    now = sender.clock()
    if exc.errcode == limits.NOTICE_CONSENT_ERRCODE:
        notices.mark_gone(session, row.openid, notice.template_id, row.id, now)
        row.state, row.errcode, row.reason = "undeliverable", exc.errcode, notices.GONE_REASON
        return
    sender._failed(session, row, exc)
    if errors.outcome(exc, PATH) is not Action.UNKNOWN:
        notices.release(session, row.id, now)  # WeChat said no: nothing was delivered on this consent
