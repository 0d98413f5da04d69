"""Content written in the console: each change is a revision (draft → in_review → live, or returned), approved by
a reviewer who is not its author, then written as content items so replies, pages and pushes use it.

A revision of a therapy update holds what the form holds: therapy, date, slug, title, the Markdown body citing its
own sources as [1], [2]..., the sources (URL, title, publisher, date, kind), the trial's phase and status, and the
review fields. Before it can be sent to review or approved it is checked the way `wxbot content check` checks a
pack file (field limits, the medical-claims linter, citations and sources, review dates): the live catalog plus
this update is written as a pack into a scratch folder (posts/packwrite.py) and loaded and linted there.

Going live writes content items of origin "operator" (the update; a reference per new source) and moves the
content version on, so the bot and the scheduler serve it within seconds (posts/live.py). A sync of the pack
never changes or removes an operator item (posts/content_sync.py). History, a difflib diff and a rollback (a new
revision copying an older one, reviewed again) are per item; every step writes an audit line.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from posts.catalog import SOURCE_KINDS, Catalog, Reference, Review, Update
from posts.content_sync import CONTENT_VERSION_ID, OPERATOR, to_json
from posts.models import Base, ContentItem, ContentVersion, TherapyUpdate

STATES = ("draft", "in_review", "live", "returned", "replaced")
"""draft and returned: the author edits; in_review: a reviewer decides; live: what followers get; replaced: was
live, a newer revision of the item went live."""
FIRST_OPERATOR_REFERENCE = 1001
"""Sources added in the console are numbered from here, away from the pack's own references."""
REVIEW_DAYS = 90
"""The next review a new draft proposes, in days after its last review."""
SOURCE_ROWS = 4
"""Sources a form offers."""
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}$")
_NUMBERS = re.compile(r"\d{1,4}")
_CITE = re.compile(r"\[(\d{1,4}(?:\s*[,，、]\s*\d{1,4})*)\](?!\()")


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
    """"update" (a therapy update)."""
    key: Mapped[str] = mapped_column(String(160))
    """<therapy>/<YYYY-MM-DD-slug> for an update."""
    number: Mapped[int] = mapped_column(Integer)
    """1, 2, ... per item."""
    status: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The form's values (see :class:`Draft`)."""
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
class Source:
    url: str = ""
    title: str = ""
    publisher: str = ""
    date: str = ""
    kind: str = ""

    @property
    def empty(self) -> bool:
        return not any((self.url, self.title, self.publisher, self.date, self.kind))


@dataclass
class Draft:
    """A therapy update as the form holds it; the body cites its own sources as [1], [2]..."""

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

    def as_data(self) -> dict[str, Any]:
        return to_json(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Draft:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "sources"}
        sources = [Source(**{k: str(v) for k, v in s.items() if k in Source.__dataclass_fields__})
                   for s in data.get("sources", [])]  # fmt: skip
        return cls(**{k: str(v or "") for k, v in values.items()}, sources=sources)

    @classmethod
    def from_form(cls, form: Any) -> Draft:
        values = {name: str(form.get(name, "") or "").strip() for name in cls.__dataclass_fields__ if name != "sources"}
        values["body"] = str(form.get("body", "") or "").replace("\r\n", "\n").strip()
        sources = []
        for i in range(1, SOURCE_ROWS + 1):
            parts = Source.__dataclass_fields__
            source = Source(*(str(form.get(f"source{i}_{part}", "") or "").strip() for part in parts))
            if not source.empty:
                sources.append(source)
        return cls(**values, sources=sources)


@dataclass(frozen=True)
class Finding:
    """One problem of a draft: ``code`` names it for the console's words (a form field, a source, or "pack": a
    finding of the pack loader or the medical linter, ``detail`` its line), ``number`` the source it is about."""

    code: str
    detail: str
    number: int = 0

    def __str__(self) -> str:
        where = f"source {self.number}" if self.code.startswith("source_") else self.code
        return f"{where}: {self.detail}"


def draft_of(catalog: Catalog, therapy_key: str, update_key: str) -> Draft | None:
    """A live update (from the pack or the console) as a form to change: its references become the form's
    sources 1, 2... and the body cites them so."""
    therapy = catalog.therapy(therapy_key)
    update = catalog.update(therapy_key, update_key)
    if therapy is None or update is None:
        return None
    ids = [i for i in dict.fromkeys(update.sources) if i in catalog.references][:SOURCE_ROWS]
    local = {ref: n for n, ref in enumerate(ids, start=1)}

    def renumber(match: re.Match[str]) -> str:
        return "[" + _NUMBERS.sub(lambda n: str(local.get(int(n.group(0)), n.group(0))), match.group(1)) + "]"

    refs = [catalog.references[i] for i in ids]
    review = update.review
    return Draft(
        therapy=therapy_key,
        date=update.date.isoformat(),
        slug=update.key[len("YYYY-MM-DD-") :],
        title=update.title,
        body=_CITE.sub(renumber, update.body),
        sources=[Source(r.url, r.title, r.publisher, r.date, r.kind) for r in refs],
        reviewed_by=review.reviewed_by if review else "",
        reviewed_on=review.reviewed_on.isoformat() if review else "",
        next_review=review.next_review.isoformat() if review else "",
    )


@dataclass
class Checked:
    """A draft checked against the live catalog: its problems, and the update and references it makes."""

    draft: Draft
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    update: Update | None = None
    references: list[Reference] = field(default_factory=list)
    """Sources not yet among the catalog's references (new ids)."""
    catalog: Catalog | None = None
    """The live catalog with this update in it (what the preview renders)."""

    @property
    def ok(self) -> bool:
        return not self.errors


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def build(draft: Draft, catalog: Catalog) -> Checked:
    """The update and references a draft makes, or the form-level problems that stop it being built."""
    checked = Checked(draft)
    errors = checked.errors
    if draft.therapy not in catalog.therapies:
        errors.append(Finding("therapy", "pick the therapy this update is about"))
    day = _day(draft.date)
    if day is None:
        errors.append(Finding("date", "the date of the event is missing or not YYYY-MM-DD"))
    if not _SLUG.match(draft.slug):
        errors.append(Finding("slug", "a short name of lower-case letters, digits and dashes (e.g. phase2-results)"))
    if not draft.title:
        errors.append(Finding("title", "the title is missing"))
    if not draft.body:
        errors.append(Finding("body", "the body is empty"))
    if not draft.sources:
        errors.append(Finding("sources", "give at least one source"))
    review_on, review_next = _day(draft.reviewed_on), _day(draft.next_review)
    if not draft.reviewed_by or review_on is None or review_next is None:
        errors.append(Finding("review", "reviewed by, reviewed on and next review are all needed"))
    ids: dict[int, int] = {}
    by_url = {r.url: r for r in catalog.references.values()}
    next_id = max([FIRST_OPERATOR_REFERENCE - 1, *catalog.references]) + 1
    for i, source in enumerate(draft.sources, start=1):
        if not source.url.startswith(("https://", "http://")):
            errors.append(Finding("source_url", "the URL must start with https:// or http://", i))
        if not source.title or not source.publisher:
            errors.append(Finding("source_named", "title and publisher are needed", i))
        if source.kind not in SOURCE_KINDS:
            errors.append(Finding("source_kind", "pick what kind of source it is", i))
        if not re.match(r"^\d{4}-\d{2}(-\d{2})?$", source.date):
            errors.append(Finding("source_date", "its date is YYYY-MM-DD or YYYY-MM", i))
        known = by_url.get(source.url)
        if known is not None:
            ids[i] = known.id
        else:
            ids[i] = next_id
            checked.references.append(
                Reference(next_id, source.title, source.publisher, source.date, source.url, kind=source.kind)
            )
            next_id += 1
    for match in _CITE.finditer(draft.body):
        for number in _NUMBERS.findall(match.group(1)):
            if int(number) not in ids:
                errors.append(Finding("cite", f"cites [{number}], but there is no source {number}", int(number)))
    if errors:
        return checked
    assert day is not None and review_on is not None and review_next is not None

    def renumber(match: re.Match[str]) -> str:
        return "[" + _NUMBERS.sub(lambda n: str(ids[int(n.group(0))]), match.group(1)) + "]"

    body = _CITE.sub(renumber, draft.body)
    therapy = catalog.therapies[draft.therapy]
    checked.update = Update(
        therapy=draft.therapy,
        key=draft.key,
        date=day,
        title=draft.title,
        body=body,
        source=draft.sources[0].url,
        sources=tuple(dict.fromkeys(ids.values())),
        path=f"updates/{draft.therapy}/{draft.key}.md",
        review=Review(draft.reviewed_by, review_on, review_next),
    )
    references = {**catalog.references, **{r.id: r for r in checked.references}}
    updates = tuple(
        sorted(
            [u for u in therapy.updates if u.key != draft.key] + [checked.update],
            key=lambda u: (u.date, u.key),
            reverse=True,
        )
    )
    changed = replace(therapy, updates=updates)
    if draft.phase:
        changed = replace(changed, phase=draft.phase)
    if draft.status:
        changed = replace(changed, status=draft.status)
    checked.catalog = replace(catalog, references=references, therapies={**catalog.therapies, therapy.key: changed})
    return checked


def check(draft: Draft, catalog: Catalog, today: date, menu_from: Path | None = None) -> Checked:
    """``build``, then the checks of `wxbot content check` on the pack the live catalog plus this update makes:
    the loader's problems and the medical linter's errors (and warnings) about this update or its sources."""
    from posts.loader import load_catalog
    from posts.medlint import lint_pack
    from posts.packwrite import export_pack

    checked = build(draft, catalog)
    if not checked.ok or checked.catalog is None or checked.update is None:
        return checked
    own = {checked.update.path, "references.yaml"}
    with tempfile.TemporaryDirectory(prefix="wxbot-check-") as folder:
        root = Path(folder)
        export_pack(checked.catalog, root, menu_from)
        loaded, problems = load_catalog(root)
        lint = lint_pack(root, loaded, today)
    checked.errors += [Finding("pack", p.message) for p in sorted({*problems, *lint.errors}) if p.path in own]
    checked.warnings += [Finding("pack", p.message) for p in lint.warnings if p.path in own]
    loaded_update = loaded.update(draft.therapy, draft.key)
    if loaded_update is None and not checked.errors:
        checked.errors.append(Finding("pack", "the update could not be read back as a pack file"))
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
    session: Session, draft: Draft, author: str, now: datetime, revision: ContentRevision | None = None
) -> ContentRevision:
    """A new revision of the draft's item (or the author's own draft or returned revision, changed in place)."""
    if revision is not None:
        if revision.status not in ("draft", "returned") or revision.author != author:
            raise RevisionError("wrong_state", "only the author's own draft or returned revision can be edited")
        before = _state(revision)
        revision.data, revision.title, revision.status = draft.as_data(), draft.title, "draft"
        audit(session, author, "content-edit", _target(revision), at=now, before=before, after=_state(revision))
        return revision
    number = (
        session.scalar(
            select(func.max(ContentRevision.number)).where(
                ContentRevision.kind == "update", ContentRevision.key == draft.item_key
            )
        )
        or 0
    )
    revision = ContentRevision(
        kind="update",
        key=draft.item_key,
        number=number + 1,
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
) -> Update:
    """A reviewer other than the author approves: the revision goes live (written as content items, a new content
    version); the one live before it is replaced. The checks run again and block it on an error."""
    if revision.status != "in_review":
        raise RevisionError("wrong_state", "only a revision in review can be approved")
    if revision.author == reviewer:
        raise RevisionError("own_revision", "a reviewer cannot approve their own revision")
    if not checked.ok or checked.update is None:
        raise RevisionError("checks_failed", "; ".join(map(str, checked.errors)))
    before = _state(revision)
    for other in history(session, revision.kind, revision.key):
        if other.status == "live":
            other.status = "replaced"
    revision.status, revision.reviewer, revision.reviewed_at, revision.comment = "live", reviewer, now, comment
    publish(session, checked, now)
    audit(session, reviewer, "content-approve", _target(revision), at=now, before=before, after=_state(revision))
    return checked.update


def rollback(session: Session, to: ContentRevision, user: str, now: datetime) -> ContentRevision:
    """A new revision copying ``to``'s content, in review (a reviewer approves it like any other)."""
    if to.status not in ("live", "replaced"):
        raise RevisionError("wrong_state", "only a revision that was live can be rolled back to")
    draft = Draft.from_data(to.data)
    revision = save_draft(session, draft, user, now)
    revision.based_on = to.id
    revision.status = "in_review"
    audit(session, user, "content-rollback", _target(revision), at=now, after={**_state(revision), "to": to.number})
    return revision


def diff(old: ContentRevision | None, new: ContentRevision) -> list[str]:
    """A unified diff (difflib) of the two revisions as pack files."""

    def lines(rev: ContentRevision | None) -> list[str]:
        return as_file(Draft.from_data(rev.data)).splitlines() if rev is not None else []

    name = f"{new.key}.md"
    before = f"{name} (#{old.number})" if old else "(nothing)"
    return list(difflib.unified_diff(lines(old), lines(new), before, f"{name} (#{new.number})", lineterm=""))


def as_file(draft: Draft) -> str:
    """The draft as the reviewer reads it: front matter (with the sources written out) and the body."""
    from posts.packwrite import dump

    front = {k: v for k, v in draft.as_data().items() if k not in ("body", "sources")}
    front["sources"] = [to_json(s) for s in draft.sources]
    return f"---\n{dump(front)}---\n{draft.body}\n"


def publish(session: Session, checked: Checked, now: datetime) -> None:
    """Write the update (and its new sources) as operator content items and move the content version on."""
    assert checked.update is not None and checked.catalog is not None
    update = checked.update
    rows = [("update", f"{update.therapy}/{update.key}", 0, update.title, update.body, to_json(update), update.path)]
    rows += [("reference", str(r.id), r.id, r.title, r.url, to_json(r), "references.yaml") for r in checked.references]
    therapy = checked.catalog.therapies[update.therapy]
    draft = checked.draft
    if draft.phase or draft.status:
        data = to_json(replace(therapy, updates=()))
        rows.append(("therapy-facts", therapy.key, 0, therapy.name, "", {"phase": data["phase"],
                     "status": data["status"]}, therapy.path))  # fmt: skip
    for kind, key, position, title, body, data, path in rows:
        row = session.scalar(select(ContentItem).where(ContentItem.kind == kind, ContentItem.key == key))
        if row is None:
            row = ContentItem(kind=kind, key=key, loaded_at=now)
            session.add(row)
        row.position, row.title, row.body, row.data, row.path = position, title, body, data, path
        row.checksum, row.loaded_at, row.origin = "", now, OPERATOR
    found = session.scalar(
        select(TherapyUpdate).where(TherapyUpdate.therapy_key == update.therapy, TherapyUpdate.key == update.key)
    )
    if found is None:
        found = TherapyUpdate(therapy_key=update.therapy, key=update.key, loaded_at=now)
        session.add(found)
    found.published_on, found.title, found.body = update.date, update.title, update.body
    found.source_url, found.loaded_at = update.source, now
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
