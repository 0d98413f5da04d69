"""One push, one transaction: claim its dedupe key, run its handler, log it, store and return the reply."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.handlers import Context, Renderer
from bot.message import Inbound
from bot.replies import kind_of, render
from bot.routes import Routes
from bot.texts import Texts
from bot.writelock import write_lock_for
from posts.catalog import Catalog
from posts.models import Follower, InboundEvent, SeenMessage

log = logging.getLogger(__name__)

# The per-push bookkeeping runs as plain Core statements (the ORM unit of work costs more than the handlers).
_SEEN = SeenMessage.__table__
_LOG = InboundEvent.__table__
_FOLLOWER = Follower.__table__
CLAIM = insert(_SEEN)
STORE_REPLY = (
    update(_SEEN)
    .where(_SEEN.c.dedup_key == bindparam("b_key"))
    .values(reply_kind=bindparam("b_kind"), reply_xml=bindparam("b_xml"))
)
TOUCH = (
    update(_FOLLOWER)
    .where(_FOLLOWER.c.openid == bindparam("b_openid"))
    .values(
        last_interaction_at=bindparam("b_at", type_=_FOLLOWER.c.last_interaction_at.type),
        last_interaction_kind=bindparam("b_kind"),
    )
)
ADD_FOLLOWER = insert(_FOLLOWER)
LOG = insert(_LOG)


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
        self.write_lock = write_lock_for(sessions.kw.get("bind"))

    def __call__(self, message: Inbound) -> Answer:
        try:
            return self._once(message)
        except _HandlerConflict:
            # Two different pushes raced on a shared row (e.g. a new follower's first two messages): run again.
            return self._once(message)

    def _once(self, message: Inbound) -> Answer:
        now = self.clock()
        with self.write_lock(), self.sessions() as session:  # type: ignore[operator]
            try:
                # The unique insert: waits for, then conflicts with, a copy of this push still in flight.
                session.connection().execute(
                    CLAIM, {"dedup_key": message.dedup_key, "received_at": now, "reply_kind": "pending"}
                )
            except IntegrityError:
                session.rollback()
                return self._stored(session, message.dedup_key)
            try:
                answer = self._handle(session, message, now)
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
        session.flush()  # the handler's ORM writes first; the bookkeeping below goes straight to the connection
        conn = session.connection()
        interaction = message.interaction_kind
        touched = conn.execute(TOUCH, {"b_openid": message.openid, "b_at": now, "b_kind": interaction})
        if touched.rowcount == 0 and interaction != "other":
            conn.execute(
                ADD_FOLLOWER,
                {
                    "openid": message.openid,
                    "subscribed": True,
                    "last_interaction_at": now,
                    "last_interaction_kind": interaction,
                },
            )
        conn.execute(
            LOG,
            {
                "openid": message.openid[:64],
                "msg_type": message.msg_type[:32],
                "event": message.event[:64] or None,
                "key": message.log_key,
                "received_at": now,
                "reply_kind": kind,
                "dedup_key": message.dedup_key,
            },
        )
        conn.execute(STORE_REPLY, {"b_key": message.dedup_key, "b_kind": kind, "b_xml": plaintext})
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
