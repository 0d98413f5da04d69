"""Send to me, the scheduler's half: the QR codes of operators' bind codes, and their test sends.

A bind code (posts/sendtome.py) becomes a temporary QR code (qrcode/create, a string scene carrying the code, living
as long as the code). A test send goes to the operator's own openid once, never retried (the operator presses the
button again): as a customer-service message while their 48-hour window has messages left, otherwise by WeChat's
mass preview (its own daily limit, posts/limits.py; no month budget used). It is never a delivery of the post.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from posts import capabilities, interactions, ledger, sendtome
from posts.clock import Clock
from posts.compose import ContentError
from posts.models import Follower
from posts.queue import Post
from posts.script import SIMPLIFIED, converter, text_links
from posts.sendtome_models import OperatorTestSend
from scheduler import errors, quota
from scheduler.errors import TransportError, WeChatError
from scheduler.preview import Preview
from scheduler.wechat_api import MASS_PREVIEW, WeChatApi, text_message

log = logging.getLogger(__name__)

PROBLEMS: dict[int, str] = {
    45015: "window_closed",
    45047: "window_used",
    43004: "unfollowed",
    40003: "unfollowed",
    errors.DAILY_QUOTA: "quota",
    48001: "unauthorized",
}
"""WeChat's answer → the problem code the console words (any other errcode: wechat_error, the code in small print)."""


def run(
    sessions: sessionmaker[Session],
    api: WeChatApi,
    preview: Preview,
    clock: Clock,
    daily_limits: Mapping[str, int] | None = None,
) -> int:
    """One pass: QR codes for waiting bind codes, then pending test sends; how many rows were handled."""
    return make_qr_codes(sessions, api, clock) + send_tests(sessions, api, preview, clock, daily_limits)


def make_qr_codes(sessions: sessionmaker[Session], api: WeChatApi, clock: Clock) -> int:
    handled = 0
    with sessions() as session:
        for code in sendtome.waiting_codes(session, clock()):
            now = clock()
            if not capabilities.current(session).has(capabilities.QR):
                sendtome.qr_failed(code, "no_qr")
            else:
                try:
                    ticket, url = api.create_qrcode(sendtome.scene_of(code), sendtome.seconds_left(code, now))
                except TransportError as exc:  # no ticket came back: the next pass tries again until it expires
                    log.warning("bind code %s: no QR code yet (%s)", code.id, exc)
                    continue
                except WeChatError as exc:
                    sendtome.qr_failed(code, PROBLEMS.get(exc.errcode or 0, "wechat_error"))
                else:
                    sendtome.qr_made(code, ticket, url)
            session.commit()
            handled += 1
    return handled


def send_tests(
    sessions: sessionmaker[Session],
    api: WeChatApi,
    preview: Preview,
    clock: Clock,
    daily_limits: Mapping[str, int] | None = None,
    limit: int = 20,
) -> int:
    limits = quota.DAILY_LIMITS if daily_limits is None else daily_limits
    with sessions() as session:
        ids = sendtome.pending_sends(session, limit)
    handled = 0
    for send_id in ids:
        with sessions() as session:
            row = sendtome.claim(session, send_id)
            if row is None:
                session.rollback()
                continue
            session.commit()  # claimed before the call: a second pass never sends it again
            _send_one(session, api, preview, row, clock, limits)
            session.commit()
            handled += 1
    return handled


def _send_one(
    session: Session, api: WeChatApi, preview: Preview, row: OperatorTestSend, clock: Clock, limits: Mapping[str, int]
) -> None:
    now = clock()
    post = session.get(Post, row.post_id)
    try:
        message = preview.message_for(post) if post is not None else None
    except ContentError:
        message = None
    if message is None:
        sendtome.record(session, row, "failed", now, problem="content")
        return
    follower = session.scalars(select(Follower).where(Follower.openid == row.openid)).one_or_none()
    if follower is None or not follower.subscribed:
        sendtome.record(session, row, "failed", now, problem="unfollowed")
        return
    body = text_message(_in_script(preview, message.text, follower.script or SIMPLIFIED))
    profile = capabilities.current(session)
    window = interactions.window(follower.last_message_at, follower.last_event_at, now)
    used = ledger.window_used(session, {row.openid: window.opened_at}).get(row.openid, 0) if window.opened_at else 0
    if window.is_open and used < window.quota and profile.has(capabilities.CUSTOM):
        channel = "custom"
    elif not profile.has(capabilities.MASS):
        sendtome.record(session, row, "failed", now, channel="preview", problem="no_preview")
        return
    elif quota.used_today(session, now).get(MASS_PREVIEW, 0) >= limits.get(MASS_PREVIEW, 0):
        sendtome.record(session, row, "failed", now, channel="preview", problem="preview_quota")
        return
    else:
        channel = "preview"
    try:
        if channel == "custom":
            api.send_custom(row.openid, body)
        else:
            api.preview_mass(row.openid, body)
    except TransportError as exc:
        state = "unknown" if exc.sent else "failed"
        sendtome.record(session, row, state, now, channel=channel, problem="network")
        log.warning("test send %s: %s", row.id, exc)
        return
    except WeChatError as exc:
        code = exc.errcode or 0
        if code == errors.DAILY_QUOTA and channel == "preview":
            quota.exhaust(session, MASS_PREVIEW, now)
        problem = PROBLEMS.get(code, "wechat_error")
        sendtome.record(session, row, "failed", now, channel=channel, problem=problem, errcode=exc.errcode)
        return
    sendtome.record(session, row, "sent", now, channel=channel)


def _in_script(preview: Preview, text: str, script: str) -> str:
    """The text as the operator's WeChat reads it (Simplified or Traditional, with its content-page links)."""
    converted = converter(preview.catalog.script).in_script(text, script)
    return text_links(converted, getattr(preview.renderer, "base_url", ""), script)
