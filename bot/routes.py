"""The one routing table: (message type or event, key) -> handler, and the ordered text rules, built from the pack.

A text message is answered by the first of the pack's keywords.yaml rules that matches it: the command rules
(help, subscribe, ...) in file order, then the exact rules, then the contains rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

from bot.handlers import Context, Handler, follow, jobs, menu, other, text
from bot.message import Inbound
from bot.replies import Reply
from posts.addresses import clicks
from posts.catalog import COMMANDS, Catalog, KeywordRule, normalize

MEDIA = ("image", "voice", "video", "shortvideo", "location", "link")
STATIC_CLICKS: dict[str, Handler] = {
    "toc": menu.toc,
    "help": menu.help_,
    "mine": menu.mine,
    "subscribe_options": menu.subscribe_options,
}
"""The handler of each fixed CLICK key's action (posts.addresses.STATIC_CLICKS)."""
THERAPY_CLICKS = {
    "latest": menu.therapy_latest,
    "timeline": menu.therapy_timeline,
    "subscribe": menu.therapy_subscribe,
}


TextAnswer = Callable[[Context, str], Reply]
"""A text route's answer: the context and what its rule captured."""
COMMAND_ANSWERS: dict[str, TextAnswer] = {
    "help": text.help_,
    "toc": text.toc,
    "mine": text.mine,
    "section_number": text.section_number,
    "subscribe": text.subscribe_to,
    "unsubscribe": text.unsubscribe_from,
    "timeline": text.timeline,
    "therapy": text.therapy,
}
assert set(COMMAND_ANSWERS) == set(COMMANDS), "every command of posts.catalog.COMMANDS has one answer"
_NUMBER = re.compile(r"^\d{1,3}$")


@dataclass(frozen=True)
class TextRoute:
    """One ordered text rule: how it matches a normalised message, and what answers it."""

    match: str
    patterns: tuple[str, ...]
    """Normalised (posts.catalog.normalize), as the message is."""
    answer: TextAnswer

    def capture(self, word: str, catalog: Any) -> str | None:
        """What the answer gets when the rule matches ``word`` (may be ""), else None."""
        if self.match == "exact":
            return "" if word in self.patterns else None
        if self.match == "contains":
            return "" if any(p in word for p in self.patterns) else None
        if self.match == "prefix":
            return next((word[len(p) :] for p in self.patterns if word.startswith(p)), None)
        if self.match == "number":
            return word if _NUMBER.match(word) else None
        if self.match == "affix":
            for p in self.patterns:
                if word.startswith(p) or word.endswith(p):
                    name = word[len(p) :] if word.startswith(p) else word[: -len(p)]
                    found = catalog.find_therapy(name)
                    if found is not None:
                        return str(found.key)
            return None
        found = catalog.find_therapy(word)  # "therapy"
        return None if found is None else str(found.key)


class TextRoutes:
    """The handler of every text message: the first matching rule answers, else the default reply.

    Which rule matches depends only on the text and this content version, so it is memoised per text (bounded:
    the texts are what followers type).
    """

    def __init__(self, rules: tuple[TextRoute, ...], catalog: Catalog) -> None:
        self.rules = rules
        self._catalog = catalog
        self._find = lru_cache(maxsize=4096)(self._first)

    def __call__(self, ctx: Context) -> Reply:
        word = normalize(ctx.message.content.strip())
        if not word:
            return text.default(ctx)
        found = self._find(word)
        if found is None:
            return text.default(ctx)
        rule, captured = found
        return rule.answer(ctx, captured)

    def _first(self, word: str) -> tuple[TextRoute, str] | None:
        for rule in self.rules:
            captured = rule.capture(word, self._catalog)
            if captured is not None:
                return rule, captured
        return None


def text_route(rule: KeywordRule) -> TextRoute:
    """A keywords.yaml rule as a route: a command's answer, or the rule's reply/ref."""
    answer: TextAnswer
    if rule.command is not None:
        answer = COMMAND_ANSWERS[rule.command]
    else:
        answer = partial(_keyword, reply=rule.reply, ref=rule.ref)
    return TextRoute(rule.match, tuple(normalize(p) for p in rule.patterns), answer)


def _keyword(ctx: Context, _: str, reply: str | None, ref: str | None) -> Reply:
    return text.keyword(ctx, reply, ref)


def text_routes(catalog: Catalog) -> TextRoutes:
    """The pack's text rules in the order they are tried: commands, then exact, then contains rules."""
    keywords = [r for r in catalog.keywords if r.match == "exact"] + [
        r for r in catalog.keywords if r.match == "contains"
    ]
    return TextRoutes(tuple(text_route(rule) for rule in (*catalog.commands, *keywords)), catalog)


@dataclass(frozen=True)
class Routes:
    table: dict[tuple[str, str], Handler] = field(default_factory=dict)
    fallback: Handler = other.unknown

    def resolve(self, message: Inbound) -> Handler:
        if message.is_event:
            if message.event == "click":
                return self.table.get(("click", message.event_key), menu.unknown_click)
            return self.table.get(("event", message.event), self.fallback)
        return self.table.get((message.msg_type, ""), self.fallback)

    @property
    def click_keys(self) -> frozenset[str]:
        return frozenset(key for kind, key in self.table if kind == "click")


def build_routes(catalog: Catalog) -> Routes:
    """Every route, in one place; CLICK keys are the catalog's (posts.addresses: sections, groups, therapies)."""
    table: dict[tuple[str, str], Handler] = {
        ("text", ""): text_routes(catalog),
        ("event", "subscribe"): follow.followed,
        ("event", "scan"): follow.scanned,
        ("event", "unsubscribe"): follow.unfollowed,
        ("event", "view"): menu.viewed,
        ("event", "templatesendjobfinish"): jobs.finished,
        ("event", "masssendjobfinish"): jobs.finished,
        **{(kind, ""): other.media for kind in MEDIA},
    }
    for key, click in clicks(catalog).items():
        if click.kind == "static":
            table["click", key] = STATIC_CLICKS[click.action]
        elif click.kind == "section":
            table["click", key] = partial(menu.section, key=click.target)
        elif click.kind == "group":
            table["click", key] = partial(menu.group, prefix=click.target)
        else:
            table["click", key] = partial(THERAPY_CLICKS[click.action], key=click.target)
    return Routes(table=table)
