"""What the account may do: the capability profile `wxbot account check` stores, read through one function.

The menu, the welcome, the planner and the queue ask :func:`current` and degrade with a plain explanation
(:data:`DEGRADED`) when WeChat refused a capability (48001, or 40164 for an address not on the IP whitelist).
Before any check every capability counts as available: the configured account type decides, as it always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from posts.account_models import CapabilityProfile

AVAILABLE = "available"
UNAUTHORIZED = "unauthorized"
"""48001: the account's type or verification does not include this API."""
IP_BLOCKED = "ip_blocked"
"""40164: the caller's address is not on the account's IP whitelist."""
ERROR = "error"
"""Any other answer (the probe could not tell)."""

CUSTOM = "custom"
TEMPLATE = "template"
MASS = "mass"
MASS_LIST = "mass_list"
NOTICES = "notices"
PUBLISH = "publish"
DRAFT = "draft"
QR = "qr"
MENU = "menu"
USERS = "users"
TAGS = "tags"

NAMES: dict[str, str] = {
    CUSTOM: "customer-service messages (message/custom/send)",
    TEMPLATE: "template messages (message/template/send)",
    MASS: "mass send to a tag or everyone (message/mass/sendall)",
    MASS_LIST: "mass send to an openid list (message/mass/send)",
    NOTICES: "subscribe notices (message/subscribe/bizsend)",
    PUBLISH: "publishing articles (freepublish/*)",
    DRAFT: "the draft box (draft/*)",
    QR: "parametric QR codes (qrcode/create)",
    MENU: "the menu API (menu/create)",
    USERS: "the follower list (user/get, user/info/batchget)",
    TAGS: "user tags (tags/*)",
}
"""Every capability the product uses, and the API it stands for."""

DEGRADED: dict[str, str] = {
    QR: "no QR codes: every follower gets the keyword welcome (welcome/default.md: reply a therapy's name)",
    MASS: "no mass send: publish the content as an article (`wxbot publish`) and link it from the menu",
    MASS_LIST: "no openid-list mass send: mass sends go to a tag or everyone only",
    NOTICES: "no subscribe notices: none are offered to followers",
    PUBLISH: "no publishing (unverified accounts lost it in July 2025): menu replies link to the H5 pages",
    CUSTOM: "no customer-service messages: followers get only the passive reply to what they send",
    TEMPLATE: "no template messages: service notices by template are not sent",
    MENU: "no menu API: set the menu by hand in the MP console (`wxbot menu show` prints it)",
    USERS: "no follower list: `wxbot followers sync` cannot import followers the bot never saw follow",
    TAGS: "no user tags: therapy subscriptions are kept in the database only",
    DRAFT: "no draft box: nothing can be published or mass-sent as an article",
}
"""How the product behaves without each capability, in one line for the operator."""


@dataclass(frozen=True)
class Profile:
    """The account's capabilities as last checked (``checked_at`` None: never checked, everything assumed)."""

    checked_at: datetime | None = None
    states: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    egress_ip: str | None = None

    def has(self, capability: str) -> bool:
        """Whether the product may use ``capability`` (an unchecked or unprobed one counts as available)."""
        state = self.states.get(capability)
        return state is None or state.get("state") in (AVAILABLE, ERROR)

    def missing(self) -> dict[str, str]:
        """Each refused capability and why (errcode and WeChat's words)."""
        out = {}
        for name, state in self.states.items():
            if not self.has(name):
                out[name] = f"{state.get('errcode')} {state.get('detail', '')}".strip()
        return out

    def degradations(self) -> list[str]:
        """The plain explanations of how the product degrades, one per refused capability."""
        return [DEGRADED[name] for name in self.states if not self.has(name) and name in DEGRADED]


UNCHECKED = Profile()


def current(session: Session) -> Profile:
    """The capability profile every part reads: the newest `wxbot account check`, or UNCHECKED."""
    row = session.scalars(select(CapabilityProfile).order_by(CapabilityProfile.id.desc()).limit(1)).first()
    if row is None:
        return UNCHECKED
    return Profile(checked_at=row.checked_at, states=dict(row.capabilities or {}), egress_ip=row.egress_ip)


def store(
    session: Session,
    *,
    account_type: str,
    token_ok: bool,
    states: Mapping[str, Mapping[str, Any]],
    quotas: Mapping[str, Any],
    callback_ips: list[str],
    api_ips: list[str],
    egress_ip: str | None,
    now: datetime,
) -> CapabilityProfile:
    """Record one check; it becomes the profile."""
    row = CapabilityProfile(
        checked_at=now,
        account_type=account_type,
        token_ok=token_ok,
        capabilities={k: dict(v) for k, v in states.items()},
        quotas=dict(quotas),
        callback_ips=list(callback_ips),
        api_ips=list(api_ips),
        egress_ip=egress_ip,
    )
    session.add(row)
    session.flush()
    return row
