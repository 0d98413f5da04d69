"""Markdown to the plain text of a WeChat message: no markup, bullets and numbers kept, [n] citations kept."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

BULLET = "• "
_AFTER_CJK_PUNCT = re.compile(r"([：，。；！？）」”])[ \t]+")


@cache
def markdown() -> MarkdownIt:
    """The one Markdown parser: CommonMark, raw HTML off (shown as text, never passed through)."""
    return MarkdownIt("commonmark", {"html": False})


def markdown_to_text(source: str) -> str:
    """Readable plain text of ``source``: paragraphs separated by a blank line, lists one item per line."""
    lines: list[str] = []
    lists: list[list[int]] = []  # per open list: [ordered (0/1), next number]
    prefix: str | None = None
    for token in markdown().parse(source):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrGet("start") or 1)
            lists.append([1 if kind == "ordered_list_open" else 0, start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists:
                lines.append("")
        elif kind == "list_item_open":
            ordered, number = lists[-1]
            indent = "  " * (len(lists) - 1)
            prefix = indent + (f"{number}. " if ordered else BULLET)
            lists[-1][1] += 1
        elif kind == "inline":
            text = inline_text(token.children or [])
            if prefix is not None:
                text, prefix = prefix + text.replace("\n", "\n" + " " * len(prefix)), None
            elif lists:
                text = "  " * len(lists) + text
            lines.append(text)
        elif kind in ("paragraph_close", "heading_close") and not lists:
            lines.append("")
        elif kind in ("fence", "code_block"):
            lines += [token.content.rstrip("\n"), ""]
        elif kind == "hr":
            lines += ["————", ""]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def inline_text(children: Sequence[Token]) -> str:
    out: list[str] = []
    href: str | None = None
    start = 0
    for child in children:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif child.type == "image":
            out.append(child.content)
        elif child.type == "link_open":
            href, start = str(child.attrGet("href") or ""), len(out)
        elif child.type == "link_close" and href:
            if "".join(out[start:]) != href:
                out.append(f"（{href}）")
            href = None
    return _AFTER_CJK_PUNCT.sub(r"\1", "".join(out))
