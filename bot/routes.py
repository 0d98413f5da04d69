"""The one routing table: (message type or event, key) -> handler, and the ordered text rules, built from the pack.

A text message is answered by the first rule that matches it: the pack's urgent words (urgent.yaml: a fixed safety
reply), then its keywords.yaml rules: the command rules (help, subscribe, ...) in file order, then the exact rules,
then the contains rules; then by the intent of questions.yaml its meaning matches (bot.matcher), which may instead
offer the two closest topics; else the default reply. The urgent, the "did you mean" and the default replies use
the database: the message goes to the inbox (posts/inbox.py) in the push's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Any

from bot.handlers import Context, Handler, content_only, follow, jobs, menu, notices, other, text
from bot.handlers.text import urgent as urgent_answer
from bot.matcher import Matcher, fold
from bot.message import Inbound
from bot.replies import Reply
from posts.addresses import clicks
from posts.catalog import COMMANDS, Catalog, Intent, KeywordRule, UrgentRules, normalize

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

    def handler(self, word: str, catalog: Any) -> Handler | None:
        captured = self.capture(word, catalog)
        return None if captured is None else TextAnswerCall(self.answer, captured, self.database)


@dataclass(frozen=True)
class QuestionRoute:
    """The pack's intents (questions.yaml) as the last text rule: the intent a message means answers it, as a
    keyword rule with the intent's ``ref`` would; a weak but plausible match offers the two closest intents."""

    matcher: Matcher
    answers: dict[str, TextRoute]
    """Each intent's answer, by intent key."""
    match: str = "questions"
    patterns: tuple[str, ...] = ()

    def handler(self, word: str, catalog: Any) -> Handler | None:
        found = self.matcher.match(word)
        if found.answer is not None:
            route = self.answers[found.answer.key]
            return TextAnswerCall(route.answer, "", route.database)
        if found.close:
            return partial(text.did_you_mean, topics=found.close)  # uses the database: the question goes to the inbox
        return None


@dataclass(frozen=True)
class UrgentRoute:
    """The pack's urgent words (urgent.yaml) as the first text rule: a fixed safety reply, the message to the top
    of the inbox."""

    rules: UrgentRules
    match: str = "urgent"
    patterns: tuple[str, ...] = ()

    def handler(self, word: str, catalog: Any) -> Handler | None:
        found = self.rules.match(word)
        return None if found is None else partial(urgent_answer, rule=found)


class TextAnswerCall:
    """A text route's answer with what its rule captured: the handler of one text."""

    __slots__ = ("answer", "captured", "database")

    def __init__(self, answer: TextAnswer, captured: str, database: bool) -> None:
        self.answer = answer
        self.captured = captured
        self.database = database

    def __call__(self, ctx: Context) -> Reply:
        return self.answer(ctx, self.captured)


DEFAULT: Handler = text.default
"""The default reply uses the database: the message goes to the inbox."""
UNKNOWN_CLICK = content_only(menu.unknown_click)
UNKNOWN = content_only(other.unknown)


class TextRoutes:
    """The text messages' route: the first matching rule answers, else the default reply.

    Which rule matches depends only on the text and this content version, so the handler is memoised per text
    (bounded: the texts are what followers type).
    """

    def __init__(self, rules: tuple[TextRoute | QuestionRoute | UrgentRoute, ...], catalog: Catalog) -> None:
        self.rules = rules
        self._catalog = catalog
        self._handler = lru_cache(maxsize=4096)(self._first)

    def route(self, message: Inbound) -> Handler:
        return self._handler(normalize(message.content.strip()))

    def __call__(self, ctx: Context) -> Reply:
        return self.route(ctx.message)(ctx)

    def target(self, text: str) -> str:
        """Where ``text`` goes, in words: a ref (section:<key>, therapy:<key>, help, toc: also for the commands
        giving the same answer), reply:<text>, command:<name>, suggest:<intent>,<intent>, urgent:<rule> or default
        (for checks and tests)."""
        handler = self._handler(normalize(text.strip()))
        if handler is DEFAULT:
            return "default"
        if isinstance(handler, partial) and handler.func is urgent_answer:
            return f"urgent:{handler.keywords['rule'].key}"
        if isinstance(handler, TextAnswerCall):
            answer = handler.answer
            if isinstance(answer, partial) and answer.func is _keyword:
                return str(answer.keywords["ref"] or f"reply:{answer.keywords['reply']}")
            command = next(name for name, (a, _) in COMMAND_ANSWERS.items() if a is answer)
            if command in ("help", "toc"):  # the same answers as the refs help, toc and therapy:<key>
                return command
            return f"therapy:{handler.captured}" if command == "therapy" else f"command:{command}"
        suggested = getattr(handler, "keywords", {}).get("topics", ())
        return "suggest:" + ",".join(t.key for t in suggested)

    def _first(self, word: str) -> Handler:
        if word:
            for rule in self.rules:
                found = rule.handler(word, self._catalog)
                if found is not None:
                    return found
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


def intent_route(intent: Intent, catalog: Catalog) -> TextRoute:
    """An intent's answer: its ref's, or (keyword:<word>) that of the keyword rule the word reaches."""
    kind, _, word = intent.ref.partition(":")
    rule = catalog.match_keyword(word) if kind == "keyword" else None
    if rule is None:
        rule = KeywordRule("exact", (intent.word,), ref=intent.ref)
    return text_route(rule)


def question_route(catalog: Catalog) -> QuestionRoute | None:
    """The pack's intents compiled once, leaving out those whose section is not in the pack yet (None when none
    is left)."""
    rules = catalog.questions
    if rules is None or not rules.intents:
        return None
    names = {
        key: tuple(dict.fromkeys(n for n in map(fold, (key, t.name, *t.aliases)) if n))
        for key, t in catalog.therapies.items()
    }
    pending = set(catalog.pending_intents())
    ready = replace(rules, intents=tuple(i for i in rules.intents if i not in pending))
    if not ready.intents:
        return None
    answers = {intent.key: intent_route(intent, catalog) for intent in ready.intents}
    return QuestionRoute(Matcher(ready, names), answers)


def text_routes(catalog: Catalog) -> TextRoutes:
    """The pack's text rules in the order they are tried: the urgent words, commands, then exact, then contains
    rules, then the intents matched by meaning."""
    keywords = [r for r in catalog.keywords if r.match == "exact"] + [
        r for r in catalog.keywords if r.match == "contains"
    ]
    rules: list[TextRoute | QuestionRoute | UrgentRoute] = [UrgentRoute(catalog.urgent)] if catalog.urgent else []
    rules += [text_route(rule) for rule in (*catalog.commands, *keywords)]
    questions = question_route(catalog)
    if questions is not None:
        rules.append(questions)
    return TextRoutes(tuple(rules), catalog)


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
        ("event", "subscribe_msg_popup_event"): notices.popup,
        ("event", "subscribe_msg_change_event"): notices.changed,
        ("event", "subscribe_msg_sent_event"): notices.sent,
        ("event", "publishjobfinish"): jobs.published,
        ("event", "freepublishjobfinish"): jobs.published,
        ("event", "annual_renew"): jobs.account_notice,
        ("event", "verify_expired"): jobs.account_notice,
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
