"""What every handler gets (the context) and returns (a reply value); one module per kind of input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot.message import Inbound
from bot.replies import Reply, Text
from bot.texts import Texts
from posts import followers
from posts.catalog import Catalog
from posts.script import SIMPLIFIED, converter


class TextBody(Protocol):
    text: str
    size: int
    fits: bool
    page_path: str | None
    core: str


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
    def close(self, body: str) -> str: ...
    def with_extra(self, body: Any, extra: str) -> Any: ...
    @property
    def disclaimer_text(self) -> str: ...


class Context:
    """What a handler sees: the content, the push, the time and, if its route uses the database, a real Session.

    A route declares whether its handler uses the database (:func:`content_only` marks the ones that do not; the
    default is that it does). A content-only reply is worked out before any transaction (bot.dispatch), and a
    handler that uses the database runs once, whole, inside the store's transaction (bot.store)."""

    __slots__ = ("_script", "_session", "catalog", "message", "now", "renderer", "texts")

    def __init__(
        self,
        session: Session | None,
        catalog: Catalog,
        renderer: Renderer,
        texts: Texts,
        message: Inbound,
        now: datetime,
        script: str | None = None,
    ) -> None:
        self._session = session
        self.catalog = catalog
        self.renderer = renderer
        self.texts = texts
        self.message = message
        self.now = now
        self._script = script
        """Given when the caller knows it already (the SQLite batch reads its followers' scripts at once)."""

    @property
    def script(self) -> str:
        """The script the follower reads ("s" or "t", posts.script): the reply is converted to it (bot.dispatch).

        Read from the push's session when not given; a content-only reply worked out before its batch is written
        in Simplified and converted in the batch (bot.dispatch)."""
        if self._script is None:
            found = followers.script_for(self._session, self.message.openid) if self._session is not None else None
            self._script = found or SIMPLIFIED
        return self._script

    @script.setter
    def script(self, value: str) -> None:
        """A handler that changes the follower's script (繁體 / 简体, a scene's preset) sets it for its reply."""
        self._script = value

    def in_script(self, text: str) -> str:
        """``text`` as this follower reads it (for messages queued for later, e.g. a scene's latest update)."""
        return converter(self.catalog.script).in_script(text, self.script)

    @property
    def session(self) -> Session:
        if self._session is None:
            raise NoDatabase(f"the route of {self.message.dedup_key} is content-only but its handler used the database")
        return self._session

    def say(self, template: str, /, **values: Any) -> Text:
        """One of the bot's own texts (posts/templates/text/bot/), closed by the footer every reply has."""
        return Text(self.renderer.close(self.texts.render(template, **values)))

    @property
    def outbox_key(self) -> str:
        """Prefix for outbox dedupe keys: the push's own dedupe key."""
        return self.message.dedup_key


Handler = Callable[[Context], Reply]


class NoDatabase(RuntimeError):
    """A handler whose route is declared content-only asked for the database (a bug in the route table)."""


class ContentOnly:
    """A handler declared not to use the database: the dispatcher may answer it before any transaction."""

    __slots__ = ("handler",)
    database = False

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def __call__(self, ctx: Context) -> Reply:
        return self.handler(ctx)


def content_only(handler: Handler) -> Handler:
    """Declare on the route that ``handler`` answers from the content alone."""
    return ContentOnly(handler)


def uses_database(handler: Handler) -> bool:
    """Whether the route's handler reads or writes the database (undeclared handlers do)."""
    return bool(getattr(handler, "database", True))
