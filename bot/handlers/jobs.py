"""TEMPLATESENDJOBFINISH and MASSSENDJOBFINISH: WeChat's word on a send, recorded in the delivery ledger."""

from __future__ import annotations

import logging

from bot.handlers import Context
from bot.replies import Empty, Reply
from posts import ledger

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
