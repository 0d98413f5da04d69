"""Typed text: the answers of the text routes (bot.routes, compiled from keywords.yaml) and the default reply.

Each answer takes the context and what its rule captured: the rest after a command word, a section number or a
therapy key (empty for rules that capture nothing).
"""

from __future__ import annotations

import logging

from bot.handlers import Context
from bot.handlers import menu as m
from bot.handlers.common import my_subscriptions, subscribe, therapy_list, unsubscribe
from bot.replies import Reply, Text
from posts import followers, inbox
from posts.catalog import Intent, UrgentRule
from posts.script import SIMPLIFIED, TRADITIONAL

log = logging.getLogger(__name__)


def help_(ctx: Context, _: str) -> Reply:
    return m.help_(ctx)


def toc(ctx: Context, _: str) -> Reply:
    return m.toc(ctx)


def mine(ctx: Context, _: str) -> Reply:
    return my_subscriptions(ctx)


def section_number(ctx: Context, number: str) -> Reply:
    found = ctx.catalog.section_by_number(int(number))
    if found is None:
        return ctx.say("no_such_number", number=int(number), count=len(ctx.catalog.sections))
    return m.section_reply(ctx, found)


def subscribe_to(ctx: Context, name: str) -> Reply:
    if not name:
        return therapy_list(ctx)
    therapy = ctx.catalog.find_therapy(name)
    if therapy is None:
        return ctx.say("therapy_unknown", name=name, therapies=list(ctx.catalog.therapies.values()))
    return subscribe(ctx, therapy, source="keyword")


def unsubscribe_from(ctx: Context, name: str) -> Reply:
    if not name:
        return my_subscriptions(ctx)
    therapy = ctx.catalog.find_therapy(name)
    if therapy is None:
        return ctx.say("therapy_unknown", name=name, therapies=list(ctx.catalog.therapies.values()))
    return unsubscribe(ctx, therapy)


def timeline(ctx: Context, therapy_key: str) -> Reply:
    return m.therapy_timeline(ctx, therapy_key)


def therapy(ctx: Context, therapy_key: str) -> Reply:
    return m.therapy_card(ctx, therapy_key)


def latest(ctx: Context, therapy_key: str) -> Reply:
    return m.therapy_latest(ctx, therapy_key)


def traditional(ctx: Context, _: str) -> Reply:
    return _choose_script(ctx, TRADITIONAL)


def simplified(ctx: Context, _: str) -> Reply:
    return _choose_script(ctx, SIMPLIFIED)


def _choose_script(ctx: Context, script: str) -> Reply:
    """The follower's script from now on: replies, pushes and pages (this confirmation already in it)."""
    followers.choose_script(ctx.session, ctx.message.openid, script, ctx.now)
    ctx.script = script
    return ctx.say("script_chosen", traditional=script == TRADITIONAL)


def keyword(ctx: Context, reply: str | None, ref: str | None) -> Reply:
    """A keyword rule's reply text, or what its ``ref`` points at (section:<key>, therapy:<key>, help, toc)."""
    if ref:
        kind, _, key = ref.partition(":")
        if kind == "section" and ctx.catalog.section(key):
            return m.section(ctx, key)
        if kind == "therapy" and ctx.catalog.therapy(key):
            return m.therapy_card(ctx, key)
        if kind == "help":
            return m.help_(ctx)
        if kind == "toc":
            return m.toc(ctx)
        log.warning("keyword rule points at unknown %r", ref)
    if reply:
        return Text(ctx.renderer.close(reply))  # the pack's words as written, closed by the one footer
    return default(ctx)


def default(ctx: Context) -> Reply:
    """No rule answered: the default reply, and the message goes to the inbox for a person (posts/inbox.py)."""
    _to_inbox(ctx, inbox.DEFAULT)
    return ctx.say("default")


def did_you_mean(ctx: Context, topics: tuple[Intent, ...]) -> Reply:
    """A question close to some intents but sure of none: offer them, each with the word that reaches it; the
    question goes to the inbox too (the bot was not sure of it)."""
    _to_inbox(ctx, inbox.SUGGEST)
    return ctx.say("did_you_mean", topics=topics)


def urgent(ctx: Context, rule: UrgentRule) -> Reply:
    """Words of danger (urgent.yaml): the fixed safety reply at once, closed by the disclaimer, and the message at
    the top of the inbox."""
    _to_inbox(ctx, inbox.urgent_reason(rule.key), urgent=True)
    return Text(ctx.renderer.close(rule.reply))


def _to_inbox(ctx: Context, reason: str, urgent: bool = False) -> None:
    message = ctx.message
    inbox.record(ctx.session, message.openid, message.content, ctx.now, reason, urgent=urgent,
                 dedup_key=message.dedup_key)  # fmt: skip
