"""The renderer's text bodies and the catalog's lookups memoised: the catalog is immutable for the app's lifetime."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bot.handlers import Renderer


class CachedRenderer:
    """Wraps a renderer; text bodies are cached, pages and everything else pass through."""

    _CACHED = ("section", "group", "therapy", "timeline", "update", "welcome", "help", "toc", "page_url")

    def __init__(self, renderer: Renderer, size: int = 1024) -> None:
        self._renderer = renderer
        self.disclaimer_text: str = renderer.disclaimer_text
        for name in self._CACHED:
            setattr(self, name, lru_cache(maxsize=size)(getattr(renderer, name)))

    def subscriptions(self, therapy_keys: list[str]) -> Any:
        return self._subscriptions(tuple(therapy_keys))

    @lru_cache(maxsize=256)  # noqa: B019 - one instance per app, lives as long as the app
    def _subscriptions(self, therapy_keys: tuple[str, ...]) -> Any:
        return self._renderer.subscriptions(list(therapy_keys))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._renderer, name)


class CachedCatalog:
    """Wraps a catalog: keyword and therapy-name lookups (a scan with text normalisation each) are memoised per text.

    Bounded LRU: the texts are what followers type, so the cache cannot grow without limit.
    """

    def __init__(self, catalog: Any, size: int = 4096) -> None:
        self._catalog = catalog
        self.find_therapy = lru_cache(maxsize=size)(catalog.find_therapy)
        self.match_keyword = lru_cache(maxsize=size)(catalog.match_keyword)
        self.section = lru_cache(maxsize=256)(catalog.section)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)
