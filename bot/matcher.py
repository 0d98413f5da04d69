"""Matching a question by meaning: the pack's intents (questions.yaml), scored by cue words and by character
bigram similarity to their example questions.

Pure and compiled once per content version (bot.routes builds it with the text routes). A message is folded
(full/half width, case, punctuation and spaces), its filler words are dropped (请问, 吗, 呢...: the pack's list),
then each intent scores ``1 - (1 - cues) * (1 - similarity)``:

- cues: the sum (at most 1) of the weights of the intent's cue words found in the message; for an intent pointing
  at a therapy, its key, name and aliases count with ``name_weight``, a name of letters also typed with one typo
  (two in a long name; a code such as STR03 never).
  A cue right after a negation (不是, 没有...) still counts, unless the intent says ``negated: drop``.
- similarity: the cosine, weighted by how few intents use each bigram, between the message's character bigrams
  and those of the intent's closest example question.

A message holding a ``hold`` word (breathing trouble, thoughts of suicide...) matches nothing. The best intent at
``answer_at`` or above answers, unless it ``yields`` and another intent is also sure (a therapy's name and its cost:
the cost answers); a best score at ``suggest_at`` or above offers the two closest intents instead.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from posts.catalog import Intent, QuestionRules

_NOT_WORD = re.compile(r"[\W_]+")
_LATIN = re.compile(r"[a-z0-9]+")
_LETTERS = re.compile(r"[a-z]+")
NEGATION_REACH = 1
"""A cue counts as negated when a negation ends at most this many characters before it (不想再打干细胞)."""


def fold(text: str) -> str:
    """Full/half width, case, punctuation and spaces folded away: ``ＮｕｒＯｗｎ，多少钱？`` -> ``nurown多少钱``."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 2] for i in range(len(text) - 1)) if len(text) > 1 else frozenset((text,))


def typos(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b`` (restricted Damerau)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


MIN_TYPED_NAME = 4
"""A shorter Latin word is never taken for a therapy's name with a typo."""


def allowed_typos(name: str) -> int:
    return 0 if len(name) < 5 else 1 if len(name) < 9 else 2


@dataclass(frozen=True)
class Scored:
    intent: Intent
    score: float


@dataclass(frozen=True)
class Match:
    """What a question matched: the intent that answers it, or the closest intents to offer (both may be empty)."""

    answer: Intent | None = None
    close: tuple[Intent, ...] = ()


NO_MATCH = Match()


class _Compiled:
    __slots__ = ("cues", "index", "intent", "names")

    def __init__(self, index: int, intent: Intent, cues: tuple[tuple[str, float], ...], names: tuple[str, ...]):
        self.index = index
        self.intent = intent
        self.cues = cues
        self.names = names
        """Latin names matched with typos (a Chinese name is a cue, matched as typed)."""


class Matcher:
    """The pack's intents, compiled; :meth:`match` is pure and takes well under a millisecond."""

    def __init__(self, rules: QuestionRules, therapy_names: dict[str, tuple[str, ...]]) -> None:
        self.rules = rules
        fillers = sorted({f for f in (fold(w) for w in rules.fillers) if f}, key=len, reverse=True)
        self._fillers = re.compile("|".join(map(re.escape, fillers))) if fillers else None
        self._negations = tuple(n for n in (self.clean(w) for w in rules.negations) if n)
        self._hold = tuple(h for h in (fold(w) for w in rules.hold) if h)
        self._intents: list[_Compiled] = []
        for i, intent in enumerate(rules.intents):
            cues = {self.clean(c.term): c.weight for c in intent.cues}
            kind, _, target = intent.ref.partition(":")
            names = therapy_names.get(target, ()) if kind == "therapy" else ()
            for name in names:
                cues.setdefault(name, rules.name_weight)
            latin = tuple(n for n in names if _LETTERS.fullmatch(n) and allowed_typos(n))  # never a code (str03)
            self._intents.append(_Compiled(i, intent, tuple((c, w) for c, w in cues.items() if c), latin))
        self._cue_table: dict[str, list[tuple[int, float]]] = {}
        """Each cue word: the intents it hints at and how strongly (one dictionary look-up per substring)."""
        for compiled in self._intents:
            for term, weight in compiled.cues:
                self._cue_table.setdefault(term, []).append((compiled.index, weight))
        self._cue_lengths = sorted({len(term) for term in self._cue_table})
        self._typed = any(c.names for c in self._intents)
        self._dropping = frozenset(c.index for c in self._intents if c.intent.negated == "drop")
        examples = [(c, bigrams(self.clean(q))) for c in self._intents for q in c.intent.questions if self.clean(q)]
        spread: dict[str, set[int]] = {}
        for compiled, grams in examples:
            for g in grams:
                spread.setdefault(g, set()).add(compiled.index)
        count = max(len(self._intents), 1)
        self._weight = {g: math.log(1 + count / len(users)) ** 2 for g, users in spread.items()}
        self._unknown = math.log(1 + count) ** 2
        """The weight of a bigram no example uses: as telling as the rarest (it makes the message different)."""
        self._owner = [compiled.index for compiled, _ in examples]
        """Each example question's intent (examples are numbered in file order)."""
        self._root = [math.sqrt(sum(self._weight[g] for g in grams)) for _, grams in examples]
        """Each example's weighted norm (the root of its bigrams' summed weights)."""
        users: dict[str, list[int]] = {}
        for number, (_, grams) in enumerate(examples):
            for g in grams:
                users.setdefault(g, []).append(number)
        self._index = {g: (self._weight[g], tuple(numbers)) for g, numbers in users.items()}
        """Each bigram: its weight and the examples using it."""

    def clean(self, text: str) -> str:
        """The folded text without its filler words."""
        folded = fold(text)
        return self._fillers.sub("", folded) if self._fillers else folded

    def scores(self, text: str) -> list[Scored]:
        """Every intent's score for ``text``, best first (file order breaks ties); empty for a held message."""
        folded = fold(text)
        if not folded or any(h in folded for h in self._hold):
            return []
        cleaned = self._fillers.sub("", folded) if self._fillers else folded
        if not cleaned:
            return []
        grams = bigrams(cleaned)
        root = math.sqrt(sum(self._weight.get(g, self._unknown) for g in grams))
        shared: dict[int, float] = {}
        for g in grams:
            found = self._index.get(g)
            if found is not None:
                weight, numbers = found
                for number in numbers:
                    shared[number] = shared.get(number, 0.0) + weight
        best_similarity: dict[int, float] = {}
        for number, overlap in shared.items():
            similarity = overlap / (root * self._root[number])
            index = self._owner[number]
            if similarity > best_similarity.get(index, 0.0):
                best_similarity[index] = similarity
        cues = self._cues(cleaned)
        tokens = [t for t in _LATIN.findall(cleaned) if len(t) >= MIN_TYPED_NAME] if self._typed else []
        out = []
        for compiled in self._intents:
            cue = cues.get(compiled.index, 0.0)
            if tokens and compiled.names and self._typo_of_name(compiled.names, cleaned, tokens):
                cue += self.rules.name_weight
            similarity = best_similarity.get(compiled.index, 0.0)
            out.append(Scored(compiled.intent, 1 - (1 - min(cue, 1.0)) * (1 - similarity)))
        return sorted(out, key=lambda s: -s.score)

    def _cues(self, text: str) -> dict[int, float]:
        """Each intent's summed cue weights in ``text`` (each cue word once; a refused one not, for "drop")."""
        seen: set[str] = set()
        total: dict[int, float] = {}
        for at in range(len(text)):
            for length in self._cue_lengths:
                term = text[at : at + length]
                if len(term) < length:
                    break
                hits = self._cue_table.get(term)
                if hits is None or term in seen:
                    continue
                seen.add(term)
                negated = self._dropping and self._negated(text, at)
                for index, weight in hits:
                    if not (negated and index in self._dropping):
                        total[index] = total.get(index, 0.0) + weight
        return total

    def _negated(self, text: str, at: int) -> bool:
        before = text[max(0, at - NEGATION_REACH - 3) : at]
        return any(n in before[-(len(n) + NEGATION_REACH) :] for n in self._negations)

    def _typo_of_name(self, names: tuple[str, ...], text: str, tokens: list[str]) -> bool:
        """A name typed with a typo (not as it is spelt: that is a cue already)."""
        return not any(n in text for n in names) and any(self._close(t, n) for t in tokens for n in names)

    @staticmethod
    def _close(token: str, name: str) -> bool:
        limit = allowed_typos(name)
        return abs(len(token) - len(name)) <= limit and typos(token, name) <= limit

    def match(self, text: str) -> Match:
        ranked = self.scores(text)
        if not ranked:
            return NO_MATCH
        sure = [s for s in ranked if s.score >= self.rules.answer_at]
        if sure:
            firm = next((s for s in sure if not s.intent.yields), sure[0])
            return Match(answer=firm.intent)
        if ranked[0].score >= self.rules.suggest_at:
            return Match(close=tuple(s.intent for s in ranked[:2] if s.score > 0))
        return NO_MATCH
