"""Menu clicks: table of contents, sections and section groups, therapies, subscriptions, help; VIEW is logged."""

from __future__ import annotations

from bot.handlers import Context
from bot.handlers.common import body_reply, my_subscriptions, subscribe, therapy_list
from bot.replies import Article, Empty, News, Reply
from posts import articles, received
from posts.addresses import therapy_path
from posts.catalog import Section


def toc(ctx: Context) -> Reply:
    return body_reply(ctx, ctx.renderer.toc(), ctx.texts.title("toc"), "")


def help_(ctx: Context) -> Reply:
    return body_reply(ctx, ctx.renderer.help(), ctx.texts.title("help"), "")


def section(ctx: Context, key: str) -> Reply:
    found = ctx.catalog.section(key)
    if found is None:
        return toc(ctx)
    return section_reply(ctx, found)


def section_reply(ctx: Context, found: Section) -> Reply:
    """The section as a reply (a link to its article once published); a later post of it skips the follower."""
    ref = received.section_ref(found.key)
    received.record(ctx.session, ctx.message.openid, ref, received.REPLY, ctx.now)
    return article_or(ctx, ref, found.title, found.summary) or body_reply(
        ctx, ctx.renderer.section(found.key), found.title, found.summary
    )


def article_or(ctx: Context, ref: str, title: str, description: str) -> Reply | None:
    """A one-article news reply linking to the published WeChat article of ``ref``, if there is one."""
    url = articles.published_url(ctx.session, ref)
    return News((Article(title=title, description=description, url=url),)) if url else None


def group(ctx: Context, prefix: str) -> Reply:
    """A section group (sections whose key starts with ``prefix-``): one article linking to the group's page.

    WeChat shows one article of a passive news reply, so the sections are listed on /p/g/<prefix> (docs/bot.md).
    """
    members = ctx.catalog.group(prefix)
    if not members:
        return toc(ctx)
    if len(members) == 1:
        return section_reply(ctx, members[0])
    card = ctx.renderer.group(prefix)
    return News((Article(card.title, card.description, ctx.renderer.page_url(card.page_path)),))


def therapy_card(ctx: Context, key: str) -> Reply:
    """The therapy's card (what it is, its phase, size and status, the caveats), pointing to its latest update."""
    therapy = ctx.catalog.therapy(key)
    if therapy is None:
        return therapy_list(ctx)
    offer = getattr(ctx.renderer, "notice_offer", None)  # a subscribe notice for the next update, if configured
    page = ctx.renderer.page_url(therapy_path(key))
    hint = ctx.texts.render("therapy_hint", therapy=therapy, notice_offer=offer, page_url=page)
    return body_reply(ctx, ctx.renderer.therapy(key), therapy.name, therapy.status, extra=hint)


def therapy_latest(ctx: Context, key: str) -> Reply:
    """The therapy's latest update (its card when it has none), pointing back to the card and the timeline; a
    published update answers with its article (posts/articles.py)."""
    therapy = ctx.catalog.therapy(key)
    if therapy is None:
        return therapy_list(ctx)
    latest = therapy.latest
    if latest is None:
        return therapy_card(ctx, key)
    hint = ctx.texts.render("update_hint", therapy=therapy)
    ref = received.update_ref(key, latest.key)
    received.record(ctx.session, ctx.message.openid, ref, received.REPLY, ctx.now)
    return article_or(ctx, ref, latest.title, therapy.name) or body_reply(
        ctx, ctx.renderer.update(key, latest.key), latest.title, therapy.name, extra=hint
    )


def therapy_timeline(ctx: Context, key: str) -> Reply:
    therapy = ctx.catalog.therapy(key)
    if therapy is None:
        return therapy_list(ctx)
    title = ctx.texts.title("timeline", name=therapy.name)
    return body_reply(ctx, ctx.renderer.timeline(key), title, therapy.status)


def therapy_subscribe(ctx: Context, key: str) -> Reply:
    therapy = ctx.catalog.therapy(key)
    if therapy is None:
        return therapy_list(ctx)
    return subscribe(ctx, therapy, source="menu")


def mine(ctx: Context) -> Reply:
    return my_subscriptions(ctx)


def subscribe_options(ctx: Context) -> Reply:
    return therapy_list(ctx)


def viewed(ctx: Context) -> Reply:
    """VIEW: the follower is leaving for a page; logged by the callback, nothing to answer."""
    return Empty()


def unknown_click(ctx: Context) -> Reply:
    """A CLICK key no route knows (an old menu still cached on a phone): the help text."""
    return ctx.say("default")
