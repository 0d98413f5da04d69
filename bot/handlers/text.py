"""Typed text: help, table of contents, section numbers, subscribe/unsubscribe commands, keyword rules."""

from __future__ import annotations

import logging
import re

from bot.handlers import Context
from bot.handlers import menu as m
from bot.handlers.common import my_subscriptions, subscribe, therapy_list, unsubscribe
from bot.replies import Reply, Text
from posts.catalog import normalize

log = logging.getLogger(__name__)

HELP_WORDS = frozenset({"帮助", "help", "?", "？"})
TOC_WORDS = frozenset({"目录", "toc", "contents"})
MINE_WORDS = frozenset({"我的订阅", "查看订阅", "已订阅"})
_NUMBER = re.compile(r"^\d{1,3}$")
_SUBSCRIBE = ("订阅",)
_UNSUBSCRIBE = ("退订", "取消订阅")
_TIMELINE = ("时间线",)


def answer(ctx: Context) -> Reply:
    text = ctx.message.content.strip()
    word = normalize(text)
    if not word:
        return default(ctx)
    if word in HELP_WORDS:
        return m.help_(ctx)
    if word in TOC_WORDS:
        return m.toc(ctx)
    if word in MINE_WORDS:
        return my_subscriptions(ctx)
    if _NUMBER.match(word):
        found = ctx.catalog.section_by_number(int(word))
        if found is None:
            return ctx.say("no_such_number", number=int(word), count=len(ctx.catalog.sections))
        return m.section_reply(ctx, found)
    for prefix in _UNSUBSCRIBE:
        if word.startswith(prefix):
            return _unsubscribe(ctx, word[len(prefix) :])
    for prefix in _SUBSCRIBE:
        if word.startswith(prefix):
            return _subscribe(ctx, word[len(prefix) :])
    for prefix in _TIMELINE:
        if word.startswith(prefix) or word.endswith(prefix):
            name = word[len(prefix) :] if word.startswith(prefix) else word[: -len(prefix)]
            therapy = ctx.catalog.find_therapy(name)
            if therapy is not None:
                return m.therapy_timeline(ctx, therapy.key)
    therapy = ctx.catalog.find_therapy(word)
    if therapy is not None:
        return m.therapy_latest(ctx, therapy.key)
    rule = ctx.catalog.match_keyword(text)
    if rule is not None:
        return _keyword(ctx, rule.reply, rule.ref)
    return default(ctx)


def default(ctx: Context) -> Reply:
    return ctx.say("default")


def _subscribe(ctx: Context, name: str) -> Reply:
    if not name:
        return therapy_list(ctx)
    therapy = ctx.catalog.find_therapy(name)
    if therapy is None:
        return ctx.say("therapy_unknown", name=name, therapies=list(ctx.catalog.therapies.values()))
    return subscribe(ctx, therapy, source="keyword")


def _unsubscribe(ctx: Context, name: str) -> Reply:
    if not name:
        return my_subscriptions(ctx)
    therapy = ctx.catalog.find_therapy(name)
    if therapy is None:
        return ctx.say("therapy_unknown", name=name, therapies=list(ctx.catalog.therapies.values()))
    return unsubscribe(ctx, therapy)


def _keyword(ctx: Context, reply: str | None, ref: str | None) -> Reply:
    """A keyword rule's reply text, or what its ``ref`` points at (section:<key>, therapy:<key>, help, toc)."""
    if ref:
        kind, _, key = ref.partition(":")
        if kind == "section" and ctx.catalog.section(key):
            return m.section(ctx, key)
        if kind == "therapy" and ctx.catalog.therapy(key):
            return m.therapy_latest(ctx, key)
        if kind == "help":
            return m.help_(ctx)
        if kind == "toc":
            return m.toc(ctx)
        log.warning("keyword rule points at unknown %r", ref)
    if reply:
        return Text(reply.strip())
    return default(ctx)
