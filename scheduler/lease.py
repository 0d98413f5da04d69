"""Named leases (one active scheduler, one token refresher): a database row, or a Redis key when configured."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from posts.models import utcnow
from posts.queue import Lease


class Leases(Protocol):
    def acquire(self, name: str, holder: str, ttl: float, now: datetime | None = None) -> bool: ...

    def release(self, name: str, holder: str) -> None: ...


def new_holder(kind: str = "scheduler") -> str:
    import os
    import socket

    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DbLeases:
    """Lease rows: taken when free, expired or already ours; renewed by taking again."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def acquire(self, name: str, holder: str, ttl: float, now: datetime | None = None) -> bool:
        now = now or utcnow()
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
            session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder).values(expires_at=utcnow()))
            session.commit()

    def holder(self, name: str) -> str | None:
        with self.sessions() as session:
            row = session.get(Lease, name)
            return row.holder if row is not None and row.expires_at > utcnow() else None


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


def leases_for(redis_url: str, sessions: sessionmaker[Session]) -> DbLeases | RedisLeases:
    """Redis leases when a Redis URL is configured, database leases otherwise."""
    if redis_url:
        import redis

        return RedisLeases(redis.Redis.from_url(redis_url))
    return DbLeases(sessions)
