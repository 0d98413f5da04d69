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
from bot.replies import kind_of, render
from bot.routes import Routes
from bot.store import Answer, Job, Rendered, Store
from bot.texts import Texts
from posts.catalog import Catalog
from posts.clock import Clock, system_clock

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
            return Job(message, now, run=partial(self._reply, handler, message, now))
        try:
            return Job(message, now, rendered=self._reply(handler, message, now, None))
        except Exception as exc:
            return Job(message, now, error=exc)

    def _reply(self, handler: Handler, message: Inbound, now: datetime, session: Session | None) -> Rendered:
        """The handler's reply as reply XML; a content-only route's handler gets no Session."""
        reply = handler(Context(session, self.catalog, self.renderer, self.texts, message, now))
        plaintext = render(
            reply,
            to_user=message.openid,
            from_user=message.to_user,
            create_time=int(now.timestamp()),
        )
        return plaintext, (kind_of(reply) if plaintext else "empty")
