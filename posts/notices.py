"""Subscribe-notice consents (订阅通知): what each follower allowed, per notice template, and its use by sends.

The bot records what WeChat pushes (``subscribe_msg_popup_event``: accept or reject in a popup;
``subscribe_msg_change_event``: turned off or on in WeChat's settings; ``subscribe_msg_sent_event``: the result of
a send); the scheduler consumes a consent for each notice it sends. A one-time consent allows exactly one send:
:func:`consume` takes it with a conditional update, so two senders (or a retry) never send twice on one consent.
With ``[wechat.notices] long_term`` a consent is not used up by a send. Every recording is keyed by the push it came
from, so a redelivered event records nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from posts import limits
from posts.models import InboundEvent, NoticeConsent
from posts.queue import Delivery

ACCEPTED, USED, GONE, WITHDRAWN, REJECTED = "accepted", "used", "gone", "withdrawn", "rejected"
ACCEPT, REJECT = "accept", "reject"
CONSUME_TRIES = 5
GONE_REASON = (
    f"订阅通知未授权 ({limits.NOTICE_CONSENT_ERRCODE}): the follower refused or has no consent left for this "
    "notice; the consent is marked gone and the notice is not retried"
)
NO_CONSENT_REASON = (
    "没有可用的订阅通知授权: the follower's consent was used by another send since this post was planned; "
    "reachable when they next accept the notice or write to the account"
)


def _add(session: Session, row: NoticeConsent) -> bool:
    """Insert ``row`` unless its grant_key was recorded already (a redelivery); True when inserted."""
    if row.grant_key and session.scalar(select(NoticeConsent.id).where(NoticeConsent.grant_key == row.grant_key)):
        return False
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def record_popup(
    session: Session, openid: str, template_id: str, status: str, scene: int | None, key: str, now: datetime
) -> bool:
    """A popup decision: ``accept`` grants one consent, ``reject`` is kept for the history. True if recorded."""
    state = ACCEPTED if status == ACCEPT else REJECTED
    row = NoticeConsent(
        openid=openid, template_id=template_id, state=state, scene=scene, grant_key=key, granted_at=now, changed_at=now
    )
    return _add(session, row)


def record_change(session: Session, openid: str, template_id: str, status: str, key: str, now: datetime) -> int:
    """A change in WeChat's settings: ``reject`` withdraws every open consent of this template (returns how many);
    ``accept`` (a long-term notice turned back on) grants one (returns 1, or 0 for a redelivery)."""
    if status == ACCEPT:
        row = NoticeConsent(
            openid=openid, template_id=template_id, state=ACCEPTED, grant_key=key, granted_at=now, changed_at=now
        )
        return int(_add(session, row))
    marker = NoticeConsent(
        openid=openid, template_id=template_id, state=WITHDRAWN, grant_key=key, granted_at=now, changed_at=now
    )
    if not _add(session, marker):
        return 0
    return session.execute(
        update(NoticeConsent)
        .where(
            NoticeConsent.openid == openid, NoticeConsent.template_id == template_id, NoticeConsent.state == ACCEPTED
        )
        .values(state=WITHDRAWN, changed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]


def consented(session: Session, template_id: str, openids: Iterable[str]) -> set[str]:
    """Which of ``openids`` hold at least one open consent for ``template_id``."""
    found: set[str] = set()
    wanted = list(dict.fromkeys(openids))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            session.scalars(
                select(NoticeConsent.openid)
                .where(
                    NoticeConsent.template_id == template_id,
                    NoticeConsent.state == ACCEPTED,
                    NoticeConsent.openid.in_(chunk),
                )
                .distinct()
            )
        )
    return found


def open_consents(session: Session, openid: str, template_id: str) -> int:
    """How many open consents the follower holds for the template (one-time consents each allow one send)."""
    return len(
        session.scalars(
            select(NoticeConsent.id).where(
                NoticeConsent.openid == openid,
                NoticeConsent.template_id == template_id,
                NoticeConsent.state == ACCEPTED,
            )
        ).all()
    )


def consume(
    session: Session, openid: str, template_id: str, delivery_id: int, now: datetime, *, long_term: bool = False
) -> int | None:
    """Take one consent for the send of ``delivery_id``; its id, or None when the follower has none left.

    One-time: the oldest open consent moves accepted → used by a conditional update, so of two concurrent takers
    only one wins it (the other tries the next, or gets None). Long-term: the consent stays open.
    """
    for _ in range(CONSUME_TRIES):
        candidate = session.scalar(
            select(NoticeConsent.id)
            .where(
                NoticeConsent.openid == openid,
                NoticeConsent.template_id == template_id,
                NoticeConsent.state == ACCEPTED,
            )
            .order_by(NoticeConsent.id)
            .limit(1)
        )
        if candidate is None:
            return None
        if long_term:
            return int(candidate)
        won = session.execute(
            update(NoticeConsent)
            .where(NoticeConsent.id == candidate, NoticeConsent.state == ACCEPTED)
            .values(state=USED, delivery_id=delivery_id, changed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if won:
            return int(candidate)
    return None


def release(session: Session, delivery_id: int, now: datetime) -> int:
    """WeChat surely did not deliver (busy, bad field, a retry to come): the consent used for it is open again."""
    return session.execute(
        update(NoticeConsent)
        .where(NoticeConsent.delivery_id == delivery_id, NoticeConsent.state == USED)
        .values(state=ACCEPTED, delivery_id=None, changed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]


def mark_gone(session: Session, openid: str, template_id: str, delivery_id: int, now: datetime) -> int:
    """WeChat answered 43101: the consent used for this send (and any other it still holds open for the template,
    which WeChat no longer honours) is gone."""
    return session.execute(
        update(NoticeConsent)
        .where(
            NoticeConsent.openid == openid,
            NoticeConsent.template_id == template_id,
            (NoticeConsent.delivery_id == delivery_id) | (NoticeConsent.state == ACCEPTED),
            NoticeConsent.state.in_((USED, ACCEPTED)),
        )
        .values(state=GONE, changed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]


def record_sent(
    session: Session, openid: str, template_id: str, msg_id: str, errcode: str, status: str, now: datetime
) -> int:
    """``subscribe_msg_sent_event``: WeChat's word on one notice. Success confirms the delivery; a failure marks
    it failed with WeChat's status. Matched by MsgID, else the follower's latest unconfirmed notice. Returns rows
    changed (0 for another system's send, or a redelivery)."""
    query = select(Delivery).where(
        Delivery.openid == openid,
        Delivery.channel == "notice",
        Delivery.state == "sent",
        Delivery.confirmed_at.is_(None),
    )
    row = session.scalar(query.where(Delivery.msg_id == msg_id)) if msg_id else None
    if row is None:
        row = session.scalar(query.where(Delivery.msg_id.is_(None)).order_by(Delivery.sent_at.desc()).limit(1))
    if row is None:
        return 0
    if errcode.strip() in ("", "0"):
        row.confirmed_at = now
    else:
        row.state, row.errcode = "failed", int(errcode) if errcode.strip().lstrip("-").isdigit() else None
        row.reason = f"subscribe_msg_sent_event {errcode} {status}".strip()
        if row.errcode == limits.NOTICE_CONSENT_ERRCODE:
            mark_gone(session, openid, template_id, row.id, now)
    return 1


SENT_EVENT = "subscribe_msg_sent_event"


def reconcile(session: Session, since: datetime) -> int:
    """Apply the ``subscribe_msg_sent_event`` results the bot logged before the sender had recorded the send (the
    event can overtake the answer): the log keeps ``<MsgID>`` or ``<MsgID>!<ErrorCode>``. Returns rows changed."""
    open_rows = session.scalars(
        select(Delivery).where(
            Delivery.channel == "notice",
            Delivery.state == "sent",
            Delivery.confirmed_at.is_(None),
            Delivery.msg_id.is_not(None),
            Delivery.sent_at >= since,
        )
    ).all()
    changed = 0
    for row in open_rows:
        logged = session.execute(
            select(InboundEvent.key, InboundEvent.received_at)
            .where(
                InboundEvent.event == SENT_EVENT,
                or_(InboundEvent.key == row.msg_id, InboundEvent.key.like(f"{row.msg_id}!%")),
            )
            .limit(1)
        ).first()
        if logged is None:
            continue
        key, at = logged
        if key == row.msg_id:
            row.confirmed_at = at
        else:
            code = key.split("!", 1)[1]
            row.state, row.errcode = "failed", int(code) if code.lstrip("-").isdigit() else None
            row.reason = f"subscribe_msg_sent_event {code}"
            if row.errcode == limits.NOTICE_CONSENT_ERRCODE:
                consent = session.scalar(select(NoticeConsent).where(NoticeConsent.delivery_id == row.id))
                if consent is not None:
                    mark_gone(session, row.openid, consent.template_id, row.id, at)
        changed += 1
    return changed
