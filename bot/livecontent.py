"""What the bot answers from, rebuilt as one piece when the content changes: catalog, renderer and routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.handlers import Renderer
from bot.rendercache import CachedCatalog, CachedRenderer
from bot.routes import Routes, build_routes
from posts.catalog import Catalog
from posts.render import NoticeOffer
from posts.render import Renderer as PackRenderer


@dataclass(frozen=True)
class BotContent:
    """One content version as the bot uses it; the caches are per version, so they never serve old words."""

    pages: Catalog
    """The plain catalog (content-page lookups)."""
    catalog: CachedCatalog
    renderer: CachedRenderer
    routes: Routes


def bot_content(catalog: Catalog, renderer: Renderer) -> BotContent:
    return BotContent(catalog, CachedCatalog(catalog), CachedRenderer(renderer), build_routes(catalog))


def bot_content_builder(base_url: str, offer: NoticeOffer | None = None) -> Callable[[Catalog], BotContent]:
    """Builds the bot's content for a catalog the database holds (page URLs under ``base_url``; pages and therapy
    replies offer the subscribe notice ``offer``, if any)."""
    return lambda catalog: bot_content(catalog, PackRenderer(catalog, base_url, notice_offer=offer))
