"""One push, one transaction: claim its dedupe key, run its handler, log it, store and return the reply."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.handlers import Context, Renderer
from bot.message import Inbound
from bot.replies import kind_of, render
from bot.routes import Routes
from bot.texts import Texts
from posts import followers
from posts.catalog import Catalog
from posts.models import InboundEvent, SeenMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    plaintext: str
    """The reply XML in plaintext, or "" for no reply."""
    kind: str
    duplicate: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    """Runs a push's handler exactly once per dedupe key; redeliveries get the stored reply."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        renderer: Renderer,
        texts: Texts,
        routes: Routes,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.renderer = renderer
        self.texts = texts
        self.routes = routes
        self.clock = clock

    def __call__(self, message: Inbound) -> Answer:
        try:
            return self._once(message)
        except _HandlerConflict:
            # Two different pushes raced on a shared row (e.g. a new follower's first two messages): run again.
            return self._once(message)

    def _once(self, message: Inbound) -> Answer:
        now = self.clock()
        with self.sessions() as session:
            seen = SeenMessage(dedup_key=message.dedup_key, received_at=now, reply_kind="pending")
            session.add(seen)
            try:
                session.flush()  # the unique insert: waits for, then conflicts with, a copy in flight
            except IntegrityError:
                session.rollback()
                return self._stored(session, message.dedup_key)
            try:
                answer = self._handle(session, message, now)
                seen.reply_kind, seen.reply_xml = answer.kind, answer.plaintext
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise _HandlerConflict from exc
            except BaseException:
                session.rollback()
                raise
            return answer

    def _handle(self, session: Session, message: Inbound, now: datetime) -> Answer:
        ctx = Context(session, self.catalog, self.renderer, self.texts, message, now)
        reply = self.routes.resolve(message)(ctx)
        plaintext = render(
            reply,
            to_user=message.openid,
            from_user=message.to_user,
            create_time=int(now.timestamp()),
            one_article_only=message.one_article_only,
        )
        kind = kind_of(reply) if plaintext else "empty"
        kind_of_interaction = message.interaction_kind
        follower = (
            followers.find(session, message.openid)
            if kind_of_interaction == "other"
            else followers.ensure(session, message.openid)
        )
        if follower is not None:
            followers.touch(follower, now, kind_of_interaction)
        session.add(
            InboundEvent(
                openid=message.openid[:64],
                msg_type=message.msg_type[:32],
                event=message.event[:64] or None,
                key=message.log_key,
                received_at=now,
                reply_kind=kind,
                dedup_key=message.dedup_key,
            )
        )
        return Answer(plaintext, kind)

    def _stored(self, session: Session, dedup_key: str) -> Answer:
        row = session.execute(
            select(SeenMessage.reply_xml, SeenMessage.reply_kind).where(SeenMessage.dedup_key == dedup_key)
        ).one_or_none()
        session.rollback()
        if row is None or row.reply_kind == "pending":
            return Answer("", "empty", duplicate=True)
        return Answer(row.reply_xml, row.reply_kind, duplicate=True)


class _HandlerConflict(Exception):
    """A unique constraint other than the dedupe key failed inside the handler's transaction."""
