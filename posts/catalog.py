"""The content pack as validated, immutable objects, with the lookups both edges need."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from posts.addresses import GUIDE_PART, REVIEW_PART, section_group
from posts.script import ScriptTerms, to_simplified


@dataclass(frozen=True)
class Review:
    """Who last checked an item against its sources, when, and when it is due to be checked again."""

    reviewed_by: str
    reviewed_on: date
    next_review: date


SOURCE_KINDS = ("regulator", "registry", "company", "journal", "news")
"""The kinds of source a reference may be (its optional ``kind`` field)."""


@dataclass(frozen=True)
class Reference:
    id: int
    title: str
    publisher: str
    date: str
    url: str
    secondary: bool = False
    """A report about the primary source (a reprint, news story or aggregator), not the source itself."""
    kind: str = ""
    """What the source is (posts.catalog.SOURCE_KINDS): regulator, registry, company, journal or news; "" unsaid."""


@dataclass(frozen=True)
class Section:
    """One ordered section of the 2025 review."""

    key: str
    order: int
    title: str
    summary: str
    body: str
    """Markdown; cites sources inline as [n]."""
    sources: tuple[int, ...]
    updated: date
    therapy: str | None = None
    body_from: str | None = None
    """"references" or "disclaimer": the body is generated from those files."""
    path: str = ""
    review: Review | None = None
    part: str = REVIEW_PART
    """The part of the pack the section belongs to (posts.addresses.PARTS): the review, or the family guide."""

    @property
    def group(self) -> str:
        """The section group (posts.addresses.section_group): its menu GROUP_ key and its /p/g/ page."""
        return section_group(self.key, self.part)


@dataclass(frozen=True)
class Milestone:
    date: str
    event: str
    source: str
    secondary: bool = False


@dataclass(frozen=True)
class Update:
    """One dated entry of a therapy's update stream."""

    therapy: str
    key: str
    """The file name without .md, e.g. 2025-04-10-ind-amendment."""
    date: date
    title: str
    body: str
    source: str
    sources: tuple[int, ...] = ()
    path: str = ""
    review: Review | None = None


@dataclass(frozen=True)
class Therapy:
    key: str
    name: str
    aliases: tuple[str, ...]
    developer: str
    country: str
    cell_type: str
    cell_source: str
    phase: str
    design: str
    enrolment: str
    endpoints: tuple[str, ...]
    status: str
    status_date: date
    section: str
    sources: tuple[int, ...]
    milestones: tuple[Milestone, ...]
    updates: tuple[Update, ...] = ()
    """Newest first."""
    body: str = ""
    path: str = ""
    review: Review | None = None

    @property
    def latest(self) -> Update | None:
        return self.updates[0] if self.updates else None


@dataclass(frozen=True)
class Text:
    """A named text: a welcome, the help text, the disclaimer."""

    key: str
    title: str
    body: str
    path: str = ""
    review: Review | None = None
    short: str = ""
    """The disclaimer's one-line form that closes a short reply and points to the full text (disclaimer.md only)."""


@dataclass(frozen=True)
class Scene:
    """A QR scene: where a follower came from, what they are welcomed with, what they subscribe to."""

    key: str
    purpose: str
    welcome: str
    therapy: str | None = None
    script: str | None = None
    """"t": a follower who comes through this scene reads Traditional (posts.script); None: as they chose."""


@dataclass(frozen=True)
class KeywordRule:
    """One ordered entry of the bot's text routes (keywords.yaml): how it matches and what it answers with."""

    match: str
    """"exact" or "contains" (patterns), "prefix" or "affix" (a pattern then a name, or a name then the pattern),
    "number" (a section number) or "therapy" (a therapy's name); the last four only with ``command``."""
    patterns: tuple[str, ...] = ()
    reply: str | None = None
    ref: str | None = None
    """section:<key>, therapy:<key>, help or toc."""
    command: str | None = None
    """One of :data:`COMMANDS`: the bot's own answer (help, subscribe, ...) instead of ``reply`` or ``ref``."""
    key: str = ""
    """A stable name for the rule (keywords.yaml ``key``, written for the rules changed in the console); unsaid, its
    :attr:`item_key` is made from how it matches and its first pattern."""

    @property
    def item_key(self) -> str:
        """The rule's name as a content item: ``key``, else ``<match>:<first pattern, normalised>``; it stays the same
        when rules are added or moved in the file (a rule changed in the console keeps replacing the pack's)."""
        if self.key:
            return self.key
        return f"{self.match}:{normalize(self.patterns[0]) if self.patterns else self.command or ''}"[:120]

    def matches(self, text: str) -> bool:
        folded = normalize(text)
        if self.match == "exact":
            return any(folded == normalize(p) for p in self.patterns)
        return any(normalize(p) in folded for p in self.patterns)


@dataclass(frozen=True)
class Cue:
    """A word that hints at an intent, and how strongly (0 < weight <= 1)."""

    term: str
    weight: float


@dataclass(frozen=True)
class Intent:
    """One topic a follower may ask about in their own words (questions.yaml), and what answers it."""

    key: str
    ref: str
    """section:<key>, therapy:<key>, keyword:<word> (what typing that word answers), help or toc."""
    label: str
    """The topic in a few words, offered when a question is close to it but not close enough."""
    word: str
    """What the follower can reply to reach it (offered with the label)."""
    questions: tuple[str, ...] = ()
    """Example questions as families type them."""
    cues: tuple[Cue, ...] = ()
    negated: str = "same"
    """"same": a cue after a negation still counts (不是骗局吧 asks about scams); "drop": it does not."""
    yields: bool = False
    """Answers only when no other intent is sure (a therapy's card yields to its cost, its trials...)."""


@dataclass(frozen=True)
class QuestionRules:
    """Matching by meaning (questions.yaml): tried after the keyword rules, before the default reply."""

    intents: tuple[Intent, ...] = ()
    fillers: tuple[str, ...] = ()
    """Words dropped before matching (请问, 吗, 呢...)."""
    negations: tuple[str, ...] = ()
    hold: tuple[str, ...] = ()
    """Words that keep a message away from every intent (it gets the default reply)."""
    answer_at: float = 0.5
    suggest_at: float = 0.3
    name_weight: float = 0.5
    """The cue weight of a therapy's name (and of a name typed with one typo) for an intent pointing at it."""


@dataclass(frozen=True)
class UrgentSource:
    """Where a number of the urgent replies comes from (urgent.yaml): who says so, and when."""

    number: str
    publisher: str
    title: str
    date: str
    note: str = ""


@dataclass(frozen=True)
class UrgentRule:
    """Words that mean someone may be in danger now, and the fixed safety reply they get at once."""

    key: str
    words: tuple[str, ...]
    reply: str


@dataclass(frozen=True)
class UrgentRules:
    """urgent.yaml: matched before every other text rule (in file order); each match also goes to the top of the
    inbox (posts/inbox.py)."""

    rules: tuple[UrgentRule, ...] = ()
    numbers: tuple[str, ...] = ()
    """The only phone numbers the replies may give."""
    sources: tuple[UrgentSource, ...] = ()
    path: str = ""
    review: Review | None = None

    def match(self, text: str) -> UrgentRule | None:
        """The first rule one of whose words is in ``text`` (compared as posts.catalog.normalize folds both)."""
        folded = normalize(text)
        for rule in self.rules:
            if any(normalize(word) in folded for word in rule.words):
                return rule
        return None


COMMANDS = (
    "help",
    "toc",
    "mine",
    "section_number",
    "subscribe",
    "unsubscribe",
    "timeline",
    "therapy",
    "latest",
    "traditional",
    "simplified",
)
"""The commands a keyword rule may name; the bot routes each of them to one handler."""
PATTERN_MATCHES = ("exact", "contains", "prefix", "affix")
"""The match kinds that need ``patterns``."""
COMMAND_MATCHES = ("prefix", "affix", "number", "therapy")
"""The match kinds only a ``command`` rule may use (they hand the command what they captured)."""


_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Case-, space- and script-insensitive form used for keyword and therapy-name matching (Traditional input is
    folded to Simplified, posts.script)."""
    return to_simplified(_SPACES.sub("", text).casefold())


@dataclass(frozen=True)
class Catalog:
    sections: tuple[Section, ...] = ()
    therapies: dict[str, Therapy] = field(default_factory=dict)
    references: dict[int, Reference] = field(default_factory=dict)
    welcomes: dict[str, Text] = field(default_factory=dict)
    scenes: dict[str, Scene] = field(default_factory=dict)
    keywords: tuple[KeywordRule, ...] = ()
    """The rules of keywords.yaml that reply or point at content, in file order."""
    commands: tuple[KeywordRule, ...] = ()
    """The rules of keywords.yaml that name a command (help, subscribe, ...), in file order; tried first."""
    help: Text | None = None
    disclaimer: Text | None = None
    questions: QuestionRules | None = None
    """questions.yaml: the intents tried after the keyword rules."""
    script: ScriptTerms = field(default_factory=ScriptTerms)
    """Overrides for the Traditional rendering (script.yaml)."""
    urgent: UrgentRules | None = None
    """urgent.yaml: words of danger, answered with a fixed safety reply before any other rule."""

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def group(self, prefix: str) -> tuple[Section, ...]:
        """The sections of group ``prefix``, in order (empty for an unknown group)."""
        return tuple(s for s in self.sections if s.group == prefix)

    def part(self, name: str) -> tuple[Section, ...]:
        """The sections of one part of the pack (posts.addresses.PARTS), in order."""
        return tuple(s for s in self.sections if s.part == name)

    @property
    def guide(self) -> tuple[Section, ...]:
        """The family guide's sections (trials, cost, scams, ...), in order."""
        return self.part(GUIDE_PART)

    def section_by_number(self, number: int) -> Section | None:
        """The table of contents is numbered from 1 in section order."""
        return self.sections[number - 1] if 1 <= number <= len(self.sections) else None

    def therapy(self, key: str) -> Therapy | None:
        return self.therapies.get(key)

    def find_therapy(self, name: str) -> Therapy | None:
        """A therapy by key, name or alias; case-, space- and hyphen-insensitive."""
        wanted = normalize(name).replace("-", "")
        if not wanted:
            return None
        for therapy in self.therapies.values():
            names = (therapy.key, therapy.name, *therapy.aliases)
            if any(normalize(n).replace("-", "") == wanted for n in names):
                return therapy
        return None

    def update(self, therapy: str, key: str) -> Update | None:
        found = self.therapies.get(therapy)
        return next((u for u in found.updates if u.key == key), None) if found else None

    def match_keyword(self, text: str) -> KeywordRule | None:
        """Exact rules win over contains rules; within each kind, file order decides."""
        for kind in ("exact", "contains"):
            for rule in self.keywords:
                if rule.match == kind and rule.matches(text):
                    return rule
        return None

    def pending_intents(self) -> tuple[Intent, ...]:
        """The intents pointing at a section the pack does not have (yet): left out of matching until it exists,
        and shown as warnings by ``wxbot content check``."""
        if self.questions is None:
            return ()
        keys = {s.key for s in self.sections}
        return tuple(
            i for i in self.questions.intents if i.ref.startswith("section:") and i.ref.partition(":")[2] not in keys
        )

    def reviewed_items(self) -> list[tuple[str, Review | None]]:
        """(file, review) of every item that carries review dates: sections, therapies, updates, welcomes, texts."""
        found = [(s.path, s.review) for s in self.sections]
        for therapy in self.therapies.values():
            found.append((therapy.path, therapy.review))
            found += [(u.path, u.review) for u in therapy.updates]
        found += [(t.path, t.review) for t in self.welcomes.values()]
        found += [(t.path, t.review) for t in (self.help, self.disclaimer) if t is not None]
        if self.urgent is not None:
            found.append((self.urgent.path, self.urgent.review))
        return found

    def overdue_reviews(self, today: date) -> list[tuple[str, Review]]:
        """The items whose next_review is before ``today``, the longest overdue first (the one rule for "overdue")."""
        found = [(path, r) for path, r in self.reviewed_items() if r is not None and r.next_review < today]
        return sorted(found, key=lambda item: (item[1].next_review, item[0]))

    def welcome_for(self, scene_key: str | None) -> Text | None:
        scene = self.scenes.get(scene_key) if scene_key else None
        key = scene.welcome if scene else "default"
        return self.welcomes.get(key) or self.welcomes.get("default")
