"""Reading one content-pack file: YAML or Markdown front matter, with the line of every key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 512 * 1024
"""A content file larger than this is refused (hostile or mistaken input)."""


class PackFileError(ValueError):
    """A file that cannot be read as a content-pack document; carries the 1-based line."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Doc:
    """A parsed YAML document, its node tree (for line numbers) and the Markdown body after it."""

    data: Any
    node: yaml.Node | None
    first_line: int
    """File line (1-based) where the YAML starts."""
    body: str = ""
    body_line: int = 1
    """File line (1-based) where the Markdown body starts."""

    def line(self, *path: str | int) -> int:
        """The file line of the deepest part of ``path`` found (a mapping key or a list item)."""
        node = self.node
        found = self.first_line
        for part in path:
            if isinstance(node, yaml.MappingNode):
                match = next((kv for kv in node.value if _scalar(kv[0]) == part), None)
                if match is None:
                    break
                found = match[0].start_mark.line + self.first_line
                node = match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                found = node.start_mark.line + self.first_line
            else:
                break
        return found

    def body_line_of(self, offset: int) -> int:
        """The file line of character ``offset`` of the body."""
        return self.body_line + self.body.count("\n", 0, offset)


def _scalar(node: yaml.Node) -> Any:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _bad_timestamp(node: yaml.Node | None) -> tuple[int, str]:
    """(0-based line, text) of the first timestamp scalar that does not construct."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, yaml.ScalarNode) and item.tag == "tag:yaml.org,2002:timestamp":
            try:
                yaml.SafeLoader(item.value).construct_yaml_timestamp(item)
            except ValueError:
                return item.start_mark.line, item.value
        elif isinstance(item, yaml.SequenceNode):
            stack.extend(reversed(item.value))
        elif isinstance(item, yaml.MappingNode):
            stack.extend(v for kv in reversed(item.value) for v in reversed(kv))
    return 0, "?"


def _parse_yaml(text: str, first_line: int) -> Doc:
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + first_line if event.start_mark else first_line
                raise PackFileError("YAML aliases (*name) are not allowed in the content pack", line)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        try:
            data = yaml.safe_load(text)
        except ValueError:  # a timestamp-shaped scalar that is no real date, e.g. 2025-13-45
            line, value = _bad_timestamp(node)
            raise PackFileError(f"bad date {value!r}", line + first_line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line if mark else 0) + first_line
        raise PackFileError(f"not valid YAML: {exc.problem or exc}", line) from None
    except yaml.YAMLError as exc:
        raise PackFileError(f"not valid YAML: {exc}", first_line) from None
    return Doc(data=data, node=node, first_line=first_line)


def read_text(path: Path) -> str:
    """The file's text: UTF-8, BOM dropped, newlines normalised; refuses huge or binary files."""
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise PackFileError(f"file is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PackFileError("not valid UTF-8", line) from None
    if "\x00" in text:
        raise PackFileError("contains a NUL byte", text[: text.index("\x00")].count("\n") + 1)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_yaml(path: Path) -> Doc:
    """A whole-file YAML document."""
    return _parse_yaml(read_text(path), first_line=1)


def read_markdown(path: Path) -> Doc:
    """A Markdown file with YAML front matter between two ``---`` lines."""
    text = read_text(path)
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise PackFileError("missing front matter (the file must start with a '---' line)")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise PackFileError("front matter is not closed (no second '---' line)")
    doc = _parse_yaml("\n".join(lines[1:end]), first_line=2)
    if doc.data is None:
        raise PackFileError("front matter is empty")
    body = "\n".join(lines[end + 1 :]).strip("\n")
    skipped = len(lines[end + 1 :]) - len("\n".join(lines[end + 1 :]).lstrip("\n").split("\n"))
    return Doc(data=doc.data, node=doc.node, first_line=2, body=body, body_line=end + 2 + skipped)
