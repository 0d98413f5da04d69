"""Subscribe-notice events (订阅通知): a follower's consents and WeChat's word on each notice, in the database.

``subscribe_msg_popup_event`` (accept or reject in a popup, one ``List`` per template), ``subscribe_msg_change_event``
(turned off, or a long-term notice back on, in WeChat's settings) and ``subscribe_msg_sent_event`` (the result of a
bizsend). Each item is recorded under the push's dedupe key and its template id, so WeChat's retries record nothing
twice. WeChat shows no reply to these events.
"""

from __future__ import annotations

import logging

from bot.handlers import Context
from bot.replies import Empty, Reply
from posts import notices

log = logging.getLogger(__name__)


def _scene(raw: str) -> int | None:
    return int(raw) if raw.strip().isdigit() else None


def _status(item: dict[str, str]) -> str:
    return item.get("SubscribeStatusString", "").strip().lower()


def popup(ctx: Context) -> Reply:
    """Record each template's accept (one consent) or reject."""
    msg = ctx.message
    for item in msg.notice_items:
        template_id = item.get("TemplateId", "").strip()
        status = _status(item)
        if not template_id or status not in (notices.ACCEPT, notices.REJECT):
            log.warning("subscribe_msg_popup_event from %s: unreadable item %r", msg.openid, item)
            continue
        key = f"{msg.dedup_key}:{template_id}"
        scene = _scene(item.get("PopupScene", ""))
        notices.record_popup(ctx.session, msg.openid, template_id, status, scene, key, ctx.now)
    return Empty()


def changed(ctx: Context) -> Reply:
    """A reject withdraws the follower's open consents of the template; an accept grants one."""
    msg = ctx.message
    for item in msg.notice_items:
        template_id = item.get("TemplateId", "").strip()
        status = _status(item)
        if not template_id or status not in (notices.ACCEPT, notices.REJECT):
            log.warning("subscribe_msg_change_event from %s: unreadable item %r", msg.openid, item)
            continue
        notices.record_change(ctx.session, msg.openid, template_id, status, f"{msg.dedup_key}:{template_id}", ctx.now)
    return Empty()


def sent(ctx: Context) -> Reply:
    """Confirm (or fail) the notice delivery each item reports."""
    msg = ctx.message
    for item in msg.notice_items:
        template_id = item.get("TemplateId", "").strip()
        changed_rows = notices.record_sent(
            ctx.session,
            msg.openid,
            template_id,
            item.get("MsgID", "").strip(),
            item.get("ErrorCode", "").strip(),
            item.get("ErrorStatus", "").strip(),
            ctx.now,
        )
        log.info("subscribe_msg_sent_event %s %s: %d deliveries", msg.openid, item.get("ErrorStatus"), changed_rows)
    return Empty()
