"""The compose form: what staff picked (by title) turned into a post's content, audience, time and channel,
with each problem in plain words next to its field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from console.words import say
from posts.audience import AudienceError, parse_audience
from posts.catalog import Catalog
from posts.compose import ContentError, check_content
from posts.queue import CHANNEL_POLICIES
from posts.timing import TimingError, minute_start, parse_local

FIELDS = ("content", "text", "title", "audience", "audience_value", "send_at", "channel", "purpose")
TYPED = ("test", "tag")
"""Audiences whose value is typed (a test list of openids, a WeChat tag number) rather than picked."""


@dataclass
class Compose:
    """The form's values as typed and, once checked, the post they make."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    content: str = ""
    audience: str = ""
    send_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def blank(now: datetime, tz: str) -> dict[str, str]:
    local = now.astimezone(ZoneInfo(tz))
    return {
        "content": "",
        "text": "",
        "title": "",
        "audience": "",
        "audience_value": "",
        "send_at": f"{local:%Y-%m-%d}T{local:%H:%M}",
        "channel": "auto",
        "purpose": "",
    }


def audience_of(picked: str, typed: str = "") -> str:
    """The audience string of the form's choice: picked from the list, or a kind whose value is typed."""
    return f"{picked}:{typed.strip()}" if picked in TYPED else picked


def check(form: Any, catalog: Catalog, now: datetime, tz: str, purposes: Iterable[str] = ()) -> Compose:
    """The form checked; ``purposes``: the template purposes configured (wechat.templates.<purpose>)."""
    values = {name: str(form.get(name, "") or "").strip() for name in FIELDS}
    result = Compose(values)
    errors = result.errors
    ref = values["content"]
    if not ref:
        errors["content"] = say("errors", "content_missing")
    else:
        try:
            result.content = check_content(ref, catalog, values["text"])
        except ContentError:
            errors["content"] = say("errors", "content_unknown")
        if ref == "text" and not values["text"]:
            errors["text"] = say("errors", "text_needed")
    picked = values["audience"]
    kind = picked.partition(":")[0]
    if not picked:
        errors["audience"] = say("errors", "audience_missing")
    else:
        try:
            audience = parse_audience(audience_of(picked, values["audience_value"]), catalog.therapies, catalog.scenes)
            result.audience = str(audience)
        except AudienceError as exc:
            errors["audience"] = say("errors", "audience_bad", detail=_audience_words(kind, str(exc)))
    if not values["send_at"]:
        errors["send_at"] = say("errors", "when_missing")
    else:
        try:
            result.send_at = parse_local(values["send_at"], tz)
        except TimingError:
            errors["send_at"] = say("errors", "when_bad")
        else:
            if result.send_at < minute_start(now):
                errors["send_at"] = say("errors", "when_past")
    if values["channel"] not in CHANNEL_POLICIES:
        errors["channel"] = say("errors", "channel_bad")
    elif values["channel"] == "template_only" and not ref.startswith("text"):
        errors["channel"] = say("errors", "template_not_news")
    elif values["channel"] == "template_only" and values["purpose"] not in set(purposes):
        errors["purpose"] = say("errors", "purpose_missing")
    if values["channel"] != "template_only":
        values["purpose"] = ""
    return result


def _audience_words(kind: str, english: str) -> str:
    """Plain words for an audience parse_audience refused (its English line stays out of the page)."""
    return say("audience_hints", kind)
