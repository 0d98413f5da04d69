"""Followers an account already had: rows for the users WeChat lists that the bot never saw follow.

`wxbot followers sync` (scheduler/followers_sync.py) pages through user/get and user/info/batchget and hands each
page here; the cursor row (FollowerSync) moves only after a page is stored, so a stopped run resumes, and a
repeat changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posts.account_models import FollowerSync
from posts.models import Follower, Subscription
from posts.queue import TherapyTag

SOURCE = "sync"


def cursor(session: Session, now: datetime, restart: bool = False) -> FollowerSync:
    """The unfinished run to resume, or a new one (``restart``: the unfinished one is closed and a new one begun)."""
    running = session.scalars(select(FollowerSync).where(FollowerSync.state == "running")).first()
    if running is not None and restart:
        running.state, running.finished_at = "abandoned", now
        running = None
    if running is None:
        running = FollowerSync(state="running", next_openid="", started_at=now, updated_at=now)
        session.add(running)
        session.flush()
    return running


def tag_therapies(session: Session) -> dict[int, str]:
    """WeChat tag id → therapy, for the tags that mirror therapy subscriptions."""
    return dict(session.execute(select(TherapyTag.tag_id, TherapyTag.therapy_key)).all())


def import_page(
    session: Session, infos: Iterable[Mapping[str, Any]], tags: Mapping[int, str], now: datetime
) -> tuple[int, int]:
    """Store user/info records; returns (followers new to the database, subscriptions made from their tags).

    A follower the database knows keeps its row (the bot's record of follows and interactions wins); a new one
    is stored as following since its subscribe_time, with a subscription for each therapy tag it carries.
    """
    infos = [i for i in infos if i.get("openid")]
    known = {
        f.openid: f
        for f in session.scalars(select(Follower).where(Follower.openid.in_([str(i["openid"]) for i in infos])))
    }
    added = subscribed = 0
    for info in infos:
        openid = str(info["openid"])
        following = int(info.get("subscribe", 0)) == 1
        follower = known.get(openid)
        if follower is None:
            since = info.get("subscribe_time")
            at = datetime.fromtimestamp(int(since), UTC) if since else None
            follower = Follower(
                openid=openid,
                subscribed=following,
                first_followed_at=at,
                last_followed_at=at,
                scene_key=(str(info.get("qr_scene_str") or "") or None),
                created_at=now,
            )
            session.add(follower)
            session.flush()
            known[openid] = follower
            added += 1
        elif following and not follower.subscribed and follower.last_unfollowed_at is None:
            follower.subscribed = True
        for tag_id in info.get("tagid_list") or []:
            therapy = tags.get(int(tag_id))
            if therapy is None:
                continue
            exists = session.scalars(
                select(Subscription.id).where(
                    Subscription.follower_id == follower.id, Subscription.therapy_key == therapy
                )
            ).first()
            if exists is None:
                session.add(
                    Subscription(
                        follower_id=follower.id,
                        therapy_key=therapy,
                        active=True,
                        source=SOURCE,
                        created_at=now,
                        changed_at=now,
                    )
                )
                subscribed += 1
    session.flush()
    return added, subscribed
