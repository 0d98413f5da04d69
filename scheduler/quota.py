"""Daily API quotas: what was used today (api_usage table) and what the planner may still spend."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from posts import capabilities, ledger, limits
from posts.coordination import ApiUsage
from posts.settings import Settings
from posts.timing import beijing_day, beijing_day_start
from scheduler.planner import CUSTOM, MASS_SEND, MASS_SENDALL, TEMPLATE, Account
from scheduler.wechat_api import MASS_PREVIEW

DAILY_LIMITS: dict[str, int] = {
    CUSTOM: 500_000,
    TEMPLATE: 100_000,
    MASS_SEND: 100,
    MASS_SENDALL: 100,
    MASS_PREVIEW: limits.MASS_PREVIEW_PER_DAY,
}
"""Documented defaults for a new account (reference §4.13); WeChat raises them with the follower count."""


def used_today(session: Session, now: datetime) -> dict[str, int]:
    day = beijing_day(now)
    return dict(session.execute(select(ApiUsage.path, ApiUsage.count).where(ApiUsage.day == day)).all())


def add_usage(session: Session, calls: Mapping[str, int], now: datetime) -> None:
    """Add calls to today's counters (one row per path and day)."""
    day = beijing_day(now)
    for path, count in calls.items():
        if not count:
            continue
        changed = session.execute(
            update(ApiUsage).where(ApiUsage.day == day, ApiUsage.path == path).values(count=ApiUsage.count + count)
        ).rowcount  # type: ignore[attr-defined]
        if not changed:
            try:
                with session.begin_nested():
                    session.add(ApiUsage(day=day, path=path, count=count))
            except IntegrityError:
                session.execute(
                    update(ApiUsage)
                    .where(ApiUsage.day == day, ApiUsage.path == path)
                    .values(count=ApiUsage.count + count)
                )


def exhaust(session: Session, path: str, now: datetime) -> None:
    """WeChat answered 45009: nothing more on this path today."""
    limit = DAILY_LIMITS.get(path, 0)
    add_usage(session, {path: max(limit - used_today(session, now).get(path, 0), 1)}, now)


def template_id(settings: Settings, purpose: str | None) -> str | None:
    """The template configured for ``purpose`` (wechat.templates.<purpose>), if any: never a default."""
    spec = settings.wechat.templates.get(purpose or "")
    return spec.get("template_id") if spec else None


def account(
    session: Session,
    settings: Settings,
    now: datetime,
    limits: Mapping[str, int] | None = None,
    purpose: str | None = None,
) -> Account:
    """The account's state for the planner: type, the template of the post's purpose, calls left, sendalls today."""
    used = used_today(session, now)
    limits = DAILY_LIMITS if limits is None else limits
    remaining = {path: max(limit - used.get(path, 0), 0) for path, limit in limits.items()}
    return Account(
        account_type=settings.wechat.account_type,
        template_id=template_id(settings, purpose),
        remaining=remaining,
        mass_sends_today=ledger.sendalls_since(session, beijing_day_start(now)),
        unavailable=frozenset(capabilities.current(session).missing()),
    )
