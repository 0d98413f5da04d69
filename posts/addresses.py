"""Where each piece of content is reached: its menu CLICK key, its section group and its page path.

The one home of these names, used by the bot's routes, the menu validator, `wxbot menu` and the page server:

- CLICK keys: the fixed ones (:data:`STATIC_CLICKS`), ``SECTION_<key>``, ``GROUP_<group>`` and
  ``THERAPY_<key>_<CARD|LATEST|TIMELINE|SUBSCRIBE>``, a content key written by :func:`key_part`;
- section groups: a review section's key up to its first ``-`` (research-models is in group research); every
  section of another part of the pack is in that part's group (the family guide's trials is in group guide);
- page paths: /p/, /p/s/<section>, /p/g/<group>, /p/t/<therapy>, /p/t/<therapy>/<update>.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from posts.catalog import Catalog

STATIC_CLICKS = {"TOC": "toc", "HELP": "help", "MY_SUBSCRIPTIONS": "mine", "SUBSCRIBE": "subscribe_options"}
"""The fixed CLICK keys and the action each one names."""
THERAPY_ACTIONS = {"CARD": "card", "LATEST": "latest", "TIMELINE": "timeline", "SUBSCRIBE": "subscribe"}
"""The CLICK keys of every therapy: the key's suffix and the action it names (the card, its latest update...)."""
INDEX_PATH = "/p/"
REVIEW_PART = "review"
"""The yearly review: the pack's first part (folder review/); its groups come from the section keys."""
GUIDE_PART = "guide"
"""What families ask first (folder guide/): one group, after the review in the table of contents."""
PARTS = (REVIEW_PART, GUIDE_PART)
"""The parts of the pack that hold sections, in reading order; each is a folder of the same name."""


def key_part(key: str) -> str:
    """A content key as it appears in a menu key: upper case, ``-`` as ``_`` (neuronata-r -> NEURONATA_R)."""
    return re.sub(r"[^A-Z0-9]+", "_", key.upper()).strip("_")


def section_group(key: str, part: str = REVIEW_PART) -> str:
    """The group a section belongs to: a review section's key up to the first ``-`` (research-models ->
    research); a section of any other part is in the group named after the part (trials -> guide)."""
    return key.split("-", 1)[0] if part == REVIEW_PART else part


@dataclass(frozen=True)
class Click:
    """What a CLICK key names: ``kind`` static, section, group or therapy, an ``action`` and the content key."""

    kind: str
    action: str
    target: str = ""


def clicks(catalog: Catalog) -> dict[str, Click]:
    """Every CLICK key this catalog routes, in menu-file-friendly order (fixed keys, sections, groups, therapies)."""
    found = {key: Click("static", action) for key, action in STATIC_CLICKS.items()}
    groups: dict[str, None] = {}
    for section in catalog.sections:
        found[f"SECTION_{key_part(section.key)}"] = Click("section", "section", section.key)
        groups.setdefault(section_group(section.key, section.part), None)
    for prefix in groups:
        found[f"GROUP_{key_part(prefix)}"] = Click("group", "group", prefix)
    for key in catalog.therapies:
        for suffix, action in THERAPY_ACTIONS.items():
            found[f"THERAPY_{key_part(key)}_{suffix}"] = Click("therapy", action, key)
    return found


def section_path(key: str) -> str:
    return f"/p/s/{quote(key)}"


def group_path(prefix: str) -> str:
    return f"/p/g/{quote(prefix)}"


def therapy_path(key: str) -> str:
    return f"/p/t/{quote(key)}"


def update_path(therapy: str, key: str) -> str:
    return f"/p/t/{quote(therapy)}/{quote(key)}"


@dataclass(frozen=True)
class Page:
    """A page path read back: ``kind`` index, section, group, therapy or update, and its keys."""

    kind: str
    keys: tuple[str, ...] = ()


def parse_page(path: str) -> Page | None:
    """The page a /p/... path names (whether the content exists is the catalog's to say), or None."""
    parts = [p for p in path.split("/") if p][1:]
    if not parts:
        return Page("index")
    kinds = {("s", 2): "section", ("g", 2): "group", ("t", 2): "therapy", ("t", 3): "update"}
    kind = kinds.get((parts[0], len(parts)))
    return Page(kind, tuple(parts[1:])) if kind else None
