"""Pushes without a specific answer: media and location messages get a short hint, unknown events nothing."""

from __future__ import annotations

import logging

from bot.handlers import Context
from bot.replies import Empty, Reply

log = logging.getLogger(__name__)


def media(ctx: Context) -> Reply:
    """image, voice, video, shortvideo, location, link: a short, helpful answer."""
    return ctx.say("media", kind=ctx.message.msg_type)


def unknown(ctx: Context) -> Reply:
    msg = ctx.message
    log.info("unhandled push %s/%s key=%r from %s", msg.msg_type, msg.event, msg.event_key[:64], msg.openid)
    return Empty()
