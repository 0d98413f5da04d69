"""Simplified and Traditional Chinese: the one module that converts between them (OpenCC; Traditional in Taiwan
standard characters, s2tw, without phrase changes, so no medical term is reworded).

- What followers type is folded to Simplified before it is matched (:func:`to_simplified`, used by
  posts.catalog.normalize), so 目錄, 幫助, 訂閱 NurOwn and 治癒 match the same rules as 目录, 帮助, 订阅 NurOwn, 治愈.
- A follower who chose Traditional (follower.script = "t") gets replies, pushes and pages converted by
  :meth:`Converter.to_traditional`, with the pack's per-term overrides (script.yaml): names kept as written (a
  registry's or a company's official name, which a reader must be able to search for) and fixed renderings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import opencc

SIMPLIFIED = "s"
TRADITIONAL = "t"
SCRIPTS = (SIMPLIFIED, TRADITIONAL)
PAGE_PARAM = "script"
"""The query parameter of a content page in Traditional: /p/...?script=t."""
_PAGE_HREF = re.compile(r'href="(/p/[^"#?]*)(#[^"]*)?"')
"""A link from one content page to another (relative /p/... paths)."""
_PLACEHOLDER = "\ue000{}\ue001"
"""Private-use characters around an override's index: OpenCC leaves them alone."""


@dataclass(frozen=True)
class Term:
    """An override: ``simplified`` as it appears in the pack, ``traditional`` as the Traditional text shows it."""

    simplified: str
    traditional: str


@dataclass(frozen=True)
class ScriptTerms:
    """The pack's overrides for the Traditional rendering (posts/content/script.yaml)."""

    keep: tuple[str, ...] = ()
    """Written the same in both scripts (drug, trial, registry and company names)."""
    terms: tuple[Term, ...] = ()


@lru_cache(maxsize=2)
def _opencc(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


@lru_cache(maxsize=8192)
def to_simplified(text: str) -> str:
    """``text`` with Traditional characters folded to Simplified (Simplified text is left as it is)."""
    return str(_opencc("t2s").convert(text)) if text else text


def script_of(value: str | None) -> str:
    """A stored or requested script, "s" for anything unknown."""
    return TRADITIONAL if value == TRADITIONAL else SIMPLIFIED


class Converter:
    """Simplified text to Traditional, overrides first; memoised per text (bounded)."""

    def __init__(self, overrides: ScriptTerms | None = None) -> None:
        found = overrides or ScriptTerms()
        pairs = [(k, k) for k in found.keep] + [(t.simplified, t.traditional) for t in found.terms]
        self.pairs = tuple(sorted({p for p in pairs if p[0]}, key=lambda p: -len(p[0])))  # the longest term first
        self._convert = lru_cache(maxsize=4096)(self._to_traditional)
        self._page = lru_cache(maxsize=256)(self._page_to_traditional)

    def to_traditional(self, text: str) -> str:
        return self._convert(text) if text else text

    def in_script(self, text: str, script: str) -> str:
        """``text`` (written in Simplified) as a follower reading ``script`` sees it."""
        return self.to_traditional(text) if script == TRADITIONAL else text

    def page(self, html: str) -> str:
        """A content page in Traditional: its words, its language tag, and its links to other pages (?script=t)."""
        return self._page(html)

    def _page_to_traditional(self, html: str) -> str:
        converted = self._to_traditional(html).replace('<html lang="zh-CN">', '<html lang="zh-Hant">', 1)
        return _PAGE_HREF.sub(lambda m: f'href="{page_link(m[1], TRADITIONAL)}{m[2] or ""}"', converted)

    def _to_traditional(self, text: str) -> str:
        held: list[str] = []
        for simplified, traditional in self.pairs:
            if simplified in text:
                text = text.replace(simplified, _PLACEHOLDER.format(len(held)))
                held.append(traditional)
        converted = str(_opencc("s2tw").convert(text))
        for i, traditional in enumerate(held):
            converted = converted.replace(_PLACEHOLDER.format(i), traditional)
        return converted


def converter(overrides: ScriptTerms | None) -> Converter:
    """The converter for a pack's overrides (one per content version)."""
    return _converter(overrides or ScriptTerms())


@lru_cache(maxsize=8)
def _converter(overrides: ScriptTerms) -> Converter:
    return Converter(overrides)


def page_link(url: str, script: str) -> str:
    """A content page's URL for a reader of ``script`` (Traditional: ``?script=t``)."""
    if script != TRADITIONAL or f"{PAGE_PARAM}={TRADITIONAL}" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}{PAGE_PARAM}={TRADITIONAL}"


def text_links(text: str, base_url: str, script: str) -> str:
    """The content-page URLs (under ``base_url``/p/) written in a text (a digest's list) for a reader of ``script``."""
    if script != TRADITIONAL or not base_url:
        return text
    pattern = re.compile(re.escape(base_url.rstrip("/")) + r"/p/[^\s?#]*")
    return pattern.sub(lambda m: page_link(m[0], script), text)
