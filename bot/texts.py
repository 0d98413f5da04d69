"""The bot's own short replies (confirmations, defaults, reply titles): posts/templates/text/bot/, rendered by the
one Jinja environment (posts.render.environment); Context.say closes them with the one footer (Renderer.close)."""

from __future__ import annotations

from typing import Any

from posts.render import environment

FOLDER = "text/bot"


class Texts:
    """The bot's texts; a title (a few words, no footer) is rendered once per set of values."""

    def __init__(self) -> None:
        self._env = environment()
        self._titles: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    def render(self, template: str, /, **values: Any) -> str:
        return self._env.get_template(f"{FOLDER}/{template}.txt.j2").render(**values).strip()

    def title(self, template: str, /, **values: str) -> str:
        """A short title (``<template>_title.txt.j2``), e.g. of the one-article reply to a long body."""
        key = (template, tuple(sorted(values.items())))
        found = self._titles.get(key)
        if found is None:
            if len(self._titles) > 1024:  # bounded: values are therapy names, but never grow without limit
                self._titles.clear()
            found = self._titles[key] = self.render(f"{template}_title", **values)
        return found
