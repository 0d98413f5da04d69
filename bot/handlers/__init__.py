"""What every handler gets (the context) and returns (a reply value); one module per kind of input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot.message import Inbound
from bot.replies import Reply, Text
from bot.texts import Texts
from posts.catalog import Catalog


class TextBody(Protocol):
    text: str
    size: int
    fits: bool
    page_path: str | None


class Renderer(Protocol):
    """The content engine's renderer (posts.render.Renderer), as far as the bot uses it."""

    def section(self, key: str) -> Any: ...
    def group(self, prefix: str) -> Any: ...
    def therapy(self, key: str) -> Any: ...
    def timeline(self, key: str) -> Any: ...
    def update(self, therapy: str, key: str) -> Any: ...
    def welcome(self, key: str) -> Any: ...
    def help(self) -> Any: ...
    def toc(self) -> Any: ...
    def subscriptions(self, therapy_keys: list[str]) -> Any: ...
    def page_url(self, path: str) -> str: ...
    @property
    def disclaimer_text(self) -> str: ...


class Context:
    """What a handler sees. ``session`` may be given as a callable: the Session is then opened on first use, so a
    handler that never touches the database (most replies) costs no Session at all.

    On SQLite the dispatcher first runs each handler without a database (bot.dispatch, ``Dispatcher._push``): one
    that never asks for ``session`` is answered from the content before the write lock is taken; one that does is
    stopped there and run again, whole, inside the batch. So a handler does nothing but compute before its first
    use of ``session``: no writes elsewhere, no calls out."""

    __slots__ = ("_session", "catalog", "message", "now", "renderer", "texts")

    def __init__(
        self,
        session: Session | Callable[[], Session],
        catalog: Catalog,
        renderer: Renderer,
        texts: Texts,
        message: Inbound,
        now: datetime,
    ) -> None:
        self._session = session
        self.catalog = catalog
        self.renderer = renderer
        self.texts = texts
        self.message = message
        self.now = now

    @property
    def session(self) -> Session:
        if not isinstance(self._session, Session):
            self._session = self._session()
        return self._session

    @property
    def session_opened(self) -> Session | None:
        """The Session if a handler used it, else None."""
        return self._session if isinstance(self._session, Session) else None

    def say(self, template: str, /, **values: Any) -> Text:
        """One of the bot's own texts (posts/templates/text/bot/), ending with the footer every reply has."""
        return Text(self.texts.render(template, disclaimer_text=self.renderer.disclaimer_text, **values))

    @property
    def outbox_key(self) -> str:
        """Prefix for outbox dedupe keys: the push's own dedupe key."""
        return self.message.dedup_key


Handler = Callable[[Context], Reply]
