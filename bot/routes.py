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

from bot.handlers import Context, Handler, content_only, follow, jobs, menu, other, text
from bot.message import Inbound
from bot.replies import Reply
from posts.addresses import clicks
from posts.catalog import COMMANDS, Catalog, KeywordRule, normalize

MEDIA = ("image", "voice", "video", "shortvideo", "location", "link")
STATIC_CLICKS: dict[str, Handler] = {
    "toc": content_only(menu.toc),
    "help": content_only(menu.help_),
    "mine": menu.mine,
    "subscribe_options": content_only(menu.subscribe_options),
}
"""The handler of each fixed CLICK key's action (posts.addresses.STATIC_CLICKS); content_only: no database."""
THERAPY_CLICKS = {
    "card": (menu.therapy_card, False),
    "latest": (menu.therapy_latest, True),
    "timeline": (menu.therapy_timeline, False),
}
THERAPY_CLICKS["subscribe"] = (menu.therapy_subscribe, True)


TextAnswer = Callable[[Context, str], Reply]
"""A text route's answer: the context and what its rule captured."""
COMMAND_ANSWERS: dict[str, tuple[TextAnswer, bool]] = {
    "help": (text.help_, False),
    "toc": (text.toc, False),
    "mine": (text.mine, True),
    "section_number": (text.section_number, True),
    "subscribe": (text.subscribe_to, True),
    "unsubscribe": (text.unsubscribe_from, True),
    "timeline": (text.timeline, False),
    "therapy": (text.therapy, False),
    "latest": (text.latest, True),
    "traditional": (text.traditional, True),
    "simplified": (text.simplified, True),
}
"""Each command's answer, and whether it uses the database (a section or a therapy's latest update is recorded as
received, posts/received.py; a therapy's card is not)."""
assert set(COMMAND_ANSWERS) == set(COMMANDS), "every command of posts.catalog.COMMANDS has one answer"
_NUMBER = re.compile(r"^\d{1,3}$")


@dataclass(frozen=True)
class TextRoute:
    """One ordered text rule: how it matches a normalised message, and what answers it."""

    match: str
    patterns: tuple[str, ...]
    """Normalised (posts.catalog.normalize), as the message is."""
    answer: TextAnswer
    database: bool

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


class TextAnswerCall:
    """A text route's answer with what its rule captured: the handler of one text."""

    __slots__ = ("answer", "captured", "database")

    def __init__(self, answer: TextAnswer, captured: str, database: bool) -> None:
        self.answer = answer
        self.captured = captured
        self.database = database

    def __call__(self, ctx: Context) -> Reply:
        return self.answer(ctx, self.captured)


DEFAULT = content_only(text.default)
UNKNOWN_CLICK = content_only(menu.unknown_click)
UNKNOWN = content_only(other.unknown)


class TextRoutes:
    """The text messages' route: the first matching rule answers, else the default reply.

    Which rule matches depends only on the text and this content version, so the handler is memoised per text
    (bounded: the texts are what followers type).
    """

    def __init__(self, rules: tuple[TextRoute, ...], catalog: Catalog) -> None:
        self.rules = rules
        self._catalog = catalog
        self._handler = lru_cache(maxsize=4096)(self._first)

    def route(self, message: Inbound) -> Handler:
        return self._handler(normalize(message.content.strip()))

    def __call__(self, ctx: Context) -> Reply:
        return self.route(ctx.message)(ctx)

    def _first(self, word: str) -> Handler:
        if word:
            for rule in self.rules:
                captured = rule.capture(word, self._catalog)
                if captured is not None:
                    return TextAnswerCall(rule.answer, captured, rule.database)
        return DEFAULT


def text_route(rule: KeywordRule) -> TextRoute:
    """A keywords.yaml rule as a route: a command's answer, or the rule's reply/ref."""
    answer: TextAnswer
    if rule.command is not None:
        answer, database = COMMAND_ANSWERS[rule.command]
    else:
        answer = partial(_keyword, reply=rule.reply, ref=rule.ref)
        database = (rule.ref or "").startswith("section:")  # a section it answers is recorded as received
    return TextRoute(rule.match, tuple(normalize(p) for p in rule.patterns), answer, database)


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
    fallback: Handler = UNKNOWN

    def resolve(self, message: Inbound) -> Handler:
        if message.is_event:
            if message.event == "click":
                return self.table.get(("click", message.event_key), UNKNOWN_CLICK)
            return self.table.get(("event", message.event), self.fallback)
        handler = self.table.get((message.msg_type, ""), self.fallback)
        return handler.route(message) if isinstance(handler, TextRoutes) else handler

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
        ("event", "view"): content_only(menu.viewed),
        ("event", "templatesendjobfinish"): jobs.finished,
        ("event", "masssendjobfinish"): jobs.finished,
        **{(kind, ""): content_only(other.media) for kind in MEDIA},
    }
    for key, click in clicks(catalog).items():
        if click.kind == "static":
            table["click", key] = STATIC_CLICKS[click.action]
        elif click.kind == "section":  # the section is recorded as received
            table["click", key] = partial(menu.section, key=click.target)
        elif click.kind == "group":  # a group of one answers with (and records) its section
            grouped = partial(menu.group, prefix=click.target)
            table["click", key] = grouped if len(catalog.group(click.target)) == 1 else content_only(grouped)
        else:
            handler, database = THERAPY_CLICKS[click.action]
            bound = partial(handler, key=click.target)
            table["click", key] = bound if database else content_only(bound)
    return Routes(table=table)
