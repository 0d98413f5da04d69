"""What a post would do if it went now, as data: the message per channel, the split of recipients, who cannot
be reached and why, the quota it uses, whether the disclaimer is there. Nothing is sent.

The planning itself (which channel WeChat allows each follower) belongs to the scheduler; the composition root
hands the console a :data:`Planner` built on it, and this module shapes its answer into a :class:`Preview` that
the console's phone frame and report read. ``summarize`` takes the plan by its shape (a Protocol), so posts/ needs
no import of the scheduler. Its words (channel names, why a follower is not reached, the API calls) are
posts/preview.yaml's, said alike by the console's page and `wxbot post preview` (:func:`say`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import yaml
from sqlalchemy.orm import Session

from posts.compose import Message
from posts.limits import utf8_len
from posts.queue import Post

WORDS = Path(__file__).with_name("preview.yaml")


@cache
def words() -> dict[str, dict[str, str]]:
    """The dry run's words by group (delivery_channels, reasons, calls, preview_problems)."""
    return yaml.safe_load(WORDS.read_text(encoding="utf-8"))


def say(group: str, key: str, **values: Any) -> str:
    """The words for ``key`` of ``group``; an unknown key falls back to the group's ``other`` entry (never a code or
    an API path on an operator's screen)."""
    found = words().get(group, {})
    text = found.get(key) or found.get("other") or key
    try:
        return text.format(**values)
    except (KeyError, IndexError):
        return text


class _Assignment(Protocol):
    channel: str
    code: str | None


class _Plan(Protocol):
    assignments: list[_Assignment]
    skipped: list[str]
    calls: Counter[str]

    def counts(self) -> Counter[str]: ...


@dataclass(frozen=True)
class Preview:
    """One post's dry run."""

    title: str = ""
    text: str = ""
    """The customer-service and mass text, exactly as followers get it."""
    size: int = 0
    url: str = ""
    """The page the article card opens."""
    summary: str = ""
    template_fields: Mapping[str, str] | None = None
    """The template message's fields, for a template_only post."""
    total: int = 0
    channels: Mapping[str, int] = field(default_factory=dict)
    """Recipients per channel (custom, template, mass; none = cannot be reached)."""
    unreachable: Mapping[str, int] = field(default_factory=dict)
    """Why some get nothing: the planner's reason codes, with their counts."""
    skipped: int = 0
    """Already received this content as a welcome or a reply."""
    calls: Mapping[str, int] = field(default_factory=dict)
    """API calls it uses, per API (the console names them in words)."""
    left_today: Mapping[str, int] = field(default_factory=dict)
    disclaimer: bool = False
    nothing: bool = False
    """A digest with nothing new: it would send nothing."""
    problem: str = ""
    """Why no plan could be made, as a code: audience (one only WeChat knows), content (gone from the pack),
    template (no template for its purpose, or a field that does not fit), unavailable (no planner)."""


Planner = Callable[[Session, Post, datetime], Preview]
"""What the composition root gives the console: the dry run of a post at a time."""


def summarize(
    plan: _Plan,
    message: Message | None,
    *,
    disclaimer_text: str,
    disclaimer_short: str = "",
    template_fields: Mapping[str, str] | None = None,
    left_today: Mapping[str, int] | None = None,
) -> Preview:
    """The plan as the preview shows it; the disclaimer is there when its full text's first line is, or its one-line
    form (``disclaimer_short``, what closes a short body: posts/render.py)."""
    if message is None:
        return Preview(nothing=True)
    codes: Counter[str] = Counter(a.code for a in plan.assignments if a.channel == "none" and a.code)
    first_line = next((line for line in disclaimer_text.splitlines() if line.strip()), "")
    short = disclaimer_short.strip()
    return Preview(
        title=message.title,
        text=message.text,
        size=utf8_len(message.text),
        url=message.url,
        summary=message.summary,
        template_fields=template_fields,
        total=len(plan.assignments),
        channels=dict(plan.counts()),
        unreachable=dict(codes),
        skipped=len(plan.skipped),
        calls=dict(plan.calls),
        left_today=dict(left_today or {}),
        disclaimer=(bool(first_line) and first_line.strip() in message.text) or (bool(short) and short in message.text),
    )


def failed(problem: str) -> Preview:
    """A preview that could not be made, and why (a code of Preview.problem)."""
    return Preview(problem=problem)
