"""Writing and reviewing content in the console: a therapy update's form with its sources and review fields, the
checks of `wxbot content check` and a phone preview as the operator types (htmx), and each change a revision an
editor drafts and a reviewer other than the author approves (posts/revisions.py); history, diff and rollback.

The handlers take the Console and the signed-in request (console/app.py registers them behind the sign-in).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from starlette.responses import RedirectResponse, Response

from console.words import say
from posts import accounts, approval, revisions
from posts.catalog import SOURCE_KINDS
from posts.loader import default_content_dir
from posts.models import ContentItem
from posts.render import Renderer
from posts.revisions import ContentRevision, Draft, RevisionError, Source

if TYPE_CHECKING:
    from console.app import Console, Ctx

ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/content", "content_page"),
    ("GET", "/content/new", "new_page"),
    ("POST", "/content/new", "create"),
    ("POST", "/content/check", "check_partial"),
    ("GET", "/content/revisions/{revision_id:int}", "revision_page"),
    ("GET", "/content/revisions/{revision_id:int}/edit", "edit_page"),
    ("POST", "/content/revisions/{revision_id:int}/edit", "edit"),
    ("POST", "/content/revisions/{revision_id:int}/{action:str}", "act"),
]
"""(method, path, handler name in this module) of the editor's pages."""


def words(finding: revisions.Finding) -> str:
    """A finding in the operators' words (the linter's own line follows in small print on the page)."""
    return say("content_checks", finding.code, n=finding.number)


def _pack_dir(console: Console) -> Path:
    return default_content_dir(console.settings.content.path)


def _today(console: Console, ctx: Ctx) -> Any:
    return ctx.now.astimezone(ZoneInfo(console.tz)).date()


def checked_draft(console: Console, ctx: Ctx, draft: Draft) -> revisions.Checked:
    return revisions.check(draft, console.catalog, _today(console, ctx), _pack_dir(console))


def preview_text(console: Console, checked: revisions.Checked) -> str:
    """What a follower who asks for the update receives (the renderer's text reply), or "" while it cannot be built."""
    if checked.catalog is None or checked.update is None:
        return ""
    renderer = Renderer(checked.catalog, console.settings.server.base_url)
    return renderer.update(checked.update.therapy, checked.update.key).text


def _blank(console: Console, ctx: Ctx) -> Draft:
    today = _today(console, ctx)
    therapy = ctx.request.query_params.get("therapy", "")
    return Draft(
        therapy=therapy if therapy in console.catalog.therapies else "",
        date=f"{today:%Y-%m-%d}",
        reviewed_by=ctx.user.name,
        reviewed_on=f"{today:%Y-%m-%d}",
        next_review=f"{today + timedelta(days=revisions.REVIEW_DAYS):%Y-%m-%d}",
    )


def _form_values(console: Console, draft: Draft) -> dict[str, Any]:
    rows = list(draft.sources) + [Source() for _ in range(revisions.SOURCE_ROWS - len(draft.sources))]
    return {
        "draft": draft,
        "source_rows": rows[: revisions.SOURCE_ROWS],
        "therapies": list(console.catalog.therapies.values()),
        "kinds": SOURCE_KINDS,
    }


def _render_form(
    console: Console,
    ctx: Ctx,
    draft: Draft,
    revision: ContentRevision | None = None,
    status: int = 200,
    checked: revisions.Checked | None = None,
    changing: bool = False,
) -> Response:
    checked = checked or checked_draft(console, ctx, draft)
    return console.render(
        "content_form",
        ctx.request,
        status=status,
        ctx=ctx,
        revision=revision,
        checked=checked,
        preview=preview_text(console, checked),
        finding_words=words,
        changing=changing or ctx.form.get("changing") == "1",
        **_form_values(console, draft),
    )


def content_page(console: Console, ctx: Ctx) -> Response:
    items = []
    operator = revisions.operator_keys(ctx.db)
    for therapy in console.catalog.therapies.values():
        for update in therapy.updates:
            origin = "operator" if ("update", f"{therapy.key}/{update.key}") in operator else "pack"
            items.append((therapy, update, origin))
    return console.render(
        "content",
        ctx.request,
        ctx=ctx,
        items=items,
        waiting=revisions.waiting(ctx.db),
        recent=revisions.recent(ctx.db, 30),
    )


def new_page(console: Console, ctx: Ctx) -> Response:
    """A blank form, or (``?from=<therapy>/<update key>``) a live update's content to change as a new revision."""
    if not approval.can(ctx.user.role, "compose"):
        return console.refuse(ctx, "forbidden")
    therapy, _, key = ctx.request.query_params.get("from", "").partition("/")
    draft = revisions.draft_of(console.catalog, therapy, key) if key else None
    return _render_form(console, ctx, draft or _blank(console, ctx), changing=draft is not None)


def check_partial(console: Console, ctx: Ctx) -> Response:
    """The checks and the phone preview for the form as typed so far (htmx swaps them in)."""
    draft = Draft.from_form(ctx.form)
    checked = checked_draft(console, ctx, draft)
    return console.render(
        "_content_checks", ctx.request, ctx=ctx, checked=checked, preview=preview_text(console, checked),
        finding_words=words,
    )  # fmt: skip


def _save(console: Console, ctx: Ctx, revision: ContentRevision | None) -> Response:
    if not approval.can(ctx.user.role, "compose"):
        return console.refuse(ctx, "forbidden")
    draft = Draft.from_form(ctx.form)
    checked = checked_draft(console, ctx, draft)
    if revision is None and any(f.code in ("therapy", "date", "slug") for f in checked.errors):
        return _render_form(console, ctx, draft, revision, status=400, checked=checked)
    try:
        if revision is not None and revision.key != draft.item_key:
            raise RevisionError("key_changed")
        saved = revisions.save_draft(ctx.db, draft, ctx.user.username, ctx.now, revision)
        done = "content_saved"
        if ctx.form.get("then") == "submit":
            revisions.submit(ctx.db, saved, ctx.user.username, checked, ctx.now)
            done = "content_submitted"
    except RevisionError as exc:
        ctx.db.rollback()
        if exc.code == "checks_failed":
            return _render_form(console, ctx, draft, revision, status=400, checked=checked)
        return console.refuse(ctx, f"content_{exc.code}", 409)
    ctx.db.commit()
    return RedirectResponse(f"/content/revisions/{saved.id}?done={done}", status_code=303)


def create(console: Console, ctx: Ctx) -> Response:
    return _save(console, ctx, None)


def _revision(ctx: Ctx) -> ContentRevision | None:
    return ctx.db.get(ContentRevision, int(ctx.request.path_params["revision_id"]))


def revision_page(console: Console, ctx: Ctx) -> Response:
    revision = _revision(ctx)
    if revision is None:
        return console.refuse(ctx, "content_not_found", 404)
    draft = Draft.from_data(revision.data)
    checked = checked_draft(console, ctx, draft)
    history = revisions.history(ctx.db, revision.kind, revision.key)
    older = next((r for r in history if r.number < revision.number), None)
    live_row = ctx.db.query(ContentItem).filter_by(kind="update", key=revision.key).one_or_none()
    return console.render(
        "content_revision",
        ctx.request,
        ctx=ctx,
        revision=revision,
        draft=draft,
        checked=checked,
        preview=preview_text(console, checked),
        finding_words=words,
        history=history,
        diff=revisions.diff(older, revision),
        older=older,
        trail=list(reversed(accounts.audit_log(ctx.db, f"content:{revision.kind}:{revision.key}"[:64]))),
        own=revision.author == ctx.user.username,
        may_review=approval.can(ctx.user.role, "review") and revision.author != ctx.user.username,
        may_compose=approval.can(ctx.user.role, "compose"),
        is_live=live_row is not None and revision.status == "live",
    )


def edit_page(console: Console, ctx: Ctx) -> Response:
    revision = _revision(ctx)
    if revision is None:
        return console.refuse(ctx, "content_not_found", 404)
    if revision.author != ctx.user.username or revision.status not in ("draft", "returned"):
        return console.refuse(ctx, "content_wrong_state", 409)
    return _render_form(console, ctx, Draft.from_data(revision.data), revision)


def edit(console: Console, ctx: Ctx) -> Response:
    revision = _revision(ctx)
    if revision is None:
        return console.refuse(ctx, "content_not_found", 404)
    return _save(console, ctx, revision)


def act(console: Console, ctx: Ctx) -> Response:
    revision = _revision(ctx)
    if revision is None:
        return console.refuse(ctx, "content_not_found", 404)
    action = ctx.request.path_params["action"]
    comment = ctx.form.get("comment", "").strip()
    user = ctx.user.username
    target = revision.id
    try:
        if action == "submit":
            checked = checked_draft(console, ctx, Draft.from_data(revision.data))
            revisions.submit(ctx.db, revision, user, checked, ctx.now)
            done = "content_submitted"
        elif action in ("approve", "return"):
            if not approval.can(ctx.user.role, "review"):
                raise RevisionError("forbidden")
            if action == "return":
                if not comment:
                    raise RevisionError("comment_needed")
                revisions.send_back(ctx.db, revision, user, comment, ctx.now)
                done = "content_returned"
            else:
                checked = checked_draft(console, ctx, Draft.from_data(revision.data))
                revisions.approve(ctx.db, revision, user, checked, ctx.now, comment)
                done = "content_live"
        elif action == "rollback":
            if not approval.can(ctx.user.role, "compose") and not approval.can(ctx.user.role, "review"):
                raise RevisionError("forbidden")
            target = revisions.rollback(ctx.db, revision, user, ctx.now).id
            done = "content_rollback"
        else:
            return console.refuse(ctx, "no_page", 404)
    except RevisionError as exc:
        ctx.db.rollback()
        status = 403 if exc.code in ("forbidden", "own_revision") else 409
        return console.refuse(ctx, f"content_{exc.code}", status)
    ctx.db.commit()
    if done == "content_live":
        console.refresh_catalog()
    return RedirectResponse(f"/content/revisions/{target}?done={done}", status_code=303)
