"""Reply helpers shared by handlers: a rendered body as text or as a one-article link, the subscribe flow."""

from __future__ import annotations

from bot.handlers import Context, TextBody
from bot.replies import Article, News, Reply, Text
from posts import capabilities, followers, outbox
from posts.catalog import Therapy


def body_reply(ctx: Context, body: TextBody, title: str, description: str, extra: str = "") -> Reply:
    """The body as a text reply when it fits (with ``extra`` before its footer if that still fits), else a link to
    its page. The disclaimer stays the last thing of the text (posts.render.Renderer.close)."""
    if body.fits:
        if extra:
            longer = ctx.renderer.with_extra(body, extra)
            if longer.fits:
                return Text(longer.text)
        return Text(body.text)
    summary = f"{description}\n{extra}".strip() if extra else description
    return News((Article(title=title, description=summary, url=ctx.renderer.page_url(body.page_path or "/p/")),))


def subscribe(ctx: Context, therapy: Therapy, source: str) -> Reply:
    follower = followers.ensure(ctx.session, ctx.message.openid, ctx.now)
    added = followers.subscribe(ctx.session, follower, therapy.key, ctx.now, source=source)
    if added:
        mirror_tag(ctx, outbox.TAG_ADD, therapy.key)
    return ctx.say("subscribed", therapy=therapy, already=not added)


def unsubscribe(ctx: Context, therapy: Therapy) -> Reply:
    follower = followers.ensure(ctx.session, ctx.message.openid, ctx.now)
    removed = followers.unsubscribe(ctx.session, follower, therapy.key, ctx.now)
    if removed:
        mirror_tag(ctx, outbox.TAG_REMOVE, therapy.key)
    return ctx.say("unsubscribed", therapy=therapy, was_active=removed)


def my_subscriptions(ctx: Context) -> Reply:
    follower = followers.ensure(ctx.session, ctx.message.openid, ctx.now)
    keys = followers.active_therapies(ctx.session, follower)
    return body_reply(ctx, ctx.renderer.subscriptions(keys), ctx.texts.title("mine"), "")


def therapy_list(ctx: Context) -> Reply:
    return ctx.say("subscribe_list", therapies=list(ctx.catalog.therapies.values()))


def mirror_tag(ctx: Context, kind: str, therapy_key: str) -> None:
    """Queue the WeChat tag change that mirrors a subscription change (the scheduler calls the API); none when the
    account check found the account has no tags API (the subscription is kept in the database only)."""
    if not capabilities.current(ctx.session).has(capabilities.TAGS):
        return
    outbox.enqueue(
        ctx.session,
        kind,
        ctx.message.openid,
        {"therapy": therapy_key},
        ctx.now,
        dedup_key=f"{ctx.outbox_key}:{kind}:{therapy_key}",
    )
