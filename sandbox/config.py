"""Configuration of the simulated Official Account (`PlatformConfig`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .limits import ACCOUNT_CAPABILITIES, DAILY_QUOTAS, Limits

AccountType = Literal["service", "subscription"]
MessageMode = Literal["plain", "compat", "safe"]


@dataclass
class PlatformConfig:
    """Credentials, account type, callback settings and limit overrides of one Official Account."""

    app_id: str = "wx0000sandbox0001"
    app_secret: str = "sandbox-secret-0000000000000001"
    token: str = "sandboxtoken"
    encoding_aes_key: str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    original_id: str = "gh_5a4db0x00001"
    account_type: AccountType = "service"
    verified: bool = True
    """A verified (认证) account; an unverified one answers 48001 on most APIs (limits.ACCOUNT_CAPABILITIES)."""
    capabilities: frozenset[str] | None = None
    """Override the account kind's capabilities (None: ACCOUNT_CAPABILITIES of account_type and verified)."""
    ip_whitelist: tuple[str, ...] = ()
    """Caller addresses allowed on /cgi-bin (empty: not enforced); any other caller gets 40164 naming it."""
    message_mode: MessageMode = "safe"
    callback_url: str | None = None
    daily_quotas: dict[str, int] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    limits: Limits = field(default_factory=Limits)
    auto_complete_publish: bool = True
    public_base_url: str = "http://weixin.qq.com"
    notices_enabled: bool = True
    """Subscribe notices (订阅通知) for this account; False: bizsend answers 48001 (an account without them)."""
    notice_long_term: bool = False
    """Long-term notices (public medical services): a send does not use up the follower's consent."""

    def __post_init__(self) -> None:
        if self.account_type not in ("service", "subscription"):
            raise ValueError(f"account_type must be service or subscription, not {self.account_type!r}")
        if self.message_mode not in ("plain", "compat", "safe"):
            raise ValueError(f"message_mode must be plain, compat or safe, not {self.message_mode!r}")
        if len(self.encoding_aes_key) != 43:
            raise ValueError("encoding_aes_key must be 43 characters")

    def allowed(self, capability: str) -> bool:
        """Whether this kind of account may use ``capability``."""
        found = self.capabilities
        if found is None:
            found = ACCOUNT_CAPABILITIES[(self.account_type, self.verified)]
        return capability in found

    def daily_quota(self, path: str) -> int | None:
        """Daily call limit for `path` (override first, then the documented default)."""
        if path in self.daily_quotas:
            return self.daily_quotas[path]
        return DAILY_QUOTAS.get(path)
