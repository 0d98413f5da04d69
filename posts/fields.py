"""Typed checks of front-matter fields; each failure becomes a Problem on the key's line."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from posts.limits import utf8_len
from posts.packfile import Doc
from posts.problems import Problem

Convert = Callable[[Any], Any]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class FieldError(ValueError):
    """A value of the wrong shape; the message names what was expected."""


@dataclass(frozen=True)
class Field:
    convert: Convert
    required: bool = True


def text(max_bytes: int | None = None, allow_empty: bool = False) -> Convert:
    def convert(value: Any) -> str:
        if not isinstance(value, str):
            raise FieldError(f"must be a string, got {_kind(value)}")
        if not allow_empty and not value.strip():
            raise FieldError("must not be empty")
        if max_bytes is not None and utf8_len(value) > max_bytes:
            raise FieldError(f"is {utf8_len(value)} UTF-8 bytes, over the limit of {max_bytes}")
        return value

    return convert


def key(value: Any) -> str:
    """A lower-case slug such as ``clinical-nurown``."""
    if not isinstance(value, str) or not _KEY.match(value):
        raise FieldError(f"must be a lower-case key (letters, digits, '-'), got {value!r}"[:200])
    return value


def integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"must be an integer, got {_kind(value)}")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldError(f"must be true or false, got {_kind(value)}")
    return value


def day(value: Any) -> date:
    """A calendar date: YAML date or a 'YYYY-MM-DD' string."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DAY.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise FieldError(f"is not a valid date YYYY-MM-DD: {str(value)[:40]!r}")


def day_or_month(value: Any) -> str:
    """'YYYY-MM-DD' or 'YYYY-MM', kept as a string."""
    if isinstance(value, date):
        return (value.date() if isinstance(value, datetime) else value).isoformat()
    if isinstance(value, str) and _MONTH.match(value):
        return value
    if isinstance(value, str) and _DAY.match(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise FieldError(f"is not a valid date YYYY-MM-DD or YYYY-MM: {str(value)[:40]!r}")


def url(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError(f"must be a URL string, got {_kind(value)}")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in value):
        raise FieldError(f"is not a valid http(s) URL with a host: {value[:80]!r}")
    return value


def ids(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise FieldError("must be a list of reference ids (integers)")
    return tuple(value)


def strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or any(not isinstance(v, str) or not v.strip() for v in value):
        raise FieldError("must be a list of non-empty strings")
    return tuple(value)


def fraction(value: Any) -> float:
    """A number above 0 and at most 1 (a weight or a threshold)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise FieldError(f"must be a number above 0 and at most 1, got {str(value)[:40]!r}")
    return float(value)


def weights(value: Any) -> tuple[tuple[str, float], ...]:
    """A mapping of non-empty words to weights (``{多少钱: 0.6}``), in file order."""
    if not isinstance(value, dict) or not value:
        raise FieldError("must be a mapping of words to weights, e.g. {多少钱: 0.6}")
    out = []
    for term, weight in value.items():
        if not isinstance(term, str) or not term.strip():
            raise FieldError(f"has a key that is not a word: {str(term)[:40]!r}")
        try:
            out.append((term, fraction(weight)))
        except FieldError as exc:
            raise FieldError(f"weight of {term!r} {exc}") from None
    return tuple(out)


def choice(*allowed: str) -> Convert:
    def convert(value: Any) -> str:
        if value not in allowed:
            raise FieldError(f"must be one of {', '.join(allowed)}, got {str(value)[:40]!r}")
        return value

    return convert


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


class FieldReader:
    """Checks mappings of one file against field specs, collecting Problems."""

    def __init__(self, rel: str, doc: Doc, problems: list[Problem]) -> None:
        self.rel = rel
        self.doc = doc
        self.problems = problems

    def report(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.rel, line, message))

    def read(self, data: Any, spec: Mapping[str, Field], *where: str | int) -> dict[str, Any] | None:
        """The converted values of ``data`` (at ``where`` in the document), or None after reporting."""
        label = _label(where)
        if not isinstance(data, dict):
            self.report(self.doc.line(*where), f"{label or 'front matter'} must be a mapping of fields")
            return None
        ok = True
        out: dict[str, Any] = {}
        for name in data:
            if name not in spec:
                known = ", ".join(spec)
                self.report(self.doc.line(*where, name), f"unknown field '{label}{name}' (known: {known})")
                ok = False
        for name, field_spec in spec.items():
            if name not in data or data[name] is None:
                if field_spec.required:
                    line = self.doc.line(*where) if where else 1
                    self.report(line, f"missing required field '{label}{name}'")
                    ok = False
                continue
            try:
                out[name] = field_spec.convert(data[name])
            except FieldError as exc:
                self.report(self.doc.line(*where, name), f"field '{label}{name}' {exc}")
                ok = False
        return out if ok else None


def _label(where: tuple[str | int, ...]) -> str:
    if not where:
        return ""
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(where)) + "."
