"""Therapy subscriptions mirrored to WeChat user tags: one tag per therapy, batches of ≤50, drift repair."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from posts.limits import TAG_BATCH_MAX_OPENIDS, TAG_NAME_MAX_CHARS
from posts.models import Follower, Subscription
from posts.queue import TherapyTag
from scheduler.wechat_api import WeChatApi

TAG_PREFIX = "订阅·"


def tag_name(therapy_name: str) -> str:
    return (TAG_PREFIX + therapy_name)[:TAG_NAME_MAX_CHARS]


def ensure_tag(session: Session, api: WeChatApi, therapy_key: str, therapy_name: str, now: datetime) -> int:
    """The tag id mirroring ``therapy_key``, creating (or adopting an existing same-named) tag on WeChat.

    Commits the new mapping at once: on SQLite an open write transaction would block the token broker.
    """
    row = session.get(TherapyTag, therapy_key)
    if row is not None:
        return row.tag_id
    name = tag_name(therapy_name)
    existing = api.tags()
    tag_id = existing[name] if name in existing else api.create_tag(name)
    session.add(TherapyTag(therapy_key=therapy_key, tag_id=tag_id, name=name, created_at=now))
    session.commit()
    return tag_id


def batched(openids: Iterable[str], size: int = TAG_BATCH_MAX_OPENIDS) -> list[list[str]]:
    items = list(openids)
    return [items[i : i + size] for i in range(0, len(items), size)]


def tag_users(api: WeChatApi, tag_id: int, openids: Iterable[str], add: bool = True) -> None:
    """Add (or remove) followers to (from) a tag, 50 a call."""
    for chunk in batched(openids):
        api.tag_users(tag_id, chunk, add=add)


def members(api: WeChatApi, tag_id: int) -> set[str]:
    """Every member of a tag, page after page: the one paging loop (audiences and reconcile use it)."""
    out: set[str] = set()
    next_openid = ""
    while True:
        batch, next_openid = api.tag_members_page(tag_id, next_openid)
        out.update(batch)
        if not batch or not next_openid:
            return out


@dataclass
class Drift:
    therapy: str
    tag_id: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def reconcile(
    session: Session, api: WeChatApi, therapies: dict[str, str], now: datetime, apply: bool = True
) -> list[Drift]:
    """Make every therapy tag's members equal the active subscribers who follow; returns what differed."""
    out = []
    for key, name in sorted(therapies.items()):
        tag_id = ensure_tag(session, api, key, name, now)
        wanted = set(
            session.scalars(
                select(Follower.openid)
                .join(Subscription, Subscription.follower_id == Follower.id)
                .where(Subscription.therapy_key == key, Subscription.active.is_(True), Follower.subscribed.is_(True))
            )
        )
        actual = members(api, tag_id)
        drift = Drift(key, tag_id, sorted(wanted - actual), sorted(actual - wanted))
        if apply:
            tag_users(api, tag_id, drift.added, add=True)
            tag_users(api, tag_id, drift.removed, add=False)
        out.append(drift)
    return out
