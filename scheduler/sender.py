"""Sends one post: plan its audience into the ledger, run each channel's rows through the one loop, close it.

The plan comes from scheduler/preview.py (the same as `wxbot post preview`), each channel from
scheduler/channels.py, the claim → call → record loop from scheduler/delivery.py with the retry policy of
scheduler/errors.py. A row waiting for its retry time holds up nobody: the loop goes on with the others, and the
send waits only at its end, for the earliest retry due within RETRY_WAIT (later ones: the tick comes back).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from threading import Event
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from posts import ledger, limits
from posts.audience import AudienceError
from posts.catalog import Catalog
from posts.clock import Clock, system_clock
from posts.compose import ContentError, Message, Renderer
from posts.queue import Delivery, Post
from posts.script import converter, page_link, text_links
from posts.settings import Settings
from posts.template_fields import TemplateFieldError
from scheduler import delivery, errors, notice_channel, planner, publish, quota
from scheduler.channels import Channel, CustomMessages, MassSends, TemplateMessages
from scheduler.errors import WeChatError
from scheduler.notice_channel import NoticeMessages, NoticeRows
from scheduler.preview import Preview
from scheduler.rows import LedgerRows, MassRows, Rows
from scheduler.wechat_api import CUSTOM_SEND, TEMPLATE_SEND, WeChatApi, text_message

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Sleep = Callable[[float], object]
TEMPLATE_RESEND_WINDOW = timedelta(minutes=9)
"""WeChat deduplicates template messages by openid + client_msg_id for 10 minutes; stay inside it."""
RETRY_WAIT = timedelta(seconds=errors.RATE_LIMIT_SECONDS)
"""A send waits at its end for retries due within this long; later ones (45009: tomorrow) end the send job."""


class Sender:
    """Everything one send needs; ``clock`` and ``sleep`` are parameters so tests control time."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        api: WeChatApi | None,
        catalog: Catalog,
        renderer: Renderer,
        *,
        clock: Clock = system_clock,
        sleep: Sleep | None = None,
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
        self.sleep: Sleep = sleep or threading.Event().wait
        self.template_batch = template_batch
        self.keepalive = keepalive or (lambda: True)
        self.preview = Preview(settings, catalog, renderer, api, daily_limits)
        self._stop: Event | None = None

    def plan(self, session: Session, post: Post, now: datetime) -> tuple[planner.Plan, Message | None]:
        """The plan for ``post`` at ``now`` (what `wxbot post preview` shows); writes nothing."""
        return self.preview.plan(session, post, now)

    def template_fields(self, post: Post, message: Message, now: datetime) -> dict[str, str]:
        return self.preview.template_fields(post, message, now)

    # -- the start -----------------------------------------------------------------------------------
    def prepare(self, post_id: int) -> bool:
        """A due post → sending: compose once, plan, write the ledger. False when there is nothing to send."""
        with self.sessions() as session:
            post = session.get(Post, post_id)
            if post is None or post.status != "queued":
                return post is not None and post.status == "sending"
            now = self.clock()
            try:
                result, message = self.plan(session, post, now)
                fields = self.template_fields(post, message, now) if message and post.channel == "template_only" else {}
            except (AudienceError, ContentError, WeChatError, TemplateFieldError) as exc:
                return _close(session, post, "failed", "failed", str(exc), now)
            if message is None:
                return _close(session, post, "cancelled", "skipped", "digest: no update since the previous one", now)
            if not result.assignments and result.skipped:
                note = f"{len(result.skipped)} skipped: already received (every recipient)"
                return _close(session, post, "cancelled", "skipped", note, now)
            if not result.assignments:
                return _close(session, post, "failed", "failed", "the audience is empty", now)
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
            detail = f"{len(rows)} recipients: {counts}{skipped}"
            ledger.record(session, post, "scheduler", "started", detail, at=now)
            session.commit()
            log.info("post %s started: %s", post_id, detail)
            return True

    # -- delivery ------------------------------------------------------------------------------------
    def run(self, post_id: int, progress: Progress | None = None, stop: Event | None = None) -> str:
        """Prepare (if due) and deliver what is ready; returns the post's status afterwards."""
        if self.prepare(post_id):
            self.deliver(post_id, progress, stop)
        with self.sessions() as session:
            return session.get(Post, post_id).status  # type: ignore[union-attr]

    def channels(self, post: Post) -> list[tuple[Channel, Rows]]:
        """Each channel of a started post with the rows it sends from, in the order they go out."""
        data = post.data or {}
        message = data["message"]
        compose = Composer(self, message["text"], message.get("url") or "", post)
        out: list[tuple[Channel, Rows]] = [
            (MassSends(compose.mass), MassRows(post.id)),
            (CustomMessages(compose.text), LedgerRows(post.id, "custom", CUSTOM_SEND)),
            (
                NoticeMessages(notice_channel.stored(post)),
                NoticeRows(post.id, notice_channel.stored(post), long_term=self.settings.wechat.notices.long_term),
            ),
        ]
        if post.channel == "template_only":
            template_id = quota.template_id(self.settings, data.get("purpose")) or ""
            fields = dict(data.get("template_fields") or {})
            notices = TemplateMessages(template_id, compose.template(fields), batch=self.template_batch)
            out.append((notices, LedgerRows(post.id, "template", TEMPLATE_SEND)))
        return out

    def deliver(self, post_id: int, progress: Progress | None = None, stop: Event | None = None) -> None:
        """Run the post's channels until no row is ready, waiting for retries due soon; then close it."""
        if self.api is None:
            raise RuntimeError("this Sender was built for planning only (no WeChat API client)")
        with self.sessions() as session:
            post = session.get(Post, post_id)
            if post is None or post.status != "sending":
                return
            channels = self.channels(post)
            total = session.scalar(select(func.count()).where(Delivery.post_id == post_id)) or 0
            done = [total - ledger.open_rows(session, post_id)]

        def advance(n: int) -> None:
            done[0] += n
            if progress:
                progress(done[0], total)

        advance(0)
        self._stop = stop
        while self._alive():
            moved = sum(
                delivery.run(self.sessions, self.api, channel, rows, self.clock, alive=self._alive, advance=advance)
                for channel, rows in channels
            )
            if not moved and not self._wait_for_retry(post_id):
                break
        self.finish(post_id)

    def _wait_for_retry(self, post_id: int) -> bool:
        """Wait for the earliest retry if it is due within RETRY_WAIT; False when there is none to wait for."""
        with self.sessions() as session:
            due = ledger.next_retry(session, post_id)
        now = self.clock()
        if due is None or due - now > RETRY_WAIT:
            return False
        if due <= now:
            return self._alive()
        self.sleep((due - now).total_seconds())
        return self._alive() and self.clock() > now  # a clock that did not move: the tick comes back later

    def _alive(self) -> bool:
        return not (self._stop is not None and self._stop.is_set()) and self.keepalive()

    def finish(self, post_id: int) -> None:
        """Close the post once no row is planned or sending."""
        with self.sessions() as session:
            post = session.get(Post, post_id)
            if post is None or post.status != "sending" or ledger.open_rows(session, post_id):
                return
            rep = ledger.report(session, post_id)
            now = self.clock()
            status = ledger.final_status(rep)
            post.status, post.finished_at = status, now
            summary = ", ".join(f"{k} {v}" for k, v in sorted(rep.states.items()))
            ledger.record(session, post, "scheduler", status, summary, at=now)
            session.commit()
        log.info("post %s %s: %s", post_id, status, summary)


class Composer:
    """The composition step of a post's channels: what a reader of a script gets (posts/script.py converts the
    text and its content-page links), and a mass batch's payload (the text, or for a post sent as an article,
    ``--as-article``, a fresh mpnews draft: a draft is consumed by its mass send, so each batch gets its own)."""

    def __init__(self, sender: Sender, text: str, url: str, post: Post) -> None:
        self.catalog = sender.catalog
        self.renderer = sender.renderer
        self.body = text
        self.url = url
        self.as_article = (post.data or {}).get("mass_as") == "article"
        self.content = post.content

    def in_script(self, text: str, script: str) -> str:
        converted = converter(self.catalog.script).in_script(text, script)
        return text_links(converted, getattr(self.renderer, "base_url", ""), script)

    def text(self, script: str) -> dict[str, Any]:
        """A custom message in the follower's script."""
        return text_message(self.in_script(self.body, script))

    def mass(self, api: WeChatApi, script: str) -> dict[str, Any]:
        """A mass batch's payload in its slice's script."""
        if self.as_article:
            return publish.mpnews(api, self.renderer, self.content)  # type: ignore[arg-type]
        return text_message(self.in_script(self.body, script))

    def template(self, fields: dict[str, str]) -> Callable[[str], tuple[dict[str, str], str | None]]:
        """A template message's fields and link in the follower's script; a field whose Traditional form would not
        fit stays as written."""

        def in_script(script: str) -> tuple[dict[str, str], str | None]:
            converted = {name: self._field(value, script) for name, value in fields.items()}
            return converted, page_link(self.url, script) if self.url else None

        return in_script

    def _field(self, value: str, script: str) -> str:
        found = self.in_script(value, script)
        return found if len(found) <= limits.TEMPLATE_FIELD_MAX_CHARS else value


def _close(session: Session, post: Post, status: str, action: str, detail: str, now: datetime) -> bool:
    """End a post that will send nothing, with the reason in its history."""
    post.status, post.finished_at = status, now
    ledger.record(session, post, "scheduler", action, detail, at=now)
    session.commit()
    log.info("post %s %s: %s", post.id, status, detail)
    return False
