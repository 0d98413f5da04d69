"""Send to me: an operator binds their own WeChat once, then has a post sent to it to look at.

The console asks for a one-time code (:func:`request_code`); the scheduler turns it into a temporary QR code whose
scene carries it (``SCENE_PREFIX`` + code); the bot, on the SCAN or subscribe push of that scene, binds the scanner's
openid to the operator (:func:`bind`: once, before the code expires). A test send (:func:`request_test_send`) is a
row the scheduler delivers to that openid by a customer-service message inside the 48-hour window or by WeChat's
mass preview otherwise: never a delivery of the post, never part of its report or the month's mass budget.
Every step is an audit line.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from posts import limits
from posts.accounts import audit
from posts.operators import OperatorUser
from posts.queue import Post
from posts.sendtome_models import BindCode, OperatorTestSend, OperatorWeChat

SCENE_PREFIX = "opbind:"
"""A QR scene of this prefix is an operator's bind code, never a content scene (posts/content/scenes.yaml)."""
CODE_MINUTES = 10
"""How long a bind code (and its QR code) lives."""
OPEN_CODE_STATES = ("waiting", "ready")
OPEN_SEND_STATES = ("pending", "sending")
BIND_OUTCOMES = ("bound", "expired", "used", "unknown")
"""What a scan of a bind scene did (the bot's reply names it)."""


class SendToMeError(ValueError):
    """A refused request, with a code the console words (console/messages.yaml ``sendtome``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def scene_of(code: BindCode) -> str:
    scene = SCENE_PREFIX + code.code
    assert len(scene) <= limits.QR_SCENE_STR_MAX_CHARS
    return scene


def code_in(scene: str | None) -> str | None:
    """The bind code a QR scene carries, or None for any other scene."""
    if scene and scene.startswith(SCENE_PREFIX):
        return scene[len(SCENE_PREFIX) :]
    return None


def tail(openid: str) -> str:
    """The end of an openid, enough for an operator to recognise their own account."""
    return "…" + openid[-6:]


def request_code(session: Session, user: OperatorUser, now: datetime) -> BindCode:
    """A fresh code for ``user`` (their earlier open codes are replaced: one QR code works at a time)."""
    for earlier in session.scalars(
        select(BindCode).where(BindCode.user_id == user.id, BindCode.state.in_(OPEN_CODE_STATES))
    ):
        earlier.state = "replaced"
    code = BindCode(
        code=secrets.token_urlsafe(18),
        user_id=user.id,
        state="waiting",
        created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES),
    )
    session.add(code)
    session.flush()
    audit(session, user.username, "wechat-bind-code", f"user:{user.username}", at=now,
          after={"code_id": code.id, "expires_at": code.expires_at.isoformat()})  # fmt: skip
    return code


def current_code(session: Session, user_id: int, now: datetime) -> BindCode | None:
    """The operator's newest code, while it can still be used (or has just failed: the page says why)."""
    code = session.scalars(
        select(BindCode).where(BindCode.user_id == user_id).order_by(BindCode.id.desc()).limit(1)
    ).first()
    if code is None or code.state in ("used", "replaced") or code.expires_at <= now:
        return None
    return code


def waiting_codes(session: Session, now: datetime) -> list[BindCode]:
    """Codes the scheduler has still to make QR codes for (unexpired)."""
    return list(
        session.scalars(
            select(BindCode).where(BindCode.state == "waiting", BindCode.expires_at > now).order_by(BindCode.id)
        )
    )


def qr_made(code: BindCode, ticket: str, url: str) -> None:
    code.state, code.ticket, code.qr_url = "ready", ticket, url


def qr_failed(code: BindCode, problem: str) -> None:
    code.state, code.problem = "failed", problem


def seconds_left(code: BindCode, now: datetime) -> int:
    return max(int((code.expires_at - now).total_seconds()), 0)


@dataclass(frozen=True)
class Bound:
    """What a scan of a bind scene did: one of BIND_OUTCOMES, and the operator it bound."""

    outcome: str
    username: str = ""


def bind(session: Session, code_text: str, openid: str, now: datetime) -> Bound:
    """Bind ``openid`` to the code's operator: only an unused code, before it expires, and only once (a conditional
    UPDATE, so two scans at once bind one). Anything else binds nothing."""
    code = session.scalars(select(BindCode).where(BindCode.code == code_text)).one_or_none()
    if code is None:
        return Bound("unknown")
    if code.state == "used" or code.state == "replaced":
        return Bound("used")
    if code.state != "ready" or code.expires_at <= now:
        return Bound("expired")
    user = session.get(OperatorUser, code.user_id)
    if user is None or not user.active:
        return Bound("unknown")
    won = session.execute(
        update(BindCode)
        .where(BindCode.id == code.id, BindCode.state == "ready")
        .values(state="used", used_at=now, used_by=openid)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(code)
    if won != 1:
        return Bound("used")
    row = session.scalars(select(OperatorWeChat).where(OperatorWeChat.user_id == user.id)).one_or_none()
    before = {"openid": tail(row.openid)} if row else {}
    if row is None:
        row = OperatorWeChat(user_id=user.id, openid=openid, bound_at=now)
        session.add(row)
    else:
        row.openid, row.bound_at = openid, now
    audit(session, user.username, "wechat-bind", f"user:{user.username}", at=now, before=before,
          after={"openid": tail(openid), "code_id": code.id})  # fmt: skip
    return Bound("bound", user.username)


def binding(session: Session, user_id: int) -> OperatorWeChat | None:
    return session.scalars(select(OperatorWeChat).where(OperatorWeChat.user_id == user_id)).one_or_none()


def unbind(session: Session, user: OperatorUser, now: datetime) -> bool:
    """Forget the operator's WeChat; False when none was bound."""
    row = binding(session, user.id)
    if row is None:
        return False
    audit(session, user.username, "wechat-unbind", f"user:{user.username}", at=now, before={"openid": tail(row.openid)})
    session.delete(row)
    return True


def request_test_send(session: Session, user: OperatorUser, post: Post, now: datetime, key: str) -> OperatorTestSend:
    """Queue ``post`` for the operator's own WeChat (the same key twice: the first row). SendToMeError not_bound."""
    found = session.scalars(select(OperatorTestSend).where(OperatorTestSend.request_key == key)).one_or_none()
    if found is not None:
        return found
    row = binding(session, user.id)
    if row is None:
        raise SendToMeError("not_bound")
    sent = OperatorTestSend(
        post_id=post.id, user_id=user.id, openid=row.openid, request_key=key, state="pending", requested_at=now
    )
    session.add(sent)
    session.flush()
    audit(session, user.username, "test-send", f"post:{post.id}", at=now,
          after={"test_send": sent.id, "openid": tail(row.openid)})  # fmt: skip
    return sent


def test_sends(session: Session, post_id: int, user_id: int, limit: int = 5) -> list[OperatorTestSend]:
    """The operator's latest test sends of a post, newest first."""
    query = (
        select(OperatorTestSend)
        .where(OperatorTestSend.post_id == post_id, OperatorTestSend.user_id == user_id)
        .order_by(OperatorTestSend.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def pending_sends(session: Session, limit: int = 20) -> list[int]:
    query = select(OperatorTestSend.id).where(OperatorTestSend.state == "pending").order_by(OperatorTestSend.id)
    return list(session.scalars(query.limit(limit)))


def claim(session: Session, send_id: int) -> OperatorTestSend | None:
    """The row, marked sending, if this pass won it (a conditional UPDATE)."""
    won = session.execute(
        update(OperatorTestSend)
        .where(OperatorTestSend.id == send_id, OperatorTestSend.state == "pending")
        .values(state="sending")
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if won != 1:
        return None
    return session.get(OperatorTestSend, send_id, populate_existing=True)


def record(
    session: Session,
    sent: OperatorTestSend,
    state: str,
    now: datetime,
    *,
    channel: str = "",
    problem: str = "",
    errcode: int | None = None,
) -> None:
    """The scheduler's result (sent, failed, unknown), with an audit line."""
    sent.state, sent.channel, sent.problem, sent.errcode = state, channel or sent.channel, problem, errcode
    if state in ("sent", "unknown"):
        sent.sent_at = now
    audit(session, "scheduler", "test-send-result", f"post:{sent.post_id}", at=now,
          after={"test_send": sent.id, "state": state, "channel": sent.channel, "problem": problem})  # fmt: skip
