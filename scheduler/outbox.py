"""Sends the bot's outbox rows (custom messages, tag changes) within seconds, each at most once.

A custom message whose answer was lost is "unknown" (WeChat does not deduplicate them): never resent.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from posts import received
from posts.catalog import Catalog
from posts.models import Outbox
from posts.outbox import CUSTOM_MESSAGE, TAG_ADD, TAG_REMOVE, TYPING
from scheduler import errors, tags
from scheduler.errors import Action, WeChatError
from scheduler.planner import CUSTOM as CUSTOM_SEND
from scheduler.wechat_api import WeChatApi

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
TYPING_PATH = "/cgi-bin/message/custom/typing"


def _claim(session: Session, ids: list[int], now: datetime) -> list[Outbox]:
    """Move rows from pending to sending; only the rows *this* pass moved are returned.

    Each row is claimed by its own conditional UPDATE and its rowcount: two passes running at once
    (the tick and the outbox job, or two processes) can never both take the same row.
    """
    mine = []
    for row_id in ids:
        result = session.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.status == "pending")
            .values(status="sending", attempts=Outbox.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            mine.append(row_id)
    session.commit()
    if not mine:
        return []
    return list(session.scalars(select(Outbox).where(Outbox.id.in_(mine)).execution_options(populate_existing=True)))


def _failed(row: Outbox, exc: WeChatError, now: datetime, path: str) -> None:
    """Retry what is safe to repeat; a custom message whose answer was lost is "unknown" and stays so."""
    row.last_error = errors.describe(exc, path)
    act = errors.outcome(exc, path)
    if act is Action.UNKNOWN:
        row.status, row.sent_at = "unknown", now  # when it may have been delivered: it counts in the window
        log.warning("outbox row %s to %s: %s", row.id, row.openid, row.last_error)
    elif act is Action.RETRY and row.attempts < MAX_ATTEMPTS:
        row.status, row.not_before = "pending", now + timedelta(seconds=5 * 2**row.attempts)
    else:
        row.status = "failed"


def _note_received(session: Session, row: Outbox) -> None:
    """A therapy update sent after a welcome: a later post of the same update skips this follower."""
    therapy, update = row.payload.get("therapy"), row.payload.get("update")
    if row.openid and therapy and update and row.sent_at is not None:
        received.record(session, row.openid, received.update_ref(therapy, update), received.WELCOME, row.sent_at)


def send_outbox(
    sessions: sessionmaker[Session], api: WeChatApi, catalog: Catalog, clock: Callable[[], datetime], limit: int = 200
) -> int:
    """One pass over due pending rows; returns how many rows were handled."""
    now = clock()
    with sessions() as session:
        due = list(
            session.scalars(
                select(Outbox)
                .where(Outbox.status == "pending", Outbox.not_before <= now)
                .order_by(Outbox.id)
                .limit(limit)
            )
        )
        if not due:
            return 0
        if api.broker is not None:
            api.broker.token()  # refresh (a write) before this session holds SQLite's write lock
        rows = _claim(session, [r.id for r in due], now)
        groups: dict[tuple[str, str], list[Outbox]] = defaultdict(list)
        for row in rows:
            if row.kind == CUSTOM_MESSAGE:
                message = dict(row.payload.get("message") or {})
                try:
                    api.call(CUSTOM_SEND, {"touser": row.openid, **message})
                    row.status, row.sent_at = "sent", clock()
                    _note_received(session, row)
                except WeChatError as exc:
                    _failed(row, exc, clock(), CUSTOM_SEND)
                session.commit()
            elif row.kind == TYPING:  # shown for seconds: a failure is recorded, never retried
                try:
                    api.call(TYPING_PATH, {"touser": row.openid, "command": "Typing"})
                    row.status, row.sent_at = "sent", clock()
                except WeChatError as exc:
                    row.status, row.last_error = "failed", errors.describe(exc, TYPING_PATH)
                session.commit()
            elif row.kind in (TAG_ADD, TAG_REMOVE):
                groups[(row.kind, str(row.payload.get("therapy", "")))].append(row)
            else:
                row.status, row.last_error = "failed", f"unknown outbox kind {row.kind!r}"
                session.commit()
        for (kind, therapy), items in groups.items():
            found = catalog.therapy(therapy)
            try:
                if found is None:
                    raise WeChatError(45159, f"unknown therapy {therapy!r}")
                tag_id = tags.ensure_tag(session, api, therapy, found.name, now)
                tags.tag_users(api, tag_id, [r.openid for r in items if r.openid], add=kind == TAG_ADD)
                for row in items:
                    row.status, row.sent_at = "sent", clock()
            except WeChatError as exc:
                for row in items:
                    _failed(row, exc, clock(), tags.MEMBERS_PATH[kind == TAG_ADD])
            session.commit()
        return len(rows)
