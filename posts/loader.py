"""Loads the content pack folder into a validated Catalog and a list of Problems."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from posts.addresses import PARTS, REVIEW_PART
from posts.catalog import (
    COMMAND_MATCHES,
    COMMANDS,
    PATTERN_MATCHES,
    SOURCE_KINDS,
    Catalog,
    Cue,
    Intent,
    KeywordRule,
    Milestone,
    QuestionRules,
    Reference,
    Review,
    Scene,
    Section,
    Text,
    Therapy,
    Update,
    UrgentRule,
    UrgentRules,
    UrgentSource,
)
from posts.fields import (
    Field,
    FieldReader,
    boolean,
    choice,
    day,
    day_or_month,
    fraction,
    ids,
    integer,
    key,
    strings,
    text,
    url,
    weights,
)
from posts.limits import NEWS_DESCRIPTION_MAX_BYTES, NEWS_TITLE_MAX_BYTES
from posts.packfile import Doc, PackFileError, read_markdown, read_yaml
from posts.problems import Problem
from posts.script import SCRIPTS, ScriptTerms, Term
from posts.textchecks import citations, cure_promises

__all__ = ["Problem", "default_content_dir", "load_catalog"]

URGENT_REPLY_MAX_BYTES = 1200
"""An urgent reply with the disclaimer closing it must still fit one passive text reply (2048 bytes)."""

SHIPPED = Path(__file__).with_name("content")

REVIEW = {"reviewed_by": Field(text()), "reviewed_on": Field(day), "next_review": Field(day)}
"""Review metadata every item carries in its front matter."""
REFERENCE = {
    "id": Field(integer),
    "title": Field(text()),
    "publisher": Field(text()),
    "date": Field(day_or_month),
    "url": Field(url),
    "secondary": Field(boolean, required=False),
    "kind": Field(choice(*SOURCE_KINDS), required=False),
}
SECTION = {
    "key": Field(key),
    "order": Field(integer),
    "title": Field(text(NEWS_TITLE_MAX_BYTES)),
    "summary": Field(text(NEWS_DESCRIPTION_MAX_BYTES)),
    "sources": Field(ids),
    "updated": Field(day),
    "therapy": Field(key, required=False),
    "body_from": Field(choice("references", "disclaimer"), required=False),
    **REVIEW,
}
THERAPY = {
    "key": Field(key),
    "name": Field(text()),
    "aliases": Field(strings),
    "developer": Field(text()),
    "country": Field(text()),
    "cell_type": Field(text()),
    "cell_source": Field(text()),
    "phase": Field(text()),
    "design": Field(text()),
    "enrolment": Field(text()),
    "endpoints": Field(strings),
    "status": Field(text()),
    "status_date": Field(day),
    "section": Field(key),
    "sources": Field(ids),
    "milestones": Field(lambda v: v),
    **REVIEW,
}
MILESTONE = {
    "date": Field(day_or_month),
    "event": Field(text()),
    "source": Field(url),
    "secondary": Field(boolean, required=False),
}
UPDATE = {
    "therapy": Field(key),
    "date": Field(day),
    "title": Field(text(NEWS_TITLE_MAX_BYTES)),
    "source": Field(url),
    "sources": Field(ids),
    **REVIEW,
}
TEXT = {"key": Field(key), "title": Field(text()), "short": Field(text(), required=False), **REVIEW}
SCENE = {
    "key": Field(key),
    "purpose": Field(text()),
    "welcome": Field(key),
    "therapy": Field(key, required=False),
    "script": Field(choice(*SCRIPTS), required=False),
}
SCRIPT_FILE = "script.yaml"
SCRIPT = {"keep": Field(strings, required=False), "terms": Field(lambda v: v, required=False)}
TERM = {"simplified": Field(text()), "traditional": Field(text())}
KEYWORD = {
    "match": Field(choice("exact", "contains", *COMMAND_MATCHES)),
    "patterns": Field(strings, required=False),
    "reply": Field(text(), required=False),
    "ref": Field(text(), required=False),
    "command": Field(choice(*COMMANDS), required=False),
    "key": Field(text(120), required=False),
}
QUESTIONS = {
    "answer_at": Field(fraction),
    "suggest_at": Field(fraction),
    "name_weight": Field(fraction),
    "fillers": Field(strings, required=False),
    "negations": Field(strings, required=False),
    "hold": Field(strings, required=False),
    "intents": Field(lambda v: v),
}
INTENT = {
    "key": Field(key),
    "ref": Field(text()),
    "label": Field(text(NEWS_TITLE_MAX_BYTES)),
    "word": Field(text(NEWS_TITLE_MAX_BYTES)),
    "questions": Field(strings, required=False),
    "cues": Field(weights, required=False),
    "negated": Field(choice("same", "drop"), required=False),
    "yields": Field(boolean, required=False),
}
URGENT_FILE = "urgent.yaml"
URGENT = {
    "numbers": Field(strings),
    "sources": Field(lambda v: v),
    "rules": Field(lambda v: v),
    **REVIEW,
}
URGENT_SOURCE = {
    "number": Field(text()),
    "publisher": Field(text()),
    "title": Field(text()),
    "date": Field(day_or_month),
    "note": Field(text(), required=False),
}
URGENT_RULE = {"key": Field(key), "words": Field(strings), "reply": Field(text(URGENT_REPLY_MAX_BYTES))}
_PHONE_LIKE = re.compile(r"(?<!\d)\d{3,}(?!\d|\s*年)")
"""A run of three or more digits that is not a year: a phone number, for the urgent replies' check."""
NOT_PROSE = ("patterns", "questions", "cues", "fillers", "negations", "hold", "word", "ref", "words", "numbers")
"""Keys whose strings are what followers type or what a rule points at, not prose sent to followers (the
cure-word check leaves them out)."""
_Build = Callable[[Path, Doc, int, dict[str, Any]], Any]
_REVIEW_NAME = re.compile(r"^(\d+)-(.+)$")
_UPDATE_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-[a-z0-9][a-z0-9-]*$")


def _strings(node: yaml.Node | None, first_line: int, skip: bool = False) -> Iterable[tuple[int, str]]:
    """(line, text) of every string scalar under ``node``, leaving out what followers type (NOT_PROSE)."""
    if isinstance(node, yaml.ScalarNode):
        if not skip and isinstance(node.value, str):
            yield node.start_mark.line + first_line, node.value
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _strings(item, first_line, skip)
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            yield from _strings(v, first_line, skip or (isinstance(k, yaml.ScalarNode) and k.value in NOT_PROSE))


def _cure_message(sentence: str) -> str:
    return f"promises a cure (a cure word in a sentence without a negation): {sentence[:60]!r}"


def default_content_dir(configured: str | os.PathLike[str] | None = None) -> Path:
    """The pack folder: ``configured`` (settings.content.path) when given, else the shipped posts/content."""
    return Path(configured) if configured else SHIPPED


def load_catalog(root: Path) -> tuple[Catalog, list[Problem]]:
    """Every valid item of the pack at ``root``; a bad file is reported and skipped, never raised."""
    return _PackLoader(Path(root)).load()


class _Skip(Exception):
    """The file being read has problems (already reported); leave it out."""


class _PackLoader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.references: dict[int, Reference] = {}

    # ----- plumbing -------------------------------------------------------------------------------------------

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def report(self, path: Path | str, line: int, message: str) -> None:
        rel = path if isinstance(path, str) else self.rel(path)
        self.problems.append(Problem(rel, line, message))

    def guarded(self, path: Path, read: Callable[[Path, Doc], Any]) -> Any:
        """``read(path)``, turning any failure into a Problem and None."""
        before = len(self.problems)
        try:
            doc = read_markdown(path) if path.suffix == ".md" else read_yaml(path)
            self.check_cure_words(path, doc)
            if len(self.problems) > before:
                return None
            return read(path, doc)
        except PackFileError as exc:
            self.report(path, exc.line, str(exc))
        except _Skip:
            pass
        except RecursionError:
            self.report(path, 1, "cannot be read: structure nested too deeply")
        except Exception as exc:  # hostile input must never crash the loader
            self.report(path, 1, f"cannot be read: {type(exc).__name__}: {str(exc)[:200]}")
        return None

    def fields(self, path: Path, doc: Doc, data: Any, spec: dict[str, Field], *where: str | int) -> dict[str, Any]:
        values = FieldReader(self.rel(path), doc, self.problems).read(data, spec, *where)
        if values is None:
            raise _Skip
        return values

    def check_cure_words(self, path: Path, doc: Doc) -> None:
        """Follower-facing prose may use a cure word only in a negated sentence (keyword patterns are exempt)."""
        for line, value in _strings(doc.node, doc.first_line):
            for offset, sentence in cure_promises(value):
                self.report(path, line + value.count("\n", 0, offset), _cure_message(sentence))
        for offset, sentence in cure_promises(doc.body):
            self.report(path, doc.body_line_of(offset), _cure_message(sentence))

    def review(self, path: Path, doc: Doc, values: dict[str, Any]) -> Review:
        """Take the review fields out of ``values``; the next review must come after the last one."""
        review = Review(*(values.pop(name) for name in REVIEW))
        if review.next_review <= review.reviewed_on:
            self.report(
                path,
                doc.line("next_review"),
                f"next_review {review.next_review} must be after reviewed_on {review.reviewed_on}",
            )
            raise _Skip
        return review

    def check_citations(self, path: Path, doc: Doc, sources: tuple[int, ...]) -> None:
        """Every cited [n] and every sources id must be a reference; ``sources`` must equal the cited ids."""
        before = len(self.problems)
        body = doc.body
        for i, ref in enumerate(sources):
            if ref not in self.references:
                self.report(path, doc.line("sources", i), f"sources lists [{ref}], which is not in references.yaml")
        cited: set[int] = set()
        for ref, offset in citations(body):
            cited.add(ref)
            line = doc.body_line_of(offset)
            if ref not in self.references:
                self.report(path, line, f"cites [{ref}], which is not in references.yaml")
            elif ref not in sources:
                self.report(path, line, f"cites [{ref}] but 'sources' does not list it")
        for ref in sorted(set(sources) - cited):
            if ref in self.references:
                self.report(path, doc.line("sources"), f"sources lists [{ref}] but the body never cites it")
        if len(self.problems) > before:
            raise _Skip

    def files(self, folder: str, pattern: str = "*.md") -> list[Path]:
        base = self.root / folder
        if not base.is_dir():
            return []
        return sorted(p for p in base.glob(pattern) if not p.name.startswith("."))

    def required_file(self, name: str) -> Path | None:
        path = self.root / name
        if not path.is_file():
            self.report(name, 1, f"missing required file {name}")
            return None
        return path

    # ----- the pack -------------------------------------------------------------------------------------------

    def load(self) -> tuple[Catalog, list[Problem]]:
        if not self.root.is_dir():
            self.report(str(self.root), 1, "content pack folder not found")
            return Catalog(), self.problems
        self.references = self.load_references()
        therapies = {t.key: t for t in self.each(self.files("therapies"), self.read_therapy, "therapy")}
        sections = self.load_sections(therapies)
        self.check_therapy_sections(therapies, sections)
        therapies = self.attach_updates(therapies)
        welcomes = {t.key: t for t in self.each(self.files("welcome"), self.read_welcome, "welcome")}
        help_text = self.load_text("help.md", "help")
        disclaimer = self.load_text("disclaimer.md", "disclaimer")
        if "default" not in welcomes:
            self.report("welcome/default.md", 1, "missing required text: the default welcome")
        scenes = self.load_scenes(welcomes, therapies)
        before = len(self.problems)
        rules = self.load_keywords(sections, therapies)
        script = self.load_script()
        urgent = self.load_urgent()
        keywords = tuple(rule for rule in rules if rule.command is None)
        commands = tuple(rule for rule in rules if rule.command is not None)
        questions = self.load_questions(sections, therapies, keywords, len(self.problems) == before)
        by_order = {s.key: s.order for s in sections.values()}
        therapies = dict(sorted(therapies.items(), key=lambda kv: (by_order.get(kv[1].section, 10**6), kv[0])))
        catalog = Catalog(
            sections=tuple(sorted(sections.values(), key=lambda s: s.order)),
            therapies=therapies,
            references=self.references,
            welcomes=welcomes,
            scenes=scenes,
            keywords=keywords,
            commands=commands,
            help=help_text,
            disclaimer=disclaimer,
            questions=questions,
            script=script,
            urgent=urgent,
        )
        return catalog, sorted(self.problems)

    def load_script(self) -> ScriptTerms:
        """The overrides of the Traditional rendering (optional file script.yaml: keep, terms)."""
        path = self.root / SCRIPT_FILE
        if not path.is_file():
            return ScriptTerms()

        def read(path: Path, doc: Doc) -> ScriptTerms:
            values = self.fields(path, doc, doc.data, SCRIPT)
            raw = values.get("terms") or []
            if not isinstance(raw, list):
                self.report(path, doc.line("terms"), "terms must be a list of {simplified, traditional}")
                raise _Skip
            terms = tuple(Term(**self.fields(path, doc, item, TERM, "terms", i)) for i, item in enumerate(raw))
            return ScriptTerms(keep=values.get("keep", ()), terms=terms)

        return self.guarded(path, read) or ScriptTerms()

    def load_urgent(self) -> UrgentRules | None:
        """urgent.yaml (optional): words of danger and their fixed safety replies; a reply may give only the listed
        numbers, each with its source."""
        path = self.root / URGENT_FILE
        if not path.is_file():
            return None

        def read(path: Path, doc: Doc) -> UrgentRules:
            values = self.fields(path, doc, doc.data, URGENT)
            review = self.review(path, doc, values)
            numbers = tuple(str(n) for n in values["numbers"])
            raw_sources, raw_rules = values["sources"], values["rules"]
            if not isinstance(raw_sources, list) or not isinstance(raw_rules, list) or not raw_rules:
                self.report(path, doc.line("rules"), "'sources' and 'rules' must be lists (at least one rule)")
                raise _Skip
            sources = tuple(
                UrgentSource(**self.fields(path, doc, item, URGENT_SOURCE, "sources", i))
                for i, item in enumerate(raw_sources)
            )
            for number in numbers:
                if not any(s.number == number for s in sources):
                    self.report(path, doc.line("numbers"), f"number {number} has no source in 'sources'")
                    raise _Skip
            rules = []
            for i, item in enumerate(raw_rules):
                rule = UrgentRule(**self.fields(path, doc, item, URGENT_RULE, "rules", i))
                for found in _PHONE_LIKE.findall(rule.reply):
                    if found not in numbers:
                        self.report(path, doc.line("rules", i, "reply"), f"reply gives {found}, not one of 'numbers'")
                        raise _Skip
                rules.append(rule)
            return UrgentRules(tuple(rules), numbers, sources, self.rel(path), review)

        return self.guarded(path, read)

    def each(self, paths: Iterable[Path], read: Callable[[Path, Doc], Any], kind: str) -> list[Any]:
        """Read every file, dropping failures and duplicate keys (the first file, by name, wins)."""
        out: dict[str, Any] = {}
        for path in paths:
            item = self.guarded(path, read)
            if item is None:
                continue
            if item.key in out:
                self.report(path, 1, f"duplicate {kind} key '{item.key}' (also in {out[item.key].path})")
                continue
            out[item.key] = item
        return list(out.values())

    def load_references(self) -> dict[int, Reference]:
        path = self.required_file("references.yaml")
        if path is None:
            return {}
        found: dict[int, Reference] = {}

        def read(path: Path, doc: Doc) -> None:
            if not isinstance(doc.data, list):
                self.report(path, 1, "references.yaml must be a list of references")
                return
            for i, item in enumerate(doc.data):
                try:
                    values = self.fields(path, doc, item, REFERENCE, i)
                except _Skip:
                    continue
                if values["id"] in found:
                    self.report(path, doc.line(i, "id"), f"duplicate reference id {values['id']}")
                    continue
                found[values["id"]] = Reference(**values)

        self.guarded(path, read)
        return found

    def read_therapy(self, path: Path, doc: Doc) -> Therapy:
        values = self.fields(path, doc, doc.data, THERAPY)
        review = self.review(path, doc, values)
        if values["key"] != path.stem:
            self.report(path, doc.line("key"), f"key '{values['key']}' does not match the file name {path.name}")
            raise _Skip
        milestones = values["milestones"]
        if not isinstance(milestones, list):
            self.report(path, doc.line("milestones"), "field 'milestones' must be a list of {date, event, source}")
            raise _Skip
        checked = [self.fields(path, doc, m, MILESTONE, "milestones", i) for i, m in enumerate(milestones)]
        if not doc.body.strip():
            self.report(path, doc.body_line, "body is empty (the overview)")
            raise _Skip
        self.check_citations(path, doc, values["sources"])
        values["milestones"] = tuple(Milestone(**m) for m in checked)
        return Therapy(**values, body=doc.body, path=self.rel(path), review=review)

    def load_sections(self, therapies: dict[str, Therapy]) -> dict[str, Section]:
        """The sections of every part (review/, then guide/), keys and orders unique across the parts; a part is
        numbered after the parts before it, so the table of contents reads part by part."""
        sections: dict[str, Section] = {}
        orders: dict[int, Section] = {}
        parts = {path: part for part in PARTS for path in self.files(part)}
        read = partial(self.read_section, therapies=therapies, parts=parts)
        for section in self.each(parts, read, "section"):
            if section.order in orders:
                other = orders[section.order]
                self.report(section.path, 1, f"duplicate section order {section.order} (also in {other.path})")
                continue
            orders[section.order] = section
            sections[section.key] = section
        highest = 0
        for part in PARTS:
            mine = [s for s in sections.values() if s.part == part]
            for section in mine:
                if section.order <= highest:
                    line = self.line_in(section.path, "order")
                    self.report(section.path, line, f"order {section.order}: the {part} sections come after {highest}")
                    del sections[section.key]
            highest = max([highest, *(s.order for s in mine)])
        return sections

    def read_section(self, path: Path, doc: Doc, therapies: dict[str, Therapy], parts: dict[Path, str]) -> Section:
        part = parts.get(path, REVIEW_PART)
        values = self.fields(path, doc, doc.data, SECTION)
        review = self.review(path, doc, values)
        name = _REVIEW_NAME.match(path.stem)
        if not name or name.group(2) != values["key"] or int(name.group(1)) != values["order"]:
            expected = f"{values['order']:02d}-{values['key']}.md"
            self.report(path, doc.line("key"), f"file name {path.name} does not match key and order ({expected})")
            raise _Skip
        therapy = values.get("therapy")
        if therapy is not None and therapy not in therapies:
            self.report(path, doc.line("therapy"), f"unknown therapy '{therapy}'")
            raise _Skip
        if values.get("body_from") and doc.body.strip():
            self.report(path, doc.body_line, "body must be empty when 'body_from' is set (it is generated)")
            raise _Skip
        if not values.get("body_from") and not doc.body.strip():
            self.report(path, doc.body_line, "body is empty")
            raise _Skip
        if part != REVIEW_PART and (values.get("therapy") or values.get("body_from")):
            field = "therapy" if values.get("therapy") else "body_from"
            self.report(path, doc.line(field), f"a {part} section takes no '{field}' (only the review's sections do)")
            raise _Skip
        self.check_citations(path, doc, values["sources"])
        return Section(**values, body=doc.body, path=self.rel(path), review=review, part=part)

    def check_therapy_sections(self, therapies: dict[str, Therapy], sections: dict[str, Section]) -> None:
        """Each therapy needs its review section (the menu entry); both must name each other."""
        for therapy in therapies.values():
            section = sections.get(therapy.section)
            if section is None or section.therapy != therapy.key:
                doc_line = self.line_in(therapy.path, "section")
                why = "does not exist" if section is None else f"does not name therapy '{therapy.key}'"
                self.report(therapy.path, doc_line, f"menu-less therapy: section '{therapy.section}' {why}")
        for section in sections.values():
            if section.therapy and therapies[section.therapy].section != section.key:
                self.report(
                    section.path,
                    self.line_in(section.path, "therapy"),
                    f"therapy '{section.therapy}' names section '{therapies[section.therapy].section}', not this one",
                )

    def line_in(self, rel: str, *where: str | int) -> int:
        try:
            return read_markdown(self.root / rel).line(*where)
        except Exception:
            return 1

    def attach_updates(self, therapies: dict[str, Therapy]) -> dict[str, Therapy]:
        streams: dict[str, list[Update]] = {k: [] for k in therapies}
        base = self.root / "updates"
        folders = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
        for folder in folders:
            for path in self.files(f"updates/{folder.name}"):
                update = self.guarded(path, lambda p, d: self.read_update(p, d, therapies))
                if update is not None:
                    streams[update.therapy].append(update)
        return {
            k: dataclasses.replace(t, updates=tuple(sorted(streams[k], key=lambda u: (u.date, u.key), reverse=True)))
            for k, t in therapies.items()
        }

    def read_update(self, path: Path, doc: Doc, therapies: dict[str, Therapy]) -> Update:
        values = self.fields(path, doc, doc.data, UPDATE)
        review = self.review(path, doc, values)
        if values["therapy"] != path.parent.name:
            self.report(path, doc.line("therapy"), f"therapy '{values['therapy']}' does not match its folder")
            raise _Skip
        if values["therapy"] not in therapies:
            self.report(path, doc.line("therapy"), f"unknown therapy '{values['therapy']}'")
            raise _Skip
        name = _UPDATE_NAME.match(path.stem)
        if not name:
            self.report(path, 1, f"file name {path.name} is not YYYY-MM-DD-<slug>.md")
            raise _Skip
        if name.group(1) != values["date"].isoformat():
            self.report(path, doc.line("date"), f"date {values['date']} does not match the file name {path.name}")
            raise _Skip
        if not doc.body.strip():
            self.report(path, doc.body_line, "body is empty")
            raise _Skip
        self.check_citations(path, doc, values["sources"])
        return Update(**values, key=path.stem, body=doc.body, path=self.rel(path), review=review)

    def read_welcome(self, path: Path, doc: Doc) -> Text:
        return self.read_text_doc(path, doc, path.stem)

    def read_text_doc(self, path: Path, doc: Doc, expected_key: str) -> Text:
        values = self.fields(path, doc, doc.data, TEXT)
        review = self.review(path, doc, values)
        if values["key"] != expected_key:
            self.report(path, doc.line("key"), f"key '{values['key']}' should be '{expected_key}' ({path.name})")
            raise _Skip
        if not doc.body.strip():
            self.report(path, doc.body_line, "body is empty")
            raise _Skip
        return Text(
            key=values["key"],
            title=values["title"],
            body=doc.body,
            path=self.rel(path),
            review=review,
            short=values.get("short", ""),
        )

    def load_text(self, name: str, expected_key: str) -> Text | None:
        path = self.root / name
        if not path.is_file():
            self.report(name, 1, f"missing required text: {name}")
            return None
        return self.guarded(path, lambda p, d: self.read_text_doc(p, d, expected_key))

    def load_list(self, name: str, spec: dict[str, Field], build: _Build) -> list[Any]:
        path = self.required_file(name)
        if path is None:
            return []
        items: list[Any] = []

        def read(path: Path, doc: Doc) -> None:
            if not isinstance(doc.data, list):
                self.report(path, 1, f"{name} must be a list")
                return
            for i, data in enumerate(doc.data):
                try:
                    items.append(build(path, doc, i, self.fields(path, doc, data, spec, i)))
                except _Skip:
                    continue

        self.guarded(path, read)
        return items

    def load_scenes(self, welcomes: dict[str, Text], therapies: dict[str, Therapy]) -> dict[str, Scene]:
        scenes: dict[str, Scene] = {}

        def build(path: Path, doc: Doc, i: int, values: dict[str, Any]) -> Scene:
            if values["key"] in scenes:
                self.report(path, doc.line(i, "key"), f"duplicate scene key '{values['key']}'")
                raise _Skip
            if values["welcome"] not in welcomes:
                self.report(path, doc.line(i, "welcome"), f"scene points to a missing welcome '{values['welcome']}'")
                raise _Skip
            if values.get("therapy") is not None and values["therapy"] not in therapies:
                self.report(path, doc.line(i, "therapy"), f"unknown therapy '{values['therapy']}'")
                raise _Skip
            scenes[values["key"]] = Scene(**values)
            return scenes[values["key"]]

        self.load_list("scenes.yaml", SCENE, build)
        return scenes

    def load_keywords(self, sections: dict[str, Section], therapies: dict[str, Therapy]) -> tuple[KeywordRule, ...]:
        keys: set[str] = set()

        def build(path: Path, doc: Doc, i: int, values: dict[str, Any]) -> KeywordRule:
            if "key" in values:
                if values["key"] in keys:
                    self.report(path, doc.line(i, "key"), f"duplicate keyword rule key {values['key']!r}")
                    raise _Skip
                keys.add(values["key"])
            if "command" in values and ("reply" in values or "ref" in values):
                self.report(path, doc.line(i), "a keyword rule with a 'command' takes no 'reply' or 'ref'")
                raise _Skip
            if "command" not in values and ("reply" in values) == ("ref" in values):
                self.report(path, doc.line(i), "a keyword rule needs exactly one of 'reply' or 'ref'")
                raise _Skip
            if values["match"] in PATTERN_MATCHES and not values.get("patterns"):
                self.report(path, doc.line(i, "patterns"), "field 'patterns' must not be empty")
                raise _Skip
            if values["match"] in COMMAND_MATCHES and "command" not in values:
                self.report(path, doc.line(i, "match"), f"match '{values['match']}' needs a 'command'")
                raise _Skip
            ref = values.get("ref")
            if ref is not None:
                message = self.ref_problem(ref, sections, therapies)
                if message:
                    self.report(path, doc.line(i, "ref"), message)
                    raise _Skip
            return KeywordRule(**values)

        return tuple(self.load_list("keywords.yaml", KEYWORD, build))

    def load_questions(
        self,
        sections: dict[str, Section],
        therapies: dict[str, Therapy],
        keywords: tuple[KeywordRule, ...],
        keywords_whole: bool = True,
    ) -> QuestionRules | None:
        """questions.yaml (optional): the intents matched by meaning; a bad intent is reported and left out (an
        intent answering as a keyword rule that a problem of keywords.yaml left out is left out quietly)."""
        path = self.root / "questions.yaml"
        if not path.is_file():
            return None
        found: list[QuestionRules] = []

        def read(path: Path, doc: Doc) -> None:
            values = self.fields(path, doc, doc.data, QUESTIONS)
            if values["suggest_at"] >= values["answer_at"]:
                self.report(path, doc.line("suggest_at"), "suggest_at must be below answer_at")
                raise _Skip
            items = values.pop("intents")
            if not isinstance(items, list) or not items:
                self.report(path, doc.line("intents"), "field 'intents' must be a non-empty list of intents")
                raise _Skip
            intents: dict[str, Intent] = {}
            for i, item in enumerate(items):
                try:
                    intent = self.intent(path, doc, i, item, sections, therapies, keywords, keywords_whole)
                except _Skip:
                    continue
                if intent.key in intents:
                    self.report(path, doc.line("intents", i, "key"), f"duplicate intent key '{intent.key}'")
                    continue
                intents[intent.key] = intent
            found.append(QuestionRules(intents=tuple(intents.values()), **values))

        self.guarded(path, read)
        return found[0] if found else None

    def intent(
        self,
        path: Path,
        doc: Doc,
        i: int,
        item: Any,
        sections: dict[str, Section],
        therapies: dict[str, Therapy],
        keywords: tuple[KeywordRule, ...],
        keywords_whole: bool,
    ) -> Intent:
        values = self.fields(path, doc, item, INTENT, "intents", i)
        if not values.get("questions") and not values.get("cues"):
            self.report(path, doc.line("intents", i), "an intent needs 'questions', 'cues' or both")
            raise _Skip
        ref = values["ref"]
        kind, _, word = ref.partition(":")
        if kind == "keyword":
            rule = Catalog(keywords=keywords).match_keyword(word) if word else None
            message = None if rule is not None else f"no keyword rule answers {word!r} (intent ref {ref!r})"
        elif kind == "section" and word:  # a section still being written: Catalog.pending_intents, a warning
            message = None
        else:
            message = self.ref_problem(ref, sections, therapies)
        if message:
            if kind != "keyword" or keywords_whole:
                self.report(path, doc.line("intents", i, "ref"), message)
            raise _Skip
        values["cues"] = tuple(Cue(term, weight) for term, weight in values.get("cues", ()))
        return Intent(**values)

    @staticmethod
    def ref_problem(ref: str, sections: dict[str, Section], therapies: dict[str, Therapy]) -> str | None:
        kind, _, target = ref.partition(":")
        if ref in ("help", "toc"):
            return None
        if kind == "section" and target:
            return None if target in sections else f"keyword ref to a missing section '{target}'"
        if kind == "therapy" and target:
            return None if target in therapies else f"unknown therapy '{target}' in keyword ref"
        return f"bad keyword ref {ref!r} (use section:<key>, therapy:<key>, help or toc)"
