"""The bot's own short replies (confirmations, defaults), rendered from the text templates in bot/templates/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).with_name("templates")


class Texts:
    """One Jinja environment for plain WeChat text (no autoescape), created by the composition root."""

    def __init__(self, folder: Path = TEMPLATES) -> None:
        self._env = Environment(
            loader=FileSystemLoader(str(folder)),
            autoescape=False,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def render(self, template: str, /, **values: Any) -> str:
        return self._env.get_template(f"{template}.txt.j2").render(**values).strip()

    def page(self, name: str) -> str:
        """A static HTML page shipped with the bot (the 404 page)."""
        return (TEMPLATES / f"{name}.html").read_text(encoding="utf-8")
