"""Audiences of a post: parse `all | therapy:<key> | scene:<key> | tag:<id> | test:<openid,...>` and list recipients."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from posts.models import Follower, Subscription
from posts.queue import TherapyTag

KINDS = ("all", "therapy", "scene", "tag", "test")


class AudienceError(ValueError):
    """An audience the operator cannot use, phrased as one line."""


@dataclass(frozen=True)
class Audience:
    kind: str
    value: str = ""

    def __str__(self) -> str:
        return self.kind if self.kind == "all" else f"{self.kind}:{self.value}"

    @property
    def openids(self) -> tuple[str, ...]:
        """The openids of a test audience."""
        return tuple(o.strip() for o in self.value.split(",") if o.strip()) if self.kind == "test" else ()


@dataclass(frozen=True)
class Recipient:
    """What the planner needs to know about one follower."""

    openid: str
    follower_id: int | None
    subscribed: bool = True
    last_interaction_at: datetime | None = None
    last_interaction_kind: str | None = None
    last_message_at: datetime | None = None
    """The last message they sent (opens the 48-hour window, posts.interactions)."""
    last_event_at: datetime | None = None
    """The last follow, QR scan or click/scancode_* tap (opens the 1-minute window)."""
    script: str = "s"
    """The script the follower reads (posts.script): a push is rendered in it."""


def parse_audience(text: str, therapies: Iterable[str] = (), scenes: Iterable[str] | None = None) -> Audience:
    """Validate an audience string against the known therapies (and scenes, when given)."""
    text = text.strip()
    if text == "all":
        return Audience("all")
    kind, _, value = text.partition(":")
    value = value.strip()
    if kind not in KINDS or not value:
        raise AudienceError(
            f"unknown audience {text!r}: use all, therapy:<key>, scene:<key>, tag:<id> or test:<openid,...>"
        )
    if kind == "therapy" and value not in set(therapies):
        raise AudienceError(f"unknown therapy {value!r} (known: {', '.join(sorted(therapies)) or 'none'})")
    if kind == "scene" and scenes is not None and value not in set(scenes):
        raise AudienceError(f"unknown QR scene {value!r}")
    if kind == "tag" and not value.isdigit():
        raise AudienceError(f"tag audience needs a numeric tag id, got {value!r}")
    audience = Audience(kind, value)
    if kind == "test" and not audience.openids:
        raise AudienceError("test audience needs at least one openid")
    return audience


_COLUMNS = (
    Follower.openid,
    Follower.id,
    Follower.subscribed,
    Follower.last_interaction_at,
    Follower.last_interaction_kind,
    Follower.last_message_at,
    Follower.last_event_at,
    Follower.script,
)
_Row = tuple[str, int, bool, datetime | None, str | None, datetime | None, datetime | None, str]


def _query(audience: Audience, session: Session) -> Select[_Row] | None:
    base = select(*_COLUMNS).where(Follower.subscribed.is_(True)).order_by(Follower.id)
    if audience.kind == "all":
        return base
    if audience.kind == "scene":
        return base.where(Follower.scene_key == audience.value)
    therapy = audience.value if audience.kind == "therapy" else None
    if audience.kind == "tag":
        therapy = session.scalar(select(TherapyTag.therapy_key).where(TherapyTag.tag_id == int(audience.value)))
        if therapy is None:
            return None
    return base.join(Subscription, Subscription.follower_id == Follower.id).where(
        Subscription.therapy_key == therapy, Subscription.active.is_(True)
    )


def recipients(
    session: Session, audience: Audience, tag_members: Callable[[int], list[str]] | None = None
) -> list[Recipient]:
    """Everyone the audience reaches, in follower order; a test audience keeps unknown openids (to report them).

    A tag that mirrors no therapy is read from WeChat through ``tag_members`` (the scheduler passes one).
    """
    if audience.kind == "test":
        wanted = list(dict.fromkeys(audience.openids))
        found = {row[0]: row for row in session.execute(select(*_COLUMNS).where(Follower.openid.in_(wanted)))}
        out = []
        for openid in wanted:
            row = found.get(openid)
            out.append(Recipient(*row) if row else Recipient(openid, None, subscribed=False))
        return out
    query = _query(audience, session)
    if query is None:
        if tag_members is None:
            raise AudienceError(f"tag {audience.value} mirrors no therapy; its members are only known to WeChat")
        members = tag_members(int(audience.value))
        rows = session.execute(select(*_COLUMNS).where(Follower.openid.in_(members), Follower.subscribed.is_(True)))
        return [Recipient(*row) for row in rows]
    return [Recipient(*row) for row in session.execute(query)]


def mass_tag_id(session: Session, audience: Audience) -> int | None:
    """The WeChat tag a mass send can target for this audience (None: everyone, or not possible)."""
    if audience.kind == "tag":
        return int(audience.value)
    if audience.kind == "therapy":
        return session.scalar(select(TherapyTag.tag_id).where(TherapyTag.therapy_key == audience.value))
    return None
