"""`wxbot account check`: probe what the account may do and store the capability profile.

Each capability is probed with a read-only call (a temporary QR code for QR codes): an answer means available,
48001 unauthorised, 40164 this server's address is not on the IP whitelist (the address WeChat saw is kept, to
add it there; never 0.0.0.0/0). The token, the callback and API addresses and ``openapi/quota/get`` for every
API the product uses come with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from posts import capabilities as caps
from posts.account_models import CapabilityProfile
from posts.clock import Clock, system_clock
from scheduler.errors import TransportError, WeChatError
from scheduler.wechat_api import CAPABILITY_PROBES, QUOTA_PATHS, WeChatApi

IP_NOT_WHITELISTED = 40164
UNAUTHORIZED = 48001
_IP = re.compile(r"invalid ip ([0-9A-Fa-f.:]+)")

PROBES = CAPABILITY_PROBES
"""One harmless call per capability (scheduler/wechat_api.py)."""


@dataclass
class Check:
    """What one check found (also stored as a capability_profile row)."""

    account_type: str
    token_ok: bool = False
    token_error: str = ""
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    quotas: dict[str, dict[str, Any]] = field(default_factory=dict)
    callback_ips: list[str] = field(default_factory=list)
    api_ips: list[str] = field(default_factory=list)
    egress_ip: str | None = None

    @property
    def profile(self) -> caps.Profile:
        return caps.Profile(states=self.states, egress_ip=self.egress_ip)

    def available(self) -> list[str]:
        return [name for name, state in self.states.items() if state["state"] == caps.AVAILABLE]

    def unavailable(self) -> dict[str, dict[str, Any]]:
        return {n: s for n, s in self.states.items() if s["state"] in (caps.UNAUTHORIZED, caps.IP_BLOCKED)}


def egress_address(errmsg: str) -> str | None:
    """The caller's address in a 40164 message ("invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist")."""
    found = _IP.search(errmsg)
    return found.group(1) if found else None


def _state(exc: WeChatError) -> dict[str, Any]:
    if exc.errcode == UNAUTHORIZED:
        return {"state": caps.UNAUTHORIZED, "errcode": UNAUTHORIZED, "detail": "api unauthorized"}
    if exc.errcode == IP_NOT_WHITELISTED:
        return {"state": caps.IP_BLOCKED, "errcode": IP_NOT_WHITELISTED, "detail": exc.errmsg}
    kind = "no answer" if isinstance(exc, TransportError) else exc.errmsg
    return {"state": caps.ERROR, "errcode": exc.errcode, "detail": kind}


def check(
    api: WeChatApi,
    account_type: str,
    *,
    progress: Callable[[str], None] | None = None,
) -> Check:
    """Probe the account; nothing here writes the database (see :func:`store`)."""
    found = Check(account_type)
    step = progress or (lambda _name: None)
    step("token")
    assert api.broker is not None
    try:
        api.broker.token()
        found.token_ok = True
    except WeChatError as exc:
        found.token_error = f"{exc.errcode}: {exc.errmsg}"
        if exc.errcode == IP_NOT_WHITELISTED:
            found.egress_ip = egress_address(exc.errmsg)
            found.states = {name: _state(exc) for name in PROBES}
        return found
    for which, target in (("callback", "callback_ips"), ("api", "api_ips")):
        step(f"{which} addresses")
        try:
            setattr(found, target, api.ip_list(which))
        except WeChatError as exc:
            if exc.errcode == IP_NOT_WHITELISTED:
                found.egress_ip = egress_address(exc.errmsg)
    for name in PROBES:
        step(name)
        try:
            path = api.probe(name)
            found.states[name] = {"state": caps.AVAILABLE, "errcode": 0, "detail": path}
        except WeChatError as exc:
            found.states[name] = _state(exc)
            if exc.errcode == IP_NOT_WHITELISTED:
                found.egress_ip = found.egress_ip or egress_address(exc.errmsg)
    for name, paths in QUOTA_PATHS.items():
        if found.states.get(name, {}).get("state") != caps.AVAILABLE:
            continue
        for path in paths:
            step(f"quota {path}")
            try:
                quota = api.api_quota(path)
                found.quotas[path] = {k: quota.get(k) for k in ("daily_limit", "used", "remain")}
            except WeChatError as exc:
                found.quotas[path] = {"error": f"{exc.errcode}: {exc.errmsg}"}
    return found


def store(session: Session, found: Check, clock: Clock = system_clock) -> CapabilityProfile:
    """Keep the check as the account's capability profile."""
    return caps.store(
        session,
        account_type=found.account_type,
        token_ok=found.token_ok,
        states=found.states,
        quotas=found.quotas,
        callback_ips=found.callback_ips,
        api_ips=found.api_ips,
        egress_ip=found.egress_ip,
        now=clock(),
    )
