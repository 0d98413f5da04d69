"""The inbox: follower messages waiting for a person, and the operator's answer within WeChat's window.

- The bot records (in its own transaction, :func:`record`) every text no rule answered (the default reply), every
  one that only got a weak "did you mean", and every urgent one (urgent.yaml: the safety reply went out at once);
  an operator may flag any other message from the follower's history (:func:`flag`).
- An operator answers with a customer-service message: an outbox row the scheduler sends (:func:`answer`), the
  disclaimer closing it (posts.render.Renderer.close), in the script the follower reads. It can be sent only while
  the follower's 48-hour window is open and not used up (:func:`allowance`: posts.interactions and the ledger's
  count); otherwise it is refused now, with the reason, instead of failing later.
- Unanswered questions grouped by similarity (:func:`similar_groups`: character-bigram Jaccard, single link) show
  what content is missing.

Pure functions over rows with the time given (``now``); every change is in the caller's transaction and every
operator's step writes an audit line (posts.accounts.audit).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posts import interactions, ledger, limits, outbox
from posts.accounts import audit
from posts.catalog import normalize
from posts.inbox_models import InboxItem
from posts.models import Follower, InboundEvent, Outbox, ReceivedItem, Subscription
from posts.render import Renderer
from posts.script import converter, script_of

DEFAULT: Final = "default"
SUGGEST: Final = "suggest"
FLAGGED: Final = "flagged"
URGENT: Final = "urgent"
STATES: Final = ("open", "answered", "closed")
ANSWER_ROLES: Final = frozenset({"sender", "admin"})
"""Who may answer or close: senders and admins; editors and reviewers read the inbox only."""
TEXT_MAX_CHARS: Final = 2000
"""What an inbox row keeps of a follower's text."""
SIMILAR_AT: Final = 0.3
"""Two questions whose character bigrams overlap this much (Jaccard) are in one group."""
LOG_LOOKBACK_ROWS: Final = 200_000
"""How far back (inbound log rows) a follower's recent texts are looked for: the log has no index by follower."""


class InboxError(ValueError):
    """A refused step; ``code`` names it for the console's words, the message is one English line."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def may_answer(role: str) -> bool:
    return role in ANSWER_ROLES


def urgent_reason(rule_key: str) -> str:
    return f"{URGENT}:{rule_key}"


def record(
    session: Session,
    openid: str,
    text: str,
    now: datetime,
    reason: str,
    *,
    urgent: bool = False,
    dedup_key: str | None = None,
    flagged_by: str | None = None,
) -> InboxItem | None:
    """One inbox row, open (the push's dedupe key makes a second record of the same push return the first row);
    nothing for an empty text."""
    text = text.strip()
    if not text:
        return None
    if dedup_key is not None:
        found = session.scalar(select(InboxItem).where(InboxItem.dedup_key == dedup_key))
        if found is not None:
            return found
    item = InboxItem(
        openid=openid[:64],
        text=text[:TEXT_MAX_CHARS],
        received_at=now,
        state="open",
        urgent=urgent,
        reason=reason[:32],
        dedup_key=dedup_key,
        flagged_by=flagged_by,
    )
    session.add(item)
    return item


def listing(session: Session, state: str | None = "open", limit: int = 200) -> list[InboxItem]:
    """The inbox: urgent first, then the newest."""
    query = select(InboxItem)
    if state in STATES:
        query = query.where(InboxItem.state == state)
    order = (InboxItem.urgent.desc(), InboxItem.received_at.desc(), InboxItem.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def counts(session: Session) -> tuple[int, int]:
    """(open rows, open urgent rows)."""
    rows = session.execute(
        select(InboxItem.urgent, func.count()).where(InboxItem.state == "open").group_by(InboxItem.urgent)
    ).all()
    found = {bool(urgent): count for urgent, count in rows}
    return found.get(False, 0) + found.get(True, 0), found.get(True, 0)


# -- the window -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowance:
    """What may still be sent to a follower as customer-service messages right now."""

    is_open: bool
    left: int = 0
    quota: int = 0
    closes_at: datetime | None = None
    reason: str = ""
    """Why nothing can be sent: unknown (never seen), unfollowed, window_closed, window_used."""


def allowance(session: Session, openid: str, now: datetime) -> Allowance:
    """The follower's window (posts.interactions) less what was sent in it (posts.ledger.window_used) and what is
    queued for it already (the outbox's pending customer-service messages)."""
    follower = session.scalar(select(Follower).where(Follower.openid == openid))
    if follower is None:
        return Allowance(False, reason="unknown")
    if not follower.subscribed:
        return Allowance(False, reason="unfollowed")
    window = interactions.window(follower.last_message_at, follower.last_event_at, now)
    if not window.is_open or window.opened_at is None:
        return Allowance(False, reason="window_closed")
    seconds = (
        limits.CS_WINDOW_MESSAGE_SECONDS
        if window.quota == limits.CS_WINDOW_MESSAGE_QUOTA
        else limits.CS_WINDOW_EVENT_SECONDS
    )
    closes_at = window.opened_at + timedelta(seconds=seconds)
    used = ledger.window_used(session, {openid: window.opened_at}).get(openid, 0)
    queued = (
        session.scalar(
            select(func.count()).where(
                Outbox.openid == openid,
                Outbox.kind == outbox.CUSTOM_MESSAGE,
                Outbox.status.in_(("pending", "sending")),
                Outbox.created_at >= window.opened_at,
            )
        )
        or 0
    )
    left = max(window.quota - used - queued, 0)
    if left == 0:
        return Allowance(False, 0, window.quota, closes_at, reason="window_used")
    return Allowance(True, left, window.quota, closes_at)


# -- a follower's history -------------------------------------------------------------------------------------


@dataclass
class Conversation:
    """What the console shows beside a message: what WeChat told us of the follower, nothing more."""

    openid: str
    follower: Follower | None
    subscriptions: list[str] = field(default_factory=list)
    """Active therapy keys."""
    received: list[ReceivedItem] = field(default_factory=list)
    """What they read outside posts (replies, welcomes), newest first."""
    items: list[InboxItem] = field(default_factory=list)
    """Their inbox rows, newest first."""
    texts: list[InboundEvent] = field(default_factory=list)
    """Their recent texts as the inbound log keeps them (the first characters), newest first."""
    replies: list[Outbox] = field(default_factory=list)
    """Customer-service messages queued or sent to them, newest first."""
    allowance: Allowance = field(default_factory=lambda: Allowance(False, reason="unknown"))


def conversation(session: Session, openid: str, now: datetime, limit: int = 20) -> Conversation:
    follower = session.scalar(select(Follower).where(Follower.openid == openid))
    found = Conversation(openid, follower, allowance=allowance(session, openid, now))
    if follower is not None:
        found.subscriptions = list(
            session.scalars(
                select(Subscription.therapy_key)
                .where(Subscription.follower_id == follower.id, Subscription.active.is_(True))
                .order_by(Subscription.therapy_key)
            )
        )
    found.received = list(
        session.scalars(
            select(ReceivedItem)
            .where(ReceivedItem.openid == openid)
            .order_by(ReceivedItem.received_at.desc())
            .limit(limit)
        )
    )
    found.items = list(
        session.scalars(select(InboxItem).where(InboxItem.openid == openid).order_by(InboxItem.id.desc()).limit(limit))
    )
    newest = session.scalar(select(func.max(InboundEvent.id))) or 0
    found.texts = list(
        session.scalars(
            select(InboundEvent)
            .where(
                InboundEvent.id > newest - LOG_LOOKBACK_ROWS,
                InboundEvent.openid == openid,
                InboundEvent.msg_type == "text",
            )
            .order_by(InboundEvent.id.desc())
            .limit(limit)
        )
    )
    found.replies = list(
        session.scalars(
            select(Outbox)
            .where(Outbox.openid == openid, Outbox.kind == outbox.CUSTOM_MESSAGE)
            .order_by(Outbox.id.desc())
            .limit(limit)
        )
    )
    return found


def recent_texts(session: Session, limit: int = 100) -> list[InboundEvent]:
    """The newest texts followers sent (any route), for an operator to flag one into the inbox."""
    query = select(InboundEvent).where(InboundEvent.msg_type == "text").order_by(InboundEvent.id.desc())
    return list(session.scalars(query.limit(limit)))


def flagged_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` (inbox dedupe keys) already in the inbox."""
    wanted = [k for k in keys if k]
    if not wanted:
        return set()
    return set(session.scalars(select(InboxItem.dedup_key).where(InboxItem.dedup_key.in_(wanted))))


def log_key(event: InboundEvent) -> str:
    """The inbox dedupe key of a message of the inbound log: the push's own key (the bot's record of the same
    message is found, not doubled)."""
    return event.dedup_key or f"log:{event.id}"


# -- operators' steps -----------------------------------------------------------------------------------------


def flag(session: Session, event: InboundEvent, *, by: str, now: datetime) -> InboxItem:
    """Put a message of the follower's history into the inbox (as the log keeps it)."""
    item = record(
        session, event.openid, event.key or "", event.received_at, FLAGGED, dedup_key=log_key(event), flagged_by=by
    )
    if item is None:
        raise InboxError("empty", "the message has no text to flag")
    session.flush()
    audit(session, by, "inbox-flag", f"inbox:{item.id}", at=now, after={"openid": item.openid, "text": item.text})
    return item


def reply_text(renderer: Renderer, body: str, script: str | None) -> str:
    """The operator's words as the follower gets them: closed by the disclaimer, in the script they read."""
    closed = renderer.close(body.strip())
    return converter(renderer.catalog.script).in_script(closed, script_of(script))


def answer(
    session: Session,
    item: InboxItem,
    body: str,
    *,
    by: str,
    role: str,
    renderer: Renderer,
    now: datetime,
    reply_key: str,
) -> Outbox:
    """Queue the operator's answer as a customer-service message (the scheduler sends it) and mark the row
    answered. The same ``reply_key`` (one per form shown) queues nothing twice. Refused (:class:`InboxError`) when
    the role may not answer, the text is empty or too long, or the window is closed or used up."""
    if not may_answer(role):
        raise InboxError("forbidden", f"a {role} may not answer")
    dedup_key = f"inbox:{item.id}:{reply_key}"
    queued = session.scalar(select(Outbox).where(Outbox.dedup_key == dedup_key))
    if queued is not None:
        return queued
    if not body.strip():
        raise InboxError("reply_empty", "the answer is empty")
    follower = session.scalar(select(Follower).where(Follower.openid == item.openid))
    text = reply_text(renderer, body, follower.script if follower else None)
    if limits.utf8_len(text) > limits.CS_TEXT_MAX_BYTES:
        raise InboxError("reply_too_long", "the answer with its disclaimer is over WeChat's 2048 bytes")
    left = allowance(session, item.openid, now)
    if not left.is_open:
        raise InboxError(left.reason, f"no customer-service message can reach {item.openid} now ({left.reason})")
    row = outbox.enqueue(
        session,
        outbox.CUSTOM_MESSAGE,
        item.openid,
        {"message": {"msgtype": "text", "text": {"content": text}}, "reason": "inbox", "inbox": item.id},
        now,
        dedup_key=dedup_key,
    )
    before = {"state": item.state}
    item.state, item.answered_at, item.answered_by = "answered", now, by
    session.flush()
    audit(session, by, "inbox-answer", f"inbox:{item.id}", at=now, before=before,
          after={"state": item.state, "outbox": row.id, "text": body.strip()})  # fmt: skip
    return row


def typing(session: Session, item: InboxItem, *, role: str, now: datetime) -> Outbox:
    """Show the follower "typing…" while the operator writes (an outbox row the scheduler sends at once); only
    while the window is open (it uses none of its messages)."""
    if not may_answer(role):
        raise InboxError("forbidden", f"a {role} may not answer")
    left = allowance(session, item.openid, now)
    if not left.is_open:
        raise InboxError(left.reason, f"the window of {item.openid} is not open ({left.reason})")
    minute = now.replace(second=0, microsecond=0).isoformat()
    return outbox.enqueue(session, outbox.TYPING, item.openid, {"command": "Typing"}, now,
                          dedup_key=f"typing:{item.id}:{minute}")  # fmt: skip


def close(session: Session, item: InboxItem, *, by: str, role: str, now: datetime) -> None:
    """No answer needed (or answered elsewhere): the row leaves the open inbox."""
    if not may_answer(role):
        raise InboxError("forbidden", f"a {role} may not close")
    before = {"state": item.state}
    item.state = "closed"
    audit(session, by, "inbox-close", f"inbox:{item.id}", at=now, before=before, after={"state": item.state})


# -- what content is missing ----------------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[\W_]+")


def bigrams(text: str) -> frozenset[str]:
    """The character bigrams of ``text`` folded as the bot folds it (case, spaces, Traditional; punctuation out)."""
    folded = _NOT_WORD.sub("", normalize(text))
    if len(folded) < 2:
        return frozenset({folded}) if folded else frozenset()
    return frozenset(folded[i : i + 2] for i in range(len(folded) - 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass
class Group:
    """Questions that read alike: the newest first."""

    items: list[InboxItem]

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def sample(self) -> InboxItem:
        return self.items[0]


def similar_groups(items: Sequence[InboxItem], at: float = SIMILAR_AT) -> list[Group]:
    """Single-link clusters of ``items`` whose bigram Jaccard is at least ``at``; the biggest group first (then the
    one asked most recently)."""
    grams = [bigrams(item.text) for item in items]
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if jaccard(grams[i], grams[j]) >= at:
                parent[root(j)] = root(i)
    clusters: dict[int, list[InboxItem]] = {}
    for i, item in enumerate(items):
        clusters.setdefault(root(i), []).append(item)
    groups = [Group(sorted(found, key=lambda x: (x.received_at, x.id), reverse=True)) for found in clusters.values()]
    return sorted(groups, key=lambda g: (-g.size, -g.sample.received_at.timestamp(), -g.sample.id))


def unanswered(session: Session, now: datetime, days: int = 30, limit: int = 1000) -> list[InboxItem]:
    """The questions of the last ``days`` the bot had no answer for (default and "did you mean"), any state."""
    query = (
        select(InboxItem)
        .where(InboxItem.reason.in_((DEFAULT, SUGGEST)), InboxItem.received_at >= now - timedelta(days=days))
        .order_by(InboxItem.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
