"""`wxbot content`: check the content pack, preview what followers see, list it, reload it into the database."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from posts.catalog import Catalog
from posts.content_sync import sync_catalog
from posts.db import session_scope
from posts.limits import TEXT_REPLY_MAX_BYTES
from posts.live import LIVE_SWITCH_SECONDS
from posts.loader import Problem, default_content_dir, load_catalog
from posts.medlint import lint_pack
from posts.render import Renderer, TextBody
from wxbot.context import app_context, console, fail

app = typer.Typer(help="The content pack: check, preview, list, reload into the database.", no_args_is_help=True)

PathOption = Annotated[
    Path | None, typer.Option("--path", help="Content pack folder (default: settings content.path, else shipped).")
]


def _load(ctx: typer.Context, path: Path | None) -> tuple[Path, Catalog, list[Problem]]:
    root = path if path is not None else default_content_dir(app_context(ctx).settings.content.path)
    catalog, problems = load_catalog(root)
    return root, catalog, problems


def _warn(problems: list[Problem]) -> None:
    if problems:
        print(f"note: the pack has {len(problems)} problem(s); run `wxbot content check` (bad files are left out)")


def _reply_problems(root: Path, catalog: Catalog, base_url: str, now: datetime) -> list[str]:
    """The passive replies of the menu and the keyword rules that break WeChat's limits (wxbot/replycheck.py)."""
    from posts.menu import MenuError, load_menu, menu_path
    from wxbot.replycheck import reply_problems

    try:
        menu = load_menu(menu_path(root))
    except MenuError as exc:
        return [str(exc)]
    return reply_problems(catalog, menu, Renderer(catalog, base_url), now)


def _pending_intents(catalog: Catalog) -> list[str]:
    """A note per question intent waiting for its section (Catalog.pending_intents): not an error, not counted."""
    return [
        f"note: questions.yaml intent '{i.key}' answers with {i.ref}, which the pack does not have yet; "
        "no question is matched to it until the section exists"
        for i in catalog.pending_intents()
    ]


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


@app.command()
def check(
    ctx: typer.Context,
    path: PathOption = None,
    today: Annotated[
        str | None,
        typer.Option("--today", help="The date review dates are compared with (default: today in settings timezone)."),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too (items past their review).")] = False,
) -> None:
    """Validate the pack, lint its medical content and check the replies its menu and keywords make.

    Prints every problem as path:line: message; exit 1 if any.
    """
    day = _day(today)
    context = app_context(ctx)
    now = context.clock()
    root, catalog, problems = _load(ctx, path)
    if day is None:
        day = now.astimezone(ZoneInfo(context.settings.scheduler.timezone)).date()
    lint = lint_pack(root, catalog, day)
    errors: list[str] = [str(problem) for problem in sorted({*problems, *lint.errors})]
    if not problems:  # the replies are checked on a pack that loads whole
        errors += _reply_problems(root, catalog, context.settings.server.base_url, now)
    for line in [*errors, *(str(w) for w in lint.warnings), *_pending_intents(catalog)]:
        print(line)
    loaded = (
        f"{len(catalog.sections)} sections, {len(catalog.therapies)} therapies, "
        f"{sum(len(t.updates) for t in catalog.therapies.values())} updates, {len(catalog.references)} references, "
        f"{len(catalog.welcomes)} welcomes, {len(catalog.scenes)} scenes, {len(catalog.keywords)} keyword rules"
    )
    if errors or (strict and lint.warnings):
        print(f"{len(errors)} problem(s), {len(lint.warnings)} warning(s) in {root}; loaded {loaded}")
        raise typer.Exit(1)
    note = f" ({len(lint.warnings)} warning(s))" if lint.warnings else ""
    print(f"content pack OK{note}: {root}; {loaded}")


def _preview_keys(catalog: Catalog) -> list[str]:
    keys = [s.key for s in catalog.sections] + list(catalog.therapies) + ["help", "toc"]
    keys += [f"welcome:{k}" for k in catalog.welcomes]
    keys += [f"update:{t.key}/{u.key}" for t in catalog.therapies.values() for u in t.updates]
    return keys


def resolve_preview(renderer: Renderer, catalog: Catalog, key: str) -> TextBody | None:
    """The text body for a preview KEY, or None when KEY names nothing."""
    try:
        if key == "help":
            return renderer.help()
        if key == "toc":
            return renderer.toc()
        if key.startswith("welcome:"):
            return renderer.welcome(key.removeprefix("welcome:"))
        if key.startswith("update:"):
            therapy, _, update = key.removeprefix("update:").partition("/")
            return renderer.update(therapy, update)
        if catalog.section(key):
            return renderer.section(key)
        if catalog.therapy(key):
            return renderer.therapy(key)
        if key in catalog.welcomes:
            return renderer.welcome(key)
    except KeyError:
        return None
    return None


@app.command()
def preview(
    ctx: typer.Context,
    key: Annotated[
        str,
        typer.Argument(
            help="Section or therapy key, help, toc, welcome:<key> (or a bare welcome key) or update:<therapy>/<key>."
        ),
    ],
    path: PathOption = None,
) -> None:
    """Print a text body exactly as a follower sees it, then its size against the 2048-byte budget."""
    _, catalog, problems = _load(ctx, path)
    renderer = Renderer(catalog, app_context(ctx).settings.server.base_url)
    body = resolve_preview(renderer, catalog, key)
    if body is None:
        sample = ", ".join(_preview_keys(catalog)[:16])
        raise fail(f"unknown content key {key!r}; try one of: {sample}, ...", code=2)
    print(body.text, end="" if body.text.endswith("\n") else "\n")
    print("-" * 40)
    print(f"{body.size} / {TEXT_REPLY_MAX_BYTES} bytes" + ("" if body.fits else " - does not fit one text reply"))
    if not body.fits:
        target = renderer.page_url(body.page_path) if body.page_path else "(no page for this text)"
        print(f"will be sent as a link to {target}")
    print(f"page: {body.page_path or '-'}")
    _warn(problems)


@app.command("list")
def list_(ctx: typer.Context, path: PathOption = None) -> None:
    """Tables of the sections (number, key, title, bytes) and therapies (key, name, latest update)."""
    _, catalog, problems = _load(ctx, path)
    renderer = Renderer(catalog, "")
    sections = Table(title="Sections")
    for column in ("No.", "key", "title", "bytes"):
        sections.add_column(column, justify="right" if column in ("No.", "bytes") else "left")
    for section in catalog.sections:
        size = renderer.section(section.key).size
        shown = str(size) if size <= TEXT_REPLY_MAX_BYTES else f"[red]{size}[/red]"
        sections.add_row(str(section.order), section.key, section.title, shown)
    therapies = Table(title="Therapies")
    for column in ("key", "name", "latest update", "updates"):
        therapies.add_column(column)
    for therapy in catalog.therapies.values():
        latest = therapy.latest.date.isoformat() if therapy.latest else "-"
        therapies.add_row(therapy.key, therapy.name, latest, str(len(therapy.updates)))
    console.print(sections)
    console.print(therapies)
    _warn(problems)


@app.command()
def reload(
    ctx: typer.Context,
    path: PathOption = None,
    force: Annotated[bool, typer.Option("--force", help="Sync even if some files have problems.")] = False,
) -> None:
    """Load the pack and write it to the database (content items, therapy updates, QR scenes)."""
    root, catalog, problems = _load(ctx, path)
    if problems and not force:
        for problem in problems:
            print(problem)
        raise fail(f"{len(problems)} problem(s) in {root}; fix them or use --force (bad files are left out)", 1)
    factory = app_context(ctx).database()
    with session_scope(factory) as session:
        result = sync_catalog(session, catalog, app_context(ctx).clock())
    print(f"reloaded {root}: {result.summary()}")
    if result.version_changed:
        print(
            f"content version {result.version}: running bots, content pages and schedulers switch to it within "
            f"{LIVE_SWITCH_SECONDS} s, no restart needed; the WeChat menu changes only with `wxbot menu push`"
        )
    else:
        print(f"content unchanged (version {result.version}): running processes already serve it")
    _warn(problems)


@app.command()
def export(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(help="Folder to write the pack files into (made if missing).")],
    path: PathOption = None,
) -> None:
    """Write the live content (the database's, with what was written in the console) back as pack files.

    The menu is copied from the pack folder (--path, else settings content.path, else shipped). `wxbot content
    check --path TARGET` reads the result.
    """
    from posts.live import catalog_from_db, current_version
    from posts.packwrite import export_pack

    context = app_context(ctx)
    root = path if path is not None else default_content_dir(context.settings.content.path)
    if target.exists() and not target.is_dir():
        raise fail(f"{target} is a file, not a folder", 2)
    with session_scope(context.database()) as session:
        version = current_version(session)
        if version == 0:
            raise fail("the database holds no content yet; run `wxbot content reload` first", 1)
        catalog = catalog_from_db(session)
    written = export_pack(catalog, target, menu_from=root)
    print(f"exported content version {version} to {target}: {len(written)} files")
