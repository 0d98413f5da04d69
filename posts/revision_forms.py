"""The pieces every kind of content written in the console shares (posts/revisions.py the life cycle, the kinds
in posts/revisions.py and posts/content_kinds.py): a form's values and sources, the findings of its checks, the
content items it becomes, and :class:`Kind`, the small description each kind gives of itself.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from posts.catalog import SOURCE_KINDS, Catalog, Reference, Review, Update
from posts.content_sync import to_json
from posts.limits import NEWS_TITLE_MAX_BYTES, utf8_len

FIRST_OPERATOR_REFERENCE = 1001
"""Sources added in the console are numbered from here, away from the pack's own references."""
REVIEW_DAYS = 90
"""The next review a new draft proposes, in days after its last review."""
SOURCE_ROWS = 4
"""Sources a form offers at least (one more than the item has, when it has more)."""
MAX_SOURCE_ROWS = 16
"""Sources a form can hold."""
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}$")
_NUMBERS = re.compile(r"\d{1,4}")
_CITE = re.compile(r"\[(\d{1,4}(?:\s*[,，、]\s*\d{1,4})*)\](?!\()")

Router = Callable[[Catalog], Callable[[str], str]]
"""Where a typed text goes in a catalog, in words (bot.routes.TextRoutes.target: reply:<text>, section:<key>,
urgent:<rule>, command:<name>...): handed to the checks by wxbot/, since posts/ may not import the bot."""


# -- the form's values ------------------------------------------------------------------------------------------


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


MULTILINE = ("body", "reply", "patterns")
"""Form fields whose line breaks are kept."""


class Form:
    """What every kind's draft (a dataclass of strings, and ``sources`` when it has them) shares."""

    kind: ClassVar[str]
    title: str

    @property
    def item_key(self) -> str:
        raise NotImplementedError

    def as_data(self) -> dict[str, Any]:
        return to_json(self)  # type: ignore[no-any-return]

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Any:
        values: dict[str, Any] = {k: str(v or "") for k, v in data.items() if k in cls.fields() and k != "sources"}
        if "sources" in cls.fields():
            values["sources"] = [
                Source(**{k: str(v) for k, v in s.items() if k in Source.__dataclass_fields__})
                for s in data.get("sources", [])
            ]
        return cls(**values)

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> Any:
        values: dict[str, Any] = {}
        for name in cls.fields():
            raw = str(form.get(name, "") or "")
            if name in MULTILINE:
                values[name] = raw.replace("\r\n", "\n").strip()
            elif name != "sources":
                values[name] = raw.strip()
        if "sources" in cls.fields():
            values["sources"] = sources_from_form(form)
        return cls(**values)


def sources_from_form(form: Mapping[str, Any]) -> list[Source]:
    """The form's source rows source1_url, source1_title... in order, empty rows left out."""
    found = []
    for i in range(1, MAX_SOURCE_ROWS + 1):
        parts = Source.__dataclass_fields__
        source = Source(*(str(form.get(f"source{i}_{part}", "") or "").strip() for part in parts))
        if not source.empty:
            found.append(source)
    return found


# -- findings and checks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One problem of a draft: ``code`` names it for the console's words (a form field, a source, or "pack": a
    finding of the pack loader or the medical linter, ``detail`` its line), ``number`` the source it is about,
    ``text`` a word of the form it is about (a keyword)."""

    code: str
    detail: str
    number: int = 0
    text: str = ""

    @property
    def field(self) -> str:
        """The form field the finding is shown next to ("" for one about the whole item)."""
        if self.code.startswith("source_"):
            part = {"source_named": "title"}.get(self.code, self.code.removeprefix("source_"))
            return f"source{self.number}_{part}"
        return FIELD_OF.get(self.code, self.code if self.code != "pack" else "")

    def __str__(self) -> str:
        where = f"source {self.number}" if self.code.startswith("source_") else self.code
        return f"{where}: {self.detail}"


FIELD_OF = {
    "cite": "body",
    "review_order": "review",
    "title_long": "title",
    "summary_long": "summary",
    "key_taken": "key",
    "order_taken": "order",
    "generated": "body",
    "taken": "patterns",
    "pattern_long": "patterns",
    "reply_long": "reply",
    "keyword_exists": "patterns",
    "not_reply": "patterns",
}
"""The field a finding's code is shown next to, where it is not the code itself."""


@dataclass(frozen=True)
class Row:
    """A content item as it goes live (posts.models.ContentItem's columns)."""

    kind: str
    key: str
    position: int
    title: str
    body: str
    data: dict[str, Any]
    path: str


@dataclass
class Checked:
    """A draft checked against the live catalog: its problems, and the content items it makes."""

    draft: Any
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    catalog: Catalog | None = None
    """The live catalog with this item in it (what the preview renders)."""
    rows: list[Row] = field(default_factory=list)
    """The content items going live."""
    own: set[str] = field(default_factory=set)
    """The pack files that hold this item (their problems are its problems)."""
    references: list[Reference] = field(default_factory=list)
    """Sources not yet among the catalog's references (new ids)."""
    update: Update | None = None
    """The update an update's draft makes."""
    item: Any = None
    """The catalog object the draft makes (an Update, Section, Text or KeywordRule)."""

    @property
    def ok(self) -> bool:
        return not self.errors

    def by_field(self) -> dict[str, list[Finding]]:
        found: dict[str, list[Finding]] = {}
        for finding in self.errors:
            if finding.field:
                found.setdefault(finding.field, []).append(finding)
        return found


@dataclass(frozen=True)
class Listed:
    """One live item as the console's content list shows it."""

    key: str
    title: str
    detail: str = ""
    next_review: date | None = None


class Kind:
    """What one kind of item needs to take part in revisions: its form, how it is built into the catalog and
    content items, and what a follower sees."""

    name: ClassVar[str]
    draft: ClassVar[type[Any]]
    fixed: ClassVar[tuple[str, ...]] = ()
    """Fields that name the item: shown read-only once it exists (a revision never moves to another item)."""
    can_create: ClassVar[bool] = True

    def of(self, catalog: Catalog, key: str) -> Any | None:
        """A live item as a form to change, or None when there is none (or it cannot be changed here)."""
        raise NotImplementedError

    def blank(self, catalog: Catalog, today: date, user: str, query: Mapping[str, str]) -> Any:
        """A new item's form (review fields filled in for ``user``)."""
        raise NotImplementedError

    def build(self, draft: Any, catalog: Catalog) -> Checked:
        """The catalog and content items a draft makes, or the form-level problems that stop it being built."""
        raise NotImplementedError

    def verify(self, checked: Checked, router: Router | None) -> None:
        """Checks after the pack's (e.g. what a keyword reaches)."""

    def preview(self, checked: Checked, base_url: str) -> str:
        """What a follower receives, or "" while it cannot be built."""
        raise NotImplementedError

    def listing(self, catalog: Catalog) -> list[Listed]:
        raise NotImplementedError

    def after_publish(self, session: Session, checked: Checked, now: datetime) -> None:
        """More rows to write when it goes live (the update stream's table)."""


# -- pieces every kind uses -------------------------------------------------------------------------------------


def day_of(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def check_review(draft: Any, errors: list[Finding]) -> Review | None:
    """The review fields as a Review, or a finding."""
    on, due = day_of(draft.reviewed_on), day_of(draft.next_review)
    if not draft.reviewed_by or on is None or due is None:
        errors.append(Finding("review", "reviewed by, reviewed on and next review are all needed"))
        return None
    if due <= on:
        errors.append(Finding("review_order", "the next review must come after the review"))
        return None
    return Review(draft.reviewed_by, on, due)


def check_title(title: str, errors: list[Finding], limit: int = NEWS_TITLE_MAX_BYTES) -> None:
    if not title:
        errors.append(Finding("title", "the title is missing"))
    elif utf8_len(title) > limit:
        errors.append(Finding("title_long", f"the title is {utf8_len(title)} bytes, over {limit}", limit))


def review_form(draft: Any, review: Review | None) -> None:
    """Fill a form's review fields from an item's review."""
    if review is not None:
        draft.reviewed_by, draft.reviewed_on = review.reviewed_by, review.reviewed_on.isoformat()
        draft.next_review = review.next_review.isoformat()


def cited(body: str) -> list[int]:
    return [int(n) for match in _CITE.finditer(body) for n in _NUMBERS.findall(match.group(1))]


def local_sources(catalog: Catalog, ids: Iterable[int], body: str) -> tuple[list[Source], str]:
    """An item's references as the form's sources 1, 2..., and its body citing them so."""
    order = [i for i in dict.fromkeys([*ids, *cited(body)]) if i in catalog.references][:MAX_SOURCE_ROWS]
    local = {ref: n for n, ref in enumerate(order, start=1)}

    def renumber(match: re.Match[str]) -> str:
        return "[" + _NUMBERS.sub(lambda n: str(local.get(int(n.group(0)), n.group(0))), match.group(1)) + "]"

    refs = [catalog.references[i] for i in order]
    return [Source(r.url, r.title, r.publisher, r.date, r.kind) for r in refs], _CITE.sub(renumber, body)


def resolve_sources(
    sources: list[Source], body: str, catalog: Catalog, checked: Checked
) -> tuple[str, tuple[int, ...]]:
    """The form's sources as reference ids (a URL the catalog has keeps its id and its entry, whose kind may be
    unsaid; a new one gets the next id from :data:`FIRST_OPERATOR_REFERENCE`, added to ``checked.references``), and
    the body citing those ids; problems go to ``checked.errors``."""
    errors = checked.errors
    ids: dict[int, int] = {}
    by_url = {r.url: r for r in catalog.references.values()}
    next_id = max([FIRST_OPERATOR_REFERENCE - 1, *catalog.references]) + 1
    for i, source in enumerate(sources, start=1):
        known = by_url.get(source.url)
        if not source.url.startswith(("https://", "http://")):
            errors.append(Finding("source_url", "the URL must start with https:// or http://", i))
        if not source.title or not source.publisher:
            errors.append(Finding("source_named", "title and publisher are needed", i))
        if source.kind not in SOURCE_KINDS and not (known is not None and not source.kind):
            errors.append(Finding("source_kind", "pick what kind of source it is", i))
        if not re.match(r"^\d{4}-\d{2}(-\d{2})?$", source.date):
            errors.append(Finding("source_date", "its date is YYYY-MM-DD or YYYY-MM", i))
        if known is not None:  # a reference the catalog has keeps its entry (and its number)
            ids[i] = known.id
            continue
        ids[i] = next_id
        checked.references.append(
            Reference(next_id, source.title, source.publisher, source.date, source.url, kind=source.kind)
        )
        by_url[source.url] = checked.references[-1]
        next_id += 1
    for number in dict.fromkeys(cited(body)):
        if number not in ids:
            errors.append(Finding("cite", f"cites [{number}], but there is no source {number}", number))
    if any(f.code == "cite" for f in errors):
        return body, ()

    def renumber(match: re.Match[str]) -> str:
        return "[" + _NUMBERS.sub(lambda n: str(ids[int(n.group(0))]), match.group(1)) + "]"

    return _CITE.sub(renumber, body), tuple(dict.fromkeys(ids.values()))


def reference_rows(references: Iterable[Reference]) -> list[Row]:
    return [Row("reference", str(r.id), r.id, r.title, r.url, to_json(r), "references.yaml") for r in references]


def with_references(catalog: Catalog, checked: Checked) -> Catalog:
    return replace(catalog, references={**catalog.references, **{r.id: r for r in checked.references}})
