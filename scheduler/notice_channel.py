"""The subscribe-notice channel (订阅通知, bizsend): one consent, one notice, behind the Channel protocol.

Planning: the post's notice (``[wechat.notices.<purpose>]`` whose ``serves`` lists the post's kind, or its
purpose) with its fields filled and checked, and which followers hold a consent for it (posts/notices.py); the
planner sends it to those outside the customer-service window. Delivery goes through the one loop
(scheduler/delivery.py): ``NoticeRows`` takes the follower's consent in the same transaction that claims the row (a
one-time consent is used by exactly one send, and the claim is committed before WeChat is called), then
``NoticeMessages`` calls bizsend. 43101 (refused, or no consent left) marks the consent gone and the row
undeliverable, never retried; an answer saying WeChat delivered nothing (busy, a field rule) gives the consent back;
a lost answer keeps it used (the notice may have arrived, and bizsend is not deduplicated, so it is not resent).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from posts import limits, notice_fields, notices
from posts.catalog import Catalog
from posts.compose import Message
from posts.queue import Delivery, Post
from posts.settings import Settings
from scheduler.channels import Item, Outcome
from scheduler.errors import Action, Decision, WeChatError
from scheduler.rows import LedgerRows
from scheduler.wechat_api import NOTICE_SEND, WeChatApi

log = logging.getLogger(__name__)
DATA_KEY = "notice"
"""Where a prepared post keeps its notice (post.data), so every delivery sends the same fields."""


@dataclass(frozen=True)
class Notice:
    purpose: str
    template_id: str
    page: str
    fields: dict[str, str]


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


@dataclass
class NoticeMessages:
    """Subscribe notices of one post: the same notice to each consenting follower; WeChat does not deduplicate."""

    notice: Notice | None
    name: str = "notice"
    deduplicated: bool = False
    batch: int = 1
    retried: bool = True

    def send(self, api: WeChatApi, items: Sequence[Item]) -> list[Outcome]:
        out: list[Outcome] = []
        for item in items:
            if self.notice is None or not item.payload.get("consent"):
                out.append(Outcome())  # not called: NoticeRows records the row undeliverable
                continue
            notice = self.notice
            try:
                msg_id = api.send_notice(str(item.openid), notice.template_id, notice.fields, notice.page)
                out.append(Outcome(msg_id=msg_id))
            except WeChatError as exc:
                out.append(Outcome(error=exc))
        return out


class NoticeRows(LedgerRows):
    """A post's notice rows: claiming one takes the follower's consent (committed with the claim)."""

    def __init__(self, post_id: int, notice: Notice | None, *, long_term: bool = False) -> None:
        super().__init__(post_id, "notice", NOTICE_SEND)
        self.notice = notice
        self.long_term = long_term

    def claim(self, session: Session, ids: Sequence[int], now: datetime) -> list[Item]:
        items = super().claim(session, ids, now)
        for item in items:
            consent = None
            if self.notice is not None:
                consent = notices.consume(
                    session, str(item.openid), self.notice.template_id, item.row.id, now, long_term=self.long_term
                )
            item.payload = {"consent": consent is not None, "claimed_at": now}
        return items

    def record(self, session: Session, item: Item, outcome: Outcome, decision: Decision | None, now: datetime) -> int:
        row: Delivery = item.row
        if row.state != "sending":
            return 0
        if not item.payload.get("consent"):
            row.state, row.not_before = "undeliverable", None
            row.reason = notices.NO_CONSENT_REASON if self.notice is not None else "no notice stored for this post"
            return 1
        assert self.notice is not None
        if decision is not None and decision.errcode == limits.NOTICE_CONSENT_ERRCODE:
            notices.mark_gone(session, row.openid, self.notice.template_id, row.id, now)
            row.state, row.errcode, row.reason = "undeliverable", decision.errcode, notices.GONE_REASON
            row.not_before = None
            return 1
        finished = super().record(session, item, outcome, decision, now)
        if decision is not None and decision.action is not Action.UNKNOWN:
            notices.release(session, row.id, now)  # WeChat said no: nothing was delivered on this consent
        return finished

    def release(self, session: Session, item: Item) -> None:
        row: Delivery = item.row
        if item.payload.get("consent") and row.state == "sending":
            notices.release(session, row.id, item.payload["claimed_at"])
        super().release(session, item)
