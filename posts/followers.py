"""Followers and their therapy subscriptions: follow, unfollow, interactions, subscribe, per-scene counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posts.interactions import Interaction, columns
from posts.models import Follower, InboundEvent, Subscription
from posts.script import TRADITIONAL, script_of


def find(session: Session, openid: str) -> Follower | None:
    return session.scalars(select(Follower).where(Follower.openid == openid)).one_or_none()


def ensure(session: Session, openid: str, now: datetime) -> Follower:
    """The follower row for ``openid``, created (as following) if WeChat's push is the first we hear of them."""
    follower = find(session, openid)
    if follower is None:
        follower = Follower(openid=openid, subscribed=True, created_at=now)
        session.add(follower)
        session.flush()
    return follower


def record_follow(session: Session, openid: str, now: datetime, scene_key: str | None = None) -> tuple[Follower, bool]:
    """Mark ``openid`` as following; returns the follower and whether they had followed before (a return)."""
    follower = find(session, openid)
    returning = follower is not None and follower.first_followed_at is not None
    if follower is None:
        follower = Follower(openid=openid, created_at=now)
        session.add(follower)
    follower.subscribed = True
    if follower.first_followed_at is None:
        follower.first_followed_at = now
    if follower.scene_key is None and scene_key:
        follower.scene_key = scene_key
    follower.last_followed_at = now
    session.flush()
    return follower, returning


def record_unfollow(session: Session, openid: str, now: datetime) -> Follower:
    """Mark ``openid`` inactive, every customer-service window closed; history and subscriptions are kept."""
    follower = ensure(session, openid, now)
    follower.subscribed = False
    follower.last_unfollowed_at = now
    follower.last_message_at = follower.last_event_at = None  # WeChat closes the windows (posts.interactions)
    return follower


def script_for(session: Session, openid: str) -> str:
    """The script the follower reads ("s" or "t", posts.script); "s" for someone not recorded yet."""
    return script_of(session.scalar(select(Follower.script).where(Follower.openid == openid)))


def scripts_for(session: Session, openids: Iterable[str]) -> dict[str, str]:
    """The followers among ``openids`` who read Traditional, mapped to "t" (everyone else reads Simplified)."""
    wanted = list(dict.fromkeys(openids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(Follower.openid).where(Follower.openid.in_(chunk), Follower.script == TRADITIONAL)
        found.update((openid, TRADITIONAL) for openid in session.scalars(query))
    return found


def choose_script(session: Session, openid: str, script: str, now: datetime) -> Follower:
    """Record the script the follower chose (or a QR scene preset)."""
    follower = ensure(session, openid, now)
    follower.script = script_of(script)
    return follower


def touch(follower: Follower, now: datetime, interaction: Interaction) -> None:
    """Remember an interaction: the last of any kind, and the last of its window class (posts.interactions)."""
    for column, value in columns(interaction, now).items():
        if value is not None:
            setattr(follower, column, value)


def subscription(session: Session, follower: Follower, therapy_key: str) -> Subscription | None:
    return session.scalars(
        select(Subscription).where(Subscription.follower_id == follower.id, Subscription.therapy_key == therapy_key)
    ).one_or_none()


def subscribe(session: Session, follower: Follower, therapy_key: str, now: datetime, source: str = "keyword") -> bool:
    """Subscribe to a therapy's updates; False if the subscription was already active."""
    row = subscription(session, follower, therapy_key)
    if row is not None and row.active:
        return False
    if row is None:
        row = Subscription(follower_id=follower.id, therapy_key=therapy_key, created_at=now)
        session.add(row)
    row.active = True
    row.source = source
    row.changed_at = now
    session.flush()
    return True


def unsubscribe(session: Session, follower: Follower, therapy_key: str, now: datetime) -> bool:
    """End a subscription (the row is kept, inactive); False if there was no active one."""
    row = subscription(session, follower, therapy_key)
    if row is None or not row.active:
        return False
    row.active = False
    row.changed_at = now
    return True


def active_therapies(session: Session, follower: Follower) -> list[str]:
    """Therapy keys the follower is subscribed to, oldest subscription first."""
    return list(
        session.scalars(
            select(Subscription.therapy_key)
            .where(Subscription.follower_id == follower.id, Subscription.active.is_(True))
            .order_by(Subscription.created_at, Subscription.id)
        )
    )


@dataclass(frozen=True)
class SceneCounts:
    follows: int = 0
    scans: int = 0
    following: int = 0
    """Followers this scene brought who still follow."""


def scene_counts(session: Session) -> dict[str, SceneCounts]:
    """Per QR scene: follows and scans (from the inbound log) and followers it brought who still follow."""
    follows = _pairs(
        session.execute(
            select(InboundEvent.key, func.count())
            .where(InboundEvent.event == "subscribe", InboundEvent.key.like("qrscene\\_%", escape="\\"))
            .group_by(InboundEvent.key)
        )
    )
    scans = _pairs(
        session.execute(
            select(InboundEvent.key, func.count()).where(InboundEvent.event == "scan").group_by(InboundEvent.key)
        )
    )
    following = _pairs(
        session.execute(
            select(Follower.scene_key, func.count())
            .where(Follower.scene_key.is_not(None), Follower.subscribed.is_(True))
            .group_by(Follower.scene_key)
        )
    )
    by_scene: dict[str, int] = {str(k).removeprefix("qrscene_"): n for k, n in follows.items()}
    keys = set(by_scene) | {str(k) for k in scans} | {str(k) for k in following}
    return {key: SceneCounts(by_scene.get(key, 0), scans.get(key, 0), following.get(key, 0)) for key in sorted(keys)}


def _pairs(result: Any) -> dict[Any, int]:
    return {key: int(count) for key, count in result}
