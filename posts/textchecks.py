"""Checks on prose: the [n] citations it makes and the cure-promising words it must not use."""

from __future__ import annotations

import re
from collections.abc import Iterator

CITATION = re.compile(r"\[(\d{1,4}(?:\s*[,，、]\s*\d{1,4})*)\](?!\()")
"""[4], [4][5] or [4, 5]; not a Markdown link [text](url)."""
CURE_WORDS = ("治愈", "根治", "痊愈", "彻底治好")
NEGATIONS = ("不", "没有", "无", "尚未", "并非")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")


def citations(text: str) -> Iterator[tuple[int, int]]:
    """Every cited reference id with the character offset of its citation."""
    for match in CITATION.finditer(text):
        for part in re.split(r"\s*[,，、]\s*", match.group(1)):
            yield int(part), match.start()


def cited_ids(text: str) -> list[int]:
    """The distinct ids cited in ``text``, in ascending order."""
    return sorted({n for n, _ in citations(text)})


def cure_promises(text: str) -> Iterator[tuple[int, str]]:
    """(offset, sentence) of each sentence using a cure word without a negation."""
    start = 0
    for end_match in [*_SENTENCE_END.finditer(text), None]:
        end = end_match.start() if end_match else len(text)
        sentence = text[start:end]
        if any(w in sentence for w in CURE_WORDS) and not any(n in sentence for n in NEGATIONS):
            yield start + (len(sentence) - len(sentence.lstrip())), sentence.strip()
        start = end + 1
