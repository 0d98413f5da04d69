"""Job results: TEMPLATESENDJOBFINISH and MASSSENDJOBFINISH in the delivery ledger, PUBLISHJOBFINISH on the
article; the account's annual_renew and verify_expired as operator alerts."""

from __future__ import annotations

import logging

from bot.handlers import Context
from bot.replies import Empty, Reply
from posts import alerts, articles, ledger

log = logging.getLogger(__name__)


def finished(ctx: Context) -> Reply:
    """Confirm (or fail) the deliveries of the send whose ``MsgID`` this is; WeChat expects no reply."""
    msg = ctx.message
    if not msg.job_msg_id:
        log.warning("%s without MsgID from %s: nothing to confirm", msg.event, msg.openid)
        return Empty()
    changed = ledger.record_job_finished(ctx.session, msg.event, msg.job_msg_id, msg.fields, ctx.now)
    log.info("%s MsgID=%s Status=%r: %d deliveries", msg.event, msg.job_msg_id, msg.fields.get("Status"), changed)
    return Empty()


def published(ctx: Context) -> Reply:
    """PUBLISHJOBFINISH: keep WeChat's result and finish the article it belongs to (the scheduler applies a result
    that comes before it stored the publish_id); WeChat expects no reply."""
    msg = ctx.message
    if not msg.publish_id:
        log.warning("%s without publish_id: nothing to record", msg.event)
        return Empty()
    try:
        status = int(msg.publish_info("publish_status") or 3)
    except ValueError:
        status = 3
    fail_idx = [v for k, v in msg.fields.items() if k.startswith("PublishEventInfo/fail_idx")]
    article = articles.record_result(
        ctx.session,
        msg.publish_id,
        status,
        msg.publish_info("article_id") or None,
        msg.publish_info("article_detail/item/article_url") or None,
        fail_idx,
        ctx.now,
    )
    log.info("%s publish_id=%s status=%s: article %s", msg.event, msg.publish_id, status, article and article.id)
    return Empty()


def account_notice(ctx: Context) -> Reply:
    """annual_renew / verify_expired: an operator alert, raised once per expiry time; no reply."""
    msg = ctx.message
    expires = msg.fields.get("ExpiredTime", "").strip()
    detail = alerts.EXPLAINED.get(msg.event, msg.event) + (f" (ExpiredTime {expires})" if expires else "")
    if alerts.raise_alert(ctx.session, msg.event, f"{msg.event}:{expires or msg.create_time}", detail, ctx.now):
        log.warning("operator alert: %s", detail)
    return Empty()
