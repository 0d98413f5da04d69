"""The medical-content linter: claims the advertising rules forbid, contact details, unsourced facts, weak
sources and items past their review date. The word lists live in posts/medlint.yaml; "today" is a parameter."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from posts.addresses import PARTS
from posts.catalog import Catalog
from posts.packfile import Doc, PackFileError, read_markdown, read_yaml
from posts.problems import Problem
from posts.textchecks import CITATION

RULES_FILE = Path(__file__).with_name("medlint.yaml")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_CLAUSE_END = re.compile(r"[，,、：:]")
_PARAGRAPH = re.compile(r"\n\s*\n")
_NOT_PROSE = frozenset({"patterns", "source", "url", "key", "therapy", "welcome", "ref", "match", "sources"})
"""YAML keys whose values are not follower-facing prose (keyword patterns, URLs, keys)."""


@dataclass(frozen=True)
class Rules:
    """The linter's word lists, compiled."""

    claims: dict[str, tuple[re.Pattern[str], ...]]
    negations: tuple[str, ...]
    warnings: tuple[str, ...]
    contact: dict[str, tuple[re.Pattern[str], ...]]
    booking_url_words: tuple[str, ...]
    weak_domains: tuple[str, ...]
    fact: re.Pattern[str]
    fact_exempt: re.Pattern[str]
    """A dated "no news since" statement: a finding of the check, not a fact needing a citation."""


def load_rules(path: Path = RULES_FILE) -> Rules:
    """The rules file; a broken file is a programming error of the shipped product and raises."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))

    def compiled(groups: dict[str, list[str]]) -> dict[str, tuple[re.Pattern[str], ...]]:
        return {name: tuple(re.compile(p) for p in patterns) for name, patterns in groups.items()}

    return Rules(
        claims=compiled(data["banned_claims"]),
        negations=tuple(data["negations"]),
        warnings=tuple(data["warnings"]),
        contact=compiled(data["contact"]),
        booking_url_words=tuple(w.lower() for w in data["booking_url_words"]),
        weak_domains=tuple(d.lower() for d in data["weak_domains"]),
        fact=re.compile(data["fact_pattern"]),
        fact_exempt=re.compile(data["fact_exempt"]),
    )


@dataclass(frozen=True)
class LintResult:
    errors: list[Problem]
    warnings: list[Problem]


def lint_pack(root: Path, catalog: Catalog, today: date, rules: Rules | None = None) -> LintResult:
    """Every finding in the pack at ``root`` (already loaded into ``catalog``), as of ``today``."""
    return _Linter(Path(root), catalog, today, rules or load_rules()).run()


def _in_sentences(text: str) -> Iterator[tuple[int, str]]:
    """(offset, sentence) of each sentence of ``text``."""
    start = 0
    for end_match in [*_SENTENCE_END.finditer(text), None]:
        end = end_match.start() if end_match else len(text)
        yield start, text[start:end]
        start = end + 1


def _clause_around(sentence: str, start: int, end: int) -> str:
    """The comma-delimited clause of ``sentence`` holding ``sentence[start:end]``."""
    bounds = [m.start() for m in _CLAUSE_END.finditer(sentence)]
    left = max((b for b in bounds if b < start), default=-1) + 1
    right = min((b for b in bounds if b >= end), default=len(sentence))
    return sentence[left:right]


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class _Linter:
    def __init__(self, root: Path, catalog: Catalog, today: date, rules: Rules) -> None:
        self.root = root
        self.catalog = catalog
        self.today = today
        self.rules = rules
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.docs: dict[str, Doc] = {}

    def run(self) -> LintResult:
        for rel in self.prose_files():
            doc = self.doc(rel)
            if doc is None:
                continue
            for line, value in self.prose(doc):
                self.check_prose(rel, line, value)
            if rel.startswith((*(f"{part}/" for part in PARTS), "therapies/", "updates/")):
                self.check_facts(rel, doc)
        self.check_sources()
        self.check_review_dates()
        return LintResult(sorted(set(self.errors)), sorted(set(self.warnings)))

    # ----- reading ----------------------------------------------------------------------------------------------

    def prose_files(self) -> list[str]:
        files = [p for p in self.root.rglob("*.md") if not p.name.startswith(".")]
        names = sorted(p.relative_to(self.root).as_posix() for p in files)
        return [*names, *(n for n in ("keywords.yaml",) if (self.root / n).is_file())]

    def doc(self, rel: str) -> Doc | None:
        """The parsed file (the loader already reported files that cannot be read)."""
        if rel not in self.docs:
            path = self.root / rel
            try:
                self.docs[rel] = read_markdown(path) if path.suffix == ".md" else read_yaml(path)
            except (PackFileError, OSError):
                return None
        return self.docs[rel]

    @staticmethod
    def prose(doc: Doc) -> Iterator[tuple[int, str]]:
        """(first line, text) of the body and of every prose string of the YAML."""
        yield from _yaml_strings(doc.node, doc.first_line)
        if doc.body:
            yield doc.body_line, doc.body

    def line_of(self, rel: str, *where: str | int) -> int:
        doc = self.doc(rel)
        return doc.line(*where) if doc else 1

    def error(self, rel: str, line: int, rule: str, message: str) -> None:
        self.errors.append(Problem(rel, line, f"[{rule}] {message}"))

    # ----- prose rules ------------------------------------------------------------------------------------------

    def check_prose(self, rel: str, first_line: int, text: str) -> None:
        for offset, sentence in _in_sentences(text):
            line = first_line + text.count("\n", 0, offset)
            for kind, patterns in self.rules.claims.items():
                for match in self.unnegated(sentence, patterns):
                    self.error(rel, line, f"banned-claim/{kind}", f"{match!r} in {sentence.strip()[:60]!r}")
            for kind, patterns in self.rules.contact.items():
                for match in self.unnegated(sentence, patterns):
                    self.error(rel, line, f"contact/{kind}", f"{match!r} on a popular-science page")
            for url in re.findall(r"https?://[^\s)）\]]+", sentence):
                if any(word in url.lower() for word in self.rules.booking_url_words):
                    self.error(rel, line, "contact/booking", f"booking link {url[:80]!r} on a popular-science page")

    def unnegated(self, sentence: str, patterns: Iterable[re.Pattern[str]]) -> Iterator[str]:
        """Matches of ``patterns`` not negated in their clause nor warned against in their sentence."""
        for pattern in patterns:
            for match in pattern.finditer(sentence):
                rest = sentence[: match.start()] + " " + sentence[match.end() :]
                clause = _clause_around(sentence, match.start(), match.end()).replace(match.group(0), " ")
                if any(n in clause for n in self.rules.negations) or any(w in rest for w in self.rules.warnings):
                    continue
                yield match.group(0)

    def check_facts(self, rel: str, doc: Doc) -> None:
        """A paragraph stating a dated or counted fact must cite a reference."""
        body = doc.body
        start = 0
        for paragraph_end in [*_PARAGRAPH.finditer(body), None]:
            end = paragraph_end.start() if paragraph_end else len(body)
            paragraph = body[start:end]
            stated = self.without_claims(self.rules.fact_exempt.sub("", paragraph))
            if self.rules.fact.search(stated) and not CITATION.search(paragraph):
                lead = paragraph.strip()[:40]
                line = doc.body_line_of(start + len(paragraph) - len(paragraph.lstrip()))
                self.error(rel, line, "unsourced-fact", f"a dated or counted fact without a [n] citation: {lead!r}")
            start = paragraph_end.end() if paragraph_end else end

    def without_claims(self, text: str) -> str:
        """``text`` less its banned-claim wordings: a claim quoted to warn against it (or one already reported as
        banned) is not a fact the pack states, so "号称有效率95%的广告不可信" needs no citation for its 95%."""
        for patterns in self.rules.claims.values():
            for pattern in patterns:
                text = pattern.sub(" ", text)
        return text

    # ----- structured rules -------------------------------------------------------------------------------------

    def weak(self, url: str) -> bool:
        host = _host(url)
        return any(host == d or host.endswith("." + d) for d in self.rules.weak_domains)

    def check_sources(self) -> None:
        secondary = {r.url for r in self.catalog.references.values() if r.secondary}
        message = "source {url!r} is on the weak-domain list; cite the primary source or mark it secondary"
        for index, ref in enumerate(sorted(self.catalog.references.values(), key=lambda r: r.id)):
            if self.weak(ref.url) and not ref.secondary:
                where = self.reference_line(ref.id, index)
                self.error("references.yaml", where, "weak-source", message.format(url=ref.url[:80]))
        for therapy in self.catalog.therapies.values():
            for i, milestone in enumerate(therapy.milestones):
                if self.weak(milestone.source) and not milestone.secondary:
                    line = self.line_of(therapy.path, "milestones", i, "source")
                    self.error(therapy.path, line, "weak-source", message.format(url=milestone.source[:80]))
            for update in therapy.updates:
                if self.weak(update.source) and update.source not in secondary:
                    line = self.line_of(update.path, "source")
                    self.error(update.path, line, "weak-source", message.format(url=update.source[:80]))

    def reference_line(self, ref_id: int, fallback: int) -> int:
        doc = self.doc("references.yaml")
        if doc is None or not isinstance(doc.data, list):
            return 1
        index = next(
            (i for i, item in enumerate(doc.data) if isinstance(item, dict) and item.get("id") == ref_id), None
        )
        return doc.line(fallback if index is None else index, "url")

    def check_review_dates(self) -> None:
        for path, review in self.catalog.overdue_reviews(self.today):  # the scheduler alerts on the same list
            self.warnings.append(
                Problem(
                    path,
                    self.line_of(path, "next_review"),
                    f"warning [review-overdue] next_review {review.next_review} is before today {self.today} "
                    f"(last reviewed {review.reviewed_on} by {review.reviewed_by})",
                )
            )


def _yaml_strings(node: yaml.Node | None, first_line: int) -> Iterator[tuple[int, str]]:
    """(line, text) of every prose string scalar under ``node``."""
    if isinstance(node, yaml.ScalarNode):
        if isinstance(node.value, str) and node.tag == "tag:yaml.org,2002:str":
            yield node.start_mark.line + first_line, node.value
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _yaml_strings(item, first_line)
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if not (isinstance(k, yaml.ScalarNode) and k.value in _NOT_PROSE):
                yield from _yaml_strings(v, first_line)
