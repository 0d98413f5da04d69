"""Strict parsing of pushed XML: UTF-8 only, no DTD or entities, an <xml> root, flat fields.

A body in the shape WeChat sends, an ``<xml>`` root whose children are all flat ``<Tag>text</Tag>`` (the text one
CDATA section or character data without ``<``, ``&`` or ``]]>``; no ``\\r`` nor character XML forbids; whitespace
between and around), is read by one regular expression (:func:`_parse_fast`); any other body goes to the full
parser (:func:`_parse_full`), which alone refuses bodies and reads nested and list fields.
"""

from __future__ import annotations

import json
import re
from xml.etree.ElementTree import Element, ParseError
from xml.etree.ElementTree import fromstring as _plain_fromstring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

LIST_FIELDS = frozenset({"SubscribeMsgPopupEvent", "SubscribeMsgChangeEvent", "SubscribeMsgSentEvent"})
"""Fields holding one ``<List>`` per item (a subscribe notice's template ids and statuses): kept as a JSON list of
``{tag: text}`` objects (:func:`items`), one per ``List``, since their joined text would lose which is which."""


NESTED_DEPTH = 4
"""How deep nested fields are read (:func:`_flatten`)."""


class BadXml(ValueError):
    """The body is not a well-formed, DTD-free <xml> document in UTF-8."""


# Characters the fast path leaves to the full parser: those XML 1.0 forbids (control characters, lone surrogates,
# U+FFFE, U+FFFF), which it refuses, and ``\r``, which it normalizes to ``\n``.
_NOT_LITERAL = "\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff"
_FAST_CHILD = re.compile(
    # Whitespace, then either one flat field: its text one CDATA section (up to its first ``]]>``) or character data
    # with no markup, reference or ``]]>``, so either way exactly the text the full parser gives ...
    "[ \t\n]*(?:<([A-Za-z_][A-Za-z0-9_.-]*)>"
    f"(?:<!\\[CDATA\\[([^\\]{_NOT_LITERAL}]*(?:\\](?!\\]>)[^\\]{_NOT_LITERAL}]*)*)\\]\\]>"
    f"|([^<&\\]{_NOT_LITERAL}]*(?:\\](?!\\]>)[^<&\\]{_NOT_LITERAL}]*)*))"
    "</\\1>"
    # ... or the first character of anything else, so that matches follow one another with no gap.
    "|([^ \t\n]))"
)


def parse_fields(body: bytes | str) -> dict[str, str]:
    """The children of the ``<xml>`` root as ``{tag: text}``; nested elements keep their children's text joined."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadXml("body is not valid UTF-8") from None
    fields = _parse_fast(body)
    return _parse_full(body) if fields is None else fields


def _parse_fast(body: str) -> dict[str, str] | None:
    """The fields of a body in WeChat's flat shape (the last of a repeated tag wins); None for any other body."""
    document = body.strip(" \t\n")
    if not (document.startswith("<xml>") and document.endswith("</xml>")):
        return None
    fields: dict[str, str] = {}
    # Every position of the children matches (except trailing whitespace), so no other character can slip between.
    for tag, cdata, text, other in _FAST_CHILD.findall(document, 5, len(document) - 6):
        if other:
            return None
        fields[tag] = cdata or text
    return fields if LIST_FIELDS.isdisjoint(fields) else None


def _parse_full(body: str) -> dict[str, str]:
    """:func:`parse_fields` by ElementTree, for any body (defusedxml's guards on when it names a DOCTYPE)."""
    try:
        if "<!DOCTYPE" in body:
            # Only a DOCTYPE can declare entities or name external resources: defusedxml refuses it (or, when the
            # text sits inside CDATA or a comment, parses the document with its guards on).
            root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        else:
            # No DOCTYPE (XML keywords are case-sensitive): expat has no entity but the five predefined ones and
            # nothing external to load, so the plain C parser is as safe and costs half as much.
            root = _plain_fromstring(body)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise BadXml(f"not acceptable XML: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise BadXml("root element is not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if child.tag in LIST_FIELDS:
            fields[child.tag] = _list(child)
            continue
        fields[child.tag] = _text(child)
        if len(child):
            _flatten(child, child.tag, fields)
    return fields


def items(value: str) -> list[dict[str, str]]:
    """The items of a :data:`LIST_FIELDS` field as parsed (empty when missing or malformed)."""
    try:
        found = json.loads(value) if value else []
    except ValueError:
        return []
    if not isinstance(found, list):
        return []
    return [item for item in found if isinstance(item, dict)]


def _list(element: Element) -> str:
    rows = [{field.tag: (field.text or "").strip() for field in item} for item in element if item.tag == "List"]
    return json.dumps(rows, ensure_ascii=False, sort_keys=True)


def _flatten(element: Element, prefix: str, into: dict[str, str]) -> None:
    """Nested fields (PUBLISHJOBFINISH's PublishEventInfo) as ``Parent/child`` keys; the first repeat wins.

    Read without recursion and only :data:`NESTED_DEPTH` levels down: a hostile push of deeply nested elements
    costs a loop, not the stack (WeChat's deepest field, ``…/article_detail/item/article_url``, is 4 levels)."""
    pending = [(element, prefix, 1)]
    while pending:
        parent, key, depth = pending.pop()
        nested = []
        for child in parent:
            name = f"{key}/{child.tag}"
            if len(child):
                if depth < NESTED_DEPTH:
                    nested.append((child, name, depth + 1))
            else:
                into.setdefault(name, (child.text or "").strip())
        pending.extend(reversed(nested))  # popped in document order: the first of repeated items wins


def _text(element: Element) -> str:
    return "".join(element.itertext()).strip() if len(element) else (element.text or "")
