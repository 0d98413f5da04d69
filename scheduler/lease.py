"""Named leases (one active scheduler, one token refresher): a database row, or a Redis key when configured."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from posts.clock import Clock, system_clock
from posts.coordination import Lease

log = logging.getLogger(__name__)


class Leases(Protocol):
    def acquire(self, name: str, holder: str, ttl: float, now: datetime | None = None) -> bool: ...

    def release(self, name: str, holder: str) -> None: ...


def new_holder(kind: str = "scheduler") -> str:
    import os
    import socket

    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DbLeases:
    """Lease rows: taken when free, expired or already ours; renewed by taking again."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = system_clock) -> None:
        self.sessions = sessions
        self.clock = clock

    def acquire(self, name: str, holder: str, ttl: float, now: datetime | None = None) -> bool:
        now = now or self.clock()
        expires = now + timedelta(seconds=ttl)
        with self.sessions() as session:
            result = session.execute(
                update(Lease)
                .where(Lease.name == name, (Lease.holder == holder) | (Lease.expires_at < now))
                .values(holder=holder, expires_at=expires)
            )
            session.commit()
            if result.rowcount:  # type: ignore[attr-defined]
                return True
            if session.scalar(select(Lease.name).where(Lease.name == name)) is not None:
                return False
            session.add(Lease(name=name, holder=holder, expires_at=expires, acquired_at=now))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

    def release(self, name: str, holder: str) -> None:
        with self.sessions() as session:
            session.execute(
                update(Lease).where(Lease.name == name, Lease.holder == holder).values(expires_at=self.clock())
            )
            session.commit()

    def holder(self, name: str) -> str | None:
        with self.sessions() as session:
            row = session.get(Lease, name)
            return row.holder if row is not None and row.expires_at > self.clock() else None


_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class RedisLeases:
    """The same contract on Redis: SET NX PX, renewed and released only by the holder (Lua)."""

    def __init__(self, client: Any, prefix: str = "wxbot:lease:") -> None:
        self.client = client
        self.prefix = prefix

    def acquire(self, name: str, holder: str, ttl: float, now: datetime | None = None) -> bool:
        return bool(self.client.eval(_RENEW, 1, self.prefix + name, holder, int(ttl * 1000)))

    def release(self, name: str, holder: str) -> None:
        self.client.eval(_RELEASE, 1, self.prefix + name, holder)

    def holder(self, name: str) -> str | None:
        value = self.client.get(self.prefix + name)
        return value.decode() if isinstance(value, bytes) else value


class FallbackLeases:
    """Redis leases while Redis answers; the database's leases while it does not (logged once per outage)."""

    def __init__(self, primary: RedisLeases, fallback: DbLeases) -> None:
        import redis

        self.primary = primary
        self.fallback = fallback
        self._down = False
        self._errors: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError)

    def _note(self, exc: BaseException | None) -> None:
        if exc is not None and not self._down:
            log.warning("Redis unreachable (%s): leases fall back to the database", exc)
        elif exc is None and self._down:
            log.warning("Redis reachable again: leases back on Redis")
        self._down = exc is not None

    def acquire(self, name: str, holder: str, ttl: float, now: datetime | None = None) -> bool:
        try:
            won = self.primary.acquire(name, holder, ttl, now)
        except self._errors as exc:
            self._note(exc)
            return self.fallback.acquire(name, holder, ttl, now)
        self._note(None)
        return won

    def release(self, name: str, holder: str) -> None:
        try:
            self.primary.release(name, holder)
        except self._errors as exc:
            self._note(exc)
        self.fallback.release(name, holder)

    def holder(self, name: str) -> str | None:
        try:
            return self.primary.holder(name)
        except self._errors as exc:
            self._note(exc)
            return self.fallback.holder(name)


def redis_client(redis_url: str) -> Any:
    """A client that gives up quickly when Redis is down (the fallbacks take over)."""
    import redis

    return redis.Redis.from_url(redis_url, socket_connect_timeout=1.0, socket_timeout=2.0)


def leases_for(
    redis_url: str, sessions: sessionmaker[Session], clock: Clock = system_clock
) -> DbLeases | FallbackLeases:
    """Redis leases (database leases while Redis is down) when a Redis URL is configured, database leases otherwise."""
    if redis_url:
        return FallbackLeases(RedisLeases(redis_client(redis_url)), DbLeases(sessions, clock))
    return DbLeases(sessions, clock)
