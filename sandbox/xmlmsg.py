"""WeChat XML for pushes (CDATA-wrapped fields, nested dicts/lists) and parsing of replies."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _element(tag: str, value: Any) -> str:
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(_element(k, v) for k, v in value.items()) + f"</{tag}>"
    if isinstance(value, list):
        return "".join(_element(tag, v) for v in value)
    if isinstance(value, bool):
        return f"<{tag}>{int(value)}</{tag}>"
    if isinstance(value, int | float):
        return f"<{tag}>{value}</{tag}>"
    return f"<{tag}>{_cdata(str(value))}</{tag}>"


def build_xml(fields: dict[str, Any]) -> str:
    """`<xml>...</xml>` with strings in CDATA, numbers bare, dicts nested, lists as repeated tags."""
    return "<xml>" + "".join(_element(k, v) for k, v in fields.items()) + "</xml>"


def _to_value(node: ET.Element) -> Any:
    children = list(node)
    if not children:
        return node.text or ""
    out: dict[str, Any] = {}
    for child in children:
        value = _to_value(child)
        if child.tag in out:
            existing = out[child.tag]
            out[child.tag] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            out[child.tag] = value
    return out


def parse_xml(text: str) -> dict[str, Any]:
    """Parse `<xml>...</xml>` into a dict (repeated tags become lists); ValueError if malformed."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ValueError("DTDs are not allowed")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"malformed XML: {exc}") from exc
    if root.tag != "xml":
        raise ValueError(f"root element is <{root.tag}>, not <xml>")
    value = _to_value(root)
    return value if isinstance(value, dict) else {}
