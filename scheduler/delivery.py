"""The one outbound loop: claim → call → record, for every send (a post's channels and the bot's outbox).

Each turn claims up to ``channel.batch`` ready rows and commits (so a crash leaves them "sending", for
``ledger.recover``), calls WeChat through the channel, then records every outcome with the one retry policy
(``errors.decide``) and commits. A row whose error is transient waits for its own retry time (``not_before``)
while the loop goes on with the others; it is picked up again by a later turn once that time has come.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import zip_longest

from sqlalchemy.orm import Session, sessionmaker

from posts.clock import Clock
from scheduler import errors
from scheduler.channels import Channel
from scheduler.rows import Rows
from scheduler.wechat_api import WeChatApi


def run(
    sessions: sessionmaker[Session],
    api: WeChatApi,
    channel: Channel,
    rows: Rows,
    clock: Clock,
    *,
    alive: Callable[[], bool] = lambda: True,
    advance: Callable[[int], None] = lambda _n: None,
    limit: int | None = None,
) -> int:
    """Send every row of ``rows`` that is ready, turn after turn, until none is; returns the rows claimed.

    ``alive`` is asked between turns (the lease, a stop); ``advance(n)`` hears how many recipients finished;
    ``limit`` stops after claiming that many rows.
    """
    claimed = 0
    while alive() and (limit is None or claimed < limit):
        if api.broker is not None:
            api.broker.token()  # a refresh is a write: before this turn holds SQLite's write lock
        with sessions() as session:
            size = channel.batch if limit is None else min(channel.batch, limit - claimed)
            ids = rows.ready(session, clock(), size)
            if not ids:
                return claimed
            items = rows.claim(session, ids, clock())
            session.commit()
            if not items:  # another pass took them
                continue
            outcomes = channel.send(api, items)
            now = clock()
            finished = 0
            for item, outcome in zip_longest(items, outcomes):
                if outcome is None:
                    rows.release(session, item)
                    continue
                decision = None
                if outcome.error is not None:
                    decision = errors.decide(
                        outcome.error,
                        deduplicated=channel.deduplicated,
                        attempts=item.attempts if channel.retried else errors.MAX_ATTEMPTS,
                        now=now,
                    )
                finished += rows.record(session, item, outcome, decision, now)
            session.commit()
        claimed += len(items)
        advance(finished)
    return claimed
