"""Follow, QR scan and unfollow: record the follower, welcome them per scene, subscribe them per scene."""

from __future__ import annotations

import logging

from bot.handlers import Context
from bot.handlers.common import body_reply, mirror_tag
from bot.replies import Empty, Reply
from posts import capabilities, followers, outbox, sendtome
from posts.catalog import Scene
from posts.script import page_link

log = logging.getLogger(__name__)


def followed(ctx: Context) -> Reply:
    """subscribe, plain or through a QR scene (``qrscene_`` already stripped by Inbound.scene).

    The account's capability profile decides what follows the welcome: without QR codes every follower gets the
    keyword welcome, without customer-service messages no latest update is queued (tags: bot.handlers.common).
    """
    code = sendtome.code_in(ctx.message.scene)  # an operator's bind QR code: a follower like any other, bound
    profile = capabilities.current(ctx.session)
    scene = _known_scene(ctx) if profile.has(capabilities.QR) and code is None else None
    follower, returning = followers.record_follow(
        ctx.session, ctx.message.openid, ctx.now, scene.key if scene else None
    )
    if returning:
        for therapy_key in followers.active_therapies(ctx.session, follower):
            mirror_tag(ctx, outbox.TAG_ADD, therapy_key)
    if code is not None:
        return _bind_operator(ctx, code)
    _preset_script(ctx, scene)
    if scene is not None and scene.therapy:
        _subscribe_for_scene(ctx, scene, returning)
        if profile.has(capabilities.CUSTOM):
            _queue_latest_update(ctx, scene.therapy)
    return _welcome(ctx, scene)


def scanned(ctx: Context) -> Reply:
    """SCAN by someone already following: the scene's welcome, and its therapy subscription (an operator's bind
    QR code: the binding)."""
    followers.ensure(ctx.session, ctx.message.openid, ctx.now)
    code = sendtome.code_in(ctx.message.scene)
    if code is not None:
        return _bind_operator(ctx, code)
    scene = _known_scene(ctx)
    _preset_script(ctx, scene)
    if scene is not None and scene.therapy:
        _subscribe_for_scene(ctx, scene, returning=False)
    return _welcome(ctx, scene)


def unfollowed(ctx: Context) -> Reply:
    """unsubscribe: the follower becomes inactive; subscriptions and history stay for a return."""
    followers.record_unfollow(ctx.session, ctx.message.openid, ctx.now)
    return Empty()


def _bind_operator(ctx: Context, code: str) -> Reply:
    """Bind the scanner's WeChat to the operator whose one-time code the scene carries (database only); the reply
    says whether it worked, or that the code expired or was used (nothing is bound then)."""
    bound = sendtome.bind(ctx.session, code, ctx.message.openid, ctx.now)
    if bound.outcome != "bound":
        log.info("operator bind code from %s not used: %s", ctx.message.openid, bound.outcome)
    return ctx.say("operator_bind", outcome=bound.outcome)


def _preset_script(ctx: Context, scene: Scene | None) -> None:
    """A scene that presets a script (scenes.yaml ``script``) sets it for the follower, this welcome included."""
    if scene is not None and scene.script:
        followers.choose_script(ctx.session, ctx.message.openid, scene.script, ctx.now)
        ctx.script = scene.script


def _known_scene(ctx: Context) -> Scene | None:
    key = ctx.message.scene
    if key is None:
        return None
    scene = ctx.catalog.scenes.get(key)
    if scene is None:
        log.warning("unknown QR scene %r from %s; default welcome", key, ctx.message.openid)
    return scene


def _subscribe_for_scene(ctx: Context, scene: Scene, returning: bool) -> None:
    therapy = ctx.catalog.therapy(scene.therapy or "")
    if therapy is None:
        log.warning("scene %r names unknown therapy %r", scene.key, scene.therapy)
        return
    follower = followers.ensure(ctx.session, ctx.message.openid, ctx.now)
    added = followers.subscribe(ctx.session, follower, therapy.key, ctx.now, source=f"scene:{scene.key}"[:32])
    if added or returning:
        mirror_tag(ctx, outbox.TAG_ADD, therapy.key)


def _queue_latest_update(ctx: Context, therapy_key: str) -> None:
    """After the welcome, the therapy's latest update as a customer-service message (sent by the scheduler)."""
    therapy = ctx.catalog.therapy(therapy_key)
    latest = therapy.latest if therapy else None
    if therapy is None or latest is None:
        return
    body = ctx.renderer.update(therapy.key, latest.key)
    if body.fits:
        message = {"msgtype": "text", "text": {"content": ctx.in_script(body.text)}}
    else:
        url = page_link(ctx.renderer.page_url(body.page_path or "/p/"), ctx.script)
        article = {"title": ctx.in_script(latest.title), "description": therapy.name, "url": url}
        message = {"msgtype": "news", "news": {"articles": [article]}}
    outbox.enqueue(
        ctx.session,
        outbox.CUSTOM_MESSAGE,
        ctx.message.openid,
        {"message": message, "therapy": therapy.key, "update": latest.key, "reason": "scene_follow"},
        ctx.now,
        dedup_key=f"{ctx.outbox_key}:latest:{therapy.key}",
    )


def _welcome(ctx: Context, scene: Scene | None) -> Reply:
    welcome = ctx.catalog.welcome_for(scene.key if scene else None)
    key = welcome.key if welcome else "default"
    title = welcome.title if welcome else ""
    return body_reply(ctx, ctx.renderer.welcome(key), title, "")
