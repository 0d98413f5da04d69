"""One access token for every process: shared store (database or Redis), single-flight refresh via stable_token."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from posts.clock import Clock, system_clock
from posts.coordination import AccessToken
from scheduler.errors import WeChatError
from scheduler.lease import Leases, new_holder

Fetch = Callable[[bool], tuple[str, int]]
"""fetch(force_refresh) -> (access_token, expires_in): one stable_token call (WeChatApi.fetch_stable_token)."""

REFRESH_MARGIN_SECONDS = 300
"""Refresh this long before expiry (stable_token renews 5 minutes early too)."""


@dataclass(frozen=True)
class StoredToken:
    token: str
    expires_at: datetime


class TokenStore(Protocol):
    def get(self, app_id: str) -> StoredToken | None: ...

    def put(self, app_id: str, token: str, expires_at: datetime, by: str) -> None: ...


class DbTokenStore:
    """The access_token table: one row per app id."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = system_clock) -> None:
        self.sessions = sessions
        self.clock = clock

    def get(self, app_id: str) -> StoredToken | None:
        with self.sessions() as session:
            row = session.get(AccessToken, app_id)
            return StoredToken(row.token, row.expires_at) if row else None

    def put(self, app_id: str, token: str, expires_at: datetime, by: str) -> None:
        with self.sessions() as session:
            row = session.get(AccessToken, app_id) or AccessToken(app_id=app_id)
            row.token, row.expires_at, row.refreshed_at, row.refreshed_by = token, expires_at, self.clock(), by
            session.add(row)
            session.commit()


class RedisTokenStore:
    """A Redis key per app id, JSON {token, expires_at}, with a TTL."""

    def __init__(self, client: Any, prefix: str = "wxbot:token:", clock: Clock = system_clock) -> None:
        self.client = client
        self.prefix = prefix
        self.clock = clock

    def get(self, app_id: str) -> StoredToken | None:
        raw = self.client.get(self.prefix + app_id)
        if not raw:
            return None
        data = json.loads(raw)
        return StoredToken(data["token"], datetime.fromtimestamp(data["expires_at"], UTC))

    def put(self, app_id: str, token: str, expires_at: datetime, by: str) -> None:
        ttl = max(int((expires_at - self.clock()).total_seconds()), 1)
        value = json.dumps({"token": token, "expires_at": expires_at.timestamp(), "by": by})
        self.client.set(self.prefix + app_id, value, ex=ttl)


class FallbackTokenStore:
    """The Redis store while Redis answers, the database's while it does not (a token is written to both)."""

    def __init__(self, primary: RedisTokenStore, fallback: DbTokenStore) -> None:
        import redis

        self.primary = primary
        self.fallback = fallback
        self._errors: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError)

    def get(self, app_id: str) -> StoredToken | None:
        try:
            return self.primary.get(app_id)
        except self._errors:
            return self.fallback.get(app_id)

    def put(self, app_id: str, token: str, expires_at: datetime, by: str) -> None:
        self.fallback.put(app_id, token, expires_at, by)
        with contextlib.suppress(*self._errors):
            self.primary.put(app_id, token, expires_at, by)


class TokenBroker:
    """Hands out the shared token; refreshes it once under a lease when missing, near expiry or refused."""

    def __init__(
        self,
        app_id: str,
        fetch: Fetch,
        store: TokenStore,
        leases: Leases,
        *,
        clock: Clock = system_clock,
        wait_seconds: float = 15.0,
    ) -> None:
        self.app_id = app_id
        self.fetch = fetch
        self.store = store
        self.leases = leases
        self.clock = clock
        self.wait_seconds = wait_seconds
        self.holder = new_holder("token")
        self.refreshes = 0
        self._single_flight = threading.Lock()
        """The lease keeps processes apart; this keeps this process's threads (which share ``holder``) apart."""

    def _fresh(self, stored: StoredToken | None, refused: str | None) -> bool:
        margin = timedelta(seconds=REFRESH_MARGIN_SECONDS)
        return stored is not None and stored.token != refused and stored.expires_at - margin > self.clock()

    def token(self) -> str:
        """The current token, refreshing it first if it is missing or about to expire."""
        stored = self.store.get(self.app_id)
        if self._fresh(stored, None):
            return stored.token  # type: ignore[union-attr]
        return self._refresh(None)

    def refused(self, token: str) -> str:
        """WeChat refused ``token`` (40001/40014/42001): a token other than it, refreshed at most once."""
        stored = self.store.get(self.app_id)
        if self._fresh(stored, token):
            return stored.token  # type: ignore[union-attr]
        return self._refresh(token)

    def _refresh(self, refused: str | None) -> str:
        with self._single_flight:
            return self._refresh_under_lease(refused)

    def _refresh_under_lease(self, refused: str | None) -> str:
        name = f"token:{self.app_id}"
        deadline = time.monotonic() + self.wait_seconds
        while True:
            if self.leases.acquire(name, self.holder, ttl=30):
                try:
                    stored = self.store.get(self.app_id)
                    if self._fresh(stored, refused):
                        return stored.token  # type: ignore[union-attr]
                    token, expires_in = self.fetch(False)
                    if token == refused:
                        token, expires_in = self.fetch(True)
                    self.store.put(self.app_id, token, self.clock() + timedelta(seconds=expires_in), self.holder)
                    self.refreshes += 1
                    return token
                finally:
                    self.leases.release(name, self.holder)
            stored = self.store.get(self.app_id)
            if self._fresh(stored, refused):
                return stored.token  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise WeChatError(None, "timed out waiting for another process to refresh the access token")
            time.sleep(0.02)
