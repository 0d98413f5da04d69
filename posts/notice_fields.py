"""Subscribe-notice (订阅通知) fields: an operator's ``[wechat.notices.<purpose>]`` mapping, checked and filled.

A notice template's keywords are typed by their name (``thing1``, ``time2``, ``phrase3``…): a ``thing`` takes at
most 20 characters, a ``phrase`` 5, a ``name`` 10 (posts/limits.py), none a line break, and ``time``/``date`` a
WeChat time value. Each field names what fills it: the post's ``title``, ``summary`` or ``text``, the ``therapy``
it is about, the ``time`` it is due, or a fixed value written ``"=…"``. A value too long is cut at a word boundary
(posts/template_fields.py), or the notice is not sent and the line says which field and why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from posts import limits, template_fields

TEMPLATE_ID = "template_id"
PAGE = "page"
SERVES = "serves"
RESERVED = frozenset({TEMPLATE_ID, PAGE, SERVES})
SOURCES = ("title", "summary", "text", "therapy", "time")
CONTENT_KINDS = ("update", "section", "digest", "text")
DEFAULT_SERVES = "update"
LITERAL = "="
_FIELD = re.compile(r"^([a-z_]+?)(\d+)$")


class NoticeFieldError(ValueError):
    """A notice field that cannot be sent as WeChat requires; the message names the field (``field``)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def field_type(name: str) -> str | None:
    """``thing1`` → ``thing``; None when the name is not a notice keyword WeChat knows."""
    found = _FIELD.match(name)
    if not found:
        return None
    kind = found.group(1)
    return kind if kind in limits.NOTICE_FIELD_MAX_CHARS or kind in limits.NOTICE_TIME_TYPES else None


def fields_of(spec: Mapping[str, str]) -> dict[str, str]:
    """The keyword → source part of a purpose's table."""
    return {k: v for k, v in spec.items() if k not in RESERVED}


def serves(spec: Mapping[str, str]) -> tuple[str, ...]:
    """The content kinds (update, section, digest, text) whose posts this notice announces."""
    raw = spec.get(SERVES, DEFAULT_SERVES)
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def check_mapping(spec: Mapping[str, str]) -> str | None:
    """What is wrong with one purpose's settings, or None."""
    if not spec.get(TEMPLATE_ID, "").strip():
        return "needs template_id (the notice template's id from the account's subscribe-template library)"
    page = spec.get(PAGE, "")
    if page and not page.startswith(("https://", "http://")):
        return f"page {page!r}: must be an http(s) address, or empty for the post's own page"
    unknown = [kind for kind in serves(spec) if kind not in CONTENT_KINDS]
    if unknown or not serves(spec):
        return f"serves = {spec.get(SERVES)!r}: a comma-separated list of {', '.join(CONTENT_KINDS)}"
    fields = fields_of(spec)
    if not fields:
        return 'needs at least one field, e.g. thing1 = "title"'
    for name, source in fields.items():
        kind = field_type(name)
        if kind is None:
            return f"field {name}: not a notice keyword (thing1, time2, phrase3, name4…)"
        if source.startswith(LITERAL):
            value = source[len(LITERAL) :]
            if kind in limits.NOTICE_TIME_TYPES:
                return f"field {name}: a {kind} keyword takes the post's time, not a fixed value"
            if not value.strip() or "\n" in value or len(value) > limits.NOTICE_FIELD_MAX_CHARS[kind]:
                return f"field {name} = {source!r}: a {kind} takes 1-{limits.NOTICE_FIELD_MAX_CHARS[kind]} characters"
            continue
        if source not in SOURCES:
            return f'field {name} = {source!r}: must be one of {", ".join(SOURCES)} or a fixed value "=…"'
        if (kind in limits.NOTICE_TIME_TYPES) != (source == "time"):
            return f'field {name} = {source!r}: time and date keywords take "time", and only they do'
    return None


def fill(
    spec: Mapping[str, str], *, title: str, summary: str, text: str, therapy: str, due: datetime, tz: str
) -> dict[str, str]:
    """The exact values sent (keyword → value), or NoticeFieldError naming the field."""
    values = {"title": title, "summary": summary, "text": text, "therapy": therapy}
    out: dict[str, str] = {}
    for name, source in fields_of(spec).items():
        kind = field_type(name) or "thing"
        if kind in limits.NOTICE_TIME_TYPES:
            out[name] = template_fields.wechat_time(due, tz)
            continue
        value = source[len(LITERAL) :] if source.startswith(LITERAL) else values[source]
        try:
            out[name] = template_fields.fit(name, value, limits.NOTICE_FIELD_MAX_CHARS[kind])
        except template_fields.TemplateFieldError as exc:
            raise NoticeFieldError(str(exc).replace("template field", f"notice field ({kind})"), name) from None
    return out
