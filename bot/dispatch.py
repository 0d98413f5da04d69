"""The pure step of a push: its route, its handler's reply rendered; the store (bot.store) persists it once.

    message → route (bot.routes) → content-only? render the reply now : a job whose handler gets a Session
            → store.answer(job): dedupe → (handler) → bookkeeping + reply → commit → answer

The dispatcher never touches the database itself: which store, and so which transaction strategy, is the
composition root's choice (wxbot.runtime.bot_store).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session

from bot.handlers import Context, Handler, Renderer, uses_database
from bot.message import Inbound
from bot.replies import Empty, Reply, in_script, kind_of, render
from bot.routes import Routes
from bot.store import Answer, Job, Rendered, Store
from bot.texts import Texts
from posts.catalog import Catalog
from posts.clock import Clock, system_clock
from posts.script import SIMPLIFIED, TRADITIONAL, converter, page_link

__all__ = ["Answer", "Dispatcher"]


class Dispatcher:
    """Runs a push's handler exactly once per dedupe key (the store keeps that promise); redeliveries get the stored
    reply."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        renderer: Renderer,
        texts: Texts,
        routes: Routes,
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.renderer = renderer
        self.texts = texts
        self.routes = routes
        self.clock = clock

    def __call__(self, message: Inbound) -> Answer:
        return self.store.answer(self.job(message))

    async def submit(self, message: Inbound) -> Answer:
        """The same answer for a coroutine (the store's async face)."""
        return await self.store.answer_async(self.job(message))

    def close(self) -> None:
        self.store.close()

    def job(self, message: Inbound) -> Job:
        """The push with its reply worked out now if its route is content-only (bot.handlers.content_only:
        keywords, sections, the table of contents, help...), else with its handler, to run once, whole, with a
        Session in the store's transaction. A content-only handler that raises is not run again: its error is
        the job's, and the store gives it the error path (unless the push is a redelivery)."""
        handler = self.routes.resolve(message)
        now = self.clock()
        if uses_database(handler):
            return Job(message, now, run=partial(self._run, handler, message, now))
        try:
            reply = handler(Context(None, self.catalog, self.renderer, self.texts, message, now, SIMPLIFIED))
            rendered = self._xml(reply, message, now, SIMPLIFIED)
        except Exception as exc:
            return Job(message, now, error=exc)
        again = None if isinstance(reply, Empty) else partial(self._xml, reply, message, now)
        return Job(message, now, rendered=rendered, in_script=again)

    def _run(self, handler: Handler, message: Inbound, now: datetime, session: Session) -> Rendered:
        """A database route's handler with a real Session, its reply in the script the follower reads (the
        context reads it from the Session, or the handler sets it: 繁體 / 简体, a scene's preset)."""
        ctx = Context(session, self.catalog, self.renderer, self.texts, message, now)
        reply = handler(ctx)
        return self._xml(reply, message, now, SIMPLIFIED if isinstance(reply, Empty) else ctx.script)

    def _xml(self, reply: Reply, message: Inbound, now: datetime, script: str) -> Rendered:
        """The reply XML (plaintext) and its kind; in Traditional for a follower who reads it (posts.script)."""
        if script == TRADITIONAL and not isinstance(reply, Empty):
            convert = converter(self.catalog.script)
            reply = in_script(reply, convert.to_traditional, lambda url: page_link(url, TRADITIONAL))
        plaintext = render(reply, to_user=message.openid, from_user=message.to_user, create_time=int(now.timestamp()))
        return plaintext, (kind_of(reply) if plaintext else "empty")
