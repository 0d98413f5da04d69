"""`wxbot followers sync`: page through user/get (next_openid) and user/info/batchget (100 a call) into the database.

The cursor row moves after each page is stored: a stopped run resumes at the page it was on, and importing the
same followers again changes nothing (posts/follower_import.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from posts import follower_import, limits
from posts.clock import Clock, system_clock
from scheduler.wechat_api import WeChatApi

Progress = Callable[[int, int], None]
"""(followers seen so far, total WeChat reports)."""


@dataclass(frozen=True)
class SyncResult:
    total: int
    seen: int
    """Followers listed so far in this run (a resumed run counts what it did before)."""
    imported: int
    """Followers new to the database, in this run."""
    subscriptions: int
    """Therapy subscriptions made from tags by this call."""
    resumed: bool
    pages: int


def sync(
    sessions: sessionmaker[Session],
    api: WeChatApi,
    clock: Clock = system_clock,
    *,
    progress: Progress | None = None,
    restart: bool = False,
    max_pages: int | None = None,
) -> SyncResult:
    """Import every follower WeChat lists; ``max_pages`` stops early (the cursor keeps the place)."""
    with sessions() as session:
        row = follower_import.cursor(session, clock(), restart=restart)
        session.commit()
        run_id, next_openid, resumed = row.id, row.next_openid, bool(row.next_openid or row.seen)
        total, seen, imported = row.total, row.seen, row.imported
        tags = follower_import.tag_therapies(session)
    made = pages = 0
    while max_pages is None or pages < max_pages:
        page = api.followers_page(next_openid)
        openids = [str(o) for o in ((page.get("data") or {}).get("openid") or [])]
        total = int(page.get("total", total))
        if not openids:
            break
        added = 0
        with sessions() as session:
            for start in range(0, len(openids), limits.USER_BATCHGET_MAX):
                chunk = openids[start : start + limits.USER_BATCHGET_MAX]
                infos = api.users_info(chunk)
                new, subs = follower_import.import_page(session, infos, tags, clock())
                added, made = added + new, made + subs
            seen, imported = seen + len(openids), imported + added
            next_openid = str(page.get("next_openid") or "")
            cursor = session.get(follower_import.FollowerSync, run_id)
            assert cursor is not None
            cursor.next_openid, cursor.total, cursor.seen, cursor.imported = next_openid, total, seen, imported
            cursor.updated_at = clock()
            session.commit()
        pages += 1
        if progress is not None:
            progress(seen, total)
        if not next_openid or (len(openids) < limits.USER_LIST_PAGE_MAX and seen >= total):
            break
    else:
        return SyncResult(total, seen, imported, made, resumed, pages)
    with sessions() as session:
        cursor = session.get(follower_import.FollowerSync, run_id)
        assert cursor is not None
        cursor.state, cursor.finished_at, cursor.total = "done", clock(), total
        session.commit()
    if progress is not None:
        progress(seen, total)
    return SyncResult(total, seen, imported, made, resumed, pages)
