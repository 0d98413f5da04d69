"""Each follower's mass-send budget this natural month (Beijing): 4 received at most on a service account.

It counts what each follower received, whoever sent it, as far as the product can know: its own ledger (mass
deliveries sent and not failed by WeChat's job-finished event) plus every mass send made outside the product
that the account's MASSSENDJOBFINISH push revealed (a MsgID that is none of ours). WeChat does not say who
received an outside send, so it counts for every follower who followed before it arrived: the budget may be
low, never high, so a post is not planned for followers WeChat would filter out. When WeChat filtered every
recipient of one of our mass sends (its MASSSENDJOBFINISH: SentCount 0), those followers had used the month
already, sends we never saw included: they count as at the limit until the month renews.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posts import limits
from posts.models import Follower, InboundEvent
from posts.queue import Delivery, MassBatch
from posts.timing import beijing_month_start, beijing_next_month_start

MASS_JOB_EVENT = "masssendjobfinish"


def outside_sends(session: Session, since: datetime) -> list[datetime]:
    """When each mass send made outside the product since ``since`` finished (its MASSSENDJOBFINISH), oldest first."""
    ours = select(MassBatch.msg_id).where(MassBatch.msg_id.is_not(None))
    rows = session.execute(
        select(InboundEvent.key, func.min(InboundEvent.received_at))
        .where(
            InboundEvent.event == MASS_JOB_EVENT,
            InboundEvent.received_at >= since,
            InboundEvent.key.is_not(None),
            InboundEvent.key.not_in(ours),
        )
        .group_by(InboundEvent.key)
    ).all()
    return sorted(at for _key, at in rows)


def filtered_out(session: Session, since: datetime) -> set[str]:
    """Followers of our mass batches since ``since`` that WeChat's job-finished event says reached nobody."""
    batches = session.scalars(
        select(MassBatch).where(MassBatch.confirmed_at >= since, MassBatch.msg_id.is_not(None))
    ).all()
    nobody = [b.id for b in batches if (b.result or {}).get("TotalCount") and (b.result or {}).get("SentCount") == 0]
    if not nobody:
        return set()
    return set(session.scalars(select(Delivery.openid).where(Delivery.batch_id.in_(nobody))))


def received_this_month(session: Session, now: datetime, openids: Iterable[str] | None = None) -> dict[str, int]:
    """Mass sends each follower received this natural month (ours plus outside ones); only non-zero counts."""
    start = beijing_month_start(now)
    counts: Counter[str] = Counter(
        dict(
            session.execute(
                select(Delivery.openid, func.count())
                .where(Delivery.channel == "mass", Delivery.state == "sent", Delivery.sent_at >= start)
                .group_by(Delivery.openid)
            ).all()
        )
    )
    for openid in filtered_out(session, start):
        counts[openid] = max(counts[openid], limits.MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE)
    outside = outside_sends(session, start)
    if outside:
        query = select(Follower.openid, func.coalesce(Follower.first_followed_at, Follower.created_at)).where(
            Follower.subscribed.is_(True)
        )
        wanted = set(openids) if openids is not None else None
        for openid, followed in session.execute(query):
            if wanted is not None and openid not in wanted:
                continue
            after = len(outside) - bisect_left(outside, followed) if followed else len(outside)
            if after:
                counts[openid] += after
    return {openid: n for openid, n in counts.items() if n}


@dataclass(frozen=True)
class Budget:
    """One follower's month: mass sends received, left, and when the count renews."""

    received: int
    renews_at: datetime

    @property
    def left(self) -> int:
        return max(limits.MASS_SENDS_PER_FOLLOWER_MONTH_SERVICE - self.received, 0)


def budgets(session: Session, openids: Iterable[str], now: datetime) -> dict[str, Budget]:
    """The month budget of each of ``openids``."""
    wanted = list(openids)
    got = received_this_month(session, now, wanted)
    renew = beijing_next_month_start(now)
    return {openid: Budget(got.get(openid, 0), renew) for openid in wanted}
