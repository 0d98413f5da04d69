"""Staff accounts of the console: argon2 passwords, server-side sessions, the sign-in throttle, the audit log.

Pure functions over rows: every time comes from the caller (``now``), every change is in the caller's
transaction. The console edge (console/) and the `wxbot users` command both use them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from posts.operators import ROLES, AuditEntry, OperatorSession, OperatorUser, SigninAttempt
from posts.settings import ConsoleSettings

MIN_PASSWORD_CHARS = 10
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,32}$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")


class AccountError(ValueError):
    """A refused account action; ``code`` names it for the console's words, the message is the CLI's line."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError("password_short", f"the password needs at least {MIN_PASSWORD_CHARS} characters")


def audit(
    session: Session,
    actor: str,
    action: str,
    target: str,
    *,
    at: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """One line of the audit log, in the caller's transaction."""
    session.add(AuditEntry(actor=actor, action=action, target=target, at=at, before=before or {}, after=after or {}))


def _public(user: OperatorUser) -> dict[str, Any]:
    return {"role": user.role, "active": user.active, "display_name": user.display_name}


# -- users ----------------------------------------------------------------------------------------------------


def find_user(session: Session, username: str) -> OperatorUser | None:
    return session.scalar(select(OperatorUser).where(OperatorUser.username == username))


def add_user(
    session: Session, username: str, role: str, password: str, *, by: str, now: datetime, display_name: str = ""
) -> OperatorUser:
    if not USERNAME.match(username):
        raise AccountError("username_bad", "a user name is 2-32 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise AccountError("role_unknown", f"unknown role {role!r}: use {', '.join(ROLES)}")
    if find_user(session, username) is not None:
        raise AccountError("username_taken", f"user {username!r} exists already")
    check_password_rules(password)
    user = OperatorUser(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        active=True,
        failed_signins=0,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    audit(session, by, "user-add", f"user:{username}", at=now, after=_public(user))
    return user


def _get(session: Session, username: str) -> OperatorUser:
    user = find_user(session, username)
    if user is None:
        raise AccountError("user_unknown", f"no user {username!r}")
    return user


def list_users(session: Session) -> list[OperatorUser]:
    return list(session.scalars(select(OperatorUser).order_by(OperatorUser.username)))


def disable_user(session: Session, username: str, *, by: str, now: datetime) -> OperatorUser:
    """Disable an account and end its sessions at once."""
    user = _get(session, username)
    before = _public(user)
    user.active = False
    revoke_sessions(session, user.id, now)
    audit(session, by, "user-disable", f"user:{username}", at=now, before=before, after=_public(user))
    return user


def reset_password(session: Session, username: str, password: str, *, by: str, now: datetime) -> OperatorUser:
    """A new password; unlocks the account and ends its sessions (they were signed in with the old one)."""
    user = _get(session, username)
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.failed_signins = 0
    user.locked_until = None
    revoke_sessions(session, user.id, now)
    audit(session, by, "password-reset", f"user:{username}", at=now)
    return user


# -- sign-in --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    user: OperatorUser
    token: str
    """The cookie's value (only its hash is stored)."""
    csrf: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _address_failures(session: Session, address: str, since: datetime) -> int:
    query = select(func.count()).where(
        SigninAttempt.address == address, SigninAttempt.ok.is_(False), SigninAttempt.at >= since
    )
    return session.scalar(query) or 0


def sign_in(
    session: Session, username: str, password: str, address: str, *, now: datetime, rules: ConsoleSettings
) -> SignedIn:
    """A new session, or AccountError: ``bad_credentials``, ``locked`` (with ``until``), ``address_blocked``.

    After ``rules.max_failures`` wrong passwords in a row the account locks for ``lockout_minutes``: the next
    attempt is refused even with the right password. One address is refused after ``address_max_failures``
    wrong passwords within ``address_window_minutes``, whichever accounts it tried. The caller commits either way
    (the attempt is recorded even when refused).
    """
    window = now - timedelta(minutes=rules.address_window_minutes)
    if _address_failures(session, address, window) >= rules.address_max_failures:
        session.add(SigninAttempt(username=username[:64], address=address, ok=False, at=now))
        raise AccountError("address_blocked", "too many wrong passwords from this address; try again later")
    user = find_user(session, username)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        session.add(SigninAttempt(username=username[:64], address=address, ok=False, at=now))
        raise AccountError("locked", f"account {username!r} is locked", until=user.locked_until)
    good = False
    try:
        good = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        good = False
    good = good and user is not None and user.active
    session.add(SigninAttempt(username=username[:64], address=address, ok=good, at=now))
    if not good or user is None:
        if user is not None:
            user.failed_signins += 1
            if user.failed_signins >= rules.max_failures:
                user.locked_until = now + timedelta(minutes=rules.lockout_minutes)
                audit(
                    session,
                    username,
                    "user-locked",
                    f"user:{username}",
                    at=now,
                    after={"failures": user.failed_signins},
                )
        raise AccountError("bad_credentials", "wrong user name or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_signins = 0
    user.locked_until = None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(
        OperatorSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            csrf_token=csrf,
            address=address[:64],
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=rules.session_hours),
        )
    )
    audit(session, username, "sign-in", "session", at=now, after={"address": address})
    return SignedIn(user, token, csrf)


def current(
    session: Session, token: str | None, *, now: datetime, rules: ConsoleSettings
) -> tuple[OperatorUser, OperatorSession] | None:
    """The signed-in user of a cookie, touching the session; None when absent, revoked, idle or expired."""
    if not token:
        return None
    row = session.scalar(select(OperatorSession).where(OperatorSession.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(minutes=rules.idle_minutes) <= now:
        return None
    user = session.get(OperatorUser, row.user_id)
    if user is None or not user.active:
        return None
    row.last_seen_at = now
    return user, row


def sign_out(session: Session, token: str | None, *, now: datetime) -> None:
    if not token:
        return
    row = session.scalar(select(OperatorSession).where(OperatorSession.token_hash == _token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        user = session.get(OperatorUser, row.user_id)
        audit(session, user.username if user else "?", "sign-out", "session", at=now)


def revoke_sessions(session: Session, user_id: int, now: datetime) -> int:
    """End every open session of a user; returns how many."""
    return session.execute(
        update(OperatorSession)
        .where(OperatorSession.user_id == user_id, OperatorSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]


def audit_log(session: Session, target: str | None = None, limit: int = 100) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if target:
        query = query.where(AuditEntry.target == target)
    return list(session.scalars(query))
