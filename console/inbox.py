"""The console's inbox pages: the messages waiting for a person (urgent first), one follower's conversation with the
window left and a reply form, and the unanswered questions grouped by similarity.

The rules are posts/inbox.py's; an answer is an outbox row the scheduler sends as a customer-service message.
Senders and admins answer and close; editors and reviewers read. Each handler takes the console and the signed-in
request (console.app.Ctx), like the console's own pages.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from console import data
from posts import inbox
from posts.catalog import Catalog
from posts.inbox import InboxError
from posts.inbox_models import InboxItem
from posts.models import InboundEvent
from posts.render import Renderer

if TYPE_CHECKING:
    from console.app import Console, Ctx

REFUSED_STATUS = {"forbidden": 403}
"""Other refusals (window closed or used, empty or too long) are 409: the request was fine, the moment is not."""


@dataclass(frozen=True)
class Canned:
    """A ready answer drawn from the pack: what it is, and the words it puts in the reply box."""

    key: str
    label: str
    text: str


def canned_answers(catalog: Catalog, renderer: Renderer) -> list[Canned]:
    """Each section's summary with its page, and each keyword rule's reply (the words the bot itself uses)."""
    found = [
        Canned(f"section:{s.key}", s.title, f"{s.title}\n{s.summary}\n{renderer.page_url(f'/p/s/{s.key}')}")
        for s in catalog.sections
    ]
    found += [
        Canned(f"keyword:{i}", " / ".join(rule.patterns[:3]), rule.reply.strip())
        for i, rule in enumerate(catalog.keywords, start=1)
        if rule.reply
    ]
    return found


def urgent_count(db: Session) -> int:
    """Open urgent messages: the nav link's badge on every page."""
    return inbox.counts(db)[1]


def _renderer(console: Console) -> Renderer:
    return Renderer(console.catalog, console.settings.server.base_url)


def _item(ctx: Ctx) -> InboxItem | None:
    return ctx.db.get(InboxItem, int(ctx.request.path_params["item_id"]))


def inbox_page(console: Console, ctx: Ctx) -> Response:
    state = ctx.request.query_params.get("state", "open")
    items = inbox.listing(ctx.db, state if state in inbox.STATES else None)
    opened, urgent = inbox.counts(ctx.db)
    return console.render("inbox", ctx.request, ctx=ctx, items=items, state=state, opened=opened, urgent=urgent,
                          states=inbox.STATES)  # fmt: skip


def recent_page(console: Console, ctx: Ctx) -> Response:
    texts = inbox.recent_texts(ctx.db)
    flagged = inbox.flagged_keys(ctx.db, [inbox.log_key(t) for t in texts])
    return console.render("inbox_recent", ctx.request, ctx=ctx, texts=texts, flagged=flagged, log_key=inbox.log_key,
                          may_answer=inbox.may_answer(ctx.user.role))  # fmt: skip


def groups_page(console: Console, ctx: Ctx) -> Response:
    days = 30
    groups = inbox.similar_groups(inbox.unanswered(ctx.db, ctx.now, days=days))
    return console.render("inbox_groups", ctx.request, ctx=ctx, groups=groups, days=days)


def _conversation_values(console: Console, db: Session, item: InboxItem, ctx: Ctx) -> dict[str, Any]:
    talk = inbox.conversation(db, item.openid, ctx.now)
    flagged = inbox.flagged_keys(db, [inbox.log_key(t) for t in talk.texts])
    renderer = _renderer(console)
    canned = canned_answers(console.catalog, renderer)
    return {
        "item": item,
        "talk": talk,
        "flagged": flagged,
        "log_key": inbox.log_key,
        "canned": canned,
        "therapy_name": lambda key: t.name if (t := console.catalog.therapy(key)) else key,
        "content_title": lambda ref: data.content_title(console.catalog, ref),
        "may_answer": inbox.may_answer(ctx.user.role),
        "reply_key": secrets.token_urlsafe(12),
        "disclaimer": renderer.disclaimer_short,
    }


def conversation_page(console: Console, ctx: Ctx, status: int = 200, error: str = "", draft: str = "") -> Response:
    item = _item(ctx)
    if item is None:
        return console.refuse(ctx, "not_found_inbox", 404)
    values = _conversation_values(console, ctx.db, item, ctx)
    wanted = ctx.request.query_params.get("canned", "")
    if not draft and wanted:
        draft = next((c.text for c in values["canned"] if c.key == wanted), "")
    return console.render("inbox_item", ctx.request, status=status, ctx=ctx, error=error, draft=draft, **values)


def answer(console: Console, ctx: Ctx) -> Response:
    item = _item(ctx)
    if item is None:
        return console.refuse(ctx, "not_found_inbox", 404)
    body = ctx.form.get("reply", "")
    try:
        inbox.answer(
            ctx.db,
            item,
            body,
            by=ctx.user.username,
            role=ctx.user.role,
            renderer=_renderer(console),
            now=ctx.now,
            reply_key=ctx.form.get("reply_key") or secrets.token_urlsafe(12),
        )
    except InboxError as exc:
        ctx.db.rollback()
        if exc.code == "forbidden":
            return console.refuse(ctx, "forbidden")
        return conversation_page(console, ctx, status=REFUSED_STATUS.get(exc.code, 409), error=exc.code, draft=body)
    ctx.db.commit()
    return RedirectResponse(f"/inbox/{item.id}?done=inbox_answered", status_code=303)


def typing(console: Console, ctx: Ctx) -> Response:
    item = _item(ctx)
    if item is None:
        return console.refuse(ctx, "not_found_inbox", 404)
    try:
        inbox.typing(ctx.db, item, role=ctx.user.role, now=ctx.now)
    except InboxError as exc:
        ctx.db.rollback()
        if exc.code == "forbidden":
            return console.refuse(ctx, "forbidden")
        return conversation_page(console, ctx, status=409, error=exc.code)
    ctx.db.commit()
    return RedirectResponse(f"/inbox/{item.id}?done=inbox_typing#reply", status_code=303)


def close(console: Console, ctx: Ctx) -> Response:
    item = _item(ctx)
    if item is None:
        return console.refuse(ctx, "not_found_inbox", 404)
    try:
        inbox.close(ctx.db, item, by=ctx.user.username, role=ctx.user.role, now=ctx.now)
    except InboxError:
        ctx.db.rollback()
        return console.refuse(ctx, "forbidden")
    ctx.db.commit()
    return RedirectResponse("/inbox?done=inbox_closed", status_code=303)


def flag(console: Console, ctx: Ctx) -> Response:
    if not inbox.may_answer(ctx.user.role):
        return console.refuse(ctx, "forbidden")
    try:
        event = ctx.db.get(InboundEvent, int(ctx.form.get("event", "")))
    except ValueError:
        event = None
    if event is None or event.msg_type != "text":
        return console.refuse(ctx, "not_found_inbox", 404)
    try:
        item = inbox.flag(ctx.db, event, by=ctx.user.username, now=ctx.now)
    except InboxError:
        ctx.db.rollback()
        return console.refuse(ctx, "not_found_inbox", 404)
    ctx.db.commit()
    return RedirectResponse(f"/inbox/{item.id}?done=inbox_flagged", status_code=303)


ROUTES = [
    ("GET", "/inbox", inbox_page),
    ("GET", "/inbox/recent", recent_page),
    ("GET", "/inbox/groups", groups_page),
    ("POST", "/inbox/flag", flag),
    ("GET", "/inbox/{item_id:int}", conversation_page),
    ("POST", "/inbox/{item_id:int}/answer", answer),
    ("POST", "/inbox/{item_id:int}/typing", typing),
    ("POST", "/inbox/{item_id:int}/close", close),
]
"""(method, path, handler) of the inbox pages, behind the console's sign-in like every other route."""
