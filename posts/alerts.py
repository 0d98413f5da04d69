"""Operator alerts: what the product asks an operator to act on, one row per kind and local day (operator_alert).

The scheduler raises them (its daily review check, scheduler.runner); `wxbot alerts list` shows them, and the
console can later. Raising twice for the same kind and day changes nothing, so any number of scheduler processes
(or restarts) raise a day's alert once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from posts.catalog import Catalog
from posts.models import OperatorAlert

REVIEW_OVERDUE = "review_overdue"
KINDS = (REVIEW_OVERDUE,)


@dataclass(frozen=True)
class Raised:
    """The outcome of one check: the alert (new or the day's existing one), or None when nothing was due."""

    alert: OperatorAlert | None
    new: bool


def raise_once(
    session: Session, kind: str, day: date, message: str, details: list[dict[str, str]], now: datetime
) -> Raised:
    """The ``kind`` alert for ``day``: written if the day has none yet (the caller commits)."""
    found = session.scalars(select(OperatorAlert).where(OperatorAlert.kind == kind, OperatorAlert.day == day)).first()
    if found is not None:
        return Raised(found, new=False)
    alert = OperatorAlert(kind=kind, day=day, message=message, details=details, raised_at=now)
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:  # another process raised it in the meantime
        found = session.scalars(select(OperatorAlert).where(OperatorAlert.kind == kind, OperatorAlert.day == day)).one()
        return Raised(found, new=False)
    return Raised(alert, new=True)


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


def recent(session: Session, limit: int = 30, kind: str | None = None) -> list[OperatorAlert]:
    """The latest alerts, newest first."""
    query = select(OperatorAlert).order_by(OperatorAlert.day.desc(), OperatorAlert.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(OperatorAlert.kind == kind)
    return list(session.scalars(query))
