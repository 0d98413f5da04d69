"""The console's words: console/messages.yaml and the dry run's posts/preview.yaml (shared with the CLI), read once
(the pages' own words are in their templates)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from posts import preview

MESSAGES = Path(__file__).with_name("messages.yaml")


@cache
def table() -> dict[str, dict[str, str]]:
    return {**preview.words(), **yaml.safe_load(MESSAGES.read_text(encoding="utf-8"))}


def say(group: str, key: str, **values: Any) -> str:
    """The words for ``key`` of ``group``, filled with ``values``; an unknown key falls back to the group's
    ``other`` entry or the key itself (never an exception on a page)."""
    words = table().get(group, {})
    text = words.get(key) or words.get("other") or key
    try:
        return text.format(**values)
    except (KeyError, IndexError):
        return text
