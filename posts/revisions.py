"""Content written in the console: each change is a revision (draft → in_review → live, or returned), approved by
a reviewer who is not its author, then written as content items so replies, pages and pushes use it.

One mechanism for every kind of item, each described by a :class:`Kind` (its form's fields, how they are checked,
what content items they become, what a follower sees): therapy updates (here), sections, welcomes and keyword
replies (posts/content_kinds.py). A revision holds the form's values. Before it can be sent to review or approved it
is checked the way `wxbot content check` checks a pack file (field limits, the medical-claims linter, citations and
sources, review dates): the live catalog with this item in it is written as a pack into a scratch folder
(posts/packwrite.py) and loaded and linted there; a problem of the item's own files, or one the change causes in
another file, blocks it.

Going live writes content items of origin "operator" and moves the content version on, so the bot and the
scheduler serve it within seconds (posts/live.py). A sync of the pack never changes or removes an operator item
(posts/content_sync.py). History, a difflib diff and a rollback (a new revision copying an older one, reviewed
again) are per item; every step writes an audit line.
"""

from __future__ import annotations

import difflib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from posts import content_kinds
from posts.catalog import Catalog, Update
from posts.content_sync import CONTENT_VERSION_ID, OPERATOR, to_json
from posts.models import Base, ContentItem, ContentVersion, TherapyUpdate
from posts.problems import Problem
from posts.revision_forms import (
    _SLUG,
    FIRST_OPERATOR_REFERENCE,
    MAX_SOURCE_ROWS,
    REVIEW_DAYS,
    SOURCE_ROWS,
    Checked,
    Finding,
    Form,
    Kind,
    Listed,
    Router,
    Row,
    Source,
    check_review,
    check_title,
    day_of,
    local_sources,
    reference_rows,
    resolve_sources,
    review_form,
    with_references,
)

__all__ = [
    "FIRST_OPERATOR_REFERENCE",
    "MAX_SOURCE_ROWS",
    "REVIEW_DAYS",
    "SOURCE_ROWS",
    "Checked",
    "Finding",
    "Kind",
    "Listed",
    "Router",
    "Source",
    "review_form",
]

STATES = ("draft", "in_review", "live", "returned", "replaced")
"""draft and returned: the author edits; in_review: a reviewer decides; live: what followers get; replaced: was
live, a newer revision of the item went live."""


def audit(session: Session, actor: str, action: str, target: str, **values: Any) -> None:
    """An audit-log line (posts.accounts.audit; imported here because posts.models imports this module)."""
    from posts.accounts import audit as write

    write(session, actor, action, target, **values)


class ContentRevision(Base):
    """One revision of a content item written in the console."""

    __tablename__ = "content_revision"
    __table_args__ = (UniqueConstraint("kind", "key", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    """The item's kind (:data:`KINDS`): "update", "section", "welcome" or "keyword"."""
    key: Mapped[str] = mapped_column(String(160))
    """<therapy>/<YYYY-MM-DD-slug> for an update, the section's or welcome's key, a keyword rule's item key."""
    number: Mapped[int] = mapped_column(Integer)
    """1, 2, ... per item."""
    status: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The form's values (the kind's draft)."""
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    reviewer: Mapped[str] = mapped_column(String(64), default="")
    reviewed_at: Mapped[datetime | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    based_on: Mapped[int | None]
    """The revision this one was rolled back to, if it is a rollback."""


class RevisionError(ValueError):
    """A refused step; ``code`` names it for the console's words."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


@dataclass
class Draft(Form):
    """A therapy update as the form holds it; the body cites its own sources as [1], [2]..."""

    kind: ClassVar[str] = "update"
    therapy: str = ""
    date: str = ""
    slug: str = ""
    title: str = ""
    body: str = ""
    sources: list[Source] = field(default_factory=list)
    phase: str = ""
    status: str = ""
    reviewed_by: str = ""
    reviewed_on: str = ""
    next_review: str = ""

    @property
    def key(self) -> str:
        return f"{self.date}-{self.slug}"

    @property
    def item_key(self) -> str:
        return f"{self.therapy}/{self.key}"


# -- therapy updates --------------------------------------------------------------------------------------------


def draft_of(catalog: Catalog, therapy_key: str, update_key: str) -> Draft | None:
    """A live update (from the pack or the console) as a form to change: its references become the form's
    sources 1, 2... and the body cites them so."""
    return UPDATE.of(catalog, f"{therapy_key}/{update_key}")  # type: ignore[no-any-return]


class UpdateKind(Kind):
    name = "update"
    draft = Draft
    fixed = ("therapy", "date", "slug")

    def of(self, catalog: Catalog, key: str) -> Draft | None:
        therapy_key, _, update_key = key.partition("/")
        update = catalog.update(therapy_key, update_key)
        if update is None:
            return None
        sources, body = local_sources(catalog, update.sources, update.body)
        found = Draft(
            therapy=therapy_key,
            date=update.date.isoformat(),
            slug=update.key[len("YYYY-MM-DD-") :],
            title=update.title,
            body=body,
            sources=sources,
        )
        review_form(found, update.review)
        return found

    def blank(self, catalog: Catalog, today: date, user: str, query: Mapping[str, str]) -> Draft:
        therapy = query.get("therapy", "")
        return Draft(
            therapy=therapy if therapy in catalog.therapies else "",
            date=f"{today:%Y-%m-%d}",
            reviewed_by=user,
            reviewed_on=f"{today:%Y-%m-%d}",
            next_review=f"{today + timedelta(days=REVIEW_DAYS):%Y-%m-%d}",
        )

    def build(self, draft: Draft, catalog: Catalog) -> Checked:
        checked = Checked(draft)
        errors = checked.errors
        if draft.therapy not in catalog.therapies:
            errors.append(Finding("therapy", "pick the therapy this update is about"))
        day = day_of(draft.date)
        if day is None:
            errors.append(Finding("date", "the date of the event is missing or not YYYY-MM-DD"))
        if not _SLUG.match(draft.slug):
            errors.append(Finding("slug", "lower-case letters, digits and dashes (e.g. phase2-results)"))
        check_title(draft.title, errors)
        if not draft.body:
            errors.append(Finding("body", "the body is empty"))
        if not draft.sources:
            errors.append(Finding("sources", "give at least one source"))
        review = check_review(draft, errors)
        body, ids = resolve_sources(draft.sources, draft.body, catalog, checked)
        if errors:
            return checked
        assert day is not None and review is not None
        therapy = catalog.therapies[draft.therapy]
        update = Update(
            therapy=draft.therapy,
            key=draft.key,
            date=day,
            title=draft.title,
            body=body,
            source=draft.sources[0].url,
            sources=ids,
            path=f"updates/{draft.therapy}/{draft.key}.md",
            review=review,
        )
        updates = sorted([u for u in therapy.updates if u.key != draft.key] + [update],
                         key=lambda u: (u.date, u.key), reverse=True)  # fmt: skip
        changed = replace(therapy, updates=tuple(updates))
        if draft.phase:
            changed = replace(changed, phase=draft.phase)
        if draft.status:
            changed = replace(changed, status=draft.status)
        checked.update = checked.item = update
        checked.catalog = replace(with_references(catalog, checked), therapies={**catalog.therapies,
                                                                                 therapy.key: changed})  # fmt: skip
        checked.own = {update.path, "references.yaml"}
        checked.rows = [Row("update", draft.item_key, 0, update.title, update.body, to_json(update), update.path)]
        checked.rows += reference_rows(checked.references)
        if draft.phase or draft.status:
            data = to_json(replace(changed, updates=()))
            facts = {"phase": data["phase"], "status": data["status"]}
            checked.rows.append(Row("therapy-facts", therapy.key, 0, therapy.name, "", facts, therapy.path))
        return checked

    def verify(self, checked: Checked, router: Router | None) -> None:
        draft = checked.draft
        if checked.catalog is not None and checked.catalog.update(draft.therapy, draft.key) is None:
            checked.errors.append(Finding("pack", "the update could not be read back as a pack file"))

    def preview(self, checked: Checked, base_url: str) -> str:
        from posts.render import Renderer

        if checked.catalog is None or checked.update is None:
            return ""
        return Renderer(checked.catalog, base_url).update(checked.update.therapy, checked.update.key).text

    def listing(self, catalog: Catalog) -> list[Listed]:
        return [
            Listed(f"{t.key}/{u.key}", u.title, f"{t.name} · {u.date}", u.review.next_review if u.review else None)
            for t in catalog.therapies.values()
            for u in t.updates
        ]

    def after_publish(self, session: Session, checked: Checked, now: datetime) -> None:
        update = checked.update
        assert update is not None
        found = session.scalar(
            select(TherapyUpdate).where(TherapyUpdate.therapy_key == update.therapy, TherapyUpdate.key == update.key)
        )
        if found is None:
            found = TherapyUpdate(therapy_key=update.therapy, key=update.key, loaded_at=now)
            session.add(found)
        found.published_on, found.title, found.body = update.date, update.title, update.body
        found.source_url, found.loaded_at = update.source, now


UPDATE = UpdateKind()
KINDS: dict[str, Kind] = {kind.name: kind for kind in (UPDATE, *content_kinds.KINDS)}
"""Every kind revisions cover, by name."""


def kinds() -> dict[str, Kind]:
    return KINDS


def kind_of(draft_or_name: Any) -> Kind:
    name = draft_or_name if isinstance(draft_or_name, str) else draft_or_name.kind
    found = KINDS.get(name)
    if found is None:
        raise RevisionError("unknown_kind", f"unknown content kind {name!r}")
    return found


def draft_from(revision: ContentRevision) -> Any:
    """The form's values a revision holds."""
    return kind_of(revision.kind).draft.from_data(revision.data)


def build(draft: Any, catalog: Catalog) -> Checked:
    """The item a draft makes in ``catalog``, or the form-level problems that stop it being built."""
    return kind_of(draft).build(draft, catalog)


_BASELINES: list[tuple[Catalog, date, Path | None, frozenset[tuple[str, str]]]] = []
"""The pack problems of the last few live catalogs (a problem already there is not the draft's)."""


def _pack_problems(catalog: Catalog, today: date, menu_from: Path | None) -> tuple[Catalog, list[Problem], Any]:
    from posts.loader import load_catalog
    from posts.medlint import lint_pack
    from posts.packwrite import export_pack

    with tempfile.TemporaryDirectory(prefix="wxbot-check-") as folder:
        root = Path(folder)
        export_pack(catalog, root, menu_from)
        loaded, problems = load_catalog(root)
        lint = lint_pack(root, loaded, today)
    return loaded, problems, lint


def _baseline(catalog: Catalog, today: date, menu_from: Path | None) -> frozenset[tuple[str, str]]:
    for known, day, menu, found in _BASELINES:
        if known is catalog and day == today and menu == menu_from:
            return found
    _, problems, lint = _pack_problems(catalog, today, menu_from)
    found = frozenset((p.path, p.message) for p in (*problems, *lint.errors))
    _BASELINES.insert(0, (catalog, today, menu_from, found))
    del _BASELINES[4:]
    return found


def check(
    draft: Any, catalog: Catalog, today: date, menu_from: Path | None = None, router: Router | None = None
) -> Checked:
    """``build``, then the checks of `wxbot content check` on the pack the live catalog with this item makes: the
    loader's problems and the medical linter's errors (and warnings) about this item's files or its sources, and
    any problem the change brings to another file; then the kind's own checks (``router``: what a typed text
    reaches, for keyword replies)."""
    kind = kind_of(draft)
    checked = kind.build(draft, catalog)
    if not checked.ok or checked.catalog is None:
        return checked
    before = _baseline(catalog, today, menu_from)
    _, problems, lint = _pack_problems(checked.catalog, today, menu_from)
    found = sorted({*problems, *lint.errors})
    checked.errors += [
        Finding("pack", p.message) for p in found if p.path in checked.own or (p.path, p.message) not in before
    ]
    checked.warnings += [Finding("pack", p.message) for p in lint.warnings if p.path in checked.own]
    if checked.ok:
        kind.verify(checked, router)
    return checked


# -- the revision life cycle -----------------------------------------------------------------------------------


def history(session: Session, kind: str, key: str) -> list[ContentRevision]:
    """Every revision of an item, newest first."""
    query = select(ContentRevision).where(ContentRevision.kind == kind, ContentRevision.key == key)
    return list(session.scalars(query.order_by(ContentRevision.number.desc())))


def waiting(session: Session) -> list[ContentRevision]:
    query = select(ContentRevision).where(ContentRevision.status.in_(("draft", "in_review", "returned")))
    return list(session.scalars(query.order_by(ContentRevision.id.desc())))


def recent(session: Session, limit: int = 100) -> list[ContentRevision]:
    return list(session.scalars(select(ContentRevision).order_by(ContentRevision.id.desc()).limit(limit)))


def _state(rev: ContentRevision) -> dict[str, Any]:
    return {"status": rev.status, "number": rev.number, "title": rev.title, "reviewer": rev.reviewer}


def _target(rev: ContentRevision) -> str:
    return f"content:{rev.kind}:{rev.key}"[:64]


def save_draft(
    session: Session, draft: Any, author: str, now: datetime, revision: ContentRevision | None = None
) -> ContentRevision:
    """A new revision of the draft's item (or the author's own draft or returned revision, changed in place)."""
    kind = kind_of(draft).name
    if revision is not None:
        if revision.status not in ("draft", "returned") or revision.author != author:
            raise RevisionError("wrong_state", "only the author's own draft or returned revision can be edited")
        if revision.kind != kind or revision.key != draft.item_key:
            raise RevisionError("key_changed", "a revision stays with its item")
        before = _state(revision)
        revision.data, revision.title, revision.status = draft.as_data(), draft.title, "draft"
        audit(session, author, "content-edit", _target(revision), at=now, before=before, after=_state(revision))
        return revision
    key = draft.item_key
    latest = select(func.max(ContentRevision.number)).where(ContentRevision.kind == kind, ContentRevision.key == key)
    revision = ContentRevision(
        kind=kind,
        key=key,
        number=(session.scalar(latest) or 0) + 1,
        status="draft",
        title=draft.title,
        data=draft.as_data(),
        author=author,
        created_at=now,
        reviewer="",
        comment="",
    )
    session.add(revision)
    session.flush()
    audit(session, author, "content-draft", _target(revision), at=now, after=_state(revision))
    return revision


def submit(session: Session, revision: ContentRevision, user: str, checked: Checked, now: datetime) -> None:
    if revision.status not in ("draft", "returned") or revision.author != user:
        raise RevisionError("wrong_state", "only the author sends their draft to review")
    if not checked.ok:
        raise RevisionError("checks_failed", "; ".join(map(str, checked.errors)))
    before = _state(revision)
    revision.status = "in_review"
    audit(session, user, "content-submit", _target(revision), at=now, before=before, after=_state(revision))


def send_back(session: Session, revision: ContentRevision, reviewer: str, comment: str, now: datetime) -> None:
    if revision.status != "in_review":
        raise RevisionError("wrong_state", "only a revision in review can be returned")
    before = _state(revision)
    revision.status, revision.reviewer, revision.reviewed_at, revision.comment = "returned", reviewer, now, comment
    audit(session, reviewer, "content-return", _target(revision), at=now, before=before, after=_state(revision))


def approve(
    session: Session, revision: ContentRevision, reviewer: str, checked: Checked, now: datetime, comment: str = ""
) -> Any:
    """A reviewer other than the author approves: the revision goes live (written as content items, a new content
    version); the one live before it is replaced. The checks run again and block it on an error. Returns the
    catalog object that went live."""
    if revision.status != "in_review":
        raise RevisionError("wrong_state", "only a revision in review can be approved")
    if revision.author == reviewer:
        raise RevisionError("own_revision", "a reviewer cannot approve their own revision")
    if not checked.ok or not checked.rows:
        raise RevisionError("checks_failed", "; ".join(map(str, checked.errors)))
    before = _state(revision)
    for other in history(session, revision.kind, revision.key):
        if other.status == "live":
            other.status = "replaced"
    revision.status, revision.reviewer, revision.reviewed_at, revision.comment = "live", reviewer, now, comment
    publish(session, checked, now)
    audit(session, reviewer, "content-approve", _target(revision), at=now, before=before, after=_state(revision))
    return checked.item


def rollback(session: Session, to: ContentRevision, user: str, now: datetime) -> ContentRevision:
    """A new revision copying ``to``'s content, in review (a reviewer approves it like any other)."""
    if to.status not in ("live", "replaced"):
        raise RevisionError("wrong_state", "only a revision that was live can be rolled back to")
    revision = save_draft(session, draft_from(to), user, now)
    revision.based_on = to.id
    revision.status = "in_review"
    audit(session, user, "content-rollback", _target(revision), at=now, after={**_state(revision), "to": to.number})
    return revision


def diff(old: ContentRevision | None, new: ContentRevision) -> list[str]:
    """A unified diff (difflib) of the two revisions as pack files."""

    def lines(rev: ContentRevision | None) -> list[str]:
        return as_file(draft_from(rev)).splitlines() if rev is not None else []

    name = f"{new.key}.md"
    before = f"{name} (#{old.number})" if old else "(nothing)"
    return list(difflib.unified_diff(lines(old), lines(new), before, f"{name} (#{new.number})", lineterm=""))


def as_file(draft: Any) -> str:
    """The draft as the reviewer reads it: front matter (the sources written out last) and the body."""
    from posts.packwrite import dump

    data = draft.as_data()
    front = {k: v for k, v in data.items() if k not in ("body", "sources")}
    if "sources" in data:
        front["sources"] = data["sources"]
    return f"---\n{dump(front)}---\n{data.get('body', '')}\n"


def publish(session: Session, checked: Checked, now: datetime) -> None:
    """Write the checked item's content items as operator items and move the content version on."""
    assert checked.rows and checked.catalog is not None
    for item in checked.rows:
        row = session.scalar(select(ContentItem).where(ContentItem.kind == item.kind, ContentItem.key == item.key))
        if row is None:
            row = ContentItem(kind=item.kind, key=item.key, loaded_at=now)
            session.add(row)
        row.position, row.title, row.body, row.data = item.position, item.title, item.body, item.data
        row.path = item.path
        row.checksum, row.loaded_at, row.origin = "", now, OPERATOR
    kind_of(checked.draft).after_publish(session, checked, now)
    bump_version(session, now)
    session.flush()


def bump_version(session: Session, now: datetime) -> int:
    """The content version moves on (every running process rebuilds); the pack's checksum stays as it was."""
    row = session.get(ContentVersion, CONTENT_VERSION_ID)
    if row is None:
        row = ContentVersion(id=CONTENT_VERSION_ID, version=0, checksum="", changed_at=now)
        session.add(row)
    row.version, row.changed_at = row.version + 1, now
    return row.version


def operator_keys(session: Session) -> set[tuple[str, str]]:
    """(kind, key) of every content item published from the console."""
    return {(r.kind, r.key) for r in session.execute(select(ContentItem.kind, ContentItem.key).where(
        ContentItem.origin == OPERATOR))}  # fmt: skip
