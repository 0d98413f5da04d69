"""Operator alerts: what the product asks an operator to act on, raised once per key (operator_alert).

The scheduler raises the daily review alert (one per kind and local day: its review check, scheduler.runner); the bot
raises an alert for WeChat's ``annual_renew`` and ``verify_expired`` events (one per expiry). `wxbot alerts list`
and `wxbot account check` show them, and so does the console. Raising twice with the same key changes nothing, so any
number of processes (or restarts, or WeChat's retries) raise an alert once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from posts.catalog import Catalog
from posts.models import OperatorAlert

REVIEW_OVERDUE = "review_overdue"
ANNUAL_RENEW = "annual_renew"
VERIFY_EXPIRED = "verify_expired"
KINDS = (REVIEW_OVERDUE, ANNUAL_RENEW, VERIFY_EXPIRED)
EXPLAINED = {
    ANNUAL_RENEW: "WeChat asks for the account's annual verification renewal (年审): renew it in the MP console "
    "before it lapses, or publishing, mass sends and notices stop",
    VERIFY_EXPIRED: "the account's verification expired (认证过期): publishing, mass sends, notices and templates "
    "stop until it is renewed; run `wxbot account check` after renewing",
}


@dataclass(frozen=True)
class Raised:
    """The outcome of one raise: the alert (new or the existing one with its key), or None when nothing was due."""

    alert: OperatorAlert | None
    new: bool


def _raise(
    session: Session,
    kind: str,
    dedup_key: str,
    message: str,
    now: datetime,
    day: date | None = None,
    details: list[Any] | None = None,
) -> Raised:
    found = session.scalars(select(OperatorAlert).where(OperatorAlert.dedup_key == dedup_key)).first()
    if found is not None:
        return Raised(found, new=False)
    alert = OperatorAlert(
        kind=kind, dedup_key=dedup_key, day=day, message=message, details=details or [], raised_at=now
    )
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:  # another process raised it in the meantime
        found = session.scalars(select(OperatorAlert).where(OperatorAlert.dedup_key == dedup_key)).one()
        return Raised(found, new=False)
    return Raised(alert, new=True)


def raise_alert(session: Session, kind: str, dedup_key: str, detail: str, now: datetime) -> bool:
    """Add an event's alert unless one with ``dedup_key`` exists; True when added (the caller commits)."""
    return _raise(session, kind, dedup_key, detail, now).new


def raise_once(
    session: Session, kind: str, day: date, message: str, details: list[dict[str, str]], now: datetime
) -> Raised:
    """The ``kind`` alert for ``day``: written if the day has none yet (the caller commits)."""
    return _raise(session, kind, f"{kind}:{day.isoformat()}", message, now, day=day, details=details)


def check_reviews(session: Session, catalog: Catalog, day: date, now: datetime) -> Raised:
    """Raise the day's review alert when content items are past their next_review date (Catalog.overdue_reviews)."""
    overdue = catalog.overdue_reviews(day)
    if not overdue:
        return Raised(None, new=False)
    details = [
        {
            "path": path,
            "next_review": review.next_review.isoformat(),
            "reviewed_on": review.reviewed_on.isoformat(),
            "reviewed_by": review.reviewed_by,
        }
        for path, review in overdue
    ]
    oldest = overdue[0][1].next_review
    message = (
        f"{len(overdue)} content item(s) past their next_review date (the longest since {oldest.isoformat()}): "
        "check them against their sources, then update reviewed_on and next_review (`wxbot content check`)"
    )
    return raise_once(session, REVIEW_OVERDUE, day, message, details, now)


def open_alerts(session: Session) -> Sequence[OperatorAlert]:
    """Alerts not yet acknowledged, oldest first."""
    return session.scalars(
        select(OperatorAlert).where(OperatorAlert.acknowledged_at.is_(None)).order_by(OperatorAlert.id)
    ).all()


def recent(session: Session, limit: int = 30, kind: str | None = None) -> list[OperatorAlert]:
    """The latest alerts, newest first."""
    query = select(OperatorAlert).order_by(OperatorAlert.raised_at.desc(), OperatorAlert.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(OperatorAlert.kind == kind)
    return list(session.scalars(query))
