"""The kinds of item written in the console besides therapy updates (posts/revisions.py): sections, welcomes and
keyword replies. Each is a small :class:`posts.revisions.Kind`: the form's fields, their checks, the content items
they become and what a follower sees; the review, history and going live are the revisions' own.

- a **section** of the review or the family guide: title, summary, body Markdown citing the form's sources as
  [1], [2]..., the date of its content and the review fields (a new one also its key, part and number; a section
  whose body is generated, the references and the disclaimer, is not written here);
- a **welcome**: the text a QR scene chose (scenes.yaml names it; new welcomes come with new scenes, in the pack);
- a **keyword reply**: how it matches (the whole message, or a message containing a keyword), its keywords and
  the reply text. Each keyword must reach this reply: one another rule (an urgent word, a command, an earlier
  rule) answers first is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, ClassVar

from posts.addresses import PARTS, REVIEW_PART
from posts.catalog import Catalog, KeywordRule, Section, Text
from posts.content_sync import to_json
from posts.limits import NEWS_DESCRIPTION_MAX_BYTES, TEXT_REPLY_MAX_BYTES, utf8_len
from posts.revision_forms import (
    _SLUG,
    REVIEW_DAYS,
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

MAX_ORDER = 99
"""Section numbers a file name can hold (NN-key.md)."""
PATTERN_MAX_CHARS = 30
"""A keyword longer than this is not something followers type."""
KEYWORD_MATCHES = ("exact", "contains")
"""How a keyword reply written in the console matches: the whole message, or a message containing the keyword."""
_PATTERN_SPLIT = re.compile(r"[\n、,，;；]+")


def _review_defaults(draft: Any, today: date, user: str) -> Any:
    draft.reviewed_by, draft.reviewed_on = user, f"{today:%Y-%m-%d}"
    draft.next_review = f"{today + timedelta(days=REVIEW_DAYS):%Y-%m-%d}"
    return draft


def _preview(checked: Checked, base_url: str, body: Any) -> str:
    from posts.render import Renderer

    if checked.catalog is None or checked.item is None:
        return ""
    return str(body(Renderer(checked.catalog, base_url)))


# -- sections ---------------------------------------------------------------------------------------------------


@dataclass
class SectionDraft(Form):
    """A section as the form holds it; the body cites the form's sources as [1], [2]..."""

    kind: ClassVar[str] = "section"
    key: str = ""
    part: str = REVIEW_PART
    order: str = ""
    title: str = ""
    summary: str = ""
    body: str = ""
    sources: list[Source] = field(default_factory=list)
    updated: str = ""
    therapy: str = ""
    """The therapy a review section is about (kept as the pack has it; not changed here)."""
    reviewed_by: str = ""
    reviewed_on: str = ""
    next_review: str = ""

    @property
    def item_key(self) -> str:
        return self.key


class SectionKind(Kind):
    name = "section"
    draft = SectionDraft
    fixed = ("key", "part", "order")

    def of(self, catalog: Catalog, key: str) -> SectionDraft | None:
        section = catalog.section(key)
        if section is None or section.body_from:
            return None
        sources, body = local_sources(catalog, section.sources, section.body)
        found = SectionDraft(key=section.key, part=section.part, order=str(section.order), title=section.title,
                             summary=section.summary, body=body, sources=sources, updated=section.updated.isoformat(),
                             therapy=section.therapy or "")  # fmt: skip
        review_form(found, section.review)
        return found

    def blank(self, catalog: Catalog, today: date, user: str, query: Mapping[str, str]) -> SectionDraft:
        part = query.get("part", REVIEW_PART)
        part = part if part in PARTS else REVIEW_PART
        taken = {s.order for s in catalog.sections}
        free = next((n for n in range(max(taken, default=0) + 1, MAX_ORDER + 1) if n not in taken), "")
        return _review_defaults(SectionDraft(part=part, order=str(free), updated=f"{today:%Y-%m-%d}"), today, user)

    def build(self, draft: SectionDraft, catalog: Catalog) -> Checked:
        checked = Checked(draft)
        errors = checked.errors
        existing = catalog.section(draft.key)
        if not _SLUG.match(draft.key):
            errors.append(Finding("key", "a short name of lower-case letters, digits and dashes (e.g. care-at-home)"))
        if draft.part not in PARTS:
            errors.append(Finding("part", "pick the part of the pack the section belongs to"))
        order = int(draft.order) if draft.order.isdigit() else 0
        if not 1 <= order <= MAX_ORDER:
            errors.append(Finding("order", f"the number is 1 to {MAX_ORDER}", MAX_ORDER))
        if existing is not None and (existing.part, existing.order) != (draft.part, order):
            errors.append(Finding("key_taken", f"section {draft.key!r} already exists (number {existing.order})"))
        elif existing is None and any(s.order == order for s in catalog.sections):
            other = next(s for s in catalog.sections if s.order == order)
            errors.append(Finding("order_taken", f"number {order} is section {other.key!r}", order, other.title))
        if existing is not None and existing.body_from:
            errors.append(Finding("generated", "this section's body is generated from other files"))
        check_title(draft.title, errors)
        if not draft.summary:
            errors.append(Finding("summary", "the summary is missing"))
        elif utf8_len(draft.summary) > NEWS_DESCRIPTION_MAX_BYTES:
            length = utf8_len(draft.summary)
            errors.append(Finding("summary_long", f"{length} bytes, over {NEWS_DESCRIPTION_MAX_BYTES}",
                                  NEWS_DESCRIPTION_MAX_BYTES))  # fmt: skip
        if not draft.body:
            errors.append(Finding("body", "the body is empty"))
        updated = day_of(draft.updated)
        if updated is None:
            errors.append(Finding("updated", "the date of the content is missing or not YYYY-MM-DD"))
        review = check_review(draft, errors)
        body, ids = resolve_sources(draft.sources, draft.body, catalog, checked)
        if errors:
            return checked
        assert updated is not None and review is not None
        therapy = draft.therapy or (existing.therapy if existing else None) or None
        section = Section(
            key=draft.key,
            order=order,
            title=draft.title,
            summary=draft.summary,
            body=body,
            sources=ids,
            updated=updated,
            therapy=therapy,
            path=f"{draft.part}/{order:02d}-{draft.key}.md",
            review=review,
            part=draft.part,
        )
        sections = sorted([s for s in catalog.sections if s.key != draft.key] + [section], key=lambda s: s.order)
        checked.item = section
        checked.catalog = replace(with_references(catalog, checked), sections=tuple(sections))
        checked.own = {section.path, "references.yaml"}
        checked.rows = [Row("section", section.key, order, section.title, section.body, to_json(section), section.path)]
        checked.rows += reference_rows(checked.references)
        return checked

    def preview(self, checked: Checked, base_url: str) -> str:
        return _preview(checked, base_url, lambda r: r.section(checked.item.key).text)

    def listing(self, catalog: Catalog) -> list[Listed]:
        return [
            Listed(s.key, f"{n}. {s.title}", s.part, s.review.next_review if s.review else None)
            for n, s in enumerate(catalog.sections, start=1)
            if not s.body_from
        ]


# -- welcomes ---------------------------------------------------------------------------------------------------


@dataclass
class WelcomeDraft(Form):
    """A welcome as the form holds it (the key names the welcome a scene chose)."""

    kind: ClassVar[str] = "welcome"
    key: str = ""
    title: str = ""
    body: str = ""
    reviewed_by: str = ""
    reviewed_on: str = ""
    next_review: str = ""

    @property
    def item_key(self) -> str:
        return self.key


class WelcomeKind(Kind):
    name = "welcome"
    draft = WelcomeDraft
    fixed = ("key",)
    can_create = False

    def of(self, catalog: Catalog, key: str) -> WelcomeDraft | None:
        welcome = catalog.welcomes.get(key)
        if welcome is None:
            return None
        found = WelcomeDraft(key=welcome.key, title=welcome.title, body=welcome.body)
        review_form(found, welcome.review)
        return found

    def blank(self, catalog: Catalog, today: date, user: str, query: Mapping[str, str]) -> WelcomeDraft:
        return _review_defaults(WelcomeDraft(key=query.get("key", "")), today, user)

    def build(self, draft: WelcomeDraft, catalog: Catalog) -> Checked:
        checked = Checked(draft)
        errors = checked.errors
        if draft.key not in catalog.welcomes:
            errors.append(Finding("key", f"there is no welcome {draft.key!r} (a QR scene names its welcome)"))
        check_title(draft.title, errors)
        if not draft.body:
            errors.append(Finding("body", "the body is empty"))
        review = check_review(draft, errors)
        if errors:
            return checked
        welcome = Text(draft.key, draft.title, draft.body, path=f"welcome/{draft.key}.md", review=review)
        welcomes = {k: (welcome if k == draft.key else w) for k, w in catalog.welcomes.items()}
        position = list(welcomes).index(draft.key) + 1
        checked.item = welcome
        checked.catalog = replace(catalog, welcomes=welcomes)
        checked.own = {welcome.path}
        checked.rows = [Row("welcome", welcome.key, position, welcome.title, welcome.body, to_json(welcome),
                            welcome.path)]  # fmt: skip
        return checked

    def preview(self, checked: Checked, base_url: str) -> str:
        return _preview(checked, base_url, lambda r: r.welcome(checked.item.key).text)

    def listing(self, catalog: Catalog) -> list[Listed]:
        scenes: dict[str, list[str]] = {}
        for scene in catalog.scenes.values():
            scenes.setdefault(scene.welcome, []).append(scene.purpose or scene.key)
        return [
            Listed(w.key, w.title, " / ".join(scenes.get(w.key, [])), w.review.next_review if w.review else None)
            for w in catalog.welcomes.values()
        ]


# -- keyword replies --------------------------------------------------------------------------------------------


@dataclass
class KeywordDraft(Form):
    """A keyword reply as the form holds it: keywords one per line (or separated by 、), the reply text."""

    kind: ClassVar[str] = "keyword"
    key: str = ""
    """The rule's item key (posts.catalog.KeywordRule.item_key); "" for a new rule until it is saved."""
    match: str = "exact"
    patterns: str = ""
    reply: str = ""

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w.strip() for w in _PATTERN_SPLIT.split(self.patterns) if w.strip()))

    @property
    def item_key(self) -> str:
        return self.key or KeywordRule(self.match, self.words[:1]).item_key

    @property
    def title(self) -> str:  # type: ignore[override]
        return " / ".join(self.words)

    def as_data(self) -> dict[str, Any]:
        return {**to_json(self), "key": self.item_key}


def _rule(catalog: Catalog, key: str) -> tuple[int, KeywordRule] | None:
    return next(((i, r) for i, r in enumerate(catalog.keywords) if r.item_key == key), None)


class KeywordKind(Kind):
    name = "keyword"
    draft = KeywordDraft
    fixed = ("key",)

    def of(self, catalog: Catalog, key: str) -> KeywordDraft | None:
        found = _rule(catalog, key)
        if found is None or found[1].reply is None:
            return None
        rule = found[1]
        return KeywordDraft(key=rule.item_key, match=rule.match, patterns="\n".join(rule.patterns), reply=rule.reply)

    def blank(self, catalog: Catalog, today: date, user: str, query: Mapping[str, str]) -> KeywordDraft:
        return KeywordDraft()

    def build(self, draft: KeywordDraft, catalog: Catalog) -> Checked:
        checked = Checked(draft)
        errors = checked.errors
        words = draft.words
        if draft.match not in KEYWORD_MATCHES:
            errors.append(Finding("match", "pick how the keyword matches"))
        if not words:
            errors.append(Finding("patterns", "give at least one keyword"))
        for word in words:
            if len(word) > PATTERN_MAX_CHARS:
                errors.append(Finding("pattern_long", f"{word[:40]!r} is over {PATTERN_MAX_CHARS} characters",
                                      PATTERN_MAX_CHARS, word[:20]))  # fmt: skip
        if not draft.reply:
            errors.append(Finding("reply", "the reply is empty"))
        existing = _rule(catalog, draft.item_key)
        if existing is not None and existing[1].reply is None:
            errors.append(Finding("not_reply", "that keyword answers with content or a command, not a reply text"))
        elif existing is not None and not draft.key:
            errors.append(Finding("keyword_exists", f"a rule {draft.item_key!r} exists: change that one", 0, words[0]))
        if errors:
            return checked
        rule = KeywordRule(draft.match, words, reply=draft.reply, key=draft.item_key)
        keywords = list(catalog.keywords)
        if existing is not None:
            keywords[existing[0]] = rule
        else:
            keywords.append(rule)
        position = keywords.index(rule) + 1
        checked.item = rule
        checked.catalog = replace(catalog, keywords=tuple(keywords))
        checked.own = {"keywords.yaml"}
        checked.rows = [Row("keyword", rule.item_key, position, draft.title, draft.reply, to_json(rule),
                            "keywords.yaml")]  # fmt: skip
        return checked

    def verify(self, checked: Checked, router: Router | None) -> None:
        """The closed reply fits one text reply, and each keyword reaches it (``router``: the bot's own rules;
        without one, the urgent words and the keyword rules' order)."""
        from posts.render import Renderer

        rule, catalog = checked.item, checked.catalog
        assert isinstance(rule, KeywordRule) and rule.reply is not None and catalog is not None
        size = utf8_len(Renderer(catalog).close(rule.reply))
        if size > TEXT_REPLY_MAX_BYTES:
            over = f"{size} bytes with the disclaimer, over {TEXT_REPLY_MAX_BYTES}"
            checked.errors.append(Finding("reply_long", over, TEXT_REPLY_MAX_BYTES))
        target = router(catalog) if router is not None else None
        for word in rule.patterns:
            if target is not None:
                reached = target(word)
                if reached != f"reply:{rule.reply}":
                    checked.errors.append(Finding("taken", f"{word!r} reaches {reached[:80]}", 0, word))
                continue
            urgent = catalog.urgent.match(word) if catalog.urgent is not None else None
            command = next((c for c in catalog.commands if c.match == "exact" and c.matches(word)), None)
            first = catalog.match_keyword(word)
            if urgent is not None or command is not None or first is None or first.item_key != rule.item_key:
                where = f"urgent:{urgent.key}" if urgent else f"command:{command.command}" if command else "keyword"
                checked.errors.append(Finding("taken", f"{word!r} reaches {where}", 0, word))

    def preview(self, checked: Checked, base_url: str) -> str:
        return _preview(checked, base_url, lambda r: r.close(checked.item.reply))

    def listing(self, catalog: Catalog) -> list[Listed]:
        return [Listed(r.item_key, " / ".join(r.patterns), r.match) for r in catalog.keywords if r.reply is not None]


KINDS: tuple[Kind, ...] = (SectionKind(), WelcomeKind(), KeywordKind())
"""The kinds this module describes (posts/revisions.py gathers them with the therapy updates)."""
