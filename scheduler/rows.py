"""Where a channel's work lives, behind one protocol (``Rows``): a post's deliveries, its mass batches, the outbox.

Each kind of row says which of its rows are ready, claims them (a conditional UPDATE: two passes never take the
same row), records a call's outcome as the retry policy decided (scheduler/errors.py), and releases a claimed
row that was not called. The loop that drives them is scheduler/delivery.py.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from posts import followers, ledger, received
from posts.models import Outbox
from posts.outbox import TAG_ADD
from posts.queue import Delivery, MassBatch, Post
from posts.script import SIMPLIFIED
from scheduler import planner, quota
from scheduler.channels import Item, Outcome
from scheduler.errors import Decision

log = logging.getLogger(__name__)


class Rows(Protocol):
    def ready(self, session: Session, now: datetime, limit: int) -> list[int]:
        """Ids of rows to send now (planned or pending, their retry time come), oldest first."""
        ...

    def claim(self, session: Session, ids: Sequence[int], now: datetime) -> list[Item]:
        """Mark the rows sending (the caller commits before the call); only the rows this pass won."""
        ...

    def record(self, session: Session, item: Item, outcome: Outcome, decision: Decision | None, now: datetime) -> int:
        """Write the outcome (``decision`` is the policy's word on an error); how many recipients are finished."""
        ...

    def release(self, session: Session, item: Item) -> None:
        """A claimed row that was not called (an earlier row's error stopped the batch): back to waiting."""
        ...


class LedgerRows:
    """A post's delivery rows of one channel (custom, template): one row per follower."""

    def __init__(self, post_id: int, channel: str, quota_path: str) -> None:
        self.post_id = post_id
        self.channel = channel
        self.quota_path = quota_path
        """The API path whose daily quota a 45009 exhausts (scheduler/quota.py)."""

    def ready(self, session: Session, now: datetime, limit: int) -> list[int]:
        return ledger.ready(session, self.post_id, self.channel, now, limit)

    def claim(self, session: Session, ids: Sequence[int], now: datetime) -> list[Item]:
        rows = ledger.claim(session, ids, now)
        scripts = followers.scripts_for(session, (row.openid for row in rows))
        return [
            Item(
                row,
                openid=row.openid,
                key=row.client_msg_id,
                attempts=row.attempts,
                script=scripts.get(row.openid, SIMPLIFIED),
            )
            for row in rows
        ]

    def record(self, session: Session, item: Item, outcome: Outcome, decision: Decision | None, now: datetime) -> int:
        row: Delivery = item.row
        if row.state != "sending":  # already failed with the rest of its channel by an earlier row's error
            return 0
        if decision is None:
            row.state, row.sent_at, row.errcode, row.reason = "sent", now, None, None
            row.msg_id = outcome.msg_id
            return 1
        row.state, row.reason, row.errcode, row.not_before = decision.state, decision.reason, decision.errcode, None
        if decision.state == "planned":
            row.not_before = decision.retry_at
        if decision.daily_quota:
            quota.exhaust(session, self.quota_path, now)
            ledger.postpone(session, self.post_id, self.channel, decision.retry_at or now)
        if decision.blocked:
            post = session.get(Post, row.post_id)
            if post is not None:
                ledger.record(session, post, "scheduler", "blocked", decision.reason, at=now)
        if decision.whole_channel:
            ledger.fail_channel(session, self.post_id, self.channel, decision.errcode, decision.reason, but=row.id)
        return 0 if row.state == "planned" else 1

    def release(self, session: Session, item: Item) -> None:
        row: Delivery = item.row
        if row.state == "sending":
            row.state, row.attempts = "planned", max(row.attempts - 1, 0)


class MassRows:
    """A post's mass batches: one call per batch, its followers' delivery rows move with it."""

    def __init__(self, post_id: int) -> None:
        self.post_id = post_id

    def ready(self, session: Session, now: datetime, limit: int) -> list[int]:
        return ledger.ready_batches(session, self.post_id, now, limit)

    def claim(self, session: Session, ids: Sequence[int], now: datetime) -> list[Item]:
        out = []
        for batch in ledger.claim_batches(session, ids, now):
            openids = None
            tag_id = None
            if batch.slice_key.startswith("list:"):
                openids = tuple(session.scalars(select(Delivery.openid).where(Delivery.batch_id == batch.id)))
            elif batch.slice_key.startswith("tag:"):
                tag_id = int(batch.slice_key.split(":", 1)[1])
            script = planner.slice_script(batch.slice_key)
            out.append(
                Item(
                    batch,
                    key=batch.clientmsgid,
                    attempts=batch.attempts,
                    openids=openids,
                    tag_id=tag_id,
                    script=script,
                )
            )
        return out

    def record(self, session: Session, item: Item, outcome: Outcome, decision: Decision | None, now: datetime) -> int:
        batch: MassBatch = item.row
        if decision is None:
            state, errcode, reason, retry_at = "sent", None, None, None
        else:
            state = decision.state if decision.state in ("planned", "unknown") else "failed"
            errcode, reason, retry_at = decision.errcode, decision.reason, decision.retry_at
        batch.state, batch.errcode, batch.reason = state, errcode, reason
        batch.msg_id = outcome.msg_id
        batch.sent_at = now if state == "sent" else None
        count = session.execute(
            update(Delivery)
            .where(Delivery.batch_id == batch.id, Delivery.state == "sending")
            .values(
                state=state,
                errcode=errcode,
                reason=reason,
                msg_id=batch.msg_id,
                sent_at=batch.sent_at,
                not_before=retry_at if state == "planned" else None,
            )
        ).rowcount  # type: ignore[attr-defined]
        return 0 if state == "planned" else int(count)

    def release(self, session: Session, item: Item) -> None:
        ledger.release_batch(session, item.row)


class OutboxRows:
    """The bot's outbox rows of some kinds (custom messages, tag changes)."""

    def __init__(self, kinds: Sequence[str]) -> None:
        self.kinds = tuple(kinds)

    def ready(self, session: Session, now: datetime, limit: int) -> list[int]:
        return list(
            session.scalars(
                select(Outbox.id)
                .where(Outbox.status == "pending", Outbox.kind.in_(self.kinds), Outbox.not_before <= now)
                .order_by(Outbox.id)
                .limit(limit)
            )
        )

    def claim(self, session: Session, ids: Sequence[int], now: datetime) -> list[Item]:
        """Each row by its own conditional UPDATE and its rowcount: two passes at once never share a row."""
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
        if not mine:
            return []
        rows = session.scalars(
            select(Outbox).where(Outbox.id.in_(mine)).order_by(Outbox.id).execution_options(populate_existing=True)
        )
        return [
            Item(row, openid=row.openid, attempts=row.attempts, payload={**row.payload, "add": row.kind == TAG_ADD})
            for row in rows
        ]

    def record(self, session: Session, item: Item, outcome: Outcome, decision: Decision | None, now: datetime) -> int:
        row: Outbox = item.row
        if decision is None:
            row.status, row.sent_at, row.last_error = "sent", now, None
            _note_received(session, row)
            return 1
        row.last_error = decision.reason
        if decision.state == "unknown":  # when it may have been delivered: it counts in the follower's window
            row.status, row.sent_at = "unknown", now
            log.warning("outbox row %s to %s: %s", row.id, row.openid, row.last_error)
        elif decision.state == "planned":
            row.status, row.not_before = "pending", decision.retry_at or now
            return 0
        else:
            row.status = "failed"
        return 1

    def release(self, session: Session, item: Item) -> None:
        row: Outbox = item.row
        if row.status == "sending":
            row.status, row.attempts = "pending", max(row.attempts - 1, 0)


def _note_received(session: Session, row: Outbox) -> None:
    """A therapy update sent after a welcome: a later post of the same update skips this follower."""
    therapy, update_key = row.payload.get("therapy"), row.payload.get("update")
    if row.openid and therapy and update_key and row.sent_at is not None:
        received.record(session, row.openid, received.update_ref(therapy, update_key), received.WELCOME, row.sent_at)
