"""Template-message fields: an operator's mapping (field → what fills it) filled from a post, within WeChat's rules.

A category template's field takes at most 20 characters and no line break. A value that is too long is cut at a
word boundary (a space or a punctuation mark), never inside a word or a number and never dropping a bracketed
caveat; when no such cut exists the post is refused with a line saying which field and why. ``time`` values are
valid WeChat time values (``2026年12月7日 09:00``), taken from when the post is due, so the preview and the send
show the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from posts import limits

TEMPLATE_ID_KEY = "template_id"
SOURCES = ("title", "summary", "text", "time")
"""What may fill a field: the post's title, its summary, its text, or the time it is due."""
BOUNDARIES = frozenset(" \t\u3000，。、；：！？,.;:!?）)」』】》")
OPENERS = frozenset("（(「『【《")
ELLIPSIS = "…"


class TemplateFieldError(ValueError):
    """A template field that cannot be sent as WeChat requires; the message names the field."""


def check_mapping(spec: Mapping[str, str]) -> str | None:
    """What is wrong with one purpose's settings (``template_id`` and field → source), or None."""
    if not spec.get(TEMPLATE_ID_KEY, "").strip():
        return "needs template_id (the category template's id from the account's template library)"
    fields = {k: v for k, v in spec.items() if k != TEMPLATE_ID_KEY}
    if not fields:
        return 'needs at least one field, e.g. thing1 = "title"'
    for name, source in fields.items():
        if source not in SOURCES:
            return f"field {name} = {source!r}: must be one of {', '.join(SOURCES)}"
    return None


def wechat_time(when: datetime, tz: str) -> str:
    """A time value WeChat's ``time`` keywords accept: ``2026年12月7日 09:00`` in the scheduler's timezone."""
    local = when.astimezone(ZoneInfo(tz))
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def fit(name: str, value: str, limit: int = limits.TEMPLATE_FIELD_MAX_CHARS) -> str:
    """``value`` within ``limit`` characters, cut only at a word boundary; TemplateFieldError when it cannot be."""
    value = value.strip()
    if "\n" in value or "\r" in value:
        raise TemplateFieldError(f"template field {name}: line breaks are not allowed (WeChat drops them)")
    if not value:
        raise TemplateFieldError(f"template field {name} would be empty")
    if len(value) <= limit:
        return value
    room = value[: limit - len(ELLIPSIS)]
    cuts = [i for i in range(len(room), 0, -1) if _boundary(value, i)]
    for cut in cuts:
        head = value[:cut].rstrip("".join(BOUNDARIES - set("）)」』】》")))
        if head and not _opens_unclosed(head) and not any(ch in OPENERS for ch in value[cut:]):
            return head + ELLIPSIS
    raise TemplateFieldError(
        f"template field {name}: {value!r} is longer than {limit} characters and cannot be cut at a word boundary "
        "without losing part of a word or a bracketed caveat; shorten it"
    )


def _boundary(value: str, i: int) -> bool:
    """Whether cutting before ``value[i]`` leaves whole words: right after or before a space or punctuation."""
    return value[i - 1] in BOUNDARIES or (i < len(value) and value[i] in BOUNDARIES)


def _opens_unclosed(head: str) -> bool:
    return sum(ch in OPENERS for ch in head) > sum(ch in "）)」』】》" for ch in head)


def fill(spec: Mapping[str, str], *, title: str, summary: str, text: str, due: datetime, tz: str) -> dict[str, str]:
    """The exact values sent for one purpose (field → value), or TemplateFieldError."""
    values = {"title": title, "summary": summary, "text": text, "time": wechat_time(due, tz)}
    return {name: fit(name, values[source]) for name, source in spec.items() if name != TEMPLATE_ID_KEY}
