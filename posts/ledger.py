"""The exactly-once ledger: one delivery row per (post, follower), claimed before the call, closed after it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from posts.models import Outbox
from posts.queue import Delivery, JobFinished, MassBatch, Post, PostEvent
from posts.sendtome_models import OperatorTestSend
from posts.timing import BEIJING, beijing_next_month_start

UNKNOWN_REASON = (
    "结果未知: the process stopped between sending and recording this custom message; WeChat does not "
    "deduplicate custom messages, so it is not resent automatically"
)

OUTBOX_UNKNOWN_REASON = (
    "结果未知: the process stopped mid-send; WeChat does not deduplicate custom messages: not resent"
)
SENT_OR_MAYBE = ("sent", "sending", "unknown")
"""Custom messages that count against a follower's window: sent, being sent, or possibly delivered."""


def record(session: Session, post: Post, actor: str, action: str, detail: str = "", *, at: datetime) -> None:
    """One line of the post's audit trail, dated ``at`` (the caller's clock), in the caller's transaction."""
    session.add(PostEvent(post_id=post.id, actor=actor, action=action, detail=detail, at=at))


def materialize(
    session: Session,
    post_id: int,
    rows: Iterable[tuple[str, int | None, str, str | None, str | None]],
    slices: Iterable[str],
) -> int:
    """Insert the plan: (openid, follower_id, channel, reason, slice_key) per follower; returns rows inserted."""
    batch_ids: dict[str, int] = {}
    for key in slices:
        batch = MassBatch(post_id=post_id, slice_key=key)
        session.add(batch)
        session.flush()
        batch_ids[key] = batch.id
    values = [
        {
            "post_id": post_id,
            "openid": openid,
            "follower_id": follower_id,
            "channel": channel,
            "batch_id": batch_ids.get(slice_key) if slice_key else None,
            "state": "undeliverable" if channel == "none" else "planned",
            "reason": reason,
            "attempts": 0,
        }
        for openid, follower_id, channel, reason, slice_key in rows
    ]
    for start in range(0, len(values), 5000):
        session.execute(Delivery.__table__.insert(), values[start : start + 5000])  # Core: no ORM overhead
    return len(values)


def claim(session: Session, ids: Sequence[int], now: datetime) -> list[Delivery]:
    """Move planned rows to "sending" (the caller commits before calling WeChat); returns the rows won."""
    if not ids:
        return []
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.state == "planned")
        .values(state="sending", claimed_at=now, attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return list(
        session.scalars(
            select(Delivery).where(Delivery.id.in_(ids), Delivery.state == "sending", Delivery.claimed_at == now)
        )
    )


def ready(session: Session, post_id: int, channel: str, now: datetime, limit: int) -> list[int]:
    """Ids of planned rows of one channel whose retry time (if any) has come."""
    query = (
        select(Delivery.id)
        .where(
            Delivery.post_id == post_id,
            Delivery.channel == channel,
            Delivery.state == "planned",
            or_(Delivery.not_before.is_(None), Delivery.not_before <= now),
        )
        .order_by(Delivery.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def postpone(session: Session, post_id: int, channel: str, until: datetime) -> None:
    """Every open row of one channel of a post waits until ``until`` (a daily quota used up); the rows of the
    current claim that were not called go back to planned afterwards and wait too."""
    session.execute(
        update(Delivery)
        .where(Delivery.post_id == post_id, Delivery.channel == channel, Delivery.state.in_(("planned", "sending")))
        .values(not_before=until)
        .execution_options(synchronize_session=False)
    )


def fail_channel(session: Session, post_id: int, channel: str, errcode: int | None, reason: str, *, but: int) -> None:
    """Every open row of one channel of a post fails with the same error (permanent for all of them)."""
    session.execute(
        update(Delivery)
        .where(
            Delivery.post_id == post_id,
            Delivery.channel == channel,
            Delivery.state.in_(("planned", "sending")),
            Delivery.id != but,
        )
        .values(state="failed", errcode=errcode, reason=reason)
        .execution_options(synchronize_session="fetch")
    )


def next_retry(session: Session, post_id: int) -> datetime | None:
    """When the post's earliest waiting row (planned, retry time not yet come) may be tried again."""
    return session.scalar(
        select(func.min(Delivery.not_before)).where(
            Delivery.post_id == post_id, Delivery.state == "planned", Delivery.not_before.is_not(None)
        )
    )


def ready_batches(session: Session, post_id: int, now: datetime, limit: int) -> list[int]:
    """Ids of a post's planned mass batches none of whose followers waits for a retry time."""
    waiting = select(Delivery.id).where(Delivery.batch_id == MassBatch.id, Delivery.not_before > now)
    return list(
        session.scalars(
            select(MassBatch.id)
            .where(MassBatch.post_id == post_id, MassBatch.state == "planned", ~waiting.exists())
            .order_by(MassBatch.id)
            .limit(limit)
        )
    )


def claim_batches(session: Session, ids: Sequence[int], now: datetime) -> list[MassBatch]:
    """Move planned batches (and their followers' rows) to "sending"; returns the batches won."""
    won = []
    for batch_id in ids:
        moved = session.execute(
            update(MassBatch)
            .where(MassBatch.id == batch_id, MassBatch.state == "planned")
            .values(state="sending", claimed_at=now, attempts=MassBatch.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not moved:
            continue
        session.execute(
            update(Delivery)
            .where(Delivery.batch_id == batch_id, Delivery.state == "planned")
            .values(state="sending", claimed_at=now, not_before=None)
            .execution_options(synchronize_session=False)
        )
        won.append(batch_id)
    if not won:
        return []
    query = select(MassBatch).where(MassBatch.id.in_(won)).order_by(MassBatch.id)
    return list(session.scalars(query.execution_options(populate_existing=True)))


def release_batch(session: Session, batch: MassBatch) -> None:
    """A claimed batch that was not called: back to planned with its followers' rows."""
    if batch.state != "sending":
        return
    batch.state, batch.attempts = "planned", max(batch.attempts - 1, 0)
    session.execute(
        update(Delivery)
        .where(Delivery.batch_id == batch.id, Delivery.state == "sending")
        .values(state="planned")
        .execution_options(synchronize_session=False)
    )


@dataclass
class Recovery:
    """What ``recover`` found left in "sending" by a process that stopped, per post."""

    requeued: Counter[int] = field(default_factory=Counter)
    """Template deliveries back to planned (resent with the same client_msg_id)."""
    unknown: Counter[int] = field(default_factory=Counter)
    """Custom deliveries now unknown (never resent automatically)."""
    batches: dict[int, list[str]] = field(default_factory=dict)
    """Mass batches back to planned (resent with the same clientmsgid), by slice key."""
    outbox_requeued: int = 0
    outbox_unknown: int = 0

    def detail(self, post_id: int) -> str:
        parts = []
        if self.requeued[post_id]:
            parts.append(f"{self.requeued[post_id]} template deliveries requeued (same client_msg_id)")
        if self.unknown[post_id]:
            parts.append(f"{self.unknown[post_id]} custom messages unknown, not resent")
        if self.batches.get(post_id):
            parts.append(f"mass batch {', '.join(self.batches[post_id])} requeued (same clientmsgid)")
        return "after a stop mid-send: " + "; ".join(parts)

    def posts(self) -> list[int]:
        return sorted(set(self.requeued) | set(self.unknown) | set(self.batches))

    def lines(self) -> list[str]:
        """One line per post, then the outbox: what the log says."""
        out = [f"post {post_id}: {self.detail(post_id)}" for post_id in self.posts()]
        if self.outbox_requeued or self.outbox_unknown:
            out.append(f"outbox: {self.outbox_requeued} tag changes requeued, {self.outbox_unknown} messages unknown")
        return out


def recover(session: Session, now: datetime, resend_within: timedelta) -> Recovery:
    """After a crash: rows left in "sending". Template rows claimed within ``resend_within`` go back to planned
    (resent with the same client_msg_id, which WeChat deduplicates); custom ones become "unknown" for the operator;
    mass batches go back to planned (the same clientmsgid: WeChat answers 45065 with the original msg_id). Each post
    concerned gets a "recovered" line in its history."""
    found = Recovery()
    recent = now - resend_within
    stuck = select(Delivery.id, Delivery.post_id, Delivery.channel, Delivery.claimed_at).where(
        Delivery.state == "sending", Delivery.channel != "mass"
    )
    requeue, unknown = [], []
    for row_id, post_id, channel, claimed_at in session.execute(stuck):
        if channel == "template" and claimed_at is not None and claimed_at >= recent:
            requeue.append(row_id)
            found.requeued[post_id] += 1
        else:
            unknown.append(row_id)
            found.unknown[post_id] += 1
    for start in range(0, len(requeue), 500):
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(requeue[start : start + 500]))
            .values(state="planned")
            .execution_options(synchronize_session=False)
        )
    for start in range(0, len(unknown), 500):
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(unknown[start : start + 500]))
            .values(state="unknown", reason=UNKNOWN_REASON)
            .execution_options(synchronize_session=False)
        )
    for batch in session.scalars(select(MassBatch).where(MassBatch.state == "sending").order_by(MassBatch.id)):
        batch.state = "planned"
        found.batches.setdefault(batch.post_id, []).append(batch.slice_key)
        session.execute(
            update(Delivery)
            .where(Delivery.batch_id == batch.id, Delivery.state == "sending")
            .values(state="planned")
            .execution_options(synchronize_session=False)
        )
    found.outbox_requeued = session.execute(
        update(Outbox)
        .where(Outbox.status == "sending", Outbox.kind != "custom_message")
        .values(status="pending")
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    found.outbox_unknown = session.execute(
        update(Outbox)
        .where(Outbox.status == "sending")
        .values(status="unknown", last_error=OUTBOX_UNKNOWN_REASON)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    for post_id in found.posts():
        post = session.get(Post, post_id)
        if post is not None:
            record(session, post, "scheduler", "recovered", found.detail(post_id), at=now)
    return found


def has_work(session: Session, post_id: int, now: datetime) -> bool:
    """Whether a sending post has something to do now: a row whose retry time has come, or nothing left open
    (it only needs closing)."""
    if not open_rows(session, post_id):
        return True
    due = select(Delivery.id).where(
        Delivery.post_id == post_id,
        Delivery.state == "planned",
        or_(Delivery.not_before.is_(None), Delivery.not_before <= now),
    )
    return session.scalar(select(due.exists())) or False


def window_used(session: Session, since: dict[str, datetime]) -> dict[str, int]:
    """Customer-service messages each follower got since their window opened (ledger and outbox); an unknown one
    counts as used, since WeChat may have delivered it."""
    used: Counter[str] = Counter()
    openids = list(since)
    for start in range(0, len(openids), 500):
        chunk = openids[start : start + 500]
        rows = session.execute(
            select(Delivery.openid, func.coalesce(Delivery.sent_at, Delivery.claimed_at)).where(
                Delivery.openid.in_(chunk), Delivery.channel == "custom", Delivery.state.in_(SENT_OR_MAYBE)
            )
        ).all()
        rows += session.execute(
            select(Outbox.openid, Outbox.sent_at).where(
                Outbox.openid.in_(chunk), Outbox.kind == "custom_message", Outbox.status.in_(SENT_OR_MAYBE)
            )
        ).all()
        rows += session.execute(  # an operator's own test sends by customer-service message (posts/sendtome.py)
            select(OperatorTestSend.openid, OperatorTestSend.sent_at).where(
                OperatorTestSend.openid.in_(chunk),
                OperatorTestSend.channel == "custom",
                OperatorTestSend.state.in_(SENT_OR_MAYBE),
            )
        ).all()
        for openid, sent_at in rows:
            if openid and (sent_at is None or sent_at >= since[openid]):
                used[openid] += 1
    return dict(used)


def sendalls_since(session: Session, day_start: datetime) -> int:
    """Successful sendall calls (to everyone or a tag) since ``day_start``."""
    return (
        session.scalar(
            select(func.count())
            .select_from(MassBatch)
            .where(MassBatch.state == "sent", MassBatch.sent_at >= day_start, ~MassBatch.slice_key.like("list:%"))
        )
        or 0
    )


def open_rows(session: Session, post_id: int) -> int:
    """Rows still planned or sending (the post is not finished while any remain)."""
    return (
        session.scalar(
            select(func.count()).where(Delivery.post_id == post_id, Delivery.state.in_(("planned", "sending")))
        )
        or 0
    )


class BatchReport(NamedTuple):
    """One mass batch: what the API call said, and what WeChat's MASSSENDJOBFINISH counted (None: not yet)."""

    key: str
    state: str
    msg_id: str | None
    reason: str | None
    confirmed: bool = False
    total: int | None = None
    """TotalCount: followers the send was for."""
    accepted: int | None = None
    """FilterCount: left after WeChat's filtering (the month's 4, refusals)."""
    sent: int | None = None
    """SentCount: received."""
    errors: int | None = None

    @property
    def filtered(self) -> int | None:
        return None if self.total is None or self.accepted is None else max(self.total - self.accepted, 0)


@dataclass
class Report:
    """A post's delivery report: counts per state and channel, failures grouped by their reason, and WeChat's own
    word on what was received (its job-finished events) beside what the API calls answered."""

    states: Counter[str] = field(default_factory=Counter)
    channels: Counter[tuple[str, str]] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    batches: list[BatchReport] = field(default_factory=list)
    confirmed: int = 0
    received: Counter[str] = field(default_factory=Counter)
    """Per channel, received as WeChat says: custom messages its API accepted (no job event exists for them),
    template messages its TEMPLATESENDJOBFINISH confirmed, the SentCount of each mass job."""
    unconfirmed: Counter[str] = field(default_factory=Counter)
    """Per channel, recipients sent by the API whose job-finished event has not come yet."""

    @property
    def total(self) -> int:
        return sum(self.states.values())


def report(session: Session, post_id: int) -> Report:
    out = Report()
    rows = session.execute(
        select(Delivery.channel, Delivery.state, Delivery.reason, func.count(), func.count(Delivery.confirmed_at))
        .where(Delivery.post_id == post_id)
        .group_by(Delivery.channel, Delivery.state, Delivery.reason)
    )
    for channel, state, reason, count, confirmed in rows:
        out.states[state] += count
        out.channels[(channel, state)] += count
        out.confirmed += confirmed
        if reason and state in ("failed", "undeliverable", "unknown"):
            out.reasons[reason] += count
        if channel == "custom" and state == "sent":
            out.received["custom"] += count
        elif channel == "template" and state == "sent":
            out.received["template"] += confirmed
            out.unconfirmed["template"] += count - confirmed
    for batch in session.scalars(select(MassBatch).where(MassBatch.post_id == post_id).order_by(MassBatch.id)):
        result = batch.result or {}
        found = BatchReport(
            batch.slice_key,
            batch.state,
            batch.msg_id,
            batch.reason,
            confirmed=bool(result.get("Status")),
            total=result.get("TotalCount"),
            accepted=result.get("FilterCount"),
            sent=result.get("SentCount"),
            errors=result.get("ErrorCount"),
        )
        out.batches.append(found)
        if found.sent is not None:
            out.received["mass"] += found.sent
        elif batch.msg_id is not None:
            out.unconfirmed["mass"] += (
                session.scalar(select(func.count()).where(Delivery.batch_id == batch.id, Delivery.state == "sent")) or 0
            )
    return out


def final_status(rep: Report) -> str:
    """sent (everyone), partly_sent (some), failed (nobody) once no row is planned or sending."""
    sent = rep.states.get("sent", 0)
    if rep.total and sent == rep.total:
        return "sent"
    return "partly_sent" if sent else "failed"


MASS_SUCCESS = "send success"
TEMPLATE_SUCCESS = "success"
MASS_COUNTS = ("TotalCount", "FilterCount", "SentCount", "ErrorCount")


MONTH_FILTERED = (
    "本月群发已满 (WeChat filtered every recipient of this mass send: MASSSENDJOBFINISH sent 0 of {total}): they "
    "already had 4 mass sends this month, some sent outside the product; reachable on {renew} (Asia/Shanghai) or "
    "when they next write to the account"
)


def record_job_finished(session: Session, event: str, msg_id: str, fields: dict[str, str], now: datetime) -> int:
    """WeChat's TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH for ``msg_id`` (its ``MsgID``), as the bot received it.

    Kept as a ``job_finished`` row (a repeat of the same push changes nothing), then applied if the delivery or
    batch is known (else the tick's ``reconcile`` applies it later). Returns the deliveries changed.
    """
    known = session.scalar(select(JobFinished).where(JobFinished.event == event, JobFinished.msg_id == msg_id))
    if known is not None:
        return 0
    counts = {name: int(fields[name]) for name in MASS_COUNTS if str(fields.get(name, "")).strip().isdigit()}
    job = JobFinished(event=event, msg_id=msg_id, status=str(fields.get("Status", "")).strip(), counts=counts)
    job.received_at = now
    session.add(job)
    session.flush()
    return apply_job(session, job, now)


def apply_job(session: Session, job: JobFinished, now: datetime) -> int:
    """Apply one job-finished event to our ledger: success confirms; a failed template (``failed:user block``) or
    mass job (``send fail``, ``err(<code>)``) fails the deliveries with WeChat's status as the reason; a mass job
    that reached nobody (SentCount 0: WeChat filtered them all, the month's 4 used) makes them undeliverable. The
    post's history gets the counts, and a finished post's status follows."""
    if job.event == "templatesendjobfinish":
        rows = session.scalars(
            select(Delivery).where(Delivery.channel == "template", Delivery.msg_id == job.msg_id)
        ).all()
        if rows:
            job.applied_at = now
        changed = 0
        for row in rows:
            if row.state == "sent" and row.confirmed_at is None:
                _finish(row, job.status == TEMPLATE_SUCCESS, f"TEMPLATESENDJOBFINISH {job.status}", now)
                changed += 1
        return changed
    batch = session.scalar(select(MassBatch).where(MassBatch.msg_id == job.msg_id))
    if batch is None:
        return 0  # a send made outside the product (posts.mass_budget counts it), or our answer not yet recorded
    job.applied_at = now
    if (batch.result or {}).get("Status"):
        return 0
    ok = job.status == MASS_SUCCESS
    batch.result = {**(batch.result or {}), "Status": job.status, **job.counts}
    batch.confirmed_at = batch.confirmed_at or now
    total, sent = job.counts.get("TotalCount"), job.counts.get("SentCount")
    nobody = ok and bool(total) and sent == 0
    if not ok:
        batch.reason = f"MASSSENDJOBFINISH {job.status}"
    if nobody:
        renew = beijing_next_month_start(now).astimezone(BEIJING)
        batch.reason = MONTH_FILTERED.format(total=total, renew=f"{renew:%Y-%m-%d}")
    members = session.scalars(select(Delivery).where(Delivery.batch_id == batch.id, Delivery.state == "sent")).all()
    for row in members:
        if nobody:
            row.state, row.reason, row.confirmed_at = "undeliverable", batch.reason, now
        elif ok:
            row.confirmed_at = row.confirmed_at or now
        else:
            row.state, row.reason = "failed", batch.reason
    post = session.get(Post, batch.post_id)
    if post is not None:
        said = ", ".join(f"{name} {job.counts[name]}" for name in MASS_COUNTS if name in job.counts)
        record(session, post, "wechat", "job_finished", f"mass batch {batch.slice_key}: {job.status}; {said}", at=now)
        if post.status in ("sent", "partly_sent", "failed") and not open_rows(session, post.id):
            post.status = final_status(report(session, post.id))
    return len(members)


def _finish(row: Delivery, ok: bool, reason: str, now: datetime) -> None:
    if ok:
        row.confirmed_at = now
    else:
        row.state, row.reason = "failed", reason


def reconcile(session: Session, since: datetime) -> int:
    """Apply the job-finished events received since ``since`` that found no delivery or batch when they came, then
    settle the status of finished posts whose mass batches WeChat confirmed since (an event applied while the post
    was being closed)."""
    done = 0
    pending = select(JobFinished).where(JobFinished.applied_at.is_(None), JobFinished.received_at >= since)
    for job in session.scalars(pending.order_by(JobFinished.id)).all():
        done += apply_job(session, job, job.received_at)
    confirmed = select(MassBatch.post_id).where(MassBatch.confirmed_at >= since)
    finished = select(Post).where(Post.id.in_(confirmed), Post.status.in_(("sent", "partly_sent", "failed")))
    for post in session.scalars(finished):
        if not open_rows(session, post.id):
            post.status = final_status(report(session, post.id))
    return done
