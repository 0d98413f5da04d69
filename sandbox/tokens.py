"""access_token issuance and checking: classic `/token` (5-minute overlap) and `/stable_token`."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from .errors import ApiError
from .limits import Limits
from .models import TokenRecord


class TokenStore:
    """Issued tokens of both kinds; classic and stable tokens never invalidate each other."""

    def __init__(self, clock: Callable[[], float], limits: Limits) -> None:
        self._clock = clock
        self._limits = limits
        self._tokens: dict[str, TokenRecord] = {}
        self._current: dict[str, TokenRecord | None] = {"classic": None, "stable": None}
        self._forced: list[float] = []

    def _new(self, kind: str) -> TokenRecord:
        now = self._clock()
        token = "SBX_" + secrets.token_urlsafe(96)
        record = TokenRecord(token, kind, now, now + self._limits.token_ttl)  # type: ignore[arg-type]
        self._tokens[token] = record
        self._current[kind] = record
        return record

    def issue_classic(self) -> TokenRecord:
        """A new classic token; the previous one keeps working for `token_overlap` seconds."""
        previous = self._current["classic"]
        if previous is not None and previous.invalid_after is None:
            previous.invalid_after = self._clock() + self._limits.token_overlap
        return self._new("classic")

    def stable(self, force_refresh: bool) -> TokenRecord:
        """The stable token: same value while valid (renewed `stable_renew_margin` before expiry)."""
        now = self._clock()
        current = self._current["stable"]
        if force_refresh:
            day_start = now - 86_400
            self._forced = [t for t in self._forced if t > day_start]
            if self._forced and now - self._forced[-1] < self._limits.stable_force_min_interval:
                raise ApiError(45011, "force_refresh needs 30s between calls")
            if len(self._forced) >= self._limits.stable_force_per_day:
                raise ApiError(45009, "force_refresh daily limit")
            self._forced.append(now)
            if current is not None:
                current.invalid_after = now
            return self._new("stable")
        if current is not None and now < current.expires_at - self._limits.stable_renew_margin:
            return current
        return self._new("stable")

    def check(self, token: str | None) -> TokenRecord:
        """Validate an access_token: 41001 missing, 40001 unknown or superseded, 42001 expired."""
        if not token:
            raise ApiError(41001)
        record = self._tokens.get(token)
        if record is None:
            raise ApiError(40001)
        now = self._clock()
        if now >= record.expires_at:
            raise ApiError(42001)
        if record.invalid_after is not None and now >= record.invalid_after:
            raise ApiError(40001)
        return record

    def expire_all(self) -> None:
        """Test helper: make every issued token expired."""
        now = self._clock()
        for record in self._tokens.values():
            record.expires_at = min(record.expires_at, now)
