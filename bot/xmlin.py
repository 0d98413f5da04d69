"""Strict parsing of pushed XML: UTF-8 only, no DTD or entities, an <xml> root, flat fields."""

from __future__ import annotations

import json
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


def parse_fields(body: bytes | str) -> dict[str, str]:
    """The children of the ``<xml>`` root as ``{tag: text}``; nested elements keep their children's text joined."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadXml("body is not valid UTF-8") from None
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
