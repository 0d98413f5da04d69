"""Writing and reviewing content in the console: therapy updates, sections, welcomes and keyword replies, each in a
form with its checks (those of `wxbot content check`, shown next to the fields) and a phone preview as the operator
types (htmx), and each change a revision an editor drafts and a reviewer other than the author approves
(posts/revisions.py, the kinds in posts/content_kinds.py); history, diff and rollback.

The handlers take the Console and the signed-in request (console/app.py registers them behind the sign-in).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from starlette.responses import RedirectResponse, Response

from console.words import say
from posts import accounts, approval, revisions
from posts.catalog import SOURCE_KINDS
from posts.loader import default_content_dir
from posts.models import ContentItem
from posts.revisions import ContentRevision, Kind, RevisionError, Source

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
LIST_ORDER = ("update", "section", "welcome", "keyword")
"""The kinds in the order the content page lists them."""
SENDABLE = ("update", "section")
"""Kinds a push can carry (the compose page's content:<kind>:<key>)."""


def words(finding: revisions.Finding) -> str:
    """A finding in the operators' words (the linter's own line follows in small print on the page)."""
    return say("content_checks", finding.code, n=finding.number, text=finding.text)


def _pack_dir(console: Console) -> Path:
    return default_content_dir(console.settings.content.path)


def _today(console: Console, ctx: Ctx) -> Any:
    return ctx.now.astimezone(ZoneInfo(console.tz)).date()


def _kind(ctx: Ctx) -> Kind | None:
    name = ctx.form.get("kind") or ctx.request.query_params.get("kind") or "update"
    return revisions.kinds().get(name)


def checked_draft(console: Console, ctx: Ctx, draft: Any) -> revisions.Checked:
    return revisions.check(draft, console.catalog, _today(console, ctx), _pack_dir(console), console.router)


def preview_text(console: Console, checked: revisions.Checked) -> str:
    """What a follower receives (the renderer's text reply), or "" while it cannot be built."""
    return revisions.kind_of(checked.draft).preview(checked, console.settings.server.base_url)


def _rows(draft: Any) -> list[Source]:
    sources = list(getattr(draft, "sources", []))
    count = min(max(revisions.SOURCE_ROWS, len(sources) + 1), revisions.MAX_SOURCE_ROWS)
    return (sources + [Source() for _ in range(count)])[:count]


def slots(draft: Any, rows: int) -> list[str]:
    """The form's places for findings next to a field (each an element err-<name>, swapped in as one types)."""
    names = [n for n in type(draft).fields() if n != "sources"] + ["review"]
    parts = ("url", "title", "publisher", "date", "kind")
    return names + [f"source{i}_{p}" for i in range(1, rows + 1) for p in parts]


def _checks(console: Console, checked: revisions.Checked, asked: str = "") -> dict[str, Any]:
    draft = checked.draft
    return {
        "checked": checked,
        "preview": preview_text(console, checked),
        "finding_words": words,
        "field_errors": {name: [words(f) for f in found] for name, found in checked.by_field().items()},
        "asked": asked or _asked(draft),
        "kind": revisions.kind_of(draft).name,
    }


def _asked(draft: Any) -> str:
    """What the follower typed or did, shown above the preview (a keyword's first word)."""
    found = getattr(draft, "words", ())
    return found[0] if found else ""


def _render_form(
    console: Console,
    ctx: Ctx,
    draft: Any,
    revision: ContentRevision | None = None,
    status: int = 200,
    checked: revisions.Checked | None = None,
    changing: bool = False,
) -> Response:
    checked = checked or checked_draft(console, ctx, draft)
    kind = revisions.kind_of(draft)
    rows = _rows(draft)
    return console.render(
        "content_form",
        ctx.request,
        status=status,
        ctx=ctx,
        revision=revision,
        draft=draft,
        fixed=kind.fixed if (revision is not None or changing or ctx.form.get("changing") == "1") else (),
        changing=changing or ctx.form.get("changing") == "1",
        source_rows=rows,
        therapies=list(console.catalog.therapies.values()),
        kinds=SOURCE_KINDS,
        parts=("review", "guide"),
        **_checks(console, checked),
    )


def content_page(console: Console, ctx: Ctx) -> Response:
    """The live content by kind, each item with who wrote it (the pack or the console), and the drafts."""
    operator = revisions.operator_keys(ctx.db)
    every = revisions.kinds()
    lists = []
    for name in LIST_ORDER:
        listed = every[name].listing(console.catalog)
        lists.append((every[name], [(item, "operator" if (name, item.key) in operator else "pack") for item in listed]))
    return console.render(
        "content",
        ctx.request,
        ctx=ctx,
        lists=lists,
        waiting=revisions.waiting(ctx.db),
        recent=revisions.recent(ctx.db, 30),
    )


def new_page(console: Console, ctx: Ctx) -> Response:
    """A blank form of a kind (``?kind=``), or (``?from=<key>``) a live item's content to change as a new revision."""
    kind = _kind(ctx)
    if kind is None:
        return console.refuse(ctx, "content_unknown_kind", 404)
    if not approval.can(ctx.user.role, "compose"):
        return console.refuse(ctx, "forbidden")
    key = ctx.request.query_params.get("from", "")
    if key:
        draft = kind.of(console.catalog, key)
        if draft is None:
            return console.refuse(ctx, "content_not_found_item", 404)
        return _render_form(console, ctx, draft, changing=True)
    if not kind.can_create:
        return console.refuse(ctx, "content_cannot_create", 404)
    draft = kind.blank(console.catalog, _today(console, ctx), ctx.user.name, ctx.request.query_params)
    return _render_form(console, ctx, draft)


def check_partial(console: Console, ctx: Ctx) -> Response:
    """The checks and the phone preview for the form as typed so far (htmx swaps them in, and each field's
    findings next to it, out of band)."""
    kind = _kind(ctx)
    if kind is None:
        return console.refuse(ctx, "content_unknown_kind", 404)
    draft = kind.draft.from_form(ctx.form)
    checked = checked_draft(console, ctx, draft)
    rows = int(ctx.form.get("source_rows", "0") or 0) if ctx.form.get("source_rows", "").isdigit() else 0
    return console.render(
        "_content_checks", ctx.request, ctx=ctx, oob=slots(draft, min(rows, revisions.MAX_SOURCE_ROWS)),
        **_checks(console, checked),
    )  # fmt: skip


def _save(console: Console, ctx: Ctx, revision: ContentRevision | None) -> Response:
    if not approval.can(ctx.user.role, "compose"):
        return console.refuse(ctx, "forbidden")
    kind = revisions.kinds().get(revision.kind) if revision is not None else _kind(ctx)
    if kind is None:
        return console.refuse(ctx, "content_unknown_kind", 404)
    draft = kind.draft.from_form(ctx.form)
    checked = checked_draft(console, ctx, draft)
    naming = {*kind.fixed, "key_taken", "order_taken", "keyword_exists", "not_reply", "patterns"}
    if revision is None and any(f.code in naming for f in checked.errors):
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
    draft = revisions.draft_from(revision)
    checked = checked_draft(console, ctx, draft)
    history = revisions.history(ctx.db, revision.kind, revision.key)
    older = next((r for r in history if r.number < revision.number), None)
    live_row = ctx.db.query(ContentItem).filter_by(kind=revision.kind, key=revision.key).one_or_none()
    return console.render(
        "content_revision",
        ctx.request,
        ctx=ctx,
        revision=revision,
        draft=draft,
        history=history,
        diff=revisions.diff(older, revision),
        older=older,
        trail=list(reversed(accounts.audit_log(ctx.db, f"content:{revision.kind}:{revision.key}"[:64]))),
        own=revision.author == ctx.user.username,
        may_review=approval.can(ctx.user.role, "review") and revision.author != ctx.user.username,
        may_compose=approval.can(ctx.user.role, "compose"),
        is_live=live_row is not None and revision.status == "live",
        sendable=revision.kind in SENDABLE,
        **_checks(console, checked),
    )


def edit_page(console: Console, ctx: Ctx) -> Response:
    revision = _revision(ctx)
    if revision is None:
        return console.refuse(ctx, "content_not_found", 404)
    if revision.author != ctx.user.username or revision.status not in ("draft", "returned"):
        return console.refuse(ctx, "content_wrong_state", 409)
    return _render_form(console, ctx, revisions.draft_from(revision), revision)


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
            checked = checked_draft(console, ctx, revisions.draft_from(revision))
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
                checked = checked_draft(console, ctx, revisions.draft_from(revision))
                revisions.approve(ctx.db, revision, user, checked, ctx.now, comment)
                done = "content_live" if revision.kind == "update" else f"content_live_{revision.kind}"
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
    if done.startswith("content_live"):
        console.refresh_catalog()
    return RedirectResponse(f"/content/revisions/{target}?done={done}", status_code=303)
