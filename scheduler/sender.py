"""Sends one post: plan its audience into the ledger, then for each delivery claim → call WeChat → record."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from threading import Event
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from posts import ledger, mass_budget, received, template_fields
from posts.audience import AudienceError, mass_tag_id, parse_audience, recipients
from posts.catalog import Catalog
from posts.clock import Clock, system_clock
from posts.compose import ContentError, Message, Renderer, compose
from posts.notice_fields import NoticeFieldError
from posts.queue import Delivery, MassBatch, Post
from posts.settings import Settings
from posts.template_fields import TemplateFieldError
from posts.timing import beijing_day_start
from scheduler import errors, notice_channel, planner, quota, tags
from scheduler.errors import Action, WeChatError
from scheduler.wechat_api import WeChatApi

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
MAX_ATTEMPTS = 3
TEMPLATE_RESEND_WINDOW = timedelta(minutes=9)
"""WeChat deduplicates template messages by openid + client_msg_id for 10 minutes; stay inside it."""
CHANNEL_PATH = {"custom": planner.CUSTOM, "template": planner.TEMPLATE, "notice": planner.NOTICE}


class Sender:
    """Everything one send needs; ``clock`` and ``backoff`` are parameters so tests control time."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        api: WeChatApi | None,
        catalog: Catalog,
        renderer: Renderer,
        *,
        clock: Clock = system_clock,
        backoff: float = 0.2,
        template_batch: int = 100,
        daily_limits: dict[str, int] | None = None,
        keepalive: Callable[[], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.api = api
        self.catalog = catalog
        self.renderer = renderer
        self.clock = clock
        self.backoff = backoff
        self.template_batch = template_batch
        self.daily_limits = daily_limits
        self.keepalive = keepalive or (lambda: True)

    # -- planning -----------------------------------------------------------------------------------
    def message_for(self, post: Post) -> Message | None:
        data = post.data or {}
        since = data.get("since")
        until = data.get("until")
        return compose(
            post.content,
            self.catalog,
            self.renderer,
            text=post.text,
            since=_date(since),
            until=_date(until),
            title=data.get("title", ""),
        )

    def tag_members(self, tag_id: int) -> list[str]:
        if self.api is None:
            raise AudienceError(f"tag {tag_id} mirrors no therapy; only WeChat knows its members")
        return sorted(tags.members(self.api, tag_id))

    def template_fields(self, post: Post, message: Message, now: datetime) -> dict[str, str]:
        """The exact template fields a template_only post sends (its purpose's mapping), or TemplateFieldError.

        Only text posts given a configured purpose: templates are for service notices, never for news content.
        """
        purpose = (post.data or {}).get("purpose") or ""
        if not post.content.startswith("text"):
            raise TemplateFieldError(
                f"template messages are for service notices, not news: {post.content} goes by auto or mass"
            )
        spec = self.settings.wechat.templates.get(purpose)
        if not spec:
            known = ", ".join(sorted(self.settings.wechat.templates)) or "none configured"
            raise TemplateFieldError(
                f"no template for purpose {purpose!r} (wechat.templates.<purpose> in the config; known: {known}); "
                "give --purpose"
            )
        return template_fields.fill(
            spec,
            title=message.title,
            summary=message.summary,
            text=post.text,
            due=post.due_at or now,
            tz=self.settings.scheduler.timezone,
        )

    def plan(self, session: Session, post: Post, now: datetime) -> tuple[planner.Plan, Message | None]:
        """The plan for ``post`` at ``now`` (also what `wxbot post preview` shows); writes nothing."""
        message = self.message_for(post)
        audience = parse_audience(post.audience, self.catalog.therapies)
        people = recipients(session, audience, self.tag_members)
        skipped = received.already(session, post.content, (r.openid for r in people))
        people = [r for r in people if r.openid not in skipped]
        purpose = (post.data or {}).get("purpose")
        account = quota.account(session, self.settings, now, self.daily_limits, purpose)
        opened = {r.openid: planner.window(r, now).opened_at for r in people}
        in_window = {openid: at for openid, at in opened.items() if at is not None}
        used = ledger.window_used(session, in_window)
        month = mass_budget.received_this_month(session, now) if post.channel in ("mass", "auto") else {}
        tag = mass_tag_id(session, audience)
        target = planner.MassTarget(to_all=True) if audience.kind == "all" else None
        if tag is not None:
            target = planner.MassTarget(tag_id=tag)
        notice, notes, consents = None, [], set()
        if post.channel == "auto" and message is not None:
            try:
                notice = notice_channel.for_post(self.settings, self.catalog, post, message, now)
            except NoticeFieldError as exc:
                notes.append(f"subscribe notice not used: {exc}")
            consents = notice_channel.consented(session, notice, (r.openid for r in people))
            if notice is not None:
                account = replace(account, notice_template_id=notice.template_id)
        result = planner.plan(
            people,
            post.channel,
            account,
            now,
            window_used=used,
            mass_month=month,
            mass_target=target,
            notice_consents=consents,
        )
        result.skipped = sorted(skipped)
        result.notice = asdict(notice) if notice is not None and result.counts().get("notice") else None
        result.notes = notes
        return result, message

    def prepare(self, post_id: int) -> bool:
        """A due post → sending: compose once, plan, write the ledger. False when there is nothing to send."""
        with self.sessions() as session:
            post = session.get(Post, post_id)
            if post is None or post.status != "queued":
                return post is not None and post.status == "sending"
            now = self.clock()
            try:
                result, message = self.plan(session, post, now)
            except (AudienceError, ContentError, WeChatError, TemplateFieldError) as exc:
                post.status, post.finished_at = "failed", now
                ledger.record(session, post, "scheduler", "failed", str(exc), at=now)
                session.commit()
                return False
            if message is None:
                post.status, post.finished_at = "cancelled", now
                ledger.record(session, post, "scheduler", "skipped", "digest: no update since the previous one", at=now)
                session.commit()
                return False
            if not result.assignments and result.skipped:
                post.status, post.finished_at = "cancelled", now
                note = f"{len(result.skipped)} skipped: already received (every recipient)"
                ledger.record(session, post, "scheduler", "skipped", note, at=now)
                session.commit()
                return False
            if not result.assignments:
                post.status, post.finished_at = "failed", now
                ledger.record(session, post, "scheduler", "failed", "the audience is empty", at=now)
                session.commit()
                return False
            fields: dict[str, str] = {}
            if post.channel == "template_only":
                try:
                    fields = self.template_fields(post, message, now)
                except TemplateFieldError as exc:
                    post.status, post.finished_at = "failed", now
                    ledger.record(session, post, "scheduler", "failed", str(exc), at=now)
                    session.commit()
                    return False
            rows = [(a.openid, a.follower_id, a.channel, a.reason, a.slice_key) for a in result.assignments]
            ledger.materialize(session, post.id, rows, [s.key for s in result.slices])
            post.data = {**(post.data or {}), "message": asdict(message)}
            if fields:
                post.data["template_fields"] = fields
            if result.notice:
                post.data[notice_channel.DATA_KEY] = result.notice

            post.status, post.started_at = "sending", now
            counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts().items()))
            skipped = f"; {len(result.skipped)} skipped: already received" if result.skipped else ""
            ledger.record(session, post, "scheduler", "started", f"{len(rows)} recipients: {counts}{skipped}", at=now)
            session.commit()
            return True

    # -- delivery -----------------------------------------------------------------------------------
    def run(self, post_id: int, progress: Progress | None = None, stop: Event | None = None) -> str:
        """Prepare (if due) and deliver what is ready; returns the post's status afterwards."""
        if self.prepare(post_id):
            self.deliver(post_id, progress, stop)
        with self.sessions() as session:
            return session.get(Post, post_id).status  # type: ignore[union-attr]

    def deliver(self, post_id: int, progress: Progress | None = None, stop: Event | None = None) -> None:
        with self.sessions() as session:
            post = session.get(Post, post_id)
            if post is None or post.status != "sending":
                return
            message = Message(**{**post.data["message"], "updates": tuple(post.data["message"].get("updates", ()))})
            total = session.scalar(select(func.count()).where(Delivery.post_id == post_id)) or 0
        done = [self._finished_count(post_id)]

        def advance(n: int) -> None:
            done[0] += n
            if progress:
                progress(done[0], total)

        if progress:
            progress(done[0], total)
        self._stop = stop
        while self._alive():
            moved = self._mass(post_id, message, advance)
            moved += self._custom(post_id, message, advance)
            moved += notice_channel.deliver(self, post_id, advance)
            moved += self._template(post_id, message, advance)
            if not moved:
                break
        self.finish(post_id)

    def _alive(self) -> bool:
        stop = getattr(self, "_stop", None)
        return not (stop is not None and stop.is_set()) and self.keepalive()

    def _finished_count(self, post_id: int) -> int:
        with self.sessions() as session:
            return (
                session.scalar(
                    select(func.count()).where(
                        Delivery.post_id == post_id, Delivery.state.not_in(("planned", "sending"))
                    )
                )
                or 0
            )

    def finish(self, post_id: int) -> None:
        """Close the post once no row is planned or sending."""
        with self.sessions() as session:
            post = session.get(Post, post_id)
            if post is None or post.status != "sending" or ledger.open_rows(session, post_id):
                return
            rep = ledger.report(session, post_id)
            now = self.clock()
            post.status, post.finished_at = ledger.final_status(rep), now
            summary = ", ".join(f"{k} {v}" for k, v in sorted(rep.states.items()))
            ledger.record(session, post, "scheduler", post.status, summary, at=now)
            session.commit()

    def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One call; -1 and safe transport errors are retried here with backoff (3 tries in all).

        A lost answer on an API WeChat does not deduplicate (custom/send) is never repeated: see errors.outcome.
        """
        if self.api is None:
            raise RuntimeError("this Sender was built for planning only (no WeChat API client)")
        for attempt in range(MAX_ATTEMPTS):
            try:
                return self.api.call(path, body)
            except WeChatError as exc:
                if not errors.retry_now(exc, path) or attempt == MAX_ATTEMPTS - 1:
                    raise
                time.sleep(self.backoff * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _warm(self) -> None:
        """Refresh the token (a database write) before a batch opens its own write transaction (SQLite)."""
        if self.api is not None and self.api.broker is not None:
            self.api.broker.token()

    def _custom(self, post_id: int, message: Message, advance: Callable[[int], None]) -> int:
        moved = 0
        with self.sessions() as session:
            ids = ledger.ready(session, post_id, "custom", self.clock(), 200)
        for row_id in ids:
            self._warm()
            with self.sessions() as session:
                rows = ledger.claim(session, [row_id], self.clock())
                session.commit()
                if not rows:
                    continue
                row = rows[0]
                body = {"touser": row.openid, "msgtype": "text", "text": {"content": message.text}}
                try:
                    self._call(planner.CUSTOM, body)
                    self._sent(row, None)
                except WeChatError as exc:
                    self._failed(session, row, exc)
                session.commit()
            moved += 1
            advance(0 if row.state == "planned" else 1)
            if not self._alive():
                break
        return moved

    def _template(self, post_id: int, message: Message, advance: Callable[[int], None]) -> int:
        with self.sessions() as session:
            post = session.get(Post, post_id)
            data = dict(post.data or {}) if post is not None else {}
        template_id = quota.template_id(self.settings, data.get("purpose"))
        fields = data.get("template_fields") or {}
        moved = 0
        while self._alive():
            self._warm()
            with self.sessions() as session:
                ids = ledger.ready(session, post_id, "template", self.clock(), self.template_batch)
                rows = ledger.claim(session, ids, self.clock())
                session.commit()
                if not rows:
                    return moved
                finished = 0
                for row in rows:
                    if row.state != "sending":  # failed in bulk by an earlier row's permanent error
                        continue
                    body = {
                        "touser": row.openid,
                        "template_id": template_id,
                        "client_msg_id": row.client_msg_id,
                        "data": {name: {"value": value} for name, value in fields.items()},
                    }
                    if message.url:
                        body["url"] = message.url
                    try:
                        answer = self._call(planner.TEMPLATE, body)
                        self._sent(row, answer.get("msgid"))
                    except WeChatError as exc:
                        self._failed(session, row, exc)
                    finished += row.state != "planned"
                session.commit()
            moved += len(rows)
            advance(finished)
        return moved

    def _mass(self, post_id: int, message: Message, advance: Callable[[int], None]) -> int:
        moved = 0
        with self.sessions() as session:
            batches = list(
                session.scalars(select(MassBatch).where(MassBatch.post_id == post_id, MassBatch.state == "planned"))
            )
        for batch_row in batches:
            with self.sessions() as session:
                now = self.clock()
                won = session.execute(
                    update(MassBatch)
                    .where(MassBatch.id == batch_row.id, MassBatch.state == "planned")
                    .values(state="sending", claimed_at=now, attempts=MassBatch.attempts + 1)
                ).rowcount  # type: ignore[attr-defined]
                session.execute(
                    update(Delivery)
                    .where(Delivery.batch_id == batch_row.id, Delivery.state == "planned")
                    .values(state="sending", claimed_at=now)
                )
                session.commit()
                if not won:
                    continue
                batch = session.get(MassBatch, batch_row.id)
                assert batch is not None
                body: dict[str, Any] = {
                    "msgtype": "text",
                    "text": {"content": message.text},
                    "clientmsgid": batch.clientmsgid,
                    "send_ignore_reprint": 0,
                }
                if batch.slice_key.startswith("list:"):
                    path = planner.MASS_SEND
                    body["touser"] = list(session.scalars(select(Delivery.openid).where(Delivery.batch_id == batch.id)))
                else:
                    path = planner.MASS_SENDALL
                    to_all = batch.slice_key == "all"
                    body["filter"] = (
                        {"is_to_all": to_all}
                        if to_all
                        else {
                            "is_to_all": False,
                            "tag_id": int(batch.slice_key.split(":")[1]),
                        }
                    )
                state, errcode, reason, msg_id = "sent", None, None, None
                try:
                    msg_id = self._call(path, body).get("msg_id")
                except WeChatError as exc:
                    if exc.errcode == 45065:
                        msg_id = exc.data.get("msg_id")
                    else:
                        state, errcode, reason = "failed", exc.errcode, errors.describe(exc, path)
                        if errors.outcome(exc, path) is Action.RETRY and batch.attempts < MAX_ATTEMPTS:
                            state = "planned"
                now = self.clock()
                batch.state, batch.errcode, batch.reason = state, errcode, reason
                batch.msg_id = str(msg_id) if msg_id is not None else None
                batch.sent_at = now if state == "sent" else None
                count = session.execute(
                    update(Delivery)
                    .where(Delivery.batch_id == batch.id, Delivery.state == "sending")
                    .values(
                        state=state,
                        errcode=errcode,
                        reason=reason,
                        msg_id=batch.msg_id,
                        sent_at=batch.sent_at,
                        not_before=now + timedelta(seconds=60) if state == "planned" else None,
                    )
                ).rowcount  # type: ignore[attr-defined]
                session.commit()
            moved += 1
            advance(count if state != "planned" else 0)
        return moved

    # -- outcomes -----------------------------------------------------------------------------------
    def _sent(self, row: Delivery, msg_id: Any) -> None:
        row.state, row.sent_at = "sent", self.clock()
        row.errcode, row.reason = None, None
        row.msg_id = str(msg_id) if msg_id is not None else None

    def _failed(self, session: Session, row: Delivery, exc: WeChatError) -> None:
        code, now = exc.errcode, self.clock()
        row.errcode = code
        act = errors.outcome(exc, CHANNEL_PATH[row.channel])
        if act is Action.UNKNOWN:  # counted as used in the window (ledger.window_used), never resent blindly
            row.state, row.reason = "unknown", errors.describe(exc, CHANNEL_PATH[row.channel])
            return
        if act is Action.RETRY:
            row.state = "planned"
            if code == 45009:
                quota.exhaust(session, CHANNEL_PATH[row.channel], now)
                row.not_before = beijing_day_start(now) + timedelta(days=1)
                self._postpone(session, row, row.not_before)
            elif row.attempts >= MAX_ATTEMPTS:
                row.state = "failed"
            else:
                row.not_before = now + timedelta(seconds=60 if code in (45011, 45066) else 30 * row.attempts)
            row.reason = errors.describe(exc, CHANNEL_PATH[row.channel])
            return
        if act is Action.FALLBACK:  # never a template instead: templates are not for news
            row.state = "undeliverable"
            row.reason = f"{errors.plain(code, exc.errmsg)}; reachable {planner.NEXT_WRITE}"
            return
        row.state, row.reason = "failed", errors.plain(code, exc.errmsg)
        if code == errors.TEMPLATE_BLOCKED:
            post = session.get(Post, row.post_id)
            if post is not None:
                ledger.record(session, post, "scheduler", "blocked", row.reason, at=now)
        if act is Action.POST:
            session.execute(
                update(Delivery)
                .where(
                    Delivery.post_id == row.post_id,
                    Delivery.channel == row.channel,
                    Delivery.state.in_(("planned", "sending")),
                    Delivery.id != row.id,
                )
                .values(state="failed", errcode=code, reason=row.reason)
                .execution_options(synchronize_session="fetch")
            )

    def _postpone(self, session: Session, row: Delivery, until: datetime) -> None:
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == row.post_id, Delivery.channel == row.channel, Delivery.state == "planned")
            .values(not_before=until)
            .execution_options(synchronize_session=False)
        )


def _date(value: Any) -> Any:
    from datetime import date

    return date.fromisoformat(value) if isinstance(value, str) else value
