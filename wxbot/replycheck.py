"""The passive replies a content pack makes, checked against WeChat's limits before it ships (`wxbot content check`).

Every CLICK key of the menu, every keyword rule and every question intent's word and example questions is run
through the bot's own routes on the pack, content only (a route that declares it uses the database is left out:
those answer with the bot's own short texts). An intent's word, which a weak match tells the follower to reply,
must reach that intent's answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from bot.handlers import Context, uses_database
from bot.message import Inbound
from bot.replies import News, Reply
from bot.routes import Routes, TextRoutes, build_routes
from bot.texts import Texts
from posts.catalog import Catalog
from posts.limits import NEWS_ARTICLES_PER_REPLY
from posts.menu import Menu
from posts.render import Renderer

_ACCOUNT, _FOLLOWER = "gh_check", "o_content_check"


def _pushes(catalog: Catalog, menu: Menu) -> Iterator[tuple[str, Inbound]]:
    """(where, push) for each menu click and each keyword pattern."""
    for button in menu.leaves():
        if button.kind == "click":
            push = Inbound(_ACCOUNT, _FOLLOWER, 0, "event", event="click", event_key=button.key)
            yield f"menu item {button.name!r} (CLICK {button.key})", push
    for rule in catalog.keywords:
        for pattern in rule.patterns:
            yield f"keyword {pattern!r}", Inbound(_ACCOUNT, _FOLLOWER, 0, "text", content=pattern)
    pending = catalog.pending_intents()
    for intent in catalog.questions.intents if catalog.questions is not None else ():
        if intent not in pending:
            for question in (intent.word, *intent.questions):
                where = f"question {question!r} (intent {intent.key})"
                yield where, Inbound(_ACCOUNT, _FOLLOWER, 0, "text", content=question)


def _intent_words(catalog: Catalog, routes: Routes) -> Iterator[str]:
    """An intent whose word (offered by "您是想问") does not reach its answer."""
    texts = routes.table.get(("text", ""))
    if catalog.questions is None or not isinstance(texts, TextRoutes):
        return
    pending = catalog.pending_intents()
    for intent in catalog.questions.intents:
        if intent in pending:
            continue
        kind, _, word = intent.ref.partition(":")
        own = texts.target(word) if kind == "keyword" else intent.ref
        reached = texts.target(intent.word)
        if reached != own:
            yield (
                f"questions.yaml intent {intent.key!r}: its word {intent.word!r} reaches {reached}, not {own}; "
                "choose a word that reaches it"
            )


def _taken_by_urgent(catalog: Catalog, routes: Routes) -> Iterator[str]:
    """A keyword pattern, or an intent's word or example question, that urgent.yaml's words answer first: the
    rule or intent never answers it."""
    texts = routes.table.get(("text", ""))
    if catalog.urgent is None or not isinstance(texts, TextRoutes):
        return
    for where, push in _pushes(catalog, Menu(())):
        reached = texts.target(push.content)
        if reached.startswith("urgent:"):
            yield f"{where} is answered first by urgent.yaml ({reached}): change the pattern or the urgent words"


def _article_count(reply: Reply) -> int:
    return len(reply.articles) if isinstance(reply, News) else 0


def reply_problems(
    catalog: Catalog, menu: Menu, renderer: Renderer, now: datetime, routes: Routes | None = None
) -> list[str]:
    """One line per menu item or keyword whose passive reply would break a WeChat limit."""
    routes = routes if routes is not None else build_routes(catalog)
    texts, problems = Texts(), []
    for where, push in _pushes(catalog, menu):
        handler = routes.resolve(push)
        if uses_database(handler):
            continue
        reply = handler(Context(None, catalog, renderer, texts, push, now))
        count = _article_count(reply)
        if count > NEWS_ARTICLES_PER_REPLY:
            problems.append(
                f"{where} answers with a news reply of {count} articles; WeChat shows only "
                f"{NEWS_ARTICLES_PER_REPLY} of a passive reply (posts/limits.py NEWS_ARTICLES_PER_REPLY)"
            )
    return problems + list(_intent_words(catalog, routes)) + list(_taken_by_urgent(catalog, routes))
