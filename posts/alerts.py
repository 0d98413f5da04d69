"""Operator alerts: things the operator must act on, raised once per key (shown by `wxbot account check`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from posts.account_models import OperatorAlert

ANNUAL_RENEW = "annual_renew"
VERIFY_EXPIRED = "verify_expired"
EXPLAINED = {
    ANNUAL_RENEW: "WeChat asks for the account's annual verification renewal (年审): renew it in the MP console "
    "before it lapses, or publishing, mass sends and notices stop",
    VERIFY_EXPIRED: "the account's verification expired (认证过期): publishing, mass sends, notices and templates "
    "stop until it is renewed; run `wxbot account check` after renewing",
}


def raise_alert(session: Session, kind: str, dedup_key: str, detail: str, now: datetime) -> bool:
    """Add an alert unless one with ``dedup_key`` exists; True when added."""
    if session.scalars(select(OperatorAlert.id).where(OperatorAlert.dedup_key == dedup_key)).first() is not None:
        return False
    session.add(OperatorAlert(kind=kind, dedup_key=dedup_key, detail=detail, raised_at=now))
    session.flush()
    return True


def open_alerts(session: Session) -> Sequence[OperatorAlert]:
    """Alerts not yet acknowledged, oldest first."""
    return session.scalars(
        select(OperatorAlert).where(OperatorAlert.acknowledged_at.is_(None)).order_by(OperatorAlert.id)
    ).all()
